# Shared by the benchmark scripts: a temp work dir cleaned on exit, release builds, starting a manager and
# reading the banner it prints (address, account, token, CA, admin key) into LEGATE_* variables.
work="$(mktemp -d /tmp/legate-bench.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

build_release() {  # products...
    for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
}

start_manager() {  # PORT OUTPUT_FILE [manager flags...]; sets $manager to its pid
    local port="$1" out="$2"
    shift 2
    .build/release/legate-manager --port "$port" --data-dir "$work/data" --connection-rate 0 "$@" >"$out" 2>&1 &
    manager=$!
    pids+=("$manager")
    for _ in $(seq 200); do grep -q "start a delegate" "$out" 2>/dev/null && return 0; sleep 0.05; done
    echo "the manager did not start:" >&2
    cat "$out" >&2
    exit 1
}

read_banner() {  # OUTPUT_FILE of a first start: exports LEGATE_MANAGER, _ACCOUNT_ID, _DELEGATE_TOKEN, _CA_FILE, _ADMIN_KEY
    local out="$1"
    export LEGATE_MANAGER="$(sed -n 's/^Legate manager listening on \([^ ]*\).*/\1/p' "$out")"
    export LEGATE_ACCOUNT_ID="$(sed -n 's/^  account id: //p' "$out")"
    export LEGATE_DELEGATE_TOKEN="$(sed -n 's/^  default delegate token (shown once, store it now): //p' "$out")"
    export LEGATE_CA_FILE="$(sed -n 's/^  CA file (dev certificate): //p' "$out")"
    export LEGATE_ADMIN_KEY="$(sed -n 's/^  bootstrap admin API key (shown once, store it now; all permissions): //p' "$out")"
}
