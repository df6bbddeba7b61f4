#!/usr/bin/env bash
# Installs what the dqlite tests need from the Debian registry when it is missing:
# libdqlite's headers and pkg-config file (`libdqlite-dev`), which sqlrt-node is built
# against, and go-dqlite's `dqlite-demo` and `dqlite` shell (`go-dqlite`), for the
# interoperability test. Needs root (or sudo).
set -euo pipefail
if pkg-config --exists dqlite && command -v dqlite-demo >/dev/null && command -v dqlite >/dev/null; then
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq libdqlite-dev pkg-config go-dqlite >/dev/null
pkg-config --exists dqlite
command -v dqlite-demo >/dev/null
