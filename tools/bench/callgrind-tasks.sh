#!/usr/bin/env bash
# Instructions per task through the manager's task path, counted by callgrind (stable on a busy machine, unlike
# timings): legate-task-driver (tools/bench/task-driver) runs SMALL and then LARGE echo tasks in one process
# (TaskSubmit and TaskWait through the admin router, task service, store writer, SQLite, simulated delegates; no
# sockets or TLS); the difference divided by LARGE - SMALL leaves out the start-up. Also prints one native run.
# usage: tools/bench/callgrind-tasks.sh [SMALL=1000] [LARGE=3000] [legate-task-driver flags...]
#   DRIVER=path counts another build's driver (e.g. of a scratch clone of main), KEEP=dir keeps the profiles
#   (read them with callgrind_annotate --inclusive=yes dir/callgrind.LARGE).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/lib.sh
small="${1:-1000}"
large="${2:-3000}"
shift $(( $# < 2 ? $# : 2 ))
driver="${DRIVER:-}"
if [ -z "$driver" ]; then
    build_release legate-task-driver
    driver=.build/release/legate-task-driver
fi
# valgrind 3.19 cannot read the DWARF 5 debug info swiftc writes (it gives up on the binary): count a copy without.
objcopy --strip-debug "$driver" "$work/driver"
out="${KEEP:-$work}"
mkdir -p "$out"

count() {  # TASKS [flags...]: prints the instructions callgrind counted for the whole run
    local tasks="$1"
    shift
    mkdir "$work/data.$tasks"
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$tasks" "$work/driver" --tasks "$tasks" \
        --dir "$work/data.$tasks" "$@" >"$work/log.$tasks" 2>&1 || { grep -v '^###' "$work/log.$tasks" >&2; exit 1; }
    sed -n 's/^summary: //p' "$out/callgrind.$tasks"
}

first=$(count "$small" "$@")
second=$(count "$large" "$@")
echo "== callgrind: $(( (second - first) / (large - small) )) instructions per task" \
    "($small tasks: $first, $large tasks: $second)"
mkdir "$work/data.native"
echo "== native run, 20000 tasks:"
"$driver" --tasks 20000 --dir "$work/data.native" "$@"
