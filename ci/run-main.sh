#!/usr/bin/env bash
# `make run`: the main job on the default board. An emulated NUCLEO-H743ZI2 in its system
# bootloader (BOOT0 = 1) is started on a free loopback port with a fresh state directory and real
# flash timing; flashtwin then identifies it, refuses an image with RAM segments without erasing
# anything (field report C), programs and verifies a clean image, reads it back, and leaves DFU.
# Then the board is served again on the same state with --on-leave boot: flashtwin programs the
# QEMU test firmware that says hello on the VCP and leaves DFU, the board resets into it in QEMU
# (`make qemu`), and its first UART lines show on the emulator's stdout.
set -euo pipefail
build=${1:?usage: run-main.sh BUILD}
ft="$build/flashtwin"
emu="$build/flashtwin-emu"
fixtures="$build/fixtures"
board=nucleo-h743zi2

work=$(mktemp -d)
"$emu" --board "$board" --state "$work/state" --listen 127.0.0.1:0 --timing real --on-leave exit \
  >"$work/emu.out" 2>"$work/emu.log" &
emu_pid=$!
cleanup() {
  kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
  if [[ -n ${boot_pid:-} ]]; then
    kill -TERM "$boot_pid" 2>/dev/null && wait "$boot_pid" 2>/dev/null || true
  fi
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

step() {
  echo
  echo "\$ $*"
}

step flashtwin-emu --board "$board" --state STATE --listen 127.0.0.1:0 --timing real
echo "$ready"

step flashtwin info --connect "$url" --board "$board"
"$ft" info --connect "$url" --board "$board"

step flashtwin flash h743-dtcm.elf --connect "$url" --board "$board"
status=0
"$ft" flash "$fixtures/h743-dtcm.elf" --connect "$url" --board "$board" || status=$?
echo "(exit status $status: refused before anything was erased)"
((status == 1))

step flashtwin flash h743-clean.elf --connect "$url" --board "$board"
"$ft" flash "$fixtures/h743-clean.elf" --connect "$url" --board "$board"

size=$(stat -c %s "$fixtures/h743-clean.bin")
step flashtwin read --connect "$url" 0x08000000 "$size" -o readback.bin
"$ft" read --connect "$url" 0x08000000 "$size" -o "$work/readback.bin"
cmp "$work/readback.bin" "$fixtures/h743-clean.bin"
echo "read back $size bytes: identical to h743-clean.bin"

step flashtwin flash h743-clean.elf --connect "$url" --board "$board" --no-verify --leave
"$ft" flash "$fixtures/h743-clean.elf" --connect "$url" --board "$board" --no-verify --leave
for _ in $(seq 50); do
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.1
done
sed -n '2,$p' "$work/emu.out"

# The same board again, resetting into its firmware in QEMU when it leaves DFU.
wait "$emu_pid" 2>/dev/null || true
"$emu" --board "$board" --state "$work/state" --listen 127.0.0.1:0 --timing real --on-leave boot \
  >"$work/boot.out" 2>"$work/boot.log" &
boot_pid=$!
ready=
for _ in $(seq 100); do
  ready=$(head -n 1 "$work/boot.out")
  [[ -n $ready ]] && break
  kill -0 "$boot_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "run-main: flashtwin-emu --on-leave boot did not start:" >&2
  cat "$work/boot.log" >&2
  exit 1
fi
url=$(sed -n 's/.* ready at \(usbip:\/\/[^ ]*\) (state .*/\1/p' <<<"$ready")
step flashtwin-emu --board "$board" --state STATE --listen 127.0.0.1:0 --timing real --on-leave boot
echo "$ready"

hello="$build/qemu-firmware/h743-hello.elf"
step flashtwin flash h743-hello.elf --connect "$url" --board "$board" --leave
"$ft" flash "$hello" --connect "$url" --board "$board" --leave
# The firmware's last line is "systick ok"; wait for it at most 10 s.
for _ in $(seq 100); do
  grep -q '^systick' "$work/boot.out" && break
  kill -0 "$boot_pid" 2>/dev/null || break
  sleep 0.1
done
echo
echo "(the emulator's stdout after the leave: QEMU running the programmed firmware)"
sed -n '2,$p' "$work/boot.out"
grep -q '^hello from STM32H743' "$work/boot.out"
