#!/usr/bin/env bash
# Fails if a pure module imports I/O, a C module is imported without an access level, or a C shim target is
# imported outside the one module it serves.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# Pure modules: no sockets, no Dispatch, no SQLite or PostgreSQL, no clock. The command-line and HTTP parsers are
# pure too.
io_modules='Dispatch|Glibc|Foundation\.NSFileManager|CSQLite|CPostgreSQL|CLegateNetShims|LegateNet|LegateStore'
access='((internal|public|private|fileprivate|package)\s+)?'
for module in LegateWire LegateAuth LegateCore LegateCommandLine LegateHTTP; do
    if grep -rnE "^\s*(@_implementationOnly\s+)?${access}import\s+(${io_modules})\b" "Sources/$module"; then
        echo "error: $module must not import I/O modules (see above)" >&2
        status=1
    fi
done
# LegateSecrets is pure apart from the device key file: Glibc there only, and never sockets, Dispatch or a store.
secrets_io='Dispatch|Foundation|CSQLite|CPostgreSQL|CLegateNetShims|LegateNet|LegateStore|LegateCore|LegateWire'
if grep -rnE "^\s*(@_implementationOnly\s+)?${access}import\s+(${secrets_io})\b" Sources/LegateSecrets; then
    echo "error: LegateSecrets must not import I/O or protocol modules (see above)" >&2
    status=1
fi
key_file='^Sources/LegateSecrets/DeviceKeyFile.swift:'
if grep -rnE "^\s*${access}import\s+Glibc\b" Sources/LegateSecrets | grep -v "$key_file"; then
    echo "error: in LegateSecrets only DeviceKeyFile.swift may import Glibc (see above)" >&2
    status=1
fi
c_modules='COpenSSL|CSQLite|CPostgreSQL|COpenSSLShims|CLegateNetShims|CLegateBenchShims'
if grep -rnE "^\s*import\s+(${c_modules})\b" Sources tools --include='*.swift'; then
    echo "error: import C modules with an access level (internal import COpenSSL), see above" >&2
    status=1
fi
# Each shim target serves one module: system calls for LegateNet, benchmark references for legate-bench; libpq
# is for LegateStore only.
check_only() {
    local module=$1 allowed=$2
    if grep -rnE "^\s*${access}import\s+$module\b" Sources tools Tests \
        --include='*.swift' | grep -v "^$allowed/"; then
        echo "error: $module is for $allowed only (see above)" >&2
        status=1
    fi
}
check_only CLegateNetShims Sources/LegateNet
check_only CPostgreSQL Sources/LegateStore
check_only CLegateBenchShims tools/legate-bench
if grep -rn 'legate_bench' Sources; then
    echo "error: benchmark-only C functions belong in tools/legate-bench-shims, not in a product target" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then echo "imports ok"; fi
exit "$status"
