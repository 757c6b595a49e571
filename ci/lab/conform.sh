#!/usr/bin/env bash
# conform.sh BUILD OUTDIR: the conformance client dimension for one board's lab run. The guest
# (clients.sh) ran flashtwin-conform's scenarios with flashtwin over libusb as the client, into
# OUTDIR/conform-usb.json; this runs the same scenarios (CONFORM_FILTER of OUTDIR/lab.env) on this
# machine against emulators of the same board with flashtwin over usbip:// as the client, into
# conform-usbip.json, then `flashtwin-conform diff`s them: conform-diff.md and conform-diff.html.
# Exits 0 when both runs and the diff report were made, whatever they found.
set -euo pipefail
build=$(realpath "${1:?usage: conform.sh BUILD OUTDIR}")
out=$(realpath "${2:?usage: conform.sh BUILD OUTDIR}")
. "$out/lab.env"
[[ -f $out/conform-usb.json ]] || { echo "conform.sh: no $out/conform-usb.json" >&2; exit 1; }
rc=0
"$build/flashtwin-conform" --target "emu:$BOARD" --filter "$CONFORM_FILTER" \
	--json "$out/conform-usbip.json" --emu "$build/flashtwin-emu" \
	--flashtwin "$build/flashtwin" --work-dir "$out/conform-work" \
	>"$out/conform-usbip.log" 2>&1 || rc=$?
((rc <= 1)) || { echo "conform.sh: see $out/conform-usbip.log" >&2; exit 1; }
rc=0
"$build/flashtwin-conform" diff "$out/conform-usbip.json" "$out/conform-usb.json" \
	--md "$out/conform-diff.md" --html "$out/conform-diff.html" >/dev/null 2>&1 || rc=$?
((rc <= 1)) || { echo "conform.sh: diff failed" >&2; exit 1; }
