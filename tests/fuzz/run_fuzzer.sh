#!/bin/sh
# Runs one fuzz target in one process (one core) for a fixed time; it stops at
# the first crash, leak, timeout or OOM and keeps the input as an artifact.
# Usage: tests/fuzz/run_fuzzer.sh <target> [seconds=240] [max_len=65536] [build-dir]
#   e.g. tests/fuzz/run_fuzzer.sh pickle 240 65536
# Corpus: fuzz-corpus/<target> (seed it with tests/fuzz/seed_corpus.sh);
# artifacts: fuzz-corpus/artifacts/<target>/; log: fuzz-corpus/logs/<target>.log.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
target=$1
seconds=${2:-240}
max_len=${3:-65536}
build=${4:-$root/build-fuzz}
corpus=$root/fuzz-corpus/$target
artifacts=$root/fuzz-corpus/artifacts/$target
logs=$root/fuzz-corpus/logs
mkdir -p "$corpus" "$artifacts" "$logs"
dict=
if [ -f "$root/tests/fuzz/dict/$target.dict" ]; then
  dict=-dict=$root/tests/fuzz/dict/$target.dict
fi
exec "$build/tests/fuzz/fuzz_$target" "$corpus" $dict \
  -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -max_total_time="$seconds" \
  -artifact_prefix="$artifacts/" -print_final_stats=1 >"$logs/$target.log" 2>&1
