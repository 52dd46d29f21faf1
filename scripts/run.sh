#!/usr/bin/env bash
# Set up, build (Release) and run ternd on the repository's conf.d/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/ternd -c conf.d "$@"
