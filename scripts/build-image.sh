#!/usr/bin/env bash
# Builds the ramflow image from the Dockerfile.
#   podman (preferred): from the local debian:bookworm-slim, made by
#     scripts/make-base-image.sh when missing (debootstrap; no registry needed),
#     `podman build --network host` (the build reaches Debian's mirror).
#   docker (when there is no podman): `docker build`; the base comes from Docker Hub.
# Usage: scripts/build-image.sh [--tag IMAGE]     default ghcr.io/ramflow/ramflow:<version>
# Environment: RAMFLOW_ENGINE=podman|docker to choose the engine.
# Prints the image, its size in bytes and the build time last.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -nE 's/^project\(ramflow VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
tag=ghcr.io/ramflow/ramflow:$version
while (($#)); do
  case $1 in
    --tag) tag=${2:?--tag needs an image name}; shift 2 ;;
    *) echo "usage: scripts/build-image.sh [--tag IMAGE]" >&2; exit 2 ;;
  esac
done

engine=${RAMFLOW_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null; then engine=docker
  else echo "build-image: neither podman nor docker found: run scripts/install-deps.sh (podman)" >&2; exit 1
  fi
fi

revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision"
      --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t "$tag" -f Dockerfile .)
t0=$(date +%s)
if [ "$engine" = podman ]; then
  ./scripts/make-base-image.sh
  # The build stage tagged: its layers (the ~700 MB of build packages) stay the cache of
  # the next build; then the earlier builds' untagged images of both stages go, and
  # nobody else's.
  podman build --network host --layers --target build -t localhost/ramflow-build:cache -f Dockerfile .
  podman build --network host --layers "${args[@]}"
  for title in ramflow ramflow-build; do
    podman image prune -f --filter "label=org.opencontainers.image.title=$title" >/dev/null
  done
else
  DOCKER_BUILDKIT=1 docker build "${args[@]}"
fi
size=$("$engine" image inspect --format '{{.Size}}' "$tag")
echo "build-image: $tag, $size bytes, built by $engine in $(( $(date +%s) - t0 )) s"
