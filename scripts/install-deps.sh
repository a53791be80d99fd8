#!/usr/bin/env bash
# Installs every Debian package that building, testing and demoing ramflow needs.
# Idempotent: packages already present are skipped by apt; `apt-get update` runs once.
set -euo pipefail

build=(
  build-essential cmake ninja-build pkg-config git
  prometheus-cpp-dev libcpp-httplib-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libssl-dev zlib1g-dev libbrotli-dev
  clang llvm lld libclang-rt-14-dev bpftool libbpf-dev libelf-dev
)
test=(
  python3 python3-pytest python3-yaml python3-celery python3-redis python3-psutil python3-gevent python3-eventlet python3-django
  redis-server prometheus prometheus-alertmanager
  prometheus-process-exporter prometheus-node-exporter
  chromium golang-go golang-github-masterminds-sprig-dev
  procps util-linux curl ca-certificates openssl
)

# Node.js (for the chart-schema tests) may come from another repository already;
# only ask Debian for it when no npm is on PATH.
command -v npm >/dev/null 2>&1 || test+=(nodejs npm)

want=("${build[@]}" "${test[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
