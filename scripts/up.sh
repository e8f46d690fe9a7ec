#!/usr/bin/env bash
# Sets up everything the console needs on this machine and starts it on
# http://127.0.0.1:3000: LXD (installed and initialised if missing), the
# sandbox images, a demo browser sandbox, the database and the first admin.
# A second run reuses what the first one made.
#
# Usage: scripts/up.sh [--exit-when-healthy]
#   --exit-when-healthy  start the console, wait for /api/health, stop, exit 0
set -euo pipefail
# Next.js would otherwise send anonymous usage data to its telemetry service.
export NEXT_TELEMETRY_DISABLED=1
trap 'echo "up.sh: failed (exit $?) at: $BASH_COMMAND" >&2' ERR

cd "$(dirname "$0")/.."
root=$(pwd)
exit_when_healthy=false
for arg in "$@"; do
  case "$arg" in
    --exit-when-healthy) exit_when_healthy=true ;;
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    *)
      echo "up.sh: unknown option '$arg'; run scripts/up.sh --help" >&2
      exit 2
      ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "up.sh: run as root (LXD and image builds need it): sudo scripts/up.sh" >&2
  exit 1
fi

step "Checking Node.js"
scripts/install-node.sh

step "Setting up LXD"
scripts/lxd-host-setup.sh

step "Building and importing the sandbox images (cached by recipe hash)"
scripts/build-image.sh browser
scripts/build-image.sh python

step "Launching the demo browser sandbox"
scripts/launch-demo.sh

step "Installing npm packages"
scripts/npm-install.sh

step "Migrating the database"
if [ -n "${DATABASE_URL:-}" ]; then
  echo "Audit store: Postgres at DATABASE_URL"
else
  echo "Audit store: embedded PGlite in $root/data (set DATABASE_URL to use Postgres)"
fi
npx tsx scripts/migrate.ts

step "Creating the first admin"
npx tsx scripts/create-admin.ts

step "Building the console"
scripts/build-console.sh

step "Starting the console on http://127.0.0.1:3000"
# server.ts, bundled by build-console.sh: Next.js plus the VNC WebSocket route.
export NODE_ENV=production
server=(node .next/console-server.mjs --hostname 127.0.0.1 --port 3000)
if ! $exit_when_healthy; then
  exec "${server[@]}"
fi

log_file=$(mktemp /tmp/sandbox-console.XXXXXX.log)
# The console gets its own process group, and the whole group is stopped on
# exit, so no worker it may start outlives the check.
setsid "${server[@]}" >"$log_file" 2>&1 &
console_pid=$!
trap 'kill -- -"$console_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:3000/api/health >/dev/null 2>&1; then
    echo "The console answers its health check; stopping it (--exit-when-healthy)."
    exit 0
  fi
  if ! kill -0 "$console_pid" 2>/dev/null; then
    break
  fi
  sleep 1
done

echo "up.sh: the console did not answer http://127.0.0.1:3000/api/health; its log:" >&2
cat "$log_file" >&2
exit 1
