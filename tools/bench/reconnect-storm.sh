#!/usr/bin/env bash
# Reconnect storm: N delegates connected to a release-build manager; the manager is stopped
# gracefully (GOAWAY) and started again on the same port and data directory; prints how long until all N are
# registered again, counted from the moment the new manager listens.
# usage: tools/bench/reconnect-storm.sh [DELEGATES=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
delegates="${1:-10000}"
source tools/bench/lib.sh
build_release legate-manager legate-load
start_manager 0 "$work/first.out" --log-level info --heartbeat-interval 5
read_banner "$work/first.out"
port="${LEGATE_MANAGER##*:}"
.build/release/legate-load --delegates "$delegates" --heartbeat-interval 5 --duration 60 --warmup 0 \
    >"$work/load.out" 2>"$work/load.err" &
pids+=($!)
for _ in $(seq 600); do
    [ "$(grep -c 'delegate registered' "$work/first.out")" -ge "$delegates" ] && break; sleep 0.1
done
echo "first start: $(grep -c 'delegate registered' "$work/first.out") of $delegates registered"
kill -TERM "$manager"
wait "$manager" 2>/dev/null || true
start_manager "$port" "$work/second.out" --log-level info --heartbeat-interval 5
restarted=$(date +%s.%N)
for _ in $(seq 600); do
    count=$(grep -c 'delegate registered' "$work/second.out" || true)
    [ "$count" -ge "$delegates" ] && break; sleep 0.1
done
done_at=$(date +%s.%N)
count=$(grep -c 'delegate registered' "$work/second.out" || true)
printf 'after restart: %d of %d re-registered in %.2f s (target: all within 10 s)\n' "$count" "$delegates" \
    "$(echo "$done_at - $restarted" | bc)"
echo "TLS sessions resumed on the second start: $(grep -c 'tls.resumed=true' "$work/second.out" || true) of $count"
