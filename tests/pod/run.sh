#!/usr/bin/env bash
# The pod end-to-end test: builds the ramflow image (scripts/build-image.sh) and the
# test's worker image with podman, checks the image itself (version, user, size,
# libraries, labels), then plays the chart rendered by the real Helm as real pods
# (tests/pod/pod_e2e.py: Celery + Redis + the ramflowd sidecar, cgroup v1, runc),
# and a user's own Celery Deployment through the chart's injection webhook
# (tests/pod/webhook_e2e.py; the image built once serves both).
# Needs root, podman, helm, node (scripts/install-deps.sh). Prints "N passed, M
# failed" last; removes every pod it played, also on failure. Images stay (cached).
set -uo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -nE 's/^project\(ramflow VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
image=ghcr.io/ramflow/ramflow:$version
worker_image=localhost/ramflow-pod-worker:test
max_image_bytes=$((120 * 1000 * 1000))   # the target, as podman reports sizes (decimal MB)
passed=0 failed=0
ok()   { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit; }
# Backstop for a killed pod_e2e.py (it removes its pods itself): the pods by name.
trap 'podman pod rm -f --ignore podtest-ramflow-pod-0 podtest-redis shop-celery-5d8c7b9f4-x7k2p >/dev/null 2>&1
      podman rm -f --ignore podtest-webhook >/dev/null 2>&1' EXIT

for tool in podman helm node /usr/bin/python3; do
  command -v "$tool" >/dev/null || { fail "$tool missing: run scripts/install-deps.sh"; finish; }
done

t0=$(date +%s)
if ./scripts/build-image.sh --tag "$image"; then ok "the ramflow image builds ($(( $(date +%s) - t0 )) s)"
else fail "the ramflow image builds"; finish; fi
t1=$(date +%s)
if podman build --network host --layers -q -f tests/pod/worker.Containerfile -t "$worker_image" tests/pod >/dev/null; then
  ok "the worker image builds ($(( $(date +%s) - t1 )) s)"
else fail "the worker image builds"; finish; fi

out=$(podman run --rm "$image" --version 2>&1)
[[ $out == "ramflowd $version"* ]] && ok "podman run --rm $image --version: $out" || fail "--version printed: $out"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[ "$user" = 1000:1000 ] && ok "the image's user is $user" || fail "the image's user is '$user', not 1000:1000"
size=$(podman image inspect --format '{{.Size}}' "$image")
((size <= max_image_bytes)) && ok "the image is $((size / 1000000)) MB (<= 120 MB)" || fail "the image is $((size / 1000000)) MB (> 120 MB)"
missing=$(podman run --rm --entrypoint ldd "$image" /usr/local/bin/ramflowd 2>&1 | grep -c 'not found')
((missing == 0)) && ok "every library ramflowd links is in the image" || fail "$missing libraries of ramflowd missing in the image"
labels=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.version"}} {{index .Labels "org.opencontainers.image.source"}}' "$image")
[ "$labels" = "$version https://github.com/ramflow/ramflow" ] && ok "OCI labels: $labels" || fail "OCI labels: '$labels'"
agent=$(podman run --rm --entrypoint /bin/sh "$image" -c 'ls /opt/ramflow/agent/ramflow/__init__.py /opt/ramflow/agent/sitecustomize/sitecustomize.py' 2>&1)
[ "$(wc -l <<<"$agent")" = 2 ] && ok "the agent is under /opt/ramflow/agent" || fail "agent: $agent"

# The dashboard check drives Chromium through tests/ui's pinned playwright-core.
if [ ! -d tests/ui/node_modules/playwright-core ] || [ tests/ui/package-lock.json -nt tests/ui/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/ui --no-audit --no-fund --loglevel=error >/dev/null
fi

t2=$(date +%s)
out=$(mktemp)
timeout 600 /usr/bin/python3 tests/pod/pod_e2e.py "$image" "$worker_image" | tee "$out"
result=$(tail -1 "$out")
rm -f "$out"
read -r p _ f _ <<<"$result"
passed=$((passed + ${p:-0})) failed=$((failed + ${f:-1}))
[ -n "$result" ] || fail "pod_e2e.py printed no result"
echo "pods: $(( $(date +%s) - t2 )) s; in all $(( $(date +%s) - t0 )) s"
finish
