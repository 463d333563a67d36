#!/usr/bin/env bash
# Fails if a pure module imports I/O (STYLE.md §1) or a C module is imported without an access level.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for module in LegateWire LegateAuth LegateCore; do
    if grep -rnE '^\s*(@_implementationOnly\s+)?((internal|public|private|fileprivate|package)\s+)?import\s+(Dispatch|Glibc|Foundation\.NSFileManager|CSQLite|LegateNet|LegateStore)\b' "Sources/$module"; then
        echo "error: $module must not import I/O modules (see above)" >&2
        status=1
    fi
done
if grep -rnE '^\s*import\s+(COpenSSL|CSQLite|COpenSSLShims)\b' Sources tools --include='*.swift'; then
    echo "error: import C modules with an access level (internal import COpenSSL), see above" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then echo "imports ok"; fi
exit "$status"
