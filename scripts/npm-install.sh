#!/usr/bin/env bash
# Runs `npm ci` when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ]; then
  echo "node_modules is up to date"
  exit 0
fi
npm ci --no-audit --no-fund
