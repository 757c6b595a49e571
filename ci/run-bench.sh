#!/usr/bin/env bash
# Runs every benchmark program under BUILD/bench, then the lab's (ci/lab/bench.sh: dfu-util and
# flashtwin flashing one emulated board through a Linux guest's USB stack); each prints its own
# figures.
set -euo pipefail
build=${1:?usage: run-bench.sh BUILD}
shopt -s nullglob
status=0
for prog in "$build"/bench/*; do
  [[ -x $prog ]] || continue
  echo "== ${prog##*/}"
  "$prog" || status=1
done
echo "== lab"
ci/lab/bench.sh "$build" || status=1
exit $status
