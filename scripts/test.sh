#!/usr/bin/env bash
# test.sh: everything CI runs — install what is needed, build, and run every
# test: unit and API tests (ctest), the same under AddressSanitizer and
# UndefinedBehaviorSanitizer, the fuzz targets for a bounded time, and the
# browser tests in headless Chromium.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh test || exit 1
export PATH=/usr/bin:$PATH   # Debian's python3 for the API tests
npm ci --no-audit --no-fund --loglevel=error || exit 1
scripts/vendor.sh || exit 1

passed=0
failed=0
step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); echo "=== $name: ok"
  else failed=$((failed + 1)); echo "=== $name: FAILED"; fi
}

build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DHM_WERROR=ON "$@" >/dev/null && cmake --build "$dir" -j"$(nproc)"
}

step "format (scripts/format.sh --check)" scripts/format.sh --check
step "build" build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
step "ctest" bash -c "cd build && ctest --output-on-failure -j2"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "build (asan+ubsan)" build build-asan -DCMAKE_BUILD_TYPE=Debug -DHM_SANITIZE=address,undefined
# Under the sanitizers the PostGIS backend runs through its conformance suite, the cluster and
# the migration (test_store_pg, test_cluster, test_migrate); the API suites that repeat on
# PostGIS (the *_pg copies of test_api, test_privacy, …) run in the plain build above, which
# keeps the whole run well under CI's 45 minutes on two cores.
step "ctest (asan+ubsan)" bash -c "cd build-asan && ctest --output-on-failure -j2 \
  -E '^test_(api|privacy|field|flood|loop|places|pages)_pg\$'"
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

if [ -x tests/fuzz/run.sh ]; then
  step "fuzz" tests/fuzz/run.sh
fi

step "browser tests" env HM_BIN="$root/build/helpmap" node --test --test-concurrency=1 tests/web/

echo
echo "test steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
