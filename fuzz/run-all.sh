#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS seconds each (stable toolchain, no sanitizer),
# growing the committed corpora in place; fails on the first crash.
# Usage: fuzz/run-all.sh SECONDS    (needs `cargo install cargo-fuzz`)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: run-all.sh SECONDS}
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
cargo fuzz build -s none --release
for target in $targets; do
    echo "== $target ($seconds s)"
    mkdir -p "corpus/$target"
    cargo fuzz run -s none "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096 2>&1 \
        | grep -E "^(#[0-9]+[[:space:]]+DONE|==|.*(panicked|ERROR|crash))" || true
    if [ -d "artifacts/$target" ] && [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
        echo "crash in $target: see fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "all targets ran $seconds s without a crash"
