#!/usr/bin/env bash
# The whole test suite, as CI runs it: typecheck, lint, unit tests, then end-to-end tests
# against a real Synapse (built once into a cache outside the repo; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

echo "== typecheck" && npm run --silent typecheck
echo "== lint" && npm run --silent lint
echo "== unit tests" && npm run --silent test:unit
echo "== end-to-end tests (real Synapse)" && npm run --silent test:e2e
