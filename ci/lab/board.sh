#!/usr/bin/env bash
# board.sh BUILD BOARD OUTDIR [SCRIPT]: one lab run on one emulated board.
#
# Starts BUILD/flashtwin-emu for BOARD (a board file, or a name under boards/) with a fresh state
# in OUTDIR/state, on a free loopback port, in FT_LAB_TIMING (instant, default, or real) timing;
# writes the inputs (image.bin, image2.bin: 1 MiB of random bytes each; ram.bin: 256) and lab.env
# into OUTDIR; boots the lab guest (vm.sh) to run SCRIPT (default ci/lab/clients.sh) against the
# board; stops the emulator. OUTDIR is emptied first. The emulator's output is in OUTDIR/emu.log.
# Exit status: vm.sh's, or 3 when the emulator did not come up within 30 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage="usage: board.sh BUILD BOARD OUTDIR [SCRIPT]"
build=$(realpath "${1:?$usage}")
board=${2:?$usage}
out=${3:?$usage}
script=$(realpath "${4:-$here/clients.sh}")
timing=${FT_LAB_TIMING:-instant}

if [[ ! -f $board ]]; then
	board=$root/boards/$board.board
fi
board=$(realpath "$board")
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")

head -c $((1 << 20)) /dev/urandom >"$out/image.bin"
head -c $((1 << 20)) /dev/urandom >"$out/image2.bin"
head -c 256 /dev/urandom >"$out/ram.bin"

. "$here/emu.sh"
if ! start_emu "$build" "$board" "$out/state" "$out/emu.log" "$timing"; then
	echo "board.sh: flashtwin-emu did not come up for ${board##*/}; see $out/emu.log" >&2
	exit 3
fi
trap stop_emu EXIT
# CONFORM_ALL: the DFU and option-byte scenarios of flashtwin-conform, for flashtwin over
# usbip:// (conform.sh); CONFORM_FILTER: the same but D13 (leave), for flashtwin over libusb in
# the guest, which must leave the board on the bus for the dfu-util run after it (clients.sh);
# CONFORM_DFU_UTIL: the scenarios that have a dfu-util version, for dfu-util in the guest.
cat >"$out/lab.env" <<EOF
BOARD=$(basename "$board" .board)
BUSID=$EMU_BUSID
FLASHTWIN=$build/flashtwin
FLASHTWIN_CONFORM=$build/flashtwin-conform
CONFORM_ALL=D*,O*
CONFORM_FILTER=D0*,D1[0-24-9],D[2-9]*,O*
CONFORM_DFU_UTIL=D01,D03,D13,D30,O30
EOF

status=0
"$here/vm.sh" "$EMU_PORT" "$script" "$out" || status=$?
exit $status
