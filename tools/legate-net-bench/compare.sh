#!/usr/bin/env bash
# Runs the C pingpong client against the C reference server and against legate-net-bench, back to back,
# at each connection count (TLS, 1 request in flight), then the idle-memory run. Bounded: every process is
# started here, killed by pid at the end, and the servers exit by themselves after 900 s.
#   tools/legate-net-bench/compare.sh [seconds=5] [counts="1 100 1000"] [idle=10000] [loops=1]
set -u
SECONDS_PER_RUN=${1:-5}; COUNTS=${2:-"1 100 1000"}; IDLE=${3:-10000}; LOOPS=${4:-1}
PP=/tmp/pingpong; BENCH=${BENCH:-.build/release/legate-net-bench}
[ -x "$PP" ] || cc -O2 -o "$PP" "$(dirname "$0")/../bench/pingpong.c" -lssl -lcrypto
[ -f /tmp/pp-key.pem ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -keyout /tmp/pp-key.pem -out /tmp/pp-cert.pem 2>/dev/null
ulimit -n "$(ulimit -Hn)"
"$PP" server 18402 /tmp/pp-cert.pem /tmp/pp-key.pem 2>/dev/null & CPID=$!
"$BENCH" server 18403 "$LOOPS" 900 >/dev/null & SPID=$!
for _ in $(seq 50); do ss -ltn | grep -q ':18403 ' && ss -ltn | grep -q ':18402 ' && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
for n in $COUNTS; do
    echo "C     $("$PP" client 18402 "$n" 1 "$SECONDS_PER_RUN" tls $CPID)"
    echo "Swift $("$PP" client 18403 "$n" 1 "$SECONDS_PER_RUN" tls $SPID)"
done
for name in C Swift; do
    if [ $name = C ]; then pid=$CPID; port=18402; else pid=$SPID; port=18403; fi
    before=$(rss $pid)
    "$PP" idle $port "$IDLE" 8 tls > /tmp/legate-idle.$$ & IPID=$!
    for _ in $(seq 300); do grep -q READY /tmp/legate-idle.$$ && break; sleep 0.1; done
    sleep 2; during=$(rss $pid)
    echo "$name idle $IDLE: rss ${before} KiB -> ${during} KiB = $(( (during - before) * 1024 / IDLE )) B/conn ($(cat /tmp/legate-idle.$$))"
    wait $IPID; rm -f /tmp/legate-idle.$$
done
kill $CPID $SPID
