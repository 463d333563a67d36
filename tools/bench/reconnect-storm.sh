#!/usr/bin/env bash
# Reconnect storm (DESIGN.md §6): N delegates connected to a release-build manager; the manager is stopped
# gracefully (GOAWAY) and started again on the same port and data directory; prints how long until all N are
# registered again, counted from the moment the new manager listens.
# usage: tools/bench/reconnect-storm.sh [DELEGATES=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
delegates="${1:-10000}"
work="$(mktemp -d /tmp/legate-storm.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
swift build -c release --product legate-manager >/dev/null
swift build -c release --product legate-load >/dev/null

start_manager() {  # $1 port, $2 output file
    .build/release/legate-manager --port "$1" --data-dir "$work/data" --log-level info --connection-rate 0 \
        --heartbeat-interval 5 >"$2" 2>&1 &
    manager=$!
    pids+=($manager)
    for _ in $(seq 200); do grep -q "start a delegate" "$2" 2>/dev/null && return 0; sleep 0.05; done
    echo "manager did not start" >&2; cat "$2" >&2; exit 1
}
start_manager 0 "$work/first.out"
address="$(sed -n 's/^Legate manager listening on \([^ ]*\).*/\1/p' "$work/first.out")"
port="${address##*:}"
account="$(sed -n 's/^  account id: //p' "$work/first.out")"
token="$(sed -n 's/^  default delegate token (shown once, store it now): //p' "$work/first.out")"
ca="$(sed -n 's/^  CA file (dev certificate): //p' "$work/first.out")"
LEGATE_MANAGER="$address" LEGATE_ACCOUNT_ID="$account" LEGATE_DELEGATE_TOKEN="$token" LEGATE_CA_FILE="$ca" \
    .build/release/legate-load --delegates "$delegates" --heartbeat-interval 5 --duration 60 --warmup 0 \
    >"$work/load.out" 2>"$work/load.err" &
pids+=($!)
for _ in $(seq 600); do
    [ "$(grep -c 'delegate registered' "$work/first.out")" -ge "$delegates" ] && break; sleep 0.1
done
echo "first start: $(grep -c 'delegate registered' "$work/first.out") of $delegates registered"
kill -TERM "$manager"
wait "$manager" 2>/dev/null || true
start_manager "$port" "$work/second.out"
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
