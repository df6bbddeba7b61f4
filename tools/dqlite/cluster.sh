#!/usr/bin/env bash
# A local 3-node dqlite cluster of Debian's `dqlite-demo` nodes on loopback.
#
#   tools/dqlite/cluster.sh up [DIR]     start it (data and logs under DIR, default
#                                        /tmp/sqlrt-dqlite); prints the export line:
#                                        eval "$(tools/dqlite/cluster.sh up)"
#   tools/dqlite/cluster.sh down [DIR]   stop it (the data stays in DIR)
#
# Ports: dqlite on PORT, PORT+1, PORT+2 and the demo's HTTP API on PORT+100.. where
# PORT is $SQLRT_DQLITE_PORT (default 9001). Needs `dqlite-demo` and `dqlite`
# (tools/dqlite/install.sh).
set -euo pipefail

command=${1:-}
dir=${2:-/tmp/sqlrt-dqlite}
port=${SQLRT_DQLITE_PORT:-9001}
nodes=("127.0.0.1:$port" "127.0.0.1:$((port + 1))" "127.0.0.1:$((port + 2))")
list=$(IFS=,; echo "${nodes[*]}")

voters() {
  dqlite -s "$list" demo .cluster 2>/dev/null | grep -c '|voter$' || true
}

case "$command" in
up)
  command -v dqlite-demo >/dev/null || { echo "cluster.sh: dqlite-demo not found (run tools/dqlite/install.sh)" >&2; exit 1; }
  mkdir -p "$dir"
  for i in 0 1 2; do
    node=${nodes[$i]}
    if [ -f "$dir/n$i.pid" ] && kill -0 "$(cat "$dir/n$i.pid")" 2>/dev/null; then
      continue # already running
    fi
    join=()
    # A node joins the first one only when it has no data yet (a restart rejoins alone).
    if [ "$i" -gt 0 ] && [ ! -e "$dir/n$i/$node/info.yaml" ]; then
      join=(--join "${nodes[0]}")
    fi
    nohup dqlite-demo --db "$node" --api "127.0.0.1:$((port + 100 + i))" --dir "$dir/n$i" \
      "${join[@]}" >"$dir/n$i.log" 2>&1 </dev/null &
    echo $! >"$dir/n$i.pid"
    if [ "$i" -eq 0 ]; then
      # Others can only join once the first node leads.
      for _ in $(seq 100); do
        dqlite -s "${nodes[0]}" demo .leader >/dev/null 2>&1 && break
        sleep 0.1
      done
    fi
  done
  # Joiners start as spares and are promoted to voters within seconds.
  for _ in $(seq 300); do
    [ "$(voters)" = 3 ] && break
    sleep 0.1
  done
  if [ "$(voters)" != 3 ]; then
    echo "cluster.sh: the cluster did not reach 3 voters; logs in $dir/n*.log" >&2
    exit 1
  fi
  echo "dqlite cluster up: $list (data in $dir)" >&2
  echo "export DQLITE_CLUSTER=$list"
  ;;
down)
  for i in 0 1 2; do
    [ -f "$dir/n$i.pid" ] || continue
    # SIGKILL: a SIGTERM'd node hands leadership over, which can hang without quorum.
    kill -s KILL "$(cat "$dir/n$i.pid")" 2>/dev/null || true
    rm -f "$dir/n$i.pid"
  done
  echo "dqlite cluster down (data kept in $dir)" >&2
  ;;
*)
  echo "usage: tools/dqlite/cluster.sh up|down [DIR]" >&2
  exit 2
  ;;
esac
