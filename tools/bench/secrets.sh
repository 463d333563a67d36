#!/usr/bin/env bash
# Secrets cryptography: microseconds per HPKE seal and open, per secret opened by a delegate that already holds the
# ring key (target < 100 us), per open including the ring key copy, and the output masker's throughput.
# Usage: tools/bench/secrets.sh [RUNS_PER_ROUND=2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product legate-secrets-bench >/dev/null
.build/release/legate-secrets-bench "${1:-2000}"
