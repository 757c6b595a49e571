#!/usr/bin/env bash
# Runs every test program under BUILD/tests, prints each CUnit report, then one line with the
# totals. Exits non-zero if any test failed, any program crashed, or no test ran.
set -uo pipefail
build=${1:?usage: run-tests.sh BUILD}
shopt -s nullglob
programs=("$build"/tests/*)
if ((${#programs[@]} == 0)); then
  echo "run-tests: no test programs in $build/tests" >&2
  exit 1
fi
passed=0 failed=0 broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for prog in "${programs[@]}"; do
  [[ -x $prog ]] || continue
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
