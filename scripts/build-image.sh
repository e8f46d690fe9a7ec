#!/bin/bash
# Build the sandbox image described by images/NAME and import it into LXD as the
# alias sandbox-NAME.
#
#   scripts/build-image.sh NAME
#
# The root filesystem comes from mmdebstrap with the host's own apt sources and the
# host's Debian suite. Built artifacts are cached under
# /var/cache/sandbox-console/images/NAME-HASH/, where HASH is the recipe hash: a
# sha256 over the recipe folder's files, this script, the suite and the architecture.
# The LXD daemon is the one the lxc client reaches, so LXD_DIR selects a private daemon.
# Must run as root.
set -euo pipefail

readonly CACHE_ROOT=/var/cache/sandbox-console/images
# Artifact names inside a cache entry.
readonly METADATA_FILE=lxd-metadata.tar.xz
readonly ROOTFS_FILE=rootfs.squashfs
# Cache entries kept per image. Older recipe versions are deleted after a build.
readonly KEPT_CACHE_ENTRIES=3

log() {
	printf 'build-image: %s\n' "$*"
}

die() {
	printf 'build-image: error: %s\n' "$*" >&2
	exit 1
}

now() {
	date +%s.%N
}

# Print the seconds elapsed since START with one decimal.
elapsed_since() {
	awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'
}

require_command() {
	local command_name=$1 package=$2
	command -v "$command_name" >/dev/null 2>&1 ||
		die "$command_name not found: install it with 'apt-get install -y $package'"
}

usage() {
	cat <<'EOF'
Usage: scripts/build-image.sh [-h | --help] NAME

Build the sandbox image recipe in images/NAME (for example browser or python)
with mmdebstrap from the host's apt sources, and import it into LXD as the
image alias sandbox-NAME. Builds are cached by recipe hash under
/var/cache/sandbox-console/images/, so a second run only imports. Run as root.

Options:
  -h, --help  Show this help and exit.

Environment:
  LXD_DIR     Directory of the LXD daemon to import into (default: the one
              the lxc client reaches).
EOF
}

# Print MESSAGE and the usage line to stderr, then exit 2.
usage_error() {
	printf 'build-image: error: %s\n' "$1" >&2
	echo "Usage: scripts/build-image.sh [-h | --help] NAME (run with --help for details)" >&2
	exit 2
}

image_names=()
for argument in "$@"; do
	case "$argument" in
		-h | --help)
			usage
			exit 0
			;;
		-*) usage_error "unknown option '$argument'" ;;
		*) image_names+=("$argument") ;;
	esac
done
[ ${#image_names[@]} -eq 1 ] ||
	usage_error "expected one image name, got ${#image_names[@]}. The names are the folders under images/"
readonly IMAGE_NAME=${image_names[0]}
case "$IMAGE_NAME" in
	'' | *[!a-z0-9-]*) die "invalid image name '$IMAGE_NAME': use lower-case letters, digits and '-'" ;;
esac

readonly SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
readonly REPO_ROOT=$(dirname "$(dirname "$SCRIPT_PATH")")
readonly RECIPE_DIR=$REPO_ROOT/images/$IMAGE_NAME
readonly ALIAS=sandbox-$IMAGE_NAME

[ -d "$RECIPE_DIR" ] || die "recipe folder $RECIPE_DIR not found"
for required_file in packages metadata.yaml; do
	[ -f "$RECIPE_DIR/$required_file" ] || die "recipe file $RECIPE_DIR/$required_file is missing"
done
[ "$(id -u)" -eq 0 ] || die "must run as root: mmdebstrap needs root to build, and lxc needs the LXD socket"

require_command mmdebstrap mmdebstrap
require_command mksquashfs squashfs-tools
require_command xz xz-utils
require_command flock util-linux
require_command findmnt util-linux
require_command lxc lxd

# The image uses the host's Debian release, so the host's apt sources fit it.
read_os_release() {
	# shellcheck source=/dev/null
	(. /etc/os-release && printf '%s' "${!1:-}")
}
host_os=$(read_os_release ID)
[ "$host_os" = debian ] ||
	die "the host is '${host_os:-unknown}', but the recipes install Debian packages: run this on a Debian host"
readonly SUITE=$(read_os_release VERSION_CODENAME)
[ -n "$SUITE" ] || die "VERSION_CODENAME is missing from /etc/os-release"
readonly RELEASE_VERSION=$(read_os_release VERSION_ID)
readonly ARCHITECTURE=$(uname -m)

# The host's enabled apt source files, each passed to mmdebstrap as a MIRROR argument.
apt_source_files=()
if grep -qsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
	apt_source_files+=(/etc/apt/sources.list)
fi
for source_file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$source_file" ] && apt_source_files+=("$source_file")
done
[ ${#apt_source_files[@]} -gt 0 ] ||
	die "no apt sources found in /etc/apt/sources.list or /etc/apt/sources.list.d/"

# Recipe hash: every file of the recipe with its path, plus this script, suite and architecture.
compute_recipe_hash() {
	{
		(cd "$RECIPE_DIR" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		sha256sum <"$SCRIPT_PATH" | sed 's|-$|scripts/build-image.sh|'
		echo "suite=$SUITE architecture=$ARCHITECTURE"
	} | sha256sum | cut -c1-64
}
readonly RECIPE_HASH=$(compute_recipe_hash)
readonly CACHE_DIR=$CACHE_ROOT/$IMAGE_NAME-$RECIPE_HASH

log "image $IMAGE_NAME: recipe hash $RECIPE_HASH (Debian $SUITE, $ARCHITECTURE)"
mkdir -p "$CACHE_ROOT/locks"

work_dir=
cleanup() {
	[ -n "$work_dir" ] && [ -d "$work_dir" ] || return 0
	# A killed mmdebstrap can leave /proc or /sys mounted inside the root filesystem,
	# and rm -rf would then descend into the host's files.
	if findmnt -rn -o TARGET | grep -qF "$work_dir/"; then
		echo "build-image: error: mounts remain under $work_dir; unmount them, then delete the folder" >&2
		return 0
	fi
	rm -rf "$work_dir"
}
trap cleanup EXIT

# Print the mirror host names in the host's apt sources, so the build can check that
# none of them was left in the image.
mirror_host_names() {
	cat "${apt_source_files[@]}" |
		grep -v '^[[:space:]]*#' |
		grep -oE '[a-z+]+://[^/[:space:]]+' |
		sed -E 's|^[a-z+]+://||; s|^[^@]*@||; s|:[0-9]+$||' |
		sort -u
}

build_rootfs() {
	local rootfs_dir=$1 log_file=$2 started
	local packages
	packages=$(sed -e 's/#.*//' "$RECIPE_DIR/packages" | tr -s '[:space:]' ',' | sed 's/^,//; s/,$//')
	[ -n "$packages" ] || die "$RECIPE_DIR/packages lists no packages"

	local hooks=()
	if [ -d "$RECIPE_DIR/rootfs" ]; then
		# cp without --preserve makes root the owner of the copies, whichever user owns the checkout.
		hooks+=(--customize-hook='cp -r "$SANDBOX_RECIPE_DIR/rootfs/." "$1/"')
	fi
	if [ -f "$RECIPE_DIR/customize.sh" ]; then
		hooks+=(--customize-hook='chroot "$1" /bin/sh -s <"$SANDBOX_RECIPE_DIR/customize.sh"')
	fi

	log "running mmdebstrap for $SUITE with ${#apt_source_files[@]} host apt source file(s); log: $log_file"
	started=$(now)
	# Documentation, manual pages and translations are left out to keep the image small.
	if ! SANDBOX_RECIPE_DIR=$RECIPE_DIR mmdebstrap \
		--mode=root --variant=apt --format=directory \
		--include="$packages" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		"${hooks[@]}" \
		"$SUITE" "$rootfs_dir" "${apt_source_files[@]}" >"$log_file" 2>&1; then
		tail -n 30 "$log_file" >&2
		die "mmdebstrap failed for image $IMAGE_NAME; the full log is $log_file"
	fi
	log "mmdebstrap finished in $(elapsed_since "$started") s"

	# The image must not carry the host's apt sources or the mirror names in them.
	rm -f "$rootfs_dir/etc/apt/sources.list"
	find "$rootfs_dir/etc/apt/sources.list.d" -mindepth 1 -delete
	rm -rf "$rootfs_dir/var/lib/apt/lists/"*
	# mmdebstrap copies the build host's name and resolver. LXD writes /etc/hostname from
	# the image template, and the sandboxes have no network to resolve names on.
	echo localhost >"$rootfs_dir/etc/hostname"
	: >"$rootfs_dir/etc/resolv.conf"
	local host_name leftover
	while read -r host_name; do
		[ -n "$host_name" ] || continue
		leftover=$(grep -rlsF -- "$host_name" "$rootfs_dir/etc" "$rootfs_dir/var/lib/apt" "$rootfs_dir/var/cache/apt" | head -n 5 || true)
		[ -z "$leftover" ] || die "apt mirror name $host_name left in the image, in: $leftover"
	done < <(mirror_host_names)
}

write_metadata_tarball() {
	local staging_dir=$1 output=$2
	mkdir -p "$staging_dir"
	sed -e "s|@ARCHITECTURE@|$ARCHITECTURE|g" \
		-e "s|@CREATION_DATE@|$(date +%s)|g" \
		-e "s|@RELEASE@|$SUITE|g" \
		-e "s|@RELEASE_VERSION@|$RELEASE_VERSION|g" \
		-e "s|@RECIPE_HASH@|$RECIPE_HASH|g" \
		"$RECIPE_DIR/metadata.yaml" >"$staging_dir/metadata.yaml"
	if grep -q '@[A-Z_]*@' "$staging_dir/metadata.yaml"; then
		die "unknown placeholder left in $RECIPE_DIR/metadata.yaml: $(grep -o '@[A-Z_]*@' "$staging_dir/metadata.yaml" | head -n 1)"
	fi
	local members=(metadata.yaml)
	if [ -d "$RECIPE_DIR/templates" ]; then
		cp -r "$RECIPE_DIR/templates" "$staging_dir/templates"
		members+=(templates)
	fi
	tar --owner=0 --group=0 -C "$staging_dir" -cJf "$output" "${members[@]}"
}

# Build into a temporary folder next to the cache entry, then rename it into place, so
# a cache entry either is complete or does not exist.
build_cache_entry() {
	local started packed_started
	started=$(now)
	work_dir=$(mktemp -d "$CACHE_ROOT/.build-$IMAGE_NAME-XXXXXX")
	local output_dir=$work_dir/output
	mkdir -p "$output_dir"

	# The log lives outside the work folder, so it survives a failed build.
	local log_file=$CACHE_ROOT/logs/$IMAGE_NAME-$RECIPE_HASH.log
	mkdir -p "$CACHE_ROOT/logs"
	build_rootfs "$work_dir/rootfs" "$log_file"
	cp "$log_file" "$output_dir/build.log"

	packed_started=$(now)
	log "packing rootfs as squashfs"
	# Each instance creation on a dir pool unpacks the image. With LXD 5.0.2 on a 2-core
	# machine, the browser image took 2.1-2.4 s to unpack from squashfs with zstd. The same
	# rootfs took 2.7-2.9 s from tar.zst, 6.4-7.2 s from squashfs with xz and 13 s from tar.xz.
	if ! mksquashfs "$work_dir/rootfs" "$output_dir/$ROOTFS_FILE" \
		-comp zstd -b 1M -noappend -no-progress -quiet >/dev/null 2>"$work_dir/mksquashfs.err"; then
		cat "$work_dir/mksquashfs.err" >&2
		die "mksquashfs failed for $work_dir/rootfs"
	fi
	# squashfs cannot store POSIX ACLs. The only ones here are on the journal folders,
	# and systemd-tmpfiles sets those again at boot.
	grep -v '^Unrecognised xattr prefix system\.posix_acl_' "$work_dir/mksquashfs.err" >&2 || true
	write_metadata_tarball "$work_dir/metadata" "$output_dir/$METADATA_FILE"
	log "packed in $(elapsed_since "$packed_started") s"

	# LXD names a split image by the sha256 of the metadata tarball followed by the rootfs.
	cat "$output_dir/$METADATA_FILE" "$output_dir/$ROOTFS_FILE" | sha256sum | cut -c1-64 >"$output_dir/fingerprint"
	echo "$RECIPE_HASH" >"$output_dir/recipe_hash"
	du -sb "$work_dir/rootfs" | cut -f1 >"$output_dir/rootfs_bytes"

	mv "$output_dir" "$CACHE_DIR"
	rm -rf "$work_dir"
	work_dir=
	log "built $IMAGE_NAME in $(elapsed_since "$started") s: rootfs $(numfmt --to=iec "$(cat "$CACHE_DIR/rootfs_bytes")"), image $(du -ch "$CACHE_DIR/$METADATA_FILE" "$CACHE_DIR/$ROOTFS_FILE" | tail -n 1 | cut -f1)"
}

prune_cache_entries() {
	local entry
	find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
		-regex ".*/$IMAGE_NAME-[0-9a-f]{64}" -printf '%T@ %p\n' |
		sort -rn | tail -n +$((KEPT_CACHE_ENTRIES + 1)) | cut -d' ' -f2- |
		while read -r entry; do
			rm -rf "$entry"
			rm -f "$CACHE_ROOT/logs/$(basename "$entry").log"
			log "deleted old cache entry $entry"
		done
}

# Builds of the same image wait for each other, so the second one finds the cache entry.
exec 8>"$CACHE_ROOT/locks/build-$IMAGE_NAME.lock"
if ! flock -n 8; then
	log "waiting for another build of $IMAGE_NAME to finish"
	flock 8
fi
if [ -f "$CACHE_DIR/fingerprint" ]; then
	log "using cached build $CACHE_DIR"
else
	build_cache_entry
	prune_cache_entries
fi
flock -u 8

readonly FINGERPRINT=$(cat "$CACHE_DIR/fingerprint")

# Import into the LXD daemon that lxc reaches, which LXD_DIR selects.
readonly LXD_LABEL="LXD (LXD_DIR=${LXD_DIR:-unset})"
lxc query /1.0 >/dev/null 2>&1 ||
	die "cannot reach $LXD_LABEL; start it with scripts/lxd-host-setup.sh"

# Imports into one daemon run one at a time, so two runs never race on the alias.
exec 9>"$CACHE_ROOT/locks/import-$(printf '%s' "${LXD_DIR:-}" | sha256sum | cut -c1-16).lock"
flock 9

current_fingerprint=
current_hash=
if lxc image info "$ALIAS" >/dev/null 2>&1; then
	current_fingerprint=$(lxc image info "$ALIAS" | sed -n 's/^Fingerprint: //p')
	current_hash=$(lxc image get-property "$ALIAS" recipe_hash 2>/dev/null || true)
fi

if [ "$current_hash" = "$RECIPE_HASH" ]; then
	log "$LXD_LABEL already has $ALIAS -> ${current_fingerprint:0:12} with this recipe hash; import skipped"
	exit 0
fi

if lxc image info "$FINGERPRINT" >/dev/null 2>&1; then
	log "$LXD_LABEL already stores image ${FINGERPRINT:0:12}; import skipped"
else
	import_started=$(now)
	log "importing ${FINGERPRINT:0:12} into $LXD_LABEL"
	lxc image import "$CACHE_DIR/$METADATA_FILE" "$CACHE_DIR/$ROOTFS_FILE" >/dev/null ||
		die "lxc image import failed for $CACHE_DIR"
	log "imported in $(elapsed_since "$import_started") s"
fi

alias_description="Sandbox $IMAGE_NAME image, recipe $RECIPE_HASH"
if [ -z "$current_fingerprint" ]; then
	lxc query -X POST /1.0/images/aliases \
		--data "{\"name\": \"$ALIAS\", \"target\": \"$FINGERPRINT\", \"description\": \"$alias_description\"}" >/dev/null
	log "alias $ALIAS -> ${FINGERPRINT:0:12}"
else
	# PUT replaces the alias target in one request, so a concurrent launch never finds it missing.
	lxc query -X PUT "/1.0/images/aliases/$ALIAS" \
		--data "{\"target\": \"$FINGERPRINT\", \"description\": \"$alias_description\"}" >/dev/null
	log "alias $ALIAS moved from ${current_fingerprint:0:12} (recipe ${current_hash:-unknown}) to ${FINGERPRINT:0:12}"
	# Existing instances keep their own copy of the root filesystem, so an old image that
	# no alias names any more can go.
	if [ -z "$(lxc image list "$current_fingerprint" --format csv -c L)" ]; then
		lxc image delete "$current_fingerprint"
		log "deleted the previous image ${current_fingerprint:0:12}, which had no other alias"
	fi
fi
