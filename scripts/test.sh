#!/usr/bin/env bash
# The whole test suite, as CI runs it: typecheck, lint, unit tests, then end-to-end tests
# against a real Synapse (built once into a cache outside the repo; needs root).
# Ends with one plain "tests: N passed, N failed" line summing both jest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

echo "== typecheck" && npm run --silent typecheck
echo "== lint" && npm run --silent lint

status=0
echo "== unit tests"
npm run --silent test:unit -- --json --outputFile="$results/unit.json" || status=$?
if [ "$status" -eq 0 ]; then
  echo "== end-to-end tests (real Synapse)"
  npm run --silent test:e2e -- --json --outputFile="$results/e2e.json" || status=$?
fi

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results/unit.json" "$results/e2e.json"
exit "$status"
