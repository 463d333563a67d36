#!/usr/bin/env bash
# Task throughput with the manager pinned to core 0 and legate-load to core 1 (taskset), so the manager's cost per
# task is measured on a core of its own. Usage: tools/bench/tasks-pinned.sh [DELEGATES=100] [RATE=20000] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/lib.sh
delegates="${1:-100}"
rate="${2:-20000}"
seconds="${3:-10}"
build_release legate-manager legate-load
port=$((20000 + RANDOM % 20000))
start_manager "$port" "$work/manager.out" --log-level error
taskset -a -p -c 0 "$manager" >/dev/null
read_banner "$work/manager.out"
taskset -c 1 .build/release/legate-load --delegates "$delegates" --heartbeat-interval 5 --duration "$seconds" \
    --warmup 2 --tasks "$rate" --server-pid "$manager"
