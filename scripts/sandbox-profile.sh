#!/usr/bin/env bash
# Creates or updates the LXD profile `sandbox` that every sandbox is made
# from, on the daemon the lxc client reaches (LXD_DIR selects a private one).
# limits.processes also counts threads: an idle browser sandbox runs about
# 120 of them, and Chromium starts more per tab.
set -euo pipefail

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
