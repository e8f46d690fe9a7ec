#!/usr/bin/env bash
# Waits for the Postgres server at DATABASE_URL, starting the local Debian
# cluster when the URL points at this machine and nothing answers.
set -euo pipefail

url=${DATABASE_URL:?DATABASE_URL is not set}
if pg_isready -d "$url" -q 2>/dev/null; then
  echo "Postgres answers at DATABASE_URL"
  exit 0
fi

case "$url" in
  *@127.0.0.1* | *@localhost* | *@\[::1\]*) ;;
  *)
    echo "wait-postgres.sh: nothing answers at DATABASE_URL and it is not local;" >&2
    echo "start that server or point DATABASE_URL at a local one." >&2
    exit 1
    ;;
esac

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "Starting the local Postgres cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi

for _ in $(seq 1 30); do
  if pg_isready -d "$url" -q 2>/dev/null; then
    echo "Postgres answers at DATABASE_URL"
    exit 0
  fi
  sleep 1
done
echo "wait-postgres.sh: Postgres does not answer at DATABASE_URL." >&2
echo "Install it (apt-get install postgresql) or set DATABASE_URL to a running server." >&2
exit 1
