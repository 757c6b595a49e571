#!/usr/bin/env bash
# `make run`: the main job on the default board (nucleo-h743zi2): what flashtwin knows of the
# part, an emulated board started on a free port with a temporary state directory, and the plan
# for each firmware fixture.
set -euo pipefail
build=${1:?usage: run-main.sh BUILD}
ft="$build/flashtwin"
emu="$build/flashtwin-emu"
board=nucleo-h743zi2

"$ft" parts STM32H743ZI

work=$(mktemp -d)
"$emu" --board "$board" --state "$work/state" --listen 127.0.0.1:0 \
  >"$work/emu.out" 2>"$work/emu.log" &
emu_pid=$!
cleanup() {
  kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The ready line (docs/emulator.md) gives the usbip:// URL; wait for it at most 10 s.
ready=
for _ in $(seq 100); do
  ready=$(head -n 1 "$work/emu.out")
  [[ -n $ready ]] && break
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "run-main: flashtwin-emu did not start:" >&2
  cat "$work/emu.log" >&2
  exit 1
fi
url=$(sed -n 's/.* ready at \(usbip:\/\/[^ ]*\) (state .*/\1/p' <<<"$ready")
echo
echo "\$ flashtwin-emu --board $board --state $work/state --listen 127.0.0.1:0"
echo "$ready"

for elf in "$build"/fixtures/*.elf; do
  echo
  echo "\$ flashtwin check ${elf##*/} --board $board --transport dfu"
  "$ft" check "$elf" --board "$board" --transport dfu || true
done

# Programming the emulated board goes here once `flashtwin flash/read` land (wip/cli):
#   "$ft" flash "$build/fixtures/h743-clean.elf" --connect "$url"
#   "$ft" read ... --connect "$url" and compare with the fixture.
echo
echo "emulated $board at $url (stopped when make run ends)"
