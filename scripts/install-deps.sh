#!/usr/bin/env bash
# Installs everything that building, testing and demoing ramflow needs, idempotently:
# the Debian packages, podman's settings for this kind of machine, and the pinned Helm.
# Usage: scripts/install-deps.sh           everything (README, CI)
#        scripts/install-deps.sh --build   only what building ramflowd needs (the image's build stage)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build=(
  build-essential cmake ninja-build pkg-config ccache
  prometheus-cpp-dev libcpp-httplib-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libssl-dev zlib1g-dev libbrotli-dev
  clang llvm bpftool libbpf-dev libelf-dev
)
test=(
  git libgtest-dev libgmock-dev lld libclang-rt-14-dev
  python3 python3-pytest python3-yaml python3-celery python3-redis python3-psutil python3-gevent python3-eventlet python3-django
  python3-jsonpatch
  redis-server prometheus prometheus-alertmanager
  prometheus-process-exporter prometheus-node-exporter
  chromium procps util-linux curl ca-certificates openssl unzip
  podman runc catatonit debootstrap
)

mode=all
case "${1:-}" in
  "") ;;
  --build) mode=build ;;
  *) echo "usage: scripts/install-deps.sh [--build]" >&2; exit 2 ;;
esac

want=("${build[@]}")
if [ "$mode" = all ]; then
  want+=("${test[@]}")
  # Node.js (chart-schema and UI tests, the Helm download) may come from another
  # repository already; only ask Debian for it when no npm is on PATH.
  command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
else
  export DEBIAN_FRONTEND=noninteractive
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$mode" = build ] && exit 0
$SUDO "$here/install-podman-conf.sh"
$SUDO "$here/install-helm.sh"
