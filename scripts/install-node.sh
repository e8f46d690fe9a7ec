#!/usr/bin/env bash
# Makes sure Node.js 20.19 or later with npm is installed, from the
# distribution's packages when it is missing.
set -euo pipefail

required_major=20
required_minor=19

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js or npm is missing; installing them with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi

version=$(node --version | sed 's/^v//')
major=${version%%.*}
minor=$(echo "$version" | cut -d. -f2)
if [ "$major" -lt "$required_major" ] ||
  { [ "$major" -eq "$required_major" ] && [ "$minor" -lt "$required_minor" ]; }; then
  echo "Node.js $version is too old: the console needs $required_major.$required_minor or later" >&2
  echo "(Next.js 16 requires it). Install a newer Node.js and run this again." >&2
  exit 1
fi
echo "Node.js $version"
