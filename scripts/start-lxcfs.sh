#!/bin/bash
# Make sure lxcfs serves /var/lib/lxcfs, so containers see their own memory limit and
# uptime in /proc. Run as root, before any container starts.
#
# A FUSE mount whose lxcfs process has died stays listed as mounted while every read
# of it fails with "Transport endpoint is not connected", so only a read proves that
# lxcfs serves. Such a mount is detached and lxcfs started again. Under systemd the
# lxcfs service is restarted instead.
set -euo pipefail

readonly LXCFS_DIR=/var/lib/lxcfs

log() {
	printf 'start-lxcfs: %s\n' "$*"
}

die() {
	printf 'start-lxcfs: error: %s\n' "$*" >&2
	exit 1
}

case "${1:-}" in
-h | --help)
	sed -n '2,7s/^# \{0,1\}//p' "$0"
	exit 0
	;;
"") ;;
*) die "unknown argument '$1'; this script takes none (see --help)" ;;
esac

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v lxcfs >/dev/null 2>&1 || die "lxcfs is not installed; run: apt-get install -y lxcfs"

serving() {
	head -c 1 "$LXCFS_DIR/proc/meminfo" >/dev/null 2>&1
}

mounted() {
	findmnt -t fuse.lxcfs "$LXCFS_DIR" >/dev/null 2>&1
}

serving && exit 0

if [ -d /run/systemd/system ]; then
	systemctl restart lxcfs.service >/dev/null 2>&1 || die "systemctl could not start lxcfs.service"
else
	if mounted; then
		log "the lxcfs mount on $LXCFS_DIR no longer answers; detaching it"
		umount -l "$LXCFS_DIR" || die "could not detach the dead lxcfs mount on $LXCFS_DIR"
	fi
	log "starting lxcfs on $LXCFS_DIR (log /var/log/lxcfs.log)"
	mkdir -p "$LXCFS_DIR"
	setsid nohup lxcfs "$LXCFS_DIR" >>/var/log/lxcfs.log 2>&1 </dev/null &
fi

for _ in $(seq 50); do
	serving && exit 0
	sleep 0.1
done
die "lxcfs did not serve $LXCFS_DIR/proc/meminfo within 5 s; see /var/log/lxcfs.log"
