#!/usr/bin/env bash
# Builds the libFuzzer targets in a clang configuration of their own
# (build-fuzz/ by default, apart from the gcc builds), replays the committed
# regressions, then fuzzes each target for SECONDS (default 20) starting
# from its committed seeds.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     e.g. run.sh 600 parser
#
# New corpus entries go to $BUILD/fuzz-corpus/<target> (kept between runs,
# never into the committed corpus); crashes to $BUILD/fuzz-artifacts/.
# Environment: TERN_FUZZ_BUILD (build directory), TERN_FUZZ_JOBS (libFuzzer
# -jobs/-workers per target, default 1), CC (default clang, else clang-14).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parser conf_yaml conf_nats nkeys docs_query)
build="${TERN_FUZZ_BUILD:-$root/build-fuzz}"
jobs="${TERN_FUZZ_JOBS:-1}"

cc="${CC:-}"
if [ -z "$cc" ] || ! "$cc" --version 2>/dev/null | grep -q clang; then
    cc="$(command -v clang || command -v clang-14 || true)"
fi
[ -n "$cc" ] || { echo "run.sh: clang not found (scripts/deps.sh installs clang-14)" >&2; exit 1; }

CC="$cc" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DTERN_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# A leak or a sanitizer report fails the run, as in the rest of the suite.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for t in "${targets[@]}"; do
    bin="$build/fuzz/fuzz_$t"
    # Replay: every committed reproducer once, no fuzzing.
    if [ -d "$here/regressions/$t" ] && [ -n "$(ls -A "$here/regressions/$t")" ]; then
        echo "=== fuzz_$t: replaying regressions"
        if ! "$bin" -runs=1 "$here/regressions/$t"/* >"$build/fuzz_$t.replay.log" 2>&1; then
            cat "$build/fuzz_$t.replay.log"
            failed+=("$t(regression)")
            continue
        fi
    fi
    [ "$secs" -gt 0 ] || continue
    echo "=== fuzz_$t: ${secs}s"
    work="$build/fuzz-corpus/$t"
    arts="$build/fuzz-artifacts"
    mkdir -p "$work" "$arts"
    opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192
          -artifact_prefix="$arts/$t-" -print_final_stats=1)
    [ -f "$here/dict/$t.dict" ] && opts+=(-dict="$here/dict/$t.dict")
    [ "$jobs" -gt 1 ] && opts+=(-jobs="$jobs" -workers="$jobs")
    if ! (cd "$build" && "$bin" "${opts[@]}" "$work" "$here/corpus/$t") \
            >"$build/fuzz_$t.log" 2>&1; then
        tail -n 60 "$build/fuzz_$t.log"
        failed+=("$t")
        continue
    fi
    grep -E '^(stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' \
        "$build/fuzz_$t.log" | tr '\n' ' '
    echo
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]} (reproducers in $build/fuzz-artifacts/)" >&2
    exit 1
fi
