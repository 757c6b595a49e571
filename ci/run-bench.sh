#!/usr/bin/env bash
# Runs every benchmark program under BUILD/bench; each prints its own figures.
set -euo pipefail
build=${1:?usage: run-bench.sh BUILD}
shopt -s nullglob
status=0
for prog in "$build"/bench/*; do
  [[ -x $prog ]] || continue
  echo "== ${prog##*/}"
  "$prog" || status=1
done
exit $status
