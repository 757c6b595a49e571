#!/usr/bin/env bash
# bench.sh [BUILD [BOARD]]: dfu-util's and flashtwin's time to flash the same 1 MiB image into the
# same emulated board (default nucleo-h743zi2) in real timing (flashtwin-emu --timing real:
# datasheet erase and program times), side by side.
#
# One flashtwin-emu, one guest boot (ci/lab/vm.sh running bench-clients.sh): dfu-util -D,
# flashtwin flash --no-verify and flashtwin flash, each over libusb and the guest kernel's
# vhci-hcd; then, on this machine with the same emulator, flashtwin flash over its userspace
# usbip:// transport, which has no kernel in the path. Every flash erases the sectors the image
# covers first. Results in BUILD/lab-bench. Exits non-zero when a flash failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(realpath "${1:-build}")
board=$root/boards/${2:-nucleo-h743zi2}.board
out=$build/lab-bench
size=$((1 << 20))

rm -rf "$out"
mkdir -p "$out"
head -c "$size" /dev/urandom >"$out/image.bin"

. "$here/emu.sh"
if ! start_emu "$build" "$board" "$out/state" "$out/emu.log" real; then
	echo "bench.sh: flashtwin-emu did not come up; see $out/emu.log" >&2
	exit 1
fi
trap stop_emu EXIT
cat >"$out/lab.env" <<EOF
BOARD=$(basename "$board" .board)
BUSID=$EMU_BUSID
FLASHTWIN=$build/flashtwin
EOF

status=0
"$here/vm.sh" "$EMU_PORT" "$here/bench-clients.sh" "$out" || status=$?

# The guest has powered off and its connection is closed: the emulator takes a new client.
start=$(date +%s.%N)
rc=0
"$build/flashtwin" flash "$out/image.bin" --address 0x08000000 --connect "$EMU_URL" \
	--board "$(basename "$board" .board)" >"$out/flashtwin-usbip.log" 2>&1 || rc=$?
end=$(date +%s.%N)
echo "flashtwin-usbip ok $rc $(echo "$end $start" | awk '{printf "%.2f", $1 - $2}')" \
	>>"$out/steps.txt"

echo "lab bench: $(basename "$board" .board), 1 MiB of random bytes at 0x08000000," \
	"flashtwin-emu --timing real"
printf '  %-52s %8s %10s\n' client seconds KiB/s
while read -r name expect rc secs; do
	case $name in
	dfu-util) what="dfu-util -D (guest: kernel vhci-hcd, libusb)" ;;
	flashtwin-no-verify) what="flashtwin flash --no-verify (guest: libusb)" ;;
	flashtwin) what="flashtwin flash, verified (guest: libusb)" ;;
	flashtwin-usbip) what="flashtwin flash, verified (host: usbip://)" ;;
	*) continue ;;
	esac
	if [[ $rc == 0 ]]; then
		printf '  %-52s %8s %10s\n' "$what" "$secs" \
			"$(echo "$size $secs" | awk '{printf "%.1f", $1 / 1024 / $2}')"
	else
		printf '  %-52s %8s\n' "$what" "FAILED (exit $rc, see $out/$name.log)"
		status=1
	fi
done <"$out/steps.txt"
((status == 0)) || echo "  the guest's run failed (exit $status): see $out/script.log"
echo "  guest booted in $(cat "$out/guest-ready" 2>/dev/null || echo '?') s"
exit $status
