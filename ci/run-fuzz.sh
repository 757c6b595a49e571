#!/usr/bin/env bash
# Builds each libFuzzer target against the fuzz build's libraries and runs it for a bounded time.
# Corpora live in build/fuzz/corpus/<target>; crashes are written to build/fuzz/crashes/.
set -euo pipefail
build=${1:?usage: run-fuzz.sh BUILD SECONDS SOURCES...}
seconds=${2:?}
shift 2
libs=("$build"/lib/libft_conform.a "$build"/lib/libft_emu.a "$build"/lib/libft_programmer.a "$build"/lib/libft_models.a)
mkdir -p "$build/bin" "$build/crashes"
status=0
for src in "$@"; do
  name=$(basename "$src" .c)
  bin="$build/bin/$name"
  clang -std=c11 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined \
    -o "$bin" "$src" "${libs[@]}" -lelf -ljansson -lusb-1.0 -lpthread -lm
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  seeds=$(dirname "$src")/seeds/$name
  echo "== $name for ${seconds}s"
  out="$build/$name.log"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" \
      "$corpus" $( [[ -d $seeds ]] && echo "$seeds" ) >"$out" 2>&1; then
    status=1
    tail -n 40 "$out"
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$out" | sed "s/^/  $name /"
done
exit $status
