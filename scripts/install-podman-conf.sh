#!/usr/bin/env bash
# Writes the podman settings this machine needs to run containers at all, as a
# drop-in (/etc/containers/containers.conf.d/50-ramflow.conf): a machine's own
# /etc/containers/containers.conf stays untouched, and only the keys below are
# overridden, each only when the machine needs it (docs/kubernetes.md, "Choices made"):
#   runtime = "runc"            the memory controller is on cgroup v1: crun refuses hybrid
#                               hierarchies (v1 memory + cgroup2), runc runs on any v1
#   cgroup_manager = "cgroupfs" PID 1 is not systemd: no systemd cgroup manager
#   events_logger = "file"      nor a journald
#   default_ulimits             the hard limits are below what podman asks for and
#                               CAP_SYS_RESOURCE is missing: "setrlimit: Operation not permitted"
# Idempotent: rewrites the drop-in only when its content changes. Run as root.
set -euo pipefail
dropin_dir=${RAMFLOW_CONTAINERS_CONF_D:-/etc/containers/containers.conf.d}
dropin=$dropin_dir/50-ramflow.conf

containers=() engine=()
if [ ! -f /sys/fs/cgroup/cgroup.controllers ] || ! grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
  engine+=('runtime = "runc"')
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
  engine+=('cgroup_manager = "cgroupfs"' 'events_logger = "file"')
fi
nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
below() { [ "$1" != unlimited ] && (($1 < $2)); }
lowest() { if below "$1" "$2"; then echo "$1"; else echo "$2"; fi; }
# Podman raises both to 1048576 by default; a few thousand are plenty for the tests' containers.
if below "$nofile" 1048576 || below "$nproc" 1048576; then
  n=$(lowest "$nofile" 16384) p=$(lowest "$nproc" 8192)
  containers+=("default_ulimits = [\"nofile=$n:$n\", \"nproc=$p:$p\"]")
fi

content="# Written by ramflow's scripts/install-podman-conf.sh: only what this machine needs.
[containers]
$(printf '%s\n' "${containers[@]}")
[engine]
$(printf '%s\n' "${engine[@]}")"
if ((${#containers[@]} + ${#engine[@]} == 0)); then
  rm -f "$dropin"
  echo "install-podman-conf: podman's defaults suit this machine"
  exit 0
fi
if [ "$(cat "$dropin" 2>/dev/null)" = "$content" ]; then
  echo "install-podman-conf: $dropin up to date"
  exit 0
fi
mkdir -p "$dropin_dir"
printf '%s\n' "$content" > "$dropin.tmp" && mv "$dropin.tmp" "$dropin"
echo "install-podman-conf: wrote $dropin"
