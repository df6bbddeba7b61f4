#!/usr/bin/env bash
# A local 3-node dqlite cluster of our nodes (`sqlrt-node`, libdqlite embedded) on
# loopback.
#
#   tools/dqlite/cluster.sh up [DIR]     start it (data and logs under DIR, default
#                                        /tmp/sqlrt-dqlite); prints the export line:
#                                        eval "$(tools/dqlite/cluster.sh up)"
#   tools/dqlite/cluster.sh down [DIR]   stop it (the data stays in DIR)
#
# Ports: PORT, PORT+1, PORT+2 where PORT is $SQLRT_DQLITE_PORT (default 9001). The node
# program is $SQLRT_NODE, else target/release/sqlrt-node (cargo build --release -p
# sqlite-runtime-dqlite-node; needs libdqlite-dev, see tools/dqlite/install.sh), else
# sqlrt-node on the PATH.
set -euo pipefail

command=${1:-}
dir=${2:-/tmp/sqlrt-dqlite}
port=${SQLRT_DQLITE_PORT:-9001}
nodes=("127.0.0.1:$port" "127.0.0.1:$((port + 1))" "127.0.0.1:$((port + 2))")
list=$(IFS=,; echo "${nodes[*]}")
repo="$(cd "$(dirname "$0")/../.." && pwd)"
node_program=${SQLRT_NODE:-${CARGO_TARGET_DIR:-$repo/target}/release/sqlrt-node}
[ -x "$node_program" ] || node_program=$(command -v sqlrt-node || true)

# Each node prints `ready ID ADDRESS` once it serves as a member.
ready() {
  grep -q '^ready ' "$dir/n$1.out" 2>/dev/null
}

case "$command" in
up)
  [ -n "$node_program" ] || { echo "cluster.sh: sqlrt-node not found (cargo build --release -p sqlite-runtime-dqlite-node, or set SQLRT_NODE)" >&2; exit 1; }
  mkdir -p "$dir"
  for i in 0 1 2; do
    if [ -f "$dir/n$i.pid" ] && kill -0 "$(cat "$dir/n$i.pid")" 2>/dev/null; then
      continue # already running
    fi
    # The others join through the first; a node with data rejoins its cluster alone.
    join=()
    [ "$i" -gt 0 ] && join=(--join "${nodes[0]}")
    nohup "$node_program" --address "${nodes[$i]}" --dir "$dir/n$i" "${join[@]}" \
      >"$dir/n$i.out" 2>"$dir/n$i.log" </dev/null &
    echo $! >"$dir/n$i.pid"
    if [ "$i" -eq 0 ]; then
      # Others can only join once the first node serves.
      for _ in $(seq 300); do ready 0 && break; sleep 0.1; done
    fi
  done
  # A joiner is ready once the leader has added it and promoted it to voter.
  for i in 0 1 2; do
    for _ in $(seq 600); do ready "$i" && break; sleep 0.1; done
    if ! ready "$i"; then
      echo "cluster.sh: node ${nodes[$i]} did not join; logs in $dir/n*.log" >&2
      exit 1
    fi
  done
  echo "dqlite cluster up: $list (data in $dir)" >&2
  echo "export DQLITE_CLUSTER=$list"
  ;;
down)
  for i in 0 1 2; do
    [ -f "$dir/n$i.pid" ] || continue
    # SIGKILL: the whole cluster stops, so there is nobody to hand leadership to.
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
