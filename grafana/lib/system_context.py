"""System context tab: expansion journey, ecosystem share, host and cgroup facts."""
from __future__ import annotations

from common import POD, WORKER, dashboard, panel, target
from thresholds import number

REALITY_CHECK_SHARE = number("realityCheckShare")

# Panels that show Kubernetes object facts; they need kube-state-metrics and stay
# empty without it. Their titles start with this prefix.
KUBE_STATE_METRICS = "Kubernetes: "


def _sidecar(expr: str) -> str:
    """Keeps a standard process_* series of ramflowd itself, not of other targets in the pod."""
    return f"{expr} and on (cluster, job, instance) ramflow_build_info"


def build() -> dict:
    panels = [
        panel(
            "bargauge",
            "Memory expansion journey",
            "From the bare interpreter (bootstrap) to the infrastructure baseline "
            "(bootstrap + ecosystem) to the peak, of the worker process chosen above.",
            "bytes",
            [
                target(f'max(ramflow_layer_bytes{{{WORKER}, layer="bootstrap"}})', "bootstrap", instant=True),
                target(
                    f'sum(ramflow_layer_bytes{{{WORKER}, layer=~"bootstrap|ecosystem"}})',
                    "infrastructure baseline",
                    instant=True,
                ),
                target(f"max(ramflow_process_peak_rss_bytes{{{WORKER}}})", "peak", instant=True),
            ],
            width=12,
            options={"orientation": "horizontal", "displayMode": "gradient"},
        ),
        panel(
            "stat",
            "Expansion factor",
            "Peak / (bootstrap + ecosystem): how many times the worker process chosen above "
            "grows beyond what loading it costs.",
            "suffix:×",
            [target(f"max(ramflow_expansion_factor{{{WORKER}}})", "expansion factor")],
            width=6,
        ),
        panel(
            "gauge",
            "Ecosystem share of the peak",
            f"Reality check: (bootstrap + ecosystem) / peak of the worker process chosen above. At "
            f"{REALITY_CHECK_SHARE * 100:g} % or more, trim imports and INSTALLED_APPS rather than loops.",
            "percentunit",
            [target(f"max(ramflow_infrastructure_share_ratio{{{WORKER}}})", "infrastructure share")],
            width=6,
            thresholds=[(None, "green"), (REALITY_CHECK_SHARE, "orange")],
        ),
        panel(
            "bargauge",
            "Heaviest imports before ready",
            "RSS growth of each top-level import before the worker was ready (the 20 "
            "heaviest), once per worker group.",
            "bytes",
            [target(f"topk(20, max by (module) (ramflow_import_bytes{{{POD}}}))", "{{module}}", instant=True)],
            width=12,
            height=10,
            options={"orientation": "horizontal", "displayMode": "gradient"},
        ),
        panel(
            "timeseries",
            "Cgroup memory",
            "Usage, working set (usage minus inactive file cache), non-reclaimable memory "
            "(anon + shmem + unevictable), peak and the limit of each cgroup.",
            "bytes",
            [
                target(f"ramflow_memory_usage_bytes{{{POD}}}", "{{pod}} usage"),
                target(f"ramflow_memory_working_set_bytes{{{POD}}}", "{{pod}} working set"),
                target(f"ramflow_memory_nonreclaimable_bytes{{{POD}}}", "{{pod}} non-reclaimable"),
                target(f"ramflow_memory_peak_bytes{{{POD}}}", "{{pod}} peak"),
                target(f"ramflow_memory_limit_bytes{{{POD}}}", "{{pod}} limit ({{source}})"),
            ],
            width=12,
            height=10,
        ),
        panel(
            "stat",
            "Memory limit and its source",
            "The effective limit: the cgroup's, or the host's MemTotal when the cgroup has "
            "none (source host).",
            "bytes",
            [target(f"max by (source) (ramflow_memory_limit_bytes{{{POD}}})", "{{source}}")],
            width=6,
            height=5,
        ),
        panel(
            "stat",
            "eBPF OOM watcher",
            "1 when the BPF OOM watcher runs; 0 means OOM kills are inferred from cgroup "
            "counters and /proc.",
            "bool_on_off",
            [target(f"min(ramflow_ebpf_active{{{POD}}})", "eBPF")],
            width=6,
            height=5,
        ),
        panel(
            "table",
            "Build and cgroup version",
            "ramflowd version, cgroup version (v1, v2) and whether it was built with eBPF, "
            "per sidecar.",
            "none",
            [target(f"max by (pod, version, cgroup_version, ebpf) (ramflow_build_info{{{POD}}})", table=True)],
            width=12,
            height=5,
        ),
        panel(
            "timeseries",
            "Memory pressure (PSI)",
            "Share of time some or all tasks stalled on memory (avg10). Scope host means the "
            "cgroup has no PSI of its own (cgroup v1) and the host-wide value is shown.",
            "percentunit",
            [target(f"ramflow_memory_pressure_ratio{{{POD}}}", "{{pod}} {{kind}} ({{scope}})")],
        ),
        panel(
            "table",
            "OOM kills",
            "OOM kills seen since the sidecar started, by the task that ran in the victim "
            "and by how they were seen (ebpf or inferred).",
            "none",
            [target(f"sum by (pod, task, source) (ramflow_oom_kills_total{{{POD}}})", table=True)],
        ),
        panel(
            "timeseries",
            "Copy-on-write drift",
            "Shared pages of prefork children turning private, per second.",
            "binBps",
            [target(f"ramflow_cow_drift_bytes_per_second{{{POD}}}", "{{worker}}")],
        ),
        panel(
            "timeseries",
            "Agent events",
            "Events accepted from the in-process agents by type, and those rejected or "
            "dropped (none is shown as 0).",
            "ops",
            [
                target(f"sum by (type) (rate(ramflow_agent_events_total{{{POD}}}[$__rate_interval]))", "{{type}}"),
                target(
                    f"sum(rate(ramflow_agent_events_rejected_total{{{POD}}}[$__rate_interval])) or vector(0)",
                    "rejected",
                ),
                target(
                    f"sum(rate(ramflow_agent_events_dropped_total{{{POD}}}[$__rate_interval])) or vector(0)",
                    "dropped",
                ),
            ],
        ),
        panel(
            "stat",
            "Agents connected",
            "Worker processes whose agent spoke in the last minute.",
            "none",
            [target(f"sum(ramflow_agent_connected_processes{{{POD}}})", "agents")],
            width=4,
        ),
        panel(
            "timeseries",
            "Probe duration",
            "Time each kernel probe took in the last sampling cycle.",
            "s",
            [target(f"max by (source) (ramflow_probe_duration_seconds{{{POD}}})", "{{source}}")],
            width=10,
        ),
        panel(
            "timeseries",
            "Probe errors",
            "Unreadable kernel files per second (none is shown as 0); see the sidecar log "
            "for which file and what to do.",
            "ops",
            [target(f"sum(rate(ramflow_probe_errors_total{{{POD}}}[$__rate_interval])) or vector(0)", "errors")],
            width=10,
        ),
        panel(
            "timeseries",
            "Sidecar CPU",
            "CPU used by ramflowd itself, as a share of one core.",
            "percentunit",
            [target(_sidecar(f"rate(process_cpu_seconds_total{{{POD}}}[$__rate_interval])"), "{{pod}}")],
        ),
        panel(
            "timeseries",
            "Sidecar memory",
            "Resident memory of ramflowd itself.",
            "bytes",
            [target(_sidecar(f"process_resident_memory_bytes{{{POD}}}"), "{{pod}}")],
        ),
        panel(
            "table",
            KUBE_STATE_METRICS + "container memory limits and requests",
            "Memory limits and requests of every container of the selected pods, from "
            "kube-state-metrics (empty without it).",
            "bytes",
            [
                target(
                    f'max by (pod, container) (kube_pod_container_resource_limits{{{POD}, resource="memory"}})',
                    table=True,
                ),
                target(
                    f'max by (pod, container) (kube_pod_container_resource_requests{{{POD}, resource="memory"}})',
                    table=True,
                ),
            ],
            width=12,
        ),
        panel(
            "table",
            KUBE_STATE_METRICS + "container restarts and last termination",
            "Restarts of every container of the selected pods and why each last ended "
            "(OOMKilled...), from kube-state-metrics (empty without it).",
            "none",
            [
                target(f"max by (pod, container) (kube_pod_container_status_restarts_total{{{POD}}})", table=True),
                target(
                    f"max by (pod, container, reason) (kube_pod_container_status_last_terminated_reason{{{POD}}}) == 1",
                    table=True,
                ),
            ],
            width=12,
        ),
    ]
    return dashboard(
        "system-context",
        "Where the memory of Python workers goes: expansion from bootstrap to peak, the "
        "ecosystem share, and the host and cgroup facts behind the numbers.",
        panels,
    )
