#!/usr/bin/env bash
# Installs hfaudit's build and test dependencies from Debian 12 packages.
# Idempotent: when every package is already installed it does nothing at all
# (no apt-get update, no network). Why each library is used: docs/dependencies.md.
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libfmt-dev
  libsqlitecpp-dev libsqlite3-dev libboost-test-dev libcli11-dev libyaml-cpp-dev
  zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libhdf5-dev
  clang-14 libclang-rt-14-dev clang-format
  chromium  # headless screenshot of the audit HTML report (tests/cli/test_audit_cli.py)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
