#!/usr/bin/env bash
# Instructions per heartbeat (or per task) through the real manager, counted by callgrind: TLS, loops, frame decoding,
# connection machine, JWT check, admin API, task service, store. legate-manager cannot run under valgrind (valgrind
# crashes when dispatchMain's pthread_exit parks the main thread), so the same Manager runs in
# `legate-task-driver --host-manager` under callgrind while legate-load drives it, in two runs of SHORT and LONG
# seconds with the same delegates. The manager's own counters (its /metrics) say how many heartbeats or tasks each
# run handled; the difference in instructions over that difference leaves out start-up and registration.
# usage: tools/bench/callgrind-manager.sh [heartbeats|tasks|pingpong] [DELEGATES=20] [SHORT=3] [LONG=8]
#   heartbeats: every delegate beats again as soon as answered. pingpong: the C TLS ping-pong server
#   (tools/bench/pingpong.c, the heartbeat's reference) counted the same way, DELEGATES connections, one request in
#   flight each. tasks: echo tasks at TASK_RATE per second in batches of TASK_BATCH (default 10; tasks.sh uses 100)
#   (default 150: the manager runs ~50x slower under callgrind), heartbeats every 5 s.
#   DRIVER=path counts another build's driver (e.g. of a scratch clone of main); KEEP=dir keeps the profiles.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/lib.sh
mode="${1:-heartbeats}"
delegates="${2:-20}"
short="${3:-3}"
long="${4:-8}"
case "$mode" in
    heartbeats) load=(--heartbeat-interval 0) metric='^legate_heartbeats_received_total' ;;
    tasks)
        load=(--heartbeat-interval 5 --tasks "${TASK_RATE:-150}" --task-batch "${TASK_BATCH:-10}" --task-workers 4)
        metric='^legate_tasks_completed_total'
        ;;
    pingpong) ;;
    *) echo "usage: $0 [heartbeats|tasks|pingpong] [DELEGATES] [SHORT] [LONG]" >&2; exit 2 ;;
esac
driver="${DRIVER:-}"
build_release legate-load
if [ -z "$driver" ]; then
    build_release legate-task-driver
    driver=.build/release/legate-task-driver
fi
# valgrind 3.19 cannot read the DWARF 5 debug info swiftc writes (it gives up on the binary): count a copy without.
objcopy --strip-debug "$driver" "$work/driver"
out="${KEEP:-$work}"
mkdir -p "$out"

measure() {  # SECONDS: prints "INSTRUCTIONS COUNT" (COUNT from the manager's metrics, the whole run)
    local seconds="$1" dir="$work/run.$1"
    mkdir -p "$dir"
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$mode.$seconds" "$work/driver" --host-manager \
        --data-dir "$dir/data" --seconds 100000 >"$dir/manager.out" 2>&1 &
    local host=$!
    pids+=("$host")
    for _ in $(seq 600); do grep -q "start a delegate" "$dir/manager.out" 2>/dev/null && break; sleep 0.2; done
    read_banner "$dir/manager.out"
    local metrics
    metrics="$(sed -n 's/^  metrics and health: //p' "$dir/manager.out")"
    .build/release/legate-load --delegates "$delegates" --duration "$seconds" "${load[@]}" \
        --server-pid "$host" >"$dir/load.out" 2>&1 || { cat "$dir/load.out" >&2; exit 1; }
    local count
    count=$(curl -s --max-time 60 "$metrics" | grep -E "$metric" | awk '{ total += $2 } END { printf "%d", total }')
    kill -TERM "$host"
    wait "$host" || true  # ended by the signal; callgrind still writes its profile
    echo "$(sed -n 's/^summary: //p' "$out/callgrind.$mode.$seconds") $count"
}

measure_pingpong() {  # SECONDS: prints "INSTRUCTIONS REQUESTS" (requests in the client's measured window)
    local seconds="$1" port=$((20000 + RANDOM % 20000))
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.pingpong.$seconds" "$work/pingpong" server "$port" \
        "$work/pp-cert.pem" "$work/pp-key.pem" >"$work/pingpong.$seconds" 2>&1 &
    local server=$!
    pids+=("$server")
    for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    local requests
    requests=$("$work/pingpong" client "$port" "$delegates" 1 "$seconds" tls "$server" 2>&1 | sed -n 's/.*(n=\([0-9]*\) in.*/\1/p')
    kill -TERM "$server"
    wait "$server" || true
    echo "$(sed -n 's/^summary: //p' "$out/callgrind.pingpong.$seconds") $requests"
}

if [ "$mode" = pingpong ]; then
    cc -O2 -o "$work/pingpong" tools/bench/pingpong.c -lssl -lcrypto
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$work/pp-key.pem" -out "$work/pp-cert.pem" 2>/dev/null
    read -r first_ir first_count <<<"$(measure_pingpong "$short")"
    read -r second_ir second_count <<<"$(measure_pingpong "$long")"
    echo "== callgrind: $(( (second_ir - first_ir) / (second_count - first_count) )) instructions per request" \
        "of the C ping-pong server ($short s: $first_ir for $first_count, $long s: $second_ir for $second_count;" \
        "$delegates connections)"
    exit 0
fi

read -r first_ir first_count <<<"$(measure "$short")"
read -r second_ir second_count <<<"$(measure "$long")"
unit="${mode%s}"
echo "== callgrind: $(( (second_ir - first_ir) / (second_count - first_count) )) instructions per $unit" \
    "($short s: $first_ir for $first_count, $long s: $second_ir for $second_count; $delegates delegates)"
