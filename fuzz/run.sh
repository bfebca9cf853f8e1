#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each): fuzz/run.sh [SECONDS]
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in ingest filter subscription sanitize; do
  echo "== fuzzing $target for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 3
done
