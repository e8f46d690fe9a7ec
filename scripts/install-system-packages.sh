#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that the console's tests need, skipping
# apt entirely when all of them are already installed.
set -euo pipefail

packages=(
  lxd lxcfs mmdebstrap btrfs-progs squashfs-tools zstd xz-utils uidmap
  busybox-static socat openssl curl ca-certificates chromium
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "System packages are installed"
  exit 0
fi

echo "Installing: ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
