#!/usr/bin/env bash
# The firmware CI sequence of firmware-conformance.yml as one script: check the firmware for the
# board, program it into an emulated board and read it back, run the conformance scenarios for
# the board, leave JUnit and JSON results in $OUT.
#   BOARD      board name or .board file           (default nucleo-h743zi2)
#   FIRMWARE   the ELF/HEX/SREC/.dfu to check      (required)
#   FLASHTWIN  a flashtwin checkout, built (make)  (default ./flashtwin)
#   OUT        where results go                    (default flashtwin-results)
set -euo pipefail
board=${BOARD:-nucleo-h743zi2}
firmware=${FIRMWARE:?set FIRMWARE to the image to check}
ft=${FLASHTWIN:-./flashtwin}/build
out=${OUT:-flashtwin-results}
mkdir -p "$out"

echo "== pre-flight: flashtwin check $firmware --board $board"
"$ft/flashtwin" check "$firmware" --board "$board"
"$ft/flashtwin" check "$firmware" --board "$board" --json > "$out/check.json"

if "$ft/flashtwin" flash --help > /dev/null 2>&1; then
  echo "== program an emulated $board and read it back"
  state=$(mktemp -d)
  "$ft/flashtwin-emu" --board "$board" --state "$state/board" --listen 127.0.0.1:0 \
    --timing instant --boot dfu --on-leave exit > "$state/emu.out" 2> "$out/emu.log" &
  emu=$!
  trap 'kill "$emu" 2> /dev/null || true; rm -rf "$state"' EXIT
  for _ in $(seq 100); do
    url=$(grep -o 'usbip://[^ ]*' "$state/emu.out" || true)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || { echo "flashtwin-emu did not start" >&2; cat "$out/emu.log" >&2; exit 1; }
  "$ft/flashtwin" flash "$firmware" --connect "$url" --board "$board" --no-poll-wait
else
  echo "== flashtwin has no flash command yet: programming skipped"
fi

echo "== conformance scenarios for $board against the emulator"
"$ft/flashtwin-conform" --target "emu:$board" --filter 'I*,D*,O*' --jobs 2 \
  --json "$out/conformance.json" --junit "$out/conformance.xml"
