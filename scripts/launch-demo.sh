#!/bin/bash
# Make sure the instance demo-browser exists from the image alias sandbox-browser with
# the profiles default and sandbox, is running, and serves a VNC display: wait up to
# 60 s for the RFB banner on 127.0.0.1:5900 inside it. Safe to run again. The LXD
# daemon is the one the lxc client reaches, so LXD_DIR selects a private daemon.
set -euo pipefail

readonly INSTANCE=demo-browser
readonly IMAGE_ALIAS=sandbox-browser
readonly BANNER_TIMEOUT_SECONDS=60

log() {
	printf 'launch-demo: %s\n' "$*"
}

die() {
	printf 'launch-demo: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	cat <<'EOF'
Usage: scripts/launch-demo.sh [-h | --help]

Create the instance demo-browser from the image alias sandbox-browser with the
profiles default and sandbox, start it, and wait up to 60 s for its VNC server
on 127.0.0.1:5900 inside the instance. Safe to run again.

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
		-*) printf "launch-demo: error: unknown option '%s'\n" "$argument" >&2 ;;
		*) printf "launch-demo: error: unexpected argument '%s'\n" "$argument" >&2 ;;
	esac
	echo "Usage: scripts/launch-demo.sh [-h | --help] (it takes no other arguments)" >&2
	exit 2
done

lxc query /1.0 >/dev/null 2>&1 ||
	die "cannot reach the LXD daemon (LXD_DIR=${LXD_DIR:-unset}); start it with scripts/lxd-host-setup.sh"

if ! lxc info "$INSTANCE" >/dev/null 2>&1; then
	lxc image info "$IMAGE_ALIAS" >/dev/null 2>&1 ||
		die "image alias $IMAGE_ALIAS not found; build it with scripts/build-image.sh browser"
	lxc profile show sandbox >/dev/null 2>&1 ||
		die "profile sandbox not found; create it with scripts/lxd-host-setup.sh"
	log "creating $INSTANCE from $IMAGE_ALIAS"
	# On success lxc init and lxc start only print a reminder that the instance has no
	# network, which is intended here.
	if ! init_output=$(lxc init "$IMAGE_ALIAS" "$INSTANCE" --profile default --profile sandbox 2>&1); then
		printf '%s\n' "$init_output" >&2
		die "lxc init $INSTANCE from $IMAGE_ALIAS failed"
	fi
fi

started_at=$(date +%s.%N)
status=$(lxc list "^${INSTANCE}\$" --format csv --columns s)
case "$status" in
	RUNNING) ;;
	STOPPED | FROZEN)
		# lxc start also resumes a frozen instance.
		log "starting $INSTANCE (was $status)"
		if ! start_output=$(lxc start "$INSTANCE" 2>&1); then
			printf '%s\n' "$start_output" >&2
			die "lxc start $INSTANCE failed"
		fi
		;;
	*) die "$INSTANCE is in state '$status'; expected RUNNING, STOPPED or FROZEN" ;;
esac

# Print the first 12 bytes the VNC server sends, which are its banner. socat reads end of
# input at once, closes its sending side, and then waits 0.5 s for the server's data.
read_banner() {
	timeout 5 lxc exec --force-noninteractive "$INSTANCE" -- socat - TCP:127.0.0.1:5900 </dev/null 2>/dev/null |
		head -c 12 || true
}

deadline=$((SECONDS + BANNER_TIMEOUT_SECONDS))
until banner=$(read_banner) && [ "${banner:0:4}" = "RFB " ]; do
	if [ $SECONDS -ge $deadline ]; then
		die "timed out after ${BANNER_TIMEOUT_SECONDS} s waiting for the VNC banner on 127.0.0.1:5900 in $INSTANCE; check 'lxc exec $INSTANCE -- systemctl status sandbox-xvnc'"
	fi
	sleep 0.2
done
log "$INSTANCE is running; VNC banner '$banner' after $(awk -v start="$started_at" -v end="$(date +%s.%N)" 'BEGIN { printf "%.1f", end - start }') s"
