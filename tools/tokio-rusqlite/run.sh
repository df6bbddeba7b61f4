#!/usr/bin/env bash
# Builds the tokio-rusqlite baseline apart from the workspace (its rusqlite links its own
# SQLite) and prints the binary's path, for `sqlrt bench --async --tokio-rusqlite PATH`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${TOKIO_RUSQLITE_TARGET_DIR:-$here/target}"
cargo build --quiet --release --manifest-path "$here/Cargo.toml" --target-dir "$target" >&2
echo "$target/release/tokio-rusqlite-baseline"
