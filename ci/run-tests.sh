#!/usr/bin/env bash
# Runs the test programs named on the command line (the Makefile passes the ones it built, so a
# stale program left in the build tree never runs), prints each CUnit report, then one line with
# the totals. Exits non-zero if any test failed, any program crashed, or no test ran.
set -uo pipefail
programs=("$@")
if ((${#programs[@]} == 0)); then
  echo "run-tests: no test programs given" >&2
  exit 1
fi
passed=0 failed=0 broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for prog in "${programs[@]}"; do
  if [[ ! -x $prog ]]; then
    broken+=("${prog##*/} (not built)")
    continue
  fi
  echo "== ${prog##*/}"
  "$prog" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # CUnit's summary row: "tests  <total> <ran> <passed> <failed> <inactive>"
  read -r ran ok bad < <(awk '$1 == "tests" && NF >= 6 {print $3, $4, $5}' "$log" | tail -n 1)
  if [[ -z ${ran:-} ]]; then
    broken+=("${prog##*/} (exit $status, no CUnit summary)")
    continue
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  ((status == 0 || bad > 0)) || broken+=("${prog##*/} (exit $status)")
  unset ran ok bad
done
echo
for b in "${broken[@]}"; do echo "broken: $b"; done
echo "tests: $passed passed, $failed failed"
((failed == 0 && ${#broken[@]} == 0 && passed > 0))
