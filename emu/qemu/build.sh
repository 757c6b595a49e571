#!/usr/bin/env bash
# `make qemu`: builds qemu-system-arm with the flashtwin machines and links it at OUT/qemu-system-arm.
#
#   emu/qemu/build.sh OUT
#
# 1. Key: the SHA-256 of everything that goes into the build (this script, patches/, overlay/,
#    the model sources listed in models.txt). A binary built for that key is reused at once.
# 2. Source: QEMU 7.2 as Debian ships it (`apt-get source qemu`, Debian patches applied). A
#    deb-src entry mirroring the deb entries is added when the machine has none.
# 3. Overlay: patches/*.patch applied with patch -p1, overlay/ copied on top, the models copied to
#    hw/arm/flashtwin/ft/ with a generated meson list.
# 4. Build: arm-softmmu only, only the flashtwin devices (configs/devices/arm-softmmu/flashtwin.mak),
#    every optional feature off, ninja -j${FT_QEMU_JOBS:-2}.
#
# Cache (outside the work tree): ${FT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flashtwin/qemu}
#   src/qemu-VERSION/   the unpacked Debian source, never modified
#   work/src, work/build  one incremental tree: a changed overlay rebuilds only what it touches
#                       (files whose content is unchanged keep their timestamps)
#   bin/KEY/            qemu-system-arm and build.log of each key
#   lock                flock: one build at a time across work trees
# Delete the directory to start over. Needs root (or sudo) only for apt.
set -euo pipefail

out=${1:?usage: build.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${FT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flashtwin/qemu}
jobs=${FT_QEMU_JOBS:-2}
# Debian's python and meson (configure takes python3 from PATH), not a version manager's.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

configure_opts=(
	--target-list=arm-softmmu
	--with-devices-arm=flashtwin
	--without-default-devices
	--without-default-features
	--with-git-submodules=ignore
	--meson=/usr/bin/meson
	--enable-fdt=system
	--disable-docs
	--disable-tools
	--disable-user
	--disable-debug-info
	--disable-werror
)

log() { echo "qemu: $*" >&2; }

# The inputs of the build, one "path<TAB>sha256" line each, sorted: the cache key hashes this.
inputs() {
	(
		cd "$root"
		{
			echo emu/qemu/build.sh
			echo emu/qemu/models.txt
			find emu/qemu/patches emu/qemu/overlay -type f
			sed -e 's/#.*//' emu/qemu/models.txt | awk 'NF {print $1}'
		} | LC_ALL=C sort -u | while read -r f; do
			printf '%s\t%s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
		done
	)
	printf 'configure\t%s\n' "${configure_opts[*]}"
}

key=$(inputs | sha256sum | cut -c1-16)
mkdir -p "$out"
link() {
	ln -sfn "$cache/bin/$key/qemu-system-arm" "$out/qemu-system-arm"
	echo "$key" >"$out/key"
}
if [[ -x $cache/bin/$key/qemu-system-arm ]]; then
	link
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
log "waiting for the build lock ($cache/lock)"
flock 9
if [[ -x $cache/bin/$key/qemu-system-arm ]]; then # another work tree built it meanwhile
	link
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@"; }

"$root/ci/deps.sh"

# A deb-src entry for every deb entry, when the machine has none at all.
have_deb_src() {
	grep -qsE '^[[:space:]]*deb-src[[:space:]]|^Types:.*deb-src' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}
if ! have_deb_src; then
	src_list=/etc/apt/sources.list.d/flashtwin-src.sources
	log "adding $src_list (deb-src for the configured Debian mirrors)"
	{
		echo "# Added by flashtwin emu/qemu/build.sh for \`apt-get source qemu\`."
		for f in /etc/apt/sources.list.d/*.sources; do
			[[ -f $f ]] || continue
			# Each stanza with Types: deb becomes Types: deb-src; other stanzas are dropped.
			awk 'BEGIN { RS = ""; ORS = "\n\n" }
			     /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ {
			         sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
		done
		if [[ -f /etc/apt/sources.list ]]; then
			sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+)[[:space:]]+(.*)$/Types: deb-src\nURIs: \2\nSuites: \3\nComponents: \4\n/p' \
				/etc/apt/sources.list
		fi
	} | $sudo tee "$src_list" >/dev/null
	apt_get update
fi

# The Debian source, unpacked once per Debian version.
version=$(apt-cache showsrc qemu 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n 1)
if [[ -z $version ]]; then
	apt_get update
	version=$(apt-cache showsrc qemu | awk '/^Version:/ {print $2}' | sort -V | tail -n 1)
fi
pristine=$cache/src/qemu-${version#*:}
if [[ ! -f $pristine/VERSION ]]; then
	log "fetching QEMU source $version (apt-get source qemu)"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	(cd "$tmp" && apt_get source --only-source "qemu=$version" >"$tmp/fetch.log" 2>&1) ||
		{ cat "$tmp/fetch.log" >&2; exit 1; }
	mkdir -p "$cache/src"
	rm -rf "$pristine"
	mv "$tmp"/qemu-*/ "$pristine"
	rm -rf "$tmp"
fi

# Stage: pristine + patches + overlay + models, then sync into the work tree by content.
stage=$cache/stage
log "applying the overlay to $version (key $key)"
rm -rf "$stage"
cp -a "$pristine" "$stage"
for p in "$here"/patches/*.patch; do
	patch -s -p1 -d "$stage" --no-backup-if-mismatch <"$p"
done
cp -r "$here/overlay/." "$stage/"
ft=$stage/hw/arm/flashtwin/ft
mkdir -p "$ft"
{
	echo "# Generated by emu/qemu/build.sh from emu/qemu/models.txt."
	echo "ft_model_files = files("
	sed -e 's/#.*//' "$here/models.txt" | awk 'NF {print $1}' | while read -r f; do
		mkdir -p "$ft/$(dirname "$f")"
		cp "$root/$f" "$ft/$f"
		[[ $f == *.c ]] && echo "  '$f',"
	done
	echo ")"
} >"$ft/meson.build"

work=$cache/work
mkdir -p "$work/src"
# -rlp without -t: a file whose content did not change keeps its old timestamp, so ninja
# rebuilds only what the new overlay changed.
rsync -rlp --checksum --delete "$stage/" "$work/src/"
rm -rf "$stage"

conf_id=$(printf '%s\n' "$version" "${configure_opts[@]}" | sha256sum | cut -c1-16)
if [[ ! -f $work/build/build.ninja || $(cat "$work/build/.flashtwin-configure" 2>/dev/null) != "$conf_id" ]]; then
	log "configuring"
	rm -rf "$work/build"
	mkdir -p "$work/build"
	(cd "$work/build" && ../src/configure "${configure_opts[@]}") >"$work/configure.log" 2>&1 ||
		{ tail -n 40 "$work/configure.log" >&2; exit 1; }
	echo "$conf_id" >"$work/build/.flashtwin-configure"
fi

log "building qemu-system-arm with ninja -j$jobs (log: $work/build.log)"
start=$(date +%s)
if ! ninja -C "$work/build" -j"$jobs" qemu-system-arm >"$work/build.log" 2>&1; then
	grep -E -B2 -A12 'error:|FAILED' "$work/build.log" | head -n 80 >&2
	exit 1
fi
log "built in $(($(date +%s) - start)) s"

dest=$cache/bin/$key
tmp=$(mktemp -d "$cache/bin.XXXXXX")
cp "$work/build/qemu-system-arm" "$tmp/"
cp "$work/build.log" "$tmp/build.log"
printf 'debian-version %s\nkey %s\n' "$version" "$key" >"$tmp/info"
inputs >"$tmp/inputs"
rm -rf "$dest"
mkdir -p "$cache/bin"
mv "$tmp" "$dest"
link
