#!/usr/bin/env bash
# conform.sh BUILD OUTDIR: the conformance client dimension for one board's lab run. The guest
# (clients.sh) ran flashtwin-conform's scenarios with flashtwin over libusb as the client
# (OUTDIR/conform-usb.json) and those with a dfu-util version with dfu-util as the client
# (conform-dfu-util.json); this runs the scenarios (CONFORM_ALL of OUTDIR/lab.env) on this
# machine against emulators of the same board with flashtwin over usbip:// as the client, into
# conform-usbip.json, then `flashtwin-conform diff`s that against the other two clients together:
# conform-diff.md and conform-diff.html, one row per scenario and client.
# Exits 0 when the runs and the diff report were made, whatever they found.
set -euo pipefail
build=$(realpath "${1:?usage: conform.sh BUILD OUTDIR}")
out=$(realpath "${2:?usage: conform.sh BUILD OUTDIR}")
. "$out/lab.env"
guest=()
for f in conform-usb.json conform-dfu-util.json; do
	[[ -f $out/$f ]] || { echo "conform.sh: no $out/$f" >&2; exit 1; }
	guest+=("$out/$f")
done
rc=0
"$build/flashtwin-conform" --target "emu:$BOARD" --filter "$CONFORM_ALL" \
	--json "$out/conform-usbip.json" --emu "$build/flashtwin-emu" \
	--flashtwin "$build/flashtwin" --work-dir "$out/conform-work" \
	>"$out/conform-usbip.log" 2>&1 || rc=$?
((rc <= 1)) || { echo "conform.sh: see $out/conform-usbip.log" >&2; exit 1; }
rc=0
"$build/flashtwin-conform" diff "$out/conform-usbip.json" "${guest[@]}" \
	--md "$out/conform-diff.md" --html "$out/conform-diff.html" >/dev/null 2>&1 || rc=$?
((rc <= 1)) || { echo "conform.sh: diff failed" >&2; exit 1; }
