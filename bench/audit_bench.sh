#!/usr/bin/env bash
# Organisation audit benchmark (docs/benchmarks.md): `hfaudit audit --org many-org` over the
# fixture Hub's 1,050 synthetic repositories behind a rate limit of 2,500 API calls per 30 s
# (429 + Retry-After beyond it), run twice on one HFAUDIT_HOME: the first run fetches every
# repository, the second (incremental) only reads the listing. Records wall time, the requests
# the fixture Hub saw (its log), and how many of them were answered 429.
# Usage: bench/audit_bench.sh [BUILD_DIR]   (default: build-release, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-}
if [ -z "$build" ]; then
  build=build-release
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target hfaudit >/dev/null
fi
bin=$PWD/$build/src/hfaudit
work=$(mktemp -d /tmp/hfaudit-audit-bench.XXXXXX)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

python3 fixtures/hub/server.py --port 0 --cdn-port 0 --many-org 1050 --rate-limit 2500/30 \
  --ready-file "$work/ready" >/dev/null 2>&1 &
server=$!
for _ in $(seq 600); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { echo "audit_bench: fixture Hub did not start in 60 s" >&2; exit 1; }
hub=$(awk '{print $2}' "$work/ready")
export HF_ENDPOINT=$hub HF_HOME=$work/home HFAUDIT_HOME=$work/home/hfaudit HF_HUB_CACHE=$work/home/hub
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
unset HF_TOKEN HF_TOKEN_PATH HF_HUB_OFFLINE

secs() { date +%s.%N; }
log_counts() {  # "<requests> <429s>" seen by the Hub port since the last clear
  curl -s "$hub/_fixture/log?server=hub" |
    python3 -c 'import json,sys; l=json.load(sys.stdin); print(len(l), sum(e["status"]==429 for e in l))'
}

echo "| run | wall (s) | Hub requests | answered 429 | repositories fetched |"
echo "|---|---|---|---|---|"
for run in first second; do
  curl -s -X DELETE "$hub/_fixture/log" >/dev/null
  t0=$(secs)
  rc=0
  "$bin" audit --quiet --org many-org --json -o "$work/$run.json" || rc=$?
  t=$(awk -v a="$t0" -v b="$(secs)" 'BEGIN{printf "%.2f", b-a}')
  [ "$rc" -le 1 ] || { echo "audit_bench: $run run exited $rc" >&2; exit 1; }
  read -r requests limited < <(log_counts)
  fetched=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["checked"])' "$work/$run.json")
  echo "| $run | $t | $requests | $limited | $fetched |"
done
