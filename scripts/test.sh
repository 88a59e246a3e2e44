#!/usr/bin/env bash
# The whole test suite, as CI runs it: typecheck, lint, unit tests, then end-to-end tests
# against a real Synapse (built once into a cache outside the repo; needs root).
# Ends with one plain "tests: N passed, N failed" line summing both jest runs
# (scripts/test-summary.mjs; a run that left no results counts as failed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

echo "== typecheck" && npm run --silent typecheck
echo "== lint" && npm run --silent lint

status=0
runs=()
echo "== unit tests"
unit=0
npm run --silent test:unit -- --json --outputFile="$results/unit.json" || unit=$?
runs+=("unit:$unit:$results/unit.json")
status=$unit
if [ "$status" -eq 0 ]; then
  echo "== end-to-end tests (real Synapse)"
  e2e=0
  npm run --silent test:e2e -- --json --outputFile="$results/e2e.json" || e2e=$?
  runs+=("e2e:$e2e:$results/e2e.json")
  status=$e2e
fi

node scripts/test-summary.mjs "${runs[@]}"
exit "$status"
