#!/usr/bin/env bash
# lab.sh [BUILD [BOARD...]]: the lab on every emulated H7 board (boards/*.board whose part is an
# STM32H7), or on the BOARDs named; BUILD defaults to build. Each board gets one guest boot
# (board.sh, clients.sh), FT_LAB_JOBS (default 5) boards at a time, then the conformance runs
# compared between clients (conform.sh); results in BUILD/lab/BOARD.
# Prints one line per board and step, the boot and run times, and the total; exits non-zero when
# a board's run failed or a step ended other than expected.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
shift || true
jobs=${FT_LAB_JOBS:-5}
boards=("$@")
if ((${#boards[@]} == 0)); then
	for f in "$root"/boards/*.board; do
		grep -Eq '^part *= *STM32H7' "$f" && boards+=("$(basename "$f" .board)")
	done
fi
mkdir -p "$build/lab"
lab=$(realpath "$build/lab")

# The guest image is built once, before the boards race for it.
"$here/image.sh" >/dev/null

start=$(date +%s)
for b in "${boards[@]}"; do
	while (($(jobs -rp | wc -l) >= jobs)); do
		wait -n || true
	done
	rm -f "$lab/$b.status"
	{
		rc=0
		"$here/board.sh" "$build" "$b" "$lab/$b" >"$lab/$b.log" 2>&1 || rc=$?
		echo "$rc" >"$lab/$b.status"
		"$here/conform.sh" "$build" "$lab/$b" >>"$lab/$b.log" 2>&1 || true
	} &
done
wait
total=$(($(date +%s) - start))

status=0
for b in "${boards[@]}"; do
	dir=$lab/$b
	rc=$(cat "$lab/$b.status" 2>/dev/null || echo "?")
	boot=$(cat "$dir/guest-ready" 2>/dev/null || echo "?")
	run=$(cat "$dir/vm-seconds" 2>/dev/null || echo "?")
	echo "== $b: exit $rc, booted in ${boot} s, ran ${run} s"
	[[ $rc == 0 ]] || { status=1; sed 's/^/   /' "$lab/$b.log"; }
	[[ -f $dir/steps.txt ]] || { status=1; continue; }
	while read -r name expect rc secs; do
		verdict=ok
		case $expect in
		ok) ((rc == 0)) || verdict=FAILED ;;
		fail) ((rc != 0)) || verdict=FAILED ;;
		esac
		[[ $verdict == ok ]] || status=1
		printf '   %-14s %-6s exit %-4s %7s s\n' "$name" "$verdict" "$rc" "$secs"
	done <"$dir/steps.txt"
	if [[ -f $dir/conform-diff.md ]]; then
		differ=$(grep -m 1 -o '[0-9]* of [0-9]* scenarios differ' "$dir/conform-diff.md" ||
			echo 'no difference')
		echo "   conform usbip:// vs libusb and dfu-util: $differ, see $dir/conform-diff.md"
	else
		echo "   conform usbip:// vs libusb and dfu-util: no report"
		status=1
	fi
done
echo "lab: ${#boards[@]} boards in ${total} s, results in $lab"
exit $status
