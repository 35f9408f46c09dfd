#!/usr/bin/env bash
# The main job on the embedded default: builds hfaudit, starts the local
# fixture Hub (fixtures/hub/server.py on 127.0.0.1; machines here have no
# internet), and shows what hfaudit does with its repositories: trust signals,
# a verified and gated pull of a clean model and of a malicious one, the cache
# listing, a policy explained rule by rule, a lock file and an offline locked
# pull, an audit of the cache, and a static scan of the labelled sample corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
bin=$PWD/build/src/hfaudit
work=$(mktemp -d /tmp/hfaudit-demo.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

python3 fixtures/hub/server.py --port 0 --cdn-port 0 --ready-file "$work/ready" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
export HF_ENDPOINT=$(awk '{print $2}' "$work/ready")
export HF_HOME=$work/home   # the cache: $HF_HOME/hub (huggingface_hub view), $HF_HOME/hfaudit
unset HF_TOKEN HF_HUB_OFFLINE

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || echo "(exit code $?)"; }
step "$bin" info hfaudit-fixtures/malicious-pickle
step "$bin" pull hfaudit-fixtures/clean-safetensors
step "$bin" pull hfaudit-fixtures/malicious-pickle
step "$bin" pull hfaudit-fixtures/custom-code
step "$bin" ls
echo; echo "transformers / huggingface_hub read it offline with HF_HUB_CACHE=$HF_HOME/hub HF_HUB_OFFLINE=1:"
find "$HF_HOME/hub" -maxdepth 4 | sed "s#$HF_HOME/##" | sort | head -20
step "$bin" policy explain hfaudit-fixtures/custom-code --policy policies/strict.yaml
step "$bin" lock hfaudit-fixtures/clean-safetensors --lockfile "$work/hfaudit.lock"
step env HF_HUB_OFFLINE=1 "$bin" pull --locked "$work/hfaudit.lock"
step "$bin" audit --cache
step "$bin" scan fixtures/scan/corpus --quiet
