#!/usr/bin/env bash
# Makes the Debian base image the Dockerfile starts from, without a registry:
# `debootstrap --variant=minbase bookworm`, trimmed the way Debian's official
# slim image is (no apt lists or caches, no docs, man pages or locales; dpkg
# told to keep them out; apt told to clean after itself), then `podman import`ed
# as localhost/debian:bookworm-slim and tagged docker.io/library/debian:bookworm-slim
# so `FROM debian:bookworm-slim` resolves to it.
# Reuses what the machine already has: the image when present (unless --force),
# and debootstrap's downloaded packages under $RAMFLOW_CACHE (default /var/cache/ramflow).
# Usage: scripts/make-base-image.sh [--force]      (root; podman)
set -euo pipefail
image=localhost/debian:bookworm-slim
alias=docker.io/library/debian:bookworm-slim
mirror=${RAMFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${RAMFLOW_CACHE:-/var/cache/ramflow}

if [ "${1:-}" != --force ] && podman image exists "$image"; then
  podman tag "$image" "$alias"
  echo "make-base-image: $image present ($(podman image inspect --format '{{.Created}}' "$image"))"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make-base-image: debootstrap is missing: run scripts/install-deps.sh" >&2; exit 1; }

root=$(mktemp -d /var/tmp/ramflow-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$cache/debootstrap"
t0=$(date +%s)
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" bookworm "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What the official slim image drops, and the settings that keep it out of later layers.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
find "$root/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,groff,lintian,locale}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
  "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
# Debian's own image leaves the mirror list at deb.debian.org with security updates.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$mirror" "$mirror" >"$root/etc/apt/sources.list"

tar --numeric-owner -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "debootstrap --variant=minbase bookworm, slimmed (scripts/make-base-image.sh)" - "$image" >/dev/null
podman tag "$image" "$alias"
echo "make-base-image: $image made in $(( $(date +%s) - t0 )) s, $(podman image inspect --format '{{.Size}}' "$image") bytes"
