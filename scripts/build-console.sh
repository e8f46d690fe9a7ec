#!/usr/bin/env bash
# Runs `next build` and bundles server.ts into .next/console-server.mjs,
# unless the sources are unchanged since the last build.
set -euo pipefail
# Next.js would otherwise send anonymous usage data to its telemetry service.
export NEXT_TELEMETRY_DISABLED=1
trap 'echo "build-console.sh: failed (exit $?) at: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."

sources=()
for path in app components lib public drizzle package.json package-lock.json next.config.js \
  postcss.config.mjs tsconfig.json proxy.ts server.ts; do
  [ -e "$path" ] && sources+=("$path")
done
hash=$(
  find "${sources[@]}" -type f -not -name '*.test.ts' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
)
stamp=.next/sandbox-console-build-hash
if [ -f .next/BUILD_ID ] && [ -f .next/console-server.mjs ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "The console build is up to date"
  exit 0
fi
npm run --silent build
echo "$hash" >"$stamp"
