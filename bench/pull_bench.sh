#!/usr/bin/env bash
# Pull benchmark (docs/benchmarks.md): a 1 GiB repository of 4 safetensors
# shards served by the fixture Hub on loopback, fetched by
#   - hfaudit pull (download + sha256 in one pass + scan + view), peak RSS too;
#   - curl of the same bytes to /dev/null, 4 in parallel (the loopback limit);
#   - curl writing the same files, 4 in parallel (the practical floor here:
#     writing fresh pages costs on these VMs);
#   - @huggingface/hub snapshotDownload (the peer);
# and hfaudit verify of the pulled store vs `openssl speed -evp sha256`.
# Usage: bench/pull_bench.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
work=$(mktemp -d /tmp/hfaudit-bench.XXXXXX)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target hfaudit >/dev/null
[ -d tests/compat/node_modules/@huggingface/hub ] || npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
bin=$PWD/build-release/src/hfaudit

python3 fixtures/hub/generate.py --big "$work/big" --size-mib "$size"
python3 fixtures/hub/server.py --port 0 --cdn-port 0 --data "$work/big" --ready-file "$work/ready" >/dev/null 2>&1 &
server=$!
# Startup takes seconds on a loaded machine (6 s seen on a busy 2-core VM): wait up to 60 s.
for _ in $(seq 600); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { echo "pull_bench: fixture Hub did not start in 60 s" >&2; exit 1; }
hub=$(awk '{print $2}' "$work/ready")
repo=hfaudit-fixtures/big-model
shards=$(curl -s "$hub/api/models/$repo/tree/main" | python3 -c 'import json,sys; print(" ".join(e["path"] for e in json.load(sys.stdin) if e["path"].endswith(".safetensors")))')
bytes=$(curl -s "$hub/api/models/$repo/tree/main" | python3 -c 'import json,sys; print(sum(e["size"] for e in json.load(sys.stdin)))')
# Resolve each shard's CDN URL once (the 302 Location), as the clients do.
urls=()
for s in $shards; do urls+=("$(curl -s -o /dev/null -w '%{redirect_url}' "$hub/$repo/resolve/main/$s")"); done

# Wall clock via date(1): a python3 per timestamp added ~50 ms to every row under load.
secs() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(secs)" 'BEGIN{print b-a}'; }
row() { awk -v n="$1" -v t="$2" -v b="$bytes" -v r="${3:-}" 'BEGIN{printf "| %s | %.2f | %.0f | %s |\n", n, t, b/1e6/t, r}'; }

echo "| what | wall (s) | MB/s | peak RSS |"
echo "|---|---|---|---|"
sync; t0=$(secs)
# `wait` alone would also wait for the fixture Hub (a background job too) and hang: wait on curl pids.
pids=(); for u in "${urls[@]}"; do curl -s -o /dev/null "$u" & pids+=($!); done; wait "${pids[@]}"
row "curl x4 to /dev/null (loopback limit)" "$(since "$t0")"

mkdir -p "$work/curl"; sync; t0=$(secs)
pids=(); i=0; for u in "${urls[@]}"; do curl -s -o "$work/curl/$i" "$u" & pids+=($!); i=$((i+1)); done; wait "${pids[@]}"
row "curl x4 writing files (practical floor)" "$(since "$t0")"
rm -rf "$work/curl"

# The same, made durable as hfaudit's store is (fsync before the rename): the floor
# for a pull that must survive a crash.
mkdir -p "$work/curl"; sync; t0=$(secs)
pids=(); i=0; for u in "${urls[@]}"; do curl -s -o "$work/curl/$i" "$u" & pids+=($!); i=$((i+1)); done; wait "${pids[@]}"
sync -d "$work"/curl/*
row "curl x4 writing files + fsync (durable floor)" "$(since "$t0")"
rm -rf "$work/curl"

export HF_ENDPOINT=$hub HF_HOME=$work/home HFAUDIT_HOME=$work/home/hfaudit HF_HUB_CACHE=$work/home/hub
sync; t0=$(secs)
rss=$( { /usr/bin/time -f '%M' "$bin" pull --quiet -j 4 "$repo" >/dev/null; } 2>&1 | tail -1)
row "hfaudit pull -j 4 (verify + scan + view)" "$(since "$t0")" "$((rss / 1024)) MiB"

sync; t0=$(secs)
"$bin" pull --quiet "$repo" >/dev/null
row "hfaudit pull again (cached, API only)" "$(since "$t0")"

sync; t0=$(secs)
rss=$( { /usr/bin/time -f '%M' "$bin" verify >/dev/null; } 2>&1 | tail -1)
row "hfaudit verify (re-hash the store)" "$(since "$t0")" "$((rss / 1024)) MiB"

sync; t0=$(secs)
rss=$( { /usr/bin/time -f '%M' node bench/peer_download.mjs "$hub" "$repo" "$work/peer" >/dev/null; } 2>&1 | tail -1)
row "@huggingface/hub snapshotDownload (peer)" "$(since "$t0")" "$((rss / 1024)) MiB"

echo
echo "openssl speed -evp sha256 (16 KiB blocks, one core):"
openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null | tail -1
