#!/usr/bin/env bash
# run.sh: build the libFuzzer targets with clang (-fsanitize=fuzzer, address,
# undefined) in build-fuzz, replay the committed corpora and the named
# regression tests (ctest -L fuzz), then fuzz each target for a bounded time.
# Fails on any crash, leak, timeout or sanitizer report.
#
#   tests/fuzz/run.sh                 # CI: about 5 minutes in all
#   HM_FUZZ_SECONDS=600 tests/fuzz/run.sh fuzz_mvt_areas   # longer, one target
#
# New inputs found while fuzzing go to build-fuzz/corpus/<target> (not the
# committed corpus); a crash leaves build-fuzz/artifacts/<target>/crash-*.
# Needs Debian clang and libclang-rt-14-dev (scripts/deps.sh test).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
dir=${HM_FUZZ_BUILD:-$root/build-fuzz}
secs=${HM_FUZZ_SECONDS:-40}
targets=(fuzz_request_body fuzz_parsers fuzz_geojson_area fuzz_mvt_areas fuzz_mvt_points
         fuzz_locparse)
[ $# -gt 0 ] && targets=("$@")

cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
  echo "run.sh: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "--- configure and build ($dir)"
cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DHM_FUZZ=ON \
  -DHM_WERROR=OFF -DHM_SANITIZE=address,undefined \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -O1 -gline-tables-only" >/dev/null || exit 1
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" test_fuzz_regressions || exit 1

echo "--- replay the corpora and the regression tests"
# Only the replays of the targets just built: with a subset named on the
# command line the others do not exist in a fresh build directory.
only=$(IFS='|'; echo "fuzz_replay_(${targets[*]})\$|^test_fuzz_regressions\$")
(cd "$dir" && ctest -L fuzz -R "$only" --output-on-failure) || exit 1

failed=0
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t
  art=$dir/artifacts/$t
  mkdir -p "$corpus" "$art"
  echo "--- $t: ${secs}s"
  # The committed seeds are read-only inputs; new finds go to $corpus.
  if ! "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$art/" \
      "$corpus" "$root/tests/fuzz/corpus/$t" >"$dir/$t.log" 2>&1; then
    echo "$t: FAILED (last lines of $dir/$t.log; inputs in $art)"
    tail -n 40 "$dir/$t.log"
    failed=$((failed + 1))
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$dir/$t.log" | tail -n 2
  fi
done
[ "$failed" -eq 0 ]
