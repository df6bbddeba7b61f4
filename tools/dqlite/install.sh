#!/usr/bin/env bash
# Installs dqlite's server and shell (`dqlite-demo`, `dqlite`) from the Debian registry
# when they are missing: package `go-dqlite`. Needs root (or sudo).
set -euo pipefail
if command -v dqlite-demo >/dev/null && command -v dqlite >/dev/null; then
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq go-dqlite >/dev/null
command -v dqlite-demo >/dev/null
