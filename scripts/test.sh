#!/usr/bin/env bash
# Builds everything and runs every test: the unit and integration tests of the
# normal build, then the scanner tests and the whole fixture corpus again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
# The third-party Hub client the compatibility tests read the cache with
# (versions pinned by tests/compat/package-lock.json).
if command -v npm >/dev/null 2>&1 && [ ! -d tests/compat/node_modules/@huggingface/hub ]; then
  npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
fi

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHFAUDIT_SANITIZE=ON -DHFAUDIT_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs")

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHFAUDIT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
cd build && ctest --output-on-failure -j"$jobs"
