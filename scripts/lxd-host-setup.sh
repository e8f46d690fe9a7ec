#!/bin/bash
# Prepare this machine to run sandboxes: install LXD and the image build tools, start
# lxcfs and the LXD daemon, initialise LXD with a storage pool and no network, and
# create or update the `sandbox` profile. Run as root. A second run only checks and
# changes nothing that is already in place.
#
# A snap LXD is used as it is. Otherwise the Debian packages are used, and the daemon
# is the one LXD_DIR selects (default /var/lib/lxd), so this also prepares a private
# test daemon. Where systemd is not PID 1, lxcfs and LXD are started in the background
# with their logs under /var/log.
#
# Environment:
#   LXD_DIR            daemon folder for the Debian LXD (default /var/lib/lxd)
#   SANDBOX_POOL_SIZE  size of the btrfs loop file, for example 30GiB (default: LXD's
#                      own default for loop files)
set -euo pipefail

readonly SNAP_LXD_DIR=/var/snap/lxd/common/lxd
readonly POOL_NAME=default
# Build tools for scripts/build-image.sh besides LXD itself.
readonly BUILD_PACKAGES=(mmdebstrap squashfs-tools xz-utils btrfs-progs uidmap)

log() {
	printf 'lxd-host-setup: %s\n' "$*"
}

die() {
	printf 'lxd-host-setup: error: %s\n' "$*" >&2
	exit 1
}

# Succeeds when systemd is PID 1, the same test sd_booted(3) uses.
systemd_is_init() {
	[ -d /run/systemd/system ]
}

snap_lxd_present() {
	[ -S "$SNAP_LXD_DIR/unix.socket" ] ||
		{ command -v snap >/dev/null 2>&1 && snap list lxd >/dev/null 2>&1; }
}

install_missing_packages() {
	local missing=() package
	for package in "$@"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$package")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	apt-get install -y -q "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

lxd_reachable() {
	lxc query /1.0 >/dev/null 2>&1
}

start_lxd() {
	lxd_reachable && return 0
	if systemd_is_init && [ "$LXD_DIR" = /var/lib/lxd ]; then
		log "starting lxd.service"
		systemctl enable --now lxd.socket lxd.service >/dev/null 2>&1 ||
			die "systemctl could not start lxd.service; see 'journalctl -u lxd'"
	else
		local log_dir=/var/log/lxd
		[ "$LXD_DIR" = /var/lib/lxd ] || log_dir=/var/log/lxd/$(basename "$LXD_DIR")
		mkdir -p "$log_dir" "$LXD_DIR"
		log "starting lxd for $LXD_DIR (log $log_dir/lxd.log)"
		# LXD 5.0 fetches instance type definitions from the internet at start.
		# The sandboxes come from local images, so by default a proxy on a closed
		# loopback port makes that fetch fail at once; LXD never proxies its
		# loopback traffic. SANDBOX_LXD_ONLINE=1 leaves LXD's network access as is.
		local proxy_env=(HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9)
		[ "${SANDBOX_LXD_ONLINE:-0}" = 1 ] && proxy_env=()
		env "${proxy_env[@]}" setsid nohup lxd --group root >>"$log_dir/lxd.log" 2>&1 </dev/null &
	fi
	lxd waitready --timeout 60 || die "LXD did not become ready within 60 s; see its log"
}

# Print btrfs when the kernel and btrfs-progs support it, else dir.
choose_pool_driver() {
	modprobe btrfs >/dev/null 2>&1 || true
	if grep -qw btrfs /proc/filesystems && command -v mkfs.btrfs >/dev/null 2>&1; then
		echo btrfs
	else
		echo dir
	fi
}

write_preseed() {
	local driver=$1
	echo "storage_pools:"
	echo "- name: $POOL_NAME"
	echo "  driver: $driver"
	if [ "$driver" = btrfs ] && [ -n "${SANDBOX_POOL_SIZE:-}" ]; then
		echo "  config:"
		echo "    size: $SANDBOX_POOL_SIZE"
	fi
	echo "profiles:"
	echo "- name: default"
	echo "  devices:"
	echo "    root:"
	echo "      path: /"
	echo "      pool: $POOL_NAME"
	echo "      type: disk"
}

initialise_lxd() {
	if [ -n "$(lxc storage list --format csv)" ]; then
		# Initialised before: make sure new instances still get a root disk.
		if ! lxc profile device list default | grep -qx root; then
			local pool
			pool=$(lxc storage list --format csv | head -n 1 | cut -d, -f1)
			log "adding a root disk on pool $pool to the default profile"
			lxc profile device add default root disk path=/ pool="$pool" >/dev/null
		fi
		return 0
	fi
	local driver
	driver=$(choose_pool_driver)
	log "initialising LXD with a $driver storage pool '$POOL_NAME' and no network"
	if ! write_preseed "$driver" | lxd init --preseed; then
		[ "$driver" = btrfs ] || die "lxd init --preseed failed"
		log "the btrfs pool failed, for example because loop devices are unavailable; using a dir pool"
		write_preseed dir | lxd init --preseed || die "lxd init --preseed failed with a dir pool too"
	fi
}

use_snap_lxd() {
	export LXD_DIR=$SNAP_LXD_DIR
	export PATH=/snap/bin:$PATH
	lxd waitready --timeout 60 || die "the snap LXD did not become ready within 60 s; try 'snap start lxd'"
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

# At the kernel's default of 128 inotify instances, about a dozen browser
# sandboxes use them all up and the next one fails to boot.
"$(dirname "$0")/raise-inotify-limits.sh" --persist

if snap_lxd_present; then
	log "using the snap LXD"
	install_missing_packages "${BUILD_PACKAGES[@]}"
	use_snap_lxd
else
	export LXD_DIR=${LXD_DIR:-/var/lib/lxd}
	install_missing_packages lxd lxcfs "${BUILD_PACKAGES[@]}"
	if snap_lxd_present; then
		# On Ubuntu the lxd package installs the snap.
		log "using the snap LXD that the lxd package installed"
		use_snap_lxd
	else
		"$(dirname "$0")/start-lxcfs.sh"
		start_lxd
	fi
fi

initialise_lxd
"$(dirname "$0")/sandbox-profile.sh"
log "ready: LXD_DIR=$LXD_DIR, storage pool $(lxc storage list --format csv | head -n 1 | cut -d, -f1,2), profile sandbox"
