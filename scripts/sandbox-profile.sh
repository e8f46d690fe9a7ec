#!/usr/bin/env bash
# Creates or updates the LXD profile `sandbox` that every sandbox is made
# from, on the daemon the lxc client reaches (LXD_DIR selects a private one).
# limits.processes also counts threads: an idle browser sandbox runs about
# 120 of them, and Chromium starts more per tab.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/sandbox-profile.sh [-h | --help]

Create or update the LXD profile "sandbox" that sandboxes are made from,
with limits on processes, memory and CPUs and nesting off. Other keys of the
profile are left in place. Safe to run again.

Options:
  -h, --help  Show this help and exit.

Environment:
  LXD_DIR     Directory of the LXD daemon to use (default: the one the lxc
              client reaches).
EOF
}

for argument in "$@"; do
  case "$argument" in
    -h | --help)
      usage
      exit 0
      ;;
    -*) echo "sandbox-profile: error: unknown option '$argument'" >&2 ;;
    *) echo "sandbox-profile: error: unexpected argument '$argument'" >&2 ;;
  esac
  echo "Usage: scripts/sandbox-profile.sh [-h | --help] (it takes no other arguments)" >&2
  exit 2
done

if ! lxc profile show sandbox >/dev/null 2>&1; then
  echo "sandbox-profile: creating profile sandbox"
  lxc profile create sandbox >/dev/null
fi

# PATCH merges these keys into the profile and leaves other keys in place.
lxc query -X PATCH /1.0/profiles/sandbox --data '{
  "description": "Resource limits for Sandbox Console sandboxes",
  "config": {
    "limits.processes": "1000",
    "limits.memory": "2GiB",
    "limits.cpu": "2",
    "security.nesting": "false"
  }
}' >/dev/null || {
  echo "sandbox-profile: could not update profile sandbox" >&2
  exit 1
}
