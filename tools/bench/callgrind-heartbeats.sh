#!/usr/bin/env bash
# Instructions per heartbeat through the real manager (TLS, loop, frame decoding, connection machine, JWT check,
# answer), counted by callgrind. legate-manager cannot run under valgrind (it crashes when dispatchMain's pthread_exit
# parks the main thread), so the same Manager runs in `legate-task-driver --host-manager` under callgrind, and
# legate-load beats flat out against it, in two runs of SHORT and LONG seconds with the same delegates: the
# difference in instructions over the difference in heartbeats leaves out start-up and registration.
# usage: tools/bench/callgrind-heartbeats.sh [DELEGATES=50] [SHORT=5] [LONG=15]
#   DRIVER=path counts another build's driver (e.g. of a scratch clone of main); KEEP=dir keeps the profiles.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/lib.sh
delegates="${1:-50}"
short="${2:-5}"
long="${3:-15}"
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

measure() {  # SECONDS: prints "INSTRUCTIONS HEARTBEATS"
    local seconds="$1" dir="$work/run.$1"
    mkdir -p "$dir"
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.hb.$seconds" "$work/driver" --host-manager \
        --data-dir "$dir/data" --seconds 100000 >"$dir/manager.out" 2>&1 &
    local host=$!
    pids+=("$host")
    for _ in $(seq 600); do grep -q "start a delegate" "$dir/manager.out" 2>/dev/null && break; sleep 0.2; done
    read_banner "$dir/manager.out"
    .build/release/legate-load --delegates "$delegates" --heartbeat-interval 0 --duration "$seconds" \
        --server-pid "$host" >"$dir/load.out" 2>&1 || { cat "$dir/load.out" >&2; exit 1; }
    kill -TERM "$host"
    wait "$host" || true  # ended by the signal; callgrind still writes its profile
    local beats
    beats=$(sed -n 's/^  heartbeats *\([0-9]*\) in .*/\1/p' "$dir/load.out")
    echo "$(sed -n 's/^summary: //p' "$out/callgrind.hb.$seconds") $beats"
}

read -r first_ir first_beats <<<"$(measure "$short")"
read -r second_ir second_beats <<<"$(measure "$long")"
echo "== callgrind: $(( (second_ir - first_ir) / (second_beats - first_beats) )) instructions per heartbeat" \
    "($short s: $first_ir in $first_beats beats, $long s: $second_ir in $second_beats beats; $delegates delegates)"
