#!/usr/bin/env bash
# Scanner benchmarks (docs/benchmarks.md). Usage: bench/run.sh [OUTDIR]
# Builds hfaudit (Release), writes the inputs once, then measures wall time and
# peak RSS of `hfaudit scan` on each, best of 3 after one warm-up (page cache warm).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target hfaudit >/dev/null
[ -f "$out/torch_1g.pt" ] || python3 bench/make_inputs.py "$out"
bin=build-release/src/hfaudit

printf '| input | size (MiB) | best wall (s) | MB/s | peak RSS (MiB) |\n|---|---|---|---|---|\n'
for f in torch_1g.pt dense.pkl bytes.pkl; do
  size=$(stat -c %s "$out/$f")
  "$bin" scan --quiet "$out/$f" >/dev/null || true
  best=""
  rss=0
  for _ in 1 2 3; do
    line=$( { /usr/bin/time -f '%e %M' "$bin" scan --quiet "$out/$f" >/dev/null; } 2>&1 | tail -1 || true)
    t=${line% *}; r=${line#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  awk -v f="$f" -v s="$size" -v t="$best" -v r="$rss" 'BEGIN{
    mbs = (t > 0) ? sprintf("%.0f", s/1e6/t) : "n/a (<10 ms)";
    printf "| %s | %.0f | %s | %s | %.1f |\n", f, s/1048576, t, mbs, r/1024 }'
done
