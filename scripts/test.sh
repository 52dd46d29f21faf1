#!/usr/bin/env bash
# Set up, then build and run the whole test suite (ctest) in the Release
# build, under ASan+UBSan, and under TSan (the kernel's threads). A
# sanitizer report makes ternd exit non-zero, which the tests check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tests
jobs="$(nproc)"
# Test programs (cnats clients) and ternd get separate suppression lists.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan-clients.supp"
export TERN_TSAN_SERVER_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
for type in Release Asan Tsan; do
    dir="build-test-${type,,}"
    echo "=== ${type} build"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "=== ${type} tests"
    (cd "$dir" && ctest --output-on-failure --timeout 300 -j"$jobs")
done
# libFuzzer targets: replay the regressions, then 20 s per target.
echo "=== fuzz"
bash tests/fuzz/run.sh 20
