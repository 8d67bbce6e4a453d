#!/usr/bin/env bash
# Fuzzes Boai's parsers: `bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]`
#
# Targets live in fuzz/ (a Cargo workspace of its own; cargo-fuzz + libFuzzer).
# On the stable toolchain, without sanitizers: docs/decisions/0007-fuzzing.md.
#   1. installs a C++ compiler if missing (libfuzzer-sys builds libFuzzer);
#   2. writes the seed corpus from real formats (import templates, bank
#      statements, notifications, ledger entries, tile paths) into fuzz/corpus/
#      with `cargo run --example fuzz_seeds` (what the corpus grew to is kept);
#   3. builds every target as `cargo fuzz build -O -a --sanitizer none` would
#      (release, debug assertions and overflow checks on), with cargo itself;
#   4. runs each for SECONDS_PER_TARGET (default 20) and prints executions per
#      target. A crash fails the script; the input is in fuzz/artifacts/TARGET/
#      (replay: fuzz/target/x86_64-unknown-linux-gnu/release/TARGET FILE).
#
# Environment (optional): FUZZ_JOBS (parallel jobs per target, default 1),
# FUZZ_RSS_MB (per-process memory cap, default 2048).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECS=${1:-20}
shift || true
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
JOBS=${FUZZ_JOBS:-1}
RSS_MB=${FUZZ_RSS_MB:-2048}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
FUZZ_TARGET_DIR=${BOAI_FUZZ_TARGET_DIR:-$(pwd)/fuzz/target}
LOGS=${CARGO_TARGET_DIR:-target}
BIN_DIR=$FUZZ_TARGET_DIR/$TRIPLE/release

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "need root to run: $*" >&2
        return 1
    fi
}

# --- prerequisites -----------------------------------------------------------
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz: installing g++ (libfuzzer-sys compiles libFuzzer)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++
fi
echo "fuzz: $(rustc --version)"

# --- seeds, build ------------------------------------------------------------
cargo run --quiet --example fuzz_seeds -- fuzz/corpus
# The build `cargo fuzz build -O -a --sanitizer none` makes, without having to
# install cargo-fuzz on a fresh machine: libFuzzer's coverage instrumentation
# (what cargo-fuzz passes for --sanitizer none), cfg(fuzzing), debug
# assertions and overflow checks, release mode. --target keeps the flags off
# build scripts and proc-macros. `cargo fuzz run TARGET` still works for
# long runs by hand. One fuzz build directory whatever CARGO_TARGET_DIR says.
FUZZ_FLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
FUZZ_FLAGS+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
FUZZ_FLAGS+=" -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth"
FUZZ_FLAGS+=" -Cdebug-assertions -Coverflow-checks"
RUSTFLAGS="$FUZZ_FLAGS" cargo build --manifest-path fuzz/Cargo.toml --release --bins \
    --target "$TRIPLE" --target-dir "$FUZZ_TARGET_DIR"

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    # Every [[bin]] of fuzz/Cargo.toml (what `cargo fuzz list` prints).
    mapfile -t TARGETS < <(awk '/^\[\[bin\]\]/ { b = 1 } b && /^name *=/ { gsub(/[" ]/, "", $0); sub(/^name=/, "", $0); print; b = 0 }' fuzz/Cargo.toml)
fi

# --- run ---------------------------------------------------------------------
mkdir -p fuzz/artifacts "$LOGS"
RESULTS=()
FAILED=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=$LOGS/fuzz-$t.log
    echo ""
    echo "=== fuzz $t: ${SECS} s"
    rc=0
    extra=()
    [ "$JOBS" -gt 1 ] && extra=(-jobs="$JOBS" -workers="$JOBS")
    "$BIN_DIR/$t" "fuzz/corpus/$t" \
        -artifact_prefix="fuzz/artifacts/$t/" \
        -seed=1 -max_total_time="$SECS" -timeout=10 -rss_limit_mb="$RSS_MB" -max_len=262144 \
        -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1 || rc=$?
    if [ "$JOBS" -gt 1 ]; then cat fuzz-*.log >>"$log" 2>/dev/null || true; rm -f fuzz-*.log; fi
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo "?")
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [ "$rc" -ne 0 ]; then
        FAILED+=("$t")
        RESULTS+=("$(printf '  %-22s %12s runs  cov %5s  corpus %5s  CRASH (exit %s)' "$t" "$runs" "$cov" "$corpus" "$rc")")
        grep -E 'panicked|ERROR|Test unit written|SUMMARY' "$log" | head -n 8 || true
    else
        RESULTS+=("$(printf '  %-22s %12s runs  cov %5s  corpus %5s  ok' "$t" "$runs" "$cov" "$corpus")")
    fi
    echo "${RESULTS[-1]}"
done

echo ""
echo "=== fuzz summary (${SECS} s per target; logs in $LOGS/fuzz-TARGET.log)"
printf '%s\n' "${RESULTS[@]}"
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "fuzz: crashes in ${FAILED[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
