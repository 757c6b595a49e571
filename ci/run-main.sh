#!/usr/bin/env bash
# `make run`: the main job on the default board (nucleo-h743zi2): what flashtwin knows of the
# part, then the plan for each firmware fixture.
set -euo pipefail
build=${1:?usage: run-main.sh BUILD}
ft="$build/flashtwin"
"$ft" parts STM32H743ZI
for elf in "$build"/fixtures/*.elf; do
  echo
  echo "\$ flashtwin check ${elf##*/} --board nucleo-h743zi2 --transport dfu"
  "$ft" check "$elf" --board nucleo-h743zi2 --transport dfu || true
done
