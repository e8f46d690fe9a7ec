#!/usr/bin/env bash
# Runs every test: type check, lint, unit and integration tests (Vitest,
# against private LXD daemons and the Postgres at DATABASE_URL) and the
# end-to-end tests (Playwright in Debian's Chromium). Ends with one line
# "tests: N passed, N failed".
#
# DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test.
set -euo pipefail
# Next.js would otherwise send anonymous usage data to its telemetry service.
export NEXT_TELEMETRY_DISABLED=1
trap 'echo "test.sh: failed (exit $?) at: $BASH_COMMAND" >&2' ERR

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (the tests start private LXD daemons): sudo scripts/test.sh" >&2
  exit 1
fi

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export CI=${CI:-}
results=$(mktemp -d /tmp/sandbox-console-results.XXXXXX)

step() { printf '\n==> %s\n' "$*"; }

step "Installing what the tests need"
scripts/install-node.sh
scripts/install-system-packages.sh
scripts/npm-install.sh
# Containers of the test daemons see their limits in /proc only through lxcfs.
scripts/start-lxcfs.sh

step "Checking Postgres at DATABASE_URL"
scripts/wait-postgres.sh

step "Type check and lint"
npx tsc --noEmit
npx eslint .

status=0

step "Unit and integration tests (Vitest)"
npx vitest run --reporter=default --reporter=json \
  --outputFile.json="$results/vitest.json" || status=1

step "End-to-end tests (Playwright, Debian Chromium)"
if ! PLAYWRIGHT_JSON_OUTPUT_NAME="$results/playwright.json" \
  npx playwright test --reporter=list,json; then
  status=1
  # CI keeps only this output, so the console's own warnings and errors
  # (pino levels 40 and up) go with the failure.
  if [ -f test-results/console.log ]; then
    step "The console's last warnings and errors (test-results/console.log)"
    grep -E '"level":(40|50|60)' test-results/console.log | tail -n 60 || true
  fi
fi

node scripts/test-summary.mjs "$results/vitest.json" "$results/playwright.json" || status=1
exit "$status"
