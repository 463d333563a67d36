#!/usr/bin/env bash
# Revocation fan-out: N delegates on one token, then `legatectl token revoke`; prints the
# manager's report (told / acknowledged / not reached, time from the revoke call to the last acknowledgement).
# usage: tools/bench/revoke-fanout.sh [DELEGATES=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
delegates="${1:-10000}"
source tools/bench/lib.sh
build_release legate-manager legate-load legatectl
start_manager 0 "$work/manager.out" --log-level warning --heartbeat-interval 10
read_banner "$work/manager.out"
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
