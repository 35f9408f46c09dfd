#!/usr/bin/env bash
# The main job on the embedded default: builds hfaudit, regenerates the shipped
# labelled sample corpus and scans it, showing what hfaudit finds in each file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
python3 fixtures/scan/generate.py --out fixtures/scan/corpus >/dev/null
set +e
./build/src/hfaudit scan fixtures/scan/corpus "$@"
code=$?
set -e
echo "hfaudit scan exited with $code (1 = findings at or above --fail-on, as expected for this corpus)"
