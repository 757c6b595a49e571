#!/usr/bin/env bash
# image.sh: makes sure the lab guest's kernel and initramfs are in the cache and prints their two
# paths, "VMLINUZ INITRD", on one line.
#
# The kernel is Debian's own x86-64 kernel: `apt-get download` of linux-image-amd64 and of the
# versioned package it depends on, unpacked into the cache once and kept there (delete the cache
# to move to a newer kernel). The initramfs is ours: the static busybox, ci/lab/init, and the
# kernel modules the guest needs (virtio_pci, virtio_console, 9pnet_virtio, 9p, vhci-hcd and
# what they depend on, resolved by modprobe against the unpacked kernel). It is rebuilt when the
# kernel, ci/lab/init or this script changes.
#
# Cache: $FT_LAB_CACHE, default /var/cache/flashtwin/lab, outside every work tree, so CI on a
# clean clone of the same machine reuses it; a new machine rebuilds it from Debian packages
# (about 70 MB download, 20 s). Concurrent runs serialise on a lock in the cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FT_LAB_CACHE:-/var/cache/flashtwin/lab}
modules=(virtio_pci virtio_console 9pnet_virtio 9p vhci-hcd)

mkdir -p "$cache"
exec 9>"$cache/lock"
flock -w 600 9 || { echo "image: cache $cache is locked by another run" >&2; exit 1; }

# Debian's kernel, unpacked into $cache/kernel/root.
kroot=$cache/kernel/root
if [[ ! -f $cache/kernel/done ]]; then
	rm -rf "$cache/kernel"
	mkdir -p "$cache/kernel"
	# A machine whose package lists were never fetched: update once and retry.
	get() {
		(cd "$cache/kernel" && apt-get download -q "$1" >/dev/null 2>&1) && return
		apt-get update -qq >/dev/null
		(cd "$cache/kernel" && apt-get download -q "$1" >/dev/null)
	}
	get linux-image-amd64
	meta=$(ls "$cache"/kernel/linux-image-amd64_*.deb)
	# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> the versioned kernel package
	depends=$(dpkg-deb -f "$meta" Depends | tr ',' '\n')
	dep=$(grep -o -m 1 'linux-image-[0-9][^ ]*' <<<"$depends")
	ver=$(grep "$dep" <<<"$depends" | sed -n 's/.*(= *\([^)]*\)).*/\1/p')
	get "$dep${ver:+=$ver}"
	dpkg-deb -x "$cache"/kernel/"$dep"_*.deb "$kroot"
	rm -f "$cache"/kernel/*.deb
	touch "$cache/kernel/done"
fi
release=$(ls "$kroot/lib/modules")
vmlinuz=$kroot/boot/vmlinuz-$release

key=$( (echo "$release"; cat "$here/init" "$0") | sha256sum | cut -c1-16)
initrd=$cache/initrd-$key.gz
if [[ ! -f $initrd ]]; then
	busybox=$(command -v busybox || echo /bin/busybox)
	{ ldd "$busybox" 2>&1 || true; } | grep -q 'not a dynamic' ||
		{
			echo "image: $busybox is not static (Debian package busybox-static)" >&2
			exit 1
		}
	[[ -f $kroot/lib/modules/$release/modules.dep.bin ]] || depmod -b "$kroot" "$release"
	tree=$(mktemp -d "$cache/tree.XXXXXX")
	trap 'rm -rf "$tree"' EXIT
	mkdir -p "$tree"/{bin,dev,proc,sys,host,out,modules}
	cp "$busybox" "$tree/bin/busybox"
	cp "$here/init" "$tree/init"
	chmod 755 "$tree/init"
	# modprobe prints "insmod PATH" per module in load order, dependencies first ("builtin NAME"
	# for what the kernel has built in).
	for m in "${modules[@]}"; do
		modprobe -d "$kroot" -S "$release" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
		name=${ko##*/}
		case $name in
		*.ko.xz) xz -dc "$ko" >"$tree/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$ko" >"$tree/modules/${name%.zst}"; name=${name%.zst} ;;
		*) cp "$ko" "$tree/modules/$name" ;;
		esac
		echo "$name"
	done >"$tree/modules/order"
	(cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi
echo "$vmlinuz $initrd"
