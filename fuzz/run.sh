#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]      (default 20: the CI smoke run)
#   fuzz/run.sh 3600                      (the longer run: an hour per target)
#
# cargo-fuzz needs nightly-only rustc flags (-Z sanitizer, ...). Only the stable
# toolchain is installed here, so the script sets RUSTC_BOOTSTRAP=1, which lets stable
# rustc accept them. cargo-fuzz is installed from crates.io when it is missing.
# A crash leaves its input in fuzz/artifacts/<target>/ and makes this script fail;
# replay it with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

for target in legacy_decoder kv_validation; do
  printf '\n== fuzz %s for %ss\n' "$target" "$seconds"
  # The seeds in corpus/<target>/ start the run; libFuzzer adds what it finds to a
  # scratch corpus so the checked-in one stays small.
  scratch="$(mktemp -d)"
  cargo fuzz run -O "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$seconds" -malloc_limit_mb=512 -rss_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1
  rm -rf "$scratch"
done
