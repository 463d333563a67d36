#!/usr/bin/env bash
# Revocation fan-out (DESIGN.md §6): N delegates on one token, then `legatectl token revoke`; prints the
# manager's report (told / acknowledged / not reached, time from the revoke call to the last acknowledgement).
# usage: tools/bench/revoke-fanout.sh [DELEGATES=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
delegates="${1:-10000}"
work="$(mktemp -d /tmp/legate-revoke.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for product in legate-manager legate-load legatectl; do swift build -c release --product "$product" >/dev/null; done
.build/release/legate-manager --port 0 --data-dir "$work/data" --log-level warning --connection-rate 0 \
    --heartbeat-interval 10 >"$work/manager.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q "start a delegate" "$work/manager.out" 2>/dev/null && break; sleep 0.05; done
address="$(sed -n 's/^Legate manager listening on \([^ ]*\).*/\1/p' "$work/manager.out")"
export LEGATE_MANAGER="$address"
export LEGATE_ACCOUNT_ID="$(sed -n 's/^  account id: //p' "$work/manager.out")"
export LEGATE_DELEGATE_TOKEN="$(sed -n 's/^  default delegate token (shown once, store it now): //p' "$work/manager.out")"
export LEGATE_CA_FILE="$(sed -n 's/^  CA file (dev certificate): //p' "$work/manager.out")"
export LEGATE_ADMIN_KEY="$(sed -n 's/^  bootstrap admin API key (shown once, store it now; all permissions): //p' "$work/manager.out")"
token_id="$(echo "$LEGATE_DELEGATE_TOKEN" | cut -d_ -f2)"
.build/release/legate-load --delegates "$delegates" --heartbeat-interval 10 --duration 120 --warmup 0 \
    --connect-rate 3000 >"$work/load.out" 2>"$work/load.err" &
pids+=($!)
for _ in $(seq 600); do
    connected="$(.build/release/legatectl delegate list --json 2>/dev/null | grep -c '"connected" : true' || true)"
    [ "$connected" -ge "$delegates" ] && break; sleep 0.5
done
echo "connected delegates on token $token_id: $connected"
.build/release/legatectl token revoke "$token_id" --dry-run
time .build/release/legatectl token revoke "$token_id"
