#!/usr/bin/env bash
# Raises the kernel's inotify limits to the values LXD's production-setup
# guide ("Server settings for a LXD production setup") suggests, when they
# are lower. The unprivileged containers of one LXD host shared one limit
# here, fs.inotify.max_user_instances, whose kernel default is 128. A
# browser sandbox opens about 10 inotify instances (systemd, logind, dbus,
# getty and Chromium), so at the default the 13th or so sandbox fails to
# boot: its systemd logs "Failed to create inotify object: Too many open
# files" and Chromium never starts.
set -euo pipefail

readonly MAX_USER_INSTANCES=1048576
readonly MAX_USER_WATCHES=1048576
readonly SYSCTL_FILE=/etc/sysctl.d/60-sandbox-console-inotify.conf

usage() {
	cat <<'EOF_USAGE'
Usage: scripts/raise-inotify-limits.sh [-h | --help] [--persist]

Raise fs.inotify.max_user_instances and fs.inotify.max_user_watches to
1048576 each where they are lower, for the running kernel. Limits that are
already higher stay as they are. Run as root.

Options:
  --persist   Also write /etc/sysctl.d/60-sandbox-console-inotify.conf, so
              the limits apply again after a reboot.
  -h, --help  Show this help and exit.
EOF_USAGE
}

persist=false
for argument in "$@"; do
	case "$argument" in
	-h | --help)
		usage
		exit 0
		;;
	--persist) persist=true ;;
	*)
		echo "raise-inotify-limits: error: unknown argument '$argument'; see --help" >&2
		exit 2
		;;
	esac
done

[ "$(id -u)" -eq 0 ] || {
	echo "raise-inotify-limits: error: must run as root" >&2
	exit 1
}

raise() {
	local key=$1 wanted=$2 path current
	path=/proc/sys/${key//.//}
	current=$(cat "$path")
	if [ "$current" -lt "$wanted" ]; then
		echo "$wanted" >"$path"
		echo "raise-inotify-limits: $key raised from $current to $wanted"
	fi
}

raise fs.inotify.max_user_instances "$MAX_USER_INSTANCES"
raise fs.inotify.max_user_watches "$MAX_USER_WATCHES"

if [ "$persist" = true ] && [ ! -e "$SYSCTL_FILE" ]; then
	printf '%s\n' \
		"# Written by Sandbox Console's scripts/raise-inotify-limits.sh: every" \
		"# unprivileged container counts against these limits." \
		"fs.inotify.max_user_instances = $MAX_USER_INSTANCES" \
		"fs.inotify.max_user_watches = $MAX_USER_WATCHES" >"$SYSCTL_FILE"
	echo "raise-inotify-limits: wrote $SYSCTL_FILE"
fi
