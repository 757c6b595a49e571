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

"$build/flashtwin-emu" --board "$board" --state "$out/state" --listen 127.0.0.1:0 \
	--timing "$timing" >"$out/emu.log" 2>&1 &
emu=$!
stop_emu() {
	kill "$emu" 2>/dev/null || true
	wait "$emu" 2>/dev/null || true
}
trap stop_emu EXIT

# The emulator prints one ready line with its URL: usbip://127.0.0.1:PORT/BUSID.
url=
for ((i = 0; i < 300; i++)); do
	url=$(grep -o -m 1 'usbip://127\.0\.0\.1:[0-9]*/[0-9][0-9.-]*' "$out/emu.log" || true)
	[[ -n $url ]] && break
	kill -0 "$emu" 2>/dev/null || break
	sleep 0.1
done
if [[ -z $url ]]; then
	echo "board.sh: flashtwin-emu did not come up for ${board##*/}; see $out/emu.log" >&2
	exit 3
fi
port=${url#usbip://127.0.0.1:}
port=${port%%/*}
cat >"$out/lab.env" <<EOF
BOARD=$(basename "$board" .board)
BUSID=${url##*/}
FLASHTWIN=$build/flashtwin
EOF

status=0
"$here/vm.sh" "$port" "$script" "$out" || status=$?
exit $status
