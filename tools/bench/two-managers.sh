#!/usr/bin/env bash
# Two release-build managers on one throwaway PostgreSQL cluster, with legate-load delegates split over them:
#   1. server CPU per heartbeat, a PostgreSQL-backed manager next to a SQLite-backed one (same N, same run);
#   2. revoke fan-out across nodes: `legatectl token revoke` on the first manager while half the delegates are
#      on the second; prints the answer (connected / told / acknowledged / not reached, fan-out ms);
#   3. reconnect storm: kill -9 of the first manager; time until every delegate is registered on the second
#      (counted from the kill), and when the dead node's lease ran out.
# usage: tools/bench/two-managers.sh [DELEGATES=1000] [CPU_SECONDS=10]
# Needs the PostgreSQL server binaries (initdb, pg_ctl; LEGATE_PG_BIN to point at them); as root the cluster
# runs as `nobody`.
set -euo pipefail
cd "$(dirname "$0")/../.."
delegates="${1:-1000}"
cpu_seconds="${2:-10}"
source tools/bench/lib.sh
build_release legate-manager legate-load legatectl

# --- the throwaway PostgreSQL cluster (socket in the work directory, no TCP port)
pg_bin="${LEGATE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$pg_bin/pg_ctl" ] || { echo "PostgreSQL server binaries not found; set LEGATE_PG_BIN" >&2; exit 1; }
pg="$work/pg"
mkdir -m 700 "$pg"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown nobody "$pg" && chmod 755 "$work"
as_pg "$pg_bin/initdb" -D "$pg/data" -U legate --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
    -o "-k $pg -c listen_addresses= -c max_connections=200" start >/dev/null
stop_pg() { as_pg "$pg_bin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true; }
trap 'stop_pg; cleanup' EXIT
"$pg_bin/createdb" -h "$pg" -U legate legate_cpu
"$pg_bin/createdb" -h "$pg" -U legate legate_fleet
store_url() { echo "postgresql://legate@/$1?host=$pg"; }

start_node() {  # DATA_DIR OUTPUT_FILE [flags...]; sets $manager
    local dir="$1" out="$2"
    shift 2
    .build/release/legate-manager --port 0 --data-dir "$dir" --connection-rate 0 --log-level warning "$@" \
        >"$out" 2>&1 &
    manager=$!
    pids+=("$manager")
    for _ in $(seq 400); do grep -q "start a delegate" "$out" 2>/dev/null && return 0; sleep 0.05; done
    echo "the manager did not start:" >&2
    cat "$out" >&2
    exit 1
}
address_of() { sed -n 's/^Legate manager listening on \([^ ]*\).*/\1/p' "$1"; }
connected_on() {  # ADDRESS NODE_ID: delegates whose session names NODE_ID, per node list on ADDRESS
    LEGATE_MANAGER="$1" .build/release/legatectl node list --json 2>/dev/null | python3 -c '
import json, sys
try:
    nodes = json.load(sys.stdin)["nodes"]
except Exception:
    nodes = []
print(sum(n["connected_delegates"] for n in nodes if n["id"] == sys.argv[1]))' "$2"
}

# --- 1. server CPU per heartbeat: PostgreSQL-backed vs SQLite-backed (one beat per second per delegate)
cpu_run() {  # LABEL DATA_DIR [manager flags...]
    local label="$1" dir="$2"
    shift 2
    start_node "$dir" "$work/$label.out" "$@"
    read_banner "$work/$label.out"
    echo "== $label: $delegates delegates, 1 beat/s each, ${cpu_seconds} s measured"
    .build/release/legate-load --delegates "$delegates" --heartbeat-interval 1 --duration "$cpu_seconds" \
        --connect-rate 500 --server-pid "$manager" 2>/dev/null | grep -E "heartbeats|server CPU|registered" || true
    kill -TERM "$manager"
    wait "$manager" 2>/dev/null || true
}
cpu_run sqlite "$work/sqlite"
cpu_run postgresql "$work/pg-single" --store "$(store_url legate_cpu)"

# --- the fleet: node-a, then node-b from a copy of node-a's master key and certificate
start_node "$work/a" "$work/a.out" --store "$(store_url legate_fleet)" --node-id node-a --node-lease 5 \
    --heartbeat-interval 10
first=$manager
read_banner "$work/a.out"
address_a="$(address_of "$work/a.out")"
mkdir -m 700 "$work/b"
cp -a "$work/a/master.key" "$work/a/tls" "$work/b/"
start_node "$work/b" "$work/b.out" --store "$(store_url legate_fleet)" --node-id node-b --node-lease 5 \
    --heartbeat-interval 10
address_b="$(address_of "$work/b.out")"
token_id="$(echo "$LEGATE_DELEGATE_TOKEN" | cut -d_ -f2)"

wait_connected() {  # ADDRESS TOTAL [NODES...]: until the nodes' delegates add up to TOTAL (at most 120 s)
    local address="$1" total="$2" sum=0
    shift 2
    for _ in $(seq 1200); do
        sum=0
        for node in "$@"; do sum=$((sum + $(connected_on "$address" "$node"))); done
        [ "$sum" -ge "$total" ] && break
        sleep 0.1
    done
    echo "$sum"
}

# --- 2. revoke fan-out across the two nodes
.build/release/legate-load --manager "$address_a,$address_b" --delegates "$delegates" --heartbeat-interval 10 \
    --duration 300 --warmup 0 --connect-rate 500 >"$work/load1.out" 2>&1 &
load=$!
pids+=("$load")
echo "== revoke fan-out: $(wait_connected "$address_a" "$delegates" node-a node-b) delegates connected" \
    "(node-a $(connected_on "$address_a" node-a), node-b $(connected_on "$address_a" node-b))"
LEGATE_MANAGER="$address_a" .build/release/legatectl token revoke "$token_id" || true
kill "$load" 2>/dev/null || true

# --- 3. reconnect storm: kill -9 node-a; every delegate must come back on node-b
storm_token="$(LEGATE_MANAGER="$address_a" .build/release/legatectl token create --name storm |
    sed -n '/^value/{n;p}')"
LEGATE_DELEGATE_TOKEN="$storm_token" .build/release/legate-load --manager "$address_a,$address_b" \
    --delegates "$delegates" --heartbeat-interval 10 --duration 300 --warmup 0 --connect-rate 500 \
    >"$work/load2.out" 2>&1 &
pids+=($!)
echo "== reconnect storm: $(wait_connected "$address_b" "$delegates" node-a node-b) delegates connected" \
    "(node-a $(connected_on "$address_b" node-a), node-b $(connected_on "$address_b" node-b))"
killed=$(date +%s.%N)
kill -KILL "$first"
back=$(wait_connected "$address_b" "$delegates" node-b)
done_at=$(date +%s.%N)
printf 'after kill -9 of node-a: %d of %d on node-b in %.2f s\n' "$back" "$delegates" \
    "$(echo "$done_at - $killed" | bc)"
for _ in $(seq 600); do
    LEGATE_MANAGER="$address_b" .build/release/legatectl node list --json 2>/dev/null | grep -q '"node-a"' || break
    sleep 0.1
done
printf 'node-a removed (lease 5 s) %.2f s after the kill\n' "$(echo "$(date +%s.%N) - $killed" | bc)"
