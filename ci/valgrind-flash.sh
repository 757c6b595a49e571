#!/usr/bin/env bash
# `make test`, last step: a full flash + verify and a read with flashtwin and flashtwin-emu each
# running under valgrind memcheck. Fails on any invalid access or use of uninitialised memory,
# any definite or indirect leak, or any error exit, in either process.
#
# valgrind cannot run ASan binaries, so this builds its own tree (default build/valgrind,
# OPT="-O1 -g", no sanitizers). The emulator runs in instant time (with the bus-pacing path on,
# at zero cost) on a free loopback port with a fresh state. flashtwin programs the h743-clean
# fixture (one sector, verified), then a 160 KiB image across the bank 1 / bank 2 boundary (two
# erases, one in bank 2: the rev V ROM's stuck dfuDNBUSY and its CLRSTATUS recovery; 160 blocks,
# verified), then reads the first image back. SIGTERM stops the emulator, which must exit 0.
# Every wait is bounded.
set -euo pipefail
build=${1:-build/valgrind}
make=${MAKE:-make}
board=nucleo-h743zi2

"$make" --no-print-directory -j"${JOBS:-$(nproc)}" BUILD="$build" OPT="-O1 -g" \
  "$build/flashtwin" "$build/flashtwin-emu" fixtures

work=$(mktemp -d)
emu_pid=
cleanup() {
  [[ -n $emu_pid ]] && kill -KILL "$emu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Memcheck: leaks that count as errors are definite and indirect ones (still-reachable blocks at
# exit are the C library's and libusb's caches); 99 tells valgrind's verdict from the program's.
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
  --errors-for-leak-kinds=definite,indirect --track-origins=yes)

valgrind "${vg[@]:1}" --log-file="$work/emu.vg" \
  "$build/flashtwin-emu" --board "$board" --state "$work/state" --listen 127.0.0.1:0 \
  --timing instant --usb-pacing full-speed --on-leave exit >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!

ready=
for _ in $(seq 600); do # 60 s: valgrind starts slowly
  ready=$(head -n 1 "$work/emu.out")
  [[ -n $ready ]] && break
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "valgrind-flash: flashtwin-emu did not get ready" >&2
  cat "$work/emu.err" "$work/emu.vg" >&2
  exit 1
fi
url=$(sed -n 's/.* ready at \(usbip:\/\/[^ ]*\) (state .*/\1/p' <<<"$ready")

status=0
# run NAME ARGS...: flashtwin ARGS under valgrind; reports and records a failure.
run() {
  local name=$1
  shift
  local rc=0
  timeout 600 "${vg[@]}" --log-file="$work/$name.vg" "$build/flashtwin" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  if ((rc == 0)); then
    echo "valgrind-flash: flashtwin $name: clean ($(tail -n 1 "$work/$name.out"))"
  else
    echo "valgrind-flash: flashtwin $name: exit $rc (99: valgrind found errors)" >&2
    cat "$work/$name.err" "$work/$name.vg" >&2
    status=1
  fi
}

head -c $((160 * 1024)) /dev/urandom >"$work/cross.bin"
run flash flash "$build/fixtures/h743-clean.elf" --connect "$url" --board "$board" --no-poll-wait
run flash-two-banks flash "$work/cross.bin@0x080F0000" --connect "$url" --board "$board" \
  --no-poll-wait
run read read --connect "$url" 0x08000000 288 -o "$work/read.bin" --no-poll-wait

kill -TERM "$emu_pid"
rc=0
for _ in $(seq 600); do
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.1
done
wait "$emu_pid" || rc=$?
emu_pid=
if ((rc == 0)); then
  echo "valgrind-flash: flashtwin-emu: clean"
else
  echo "valgrind-flash: flashtwin-emu: exit $rc (99: valgrind found errors)" >&2
  cat "$work/emu.err" "$work/emu.vg" >&2
  status=1
fi
exit $status
