#!/usr/bin/env bash
# Runs `next build` unless the sources are unchanged since the last build.
set -euo pipefail
cd "$(dirname "$0")/.."

hash=$(
  find app components lib public drizzle package-lock.json next.config.js \
    postcss.config.mjs tsconfig.json proxy.ts -type f 2>/dev/null |
    LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
)
stamp=.next/sandbox-console-build-hash
if [ -f .next/BUILD_ID ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "The console build is up to date"
  exit 0
fi
npx next build
echo "$hash" >"$stamp"
