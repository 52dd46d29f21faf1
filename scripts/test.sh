#!/usr/bin/env bash
# Set up, then build and run the whole test suite (ctest) in the Release
# build and again under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tests
jobs="$(nproc)"
for type in Release Asan; do
    dir="build-test-${type,,}"
    echo "=== ${type} build"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "=== ${type} tests"
    (cd "$dir" && ctest --output-on-failure --timeout 300 -j"$jobs")
done
