#!/usr/bin/env bash
# Task throughput: N delegates (legate-load, echo handler) run RATE echo tasks per second submitted over the admin
# API; prints submit-to-result throughput and latency (target: >= 20,000 tasks/s with 100 delegates).
# Usage: [PIN=1] tools/bench/tasks.sh [DELEGATES=100] [RATE=20000] [SECONDS=10] [legate-load flags...]
#   PIN=1 pins the manager to core 0 and legate-load to core 1 (taskset), to measure the manager on a core of its own.
#   PERF_DATA=FILE records the manager with `perf record -g` for the whole run (read it with `perf report -i FILE`).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/lib.sh
delegates="${1:-100}"
rate="${2:-20000}"
seconds="${3:-10}"
shift $(( $# < 3 ? $# : 3 ))
build_release legate-manager legate-load
port=$((20000 + RANDOM % 20000))
start_manager "$port" "$work/manager.out" --log-level error ${MANAGER_ARGS:-}
read_banner "$work/manager.out"
pin=()
if [ "${PIN:-0}" = "1" ]; then
    taskset -a -p -c 0 "$manager" >/dev/null
    pin=(taskset -c 1)
fi
perf_pid=""
if [ -n "${PERF_DATA:-}" ]; then
    perf record -F 999 -g -p "$manager" -o "$PERF_DATA" >/dev/null 2>&1 &
    perf_pid=$!
fi
"${pin[@]}" .build/release/legate-load --delegates "$delegates" --heartbeat-interval 5 --duration "$seconds" \
    --warmup 2 --tasks "$rate" --server-pid "$manager" "$@"
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
