#!/usr/bin/env bash
# Measures, in one run on this machine, the C TLS ping-pong floor (tools/bench/pingpong.c) and Legate
# heartbeats through a release-build manager at the same connection count.
# usage: tools/bench/heartbeat-vs-pingpong.sh [CONNECTIONS=1000] [SECONDS=10] [INTERVAL=0]
#   INTERVAL 0 = every delegate beats again as soon as answered (throughput); 1 = one beat per second each.
#   MANAGER_ARGS="--event-loops 1" passes flags to the manager; arguments after the third go to legate-load.
#   PERF_DATA=FILE records the manager with `perf record -g` while the delegates beat (`perf report -i FILE`).
set -euo pipefail
cd "$(dirname "$0")/../.."
connections="${1:-1000}"
seconds="${2:-10}"
interval="${3:-0}"
source tools/bench/lib.sh
build_release legate-manager legate-load

if [ "$interval" = "0" ]; then
    cc -O2 -o "$work/pingpong" tools/bench/pingpong.c -lssl -lcrypto
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$work/pp-key.pem" -out "$work/pp-cert.pem" 2>/dev/null
    port=$((20000 + RANDOM % 20000))
    "$work/pingpong" server "$port" "$work/pp-cert.pem" "$work/pp-key.pem" & pids+=($!)
    server=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    echo "== C ping-pong reference: $connections TLS connections, 1 in flight each, ${seconds} s"
    "$work/pingpong" client "$port" "$connections" 1 "$seconds" tls "$server"
    kill "$server" 2>/dev/null || true
fi

echo "== Legate: $connections delegates, heartbeat interval $interval s, ${seconds} s measured"
# shellcheck disable=SC2086
start_manager 0 "$work/manager.out" --log-level warning ${MANAGER_ARGS:-}
read_banner "$work/manager.out"
perf_pid=""
if [ -n "${PERF_DATA:-}" ]; then
    perf record -F 999 -g -p "$manager" -o "$PERF_DATA" >/dev/null 2>&1 &
    perf_pid=$!
fi
.build/release/legate-load --delegates "$connections" --heartbeat-interval "$interval" --duration "$seconds" \
    --server-pid "$manager" "${@:4}"
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
