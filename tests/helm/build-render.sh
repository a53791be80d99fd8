#!/usr/bin/env bash
# Builds tests/helm/render (the Helm-compatible renderer, see render/main.go)
# offline from Debian's golang-go and golang-*-dev packages: no module download.
# GOPATH mode over a small tree of links into /usr/share/gocode, because Debian
# keeps sprig/v3 and semver/v3 under their v1 paths.
# Usage: tests/helm/build-render.sh OUTPUT_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:?usage: build-render.sh OUTPUT_BINARY}")
gocode=/usr/share/gocode/src
for pkg in github.com/Masterminds/sprig github.com/Masterminds/semver gopkg.in/yaml.v2; do
  [ -d "$gocode/$pkg" ] || { echo "missing $gocode/$pkg: run scripts/install-deps.sh" >&2; exit 1; }
done

gopath="$here/.build/gopath"
rm -rf "$gopath"
mkdir -p "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver"
for top in "$gocode"/*; do
  [ "$(basename "$top")" = github.com ] || ln -s "$top" "$gopath/src/"
done
for owner in "$gocode"/github.com/*; do
  [ "$(basename "$owner")" = Masterminds ] || ln -s "$owner" "$gopath/src/github.com/"
done
ln -s "$gocode/github.com/Masterminds/goutils" "$gopath/src/github.com/Masterminds/goutils"
ln -s "$gocode/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/sprig/v3"
ln -s "$gocode/github.com/Masterminds/semver" "$gopath/src/github.com/Masterminds/semver/v3"
ln -s "$here/render" "$gopath/src/render"

cd "$gopath/src/render"
GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOCACHE="${GOCACHE:-$here/.build/gocache}" go build -o "$out" .
