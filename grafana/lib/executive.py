"""Executive tab: the go/no-go view (integrity, KPI scorecard, layers, readout)."""
from __future__ import annotations

from common import INTEGRITY, LEAK_LEVEL, POD, WORKER, dashboard, panel, state_rank, target, value_mapping
from thresholds import number

OOM_RISK_MARGIN = number("oomRiskNonreclaimableMargin")
MARGIN_STEPS = [(None, "red"), (OOM_RISK_MARGIN, "orange"), (number("marginTight"), "green")]
GREEDY_BYTES_PER_SECOND = number("greedyMiBPerSecond") * 1024 * 1024
# Ranks 1, 2, 3 of a state set (common.state_rank) in the built-in UI's colours.
VERDICT_STEPS = [(None, "green"), (2, "yellow"), (3, "red")]
LEAK_LEVEL_STEPS = [(None, "green"), (2, "orange"), (3, "red")]
LEAK_PROBABILITY_STEPS = [
    (None, "green"), (number("leakProbabilityMedium"), "orange"), (number("leakProbabilityHigh"), "red"),
]
CHOSEN = " Of the worker process chosen above (worst first by default)."


def build() -> dict:
    panels = [
        panel(
            "stat",
            "Integrity",
            "SECURE: residual after tasks below the medium threshold and leak level low; "
            "BLOATED: residual at or above the high threshold, or leak level high; STABLE "
            "otherwise." + CHOSEN,
            "none",
            [target(f"max(\n{state_rank(INTEGRITY, WORKER)}\n)", "integrity")],
            width=6,
            height=5,
            thresholds=VERDICT_STEPS,
            mappings=value_mapping(INTEGRITY, ("green", "yellow", "red")),
            no_value="unknown",
        ),
        panel(
            "gauge",
            "Safety margin",
            "Share of the memory limit not used by the working set (usage minus inactive "
            "file cache): what the kubelet sees. Lowest of the selected pods.",
            "percentunit",
            [target(f"min(ramflow_safety_margin_ratio{{{POD}}})", "safety margin")],
            width=4,
            height=5,
            thresholds=MARGIN_STEPS,
        ),
        panel(
            "gauge",
            "Non-reclaimable margin",
            "Share of the memory limit not held by memory the kernel cannot reclaim (anon, "
            "shmem, unevictable): what the OOM killer sees. Lowest of the selected pods.",
            "percentunit",
            [target(f"min(ramflow_nonreclaimable_margin_ratio{{{POD}}})", "non-reclaimable margin")],
            width=4,
            height=5,
            thresholds=MARGIN_STEPS,
        ),
        panel(
            "stat",
            "Time to OOM",
            "Projected time until non-reclaimable memory reaches the limit at its present "
            "growth rate (Theil-Sen slope). Empty when memory is not growing. Red: the "
            "OOM-risk page fires below this; orange: the warning.",
            "s",
            [target(f"min(ramflow_time_to_oom_seconds{{{POD}}})", "time to OOM")],
            width=5,
            height=5,
            thresholds=[(None, "red"), (number("timeToOOMCritical"), "orange"), (number("timeToOOMHorizon"), "green")],
            no_value="not growing",
        ),
        panel(
            "gauge",
            "Leak probability",
            "Probability that the process leaks, always in its leak level's band: green LOW, "
            f"orange MEDIUM from {number('leakProbabilityMedium'):g}, red HIGH from "
            f"{number('leakProbabilityHigh'):g}." + CHOSEN,
            "percentunit",
            [target(f"max(ramflow_leak_probability{{{WORKER}}})", "leak probability")],
            width=5,
            height=5,
            thresholds=LEAK_PROBABILITY_STEPS,
            no_value="not judged yet",
        ),
        panel(
            "stat",
            "Process footprint",
            "Peak resident memory (VmHWM, from the kernel)." + CHOSEN,
            "bytes",
            [target(f"max(ramflow_process_peak_rss_bytes{{{WORKER}}})", "peak RSS")],
            width=8,
            height=5,
        ),
        panel(
            "stat",
            "Allocation speed",
            "Efficiency ratio: positive RSS growth per second over 30 s. Above "
            f"{number('greedyMiBPerSecond'):g} MiB/s the report calls the code greedy." + CHOSEN,
            "binBps",
            [target(f"max(ramflow_allocation_rate_bytes_per_second{{{WORKER}}})", "allocation speed")],
            width=5,
            height=5,
            thresholds=[(None, "green"), (GREEDY_BYTES_PER_SECOND, "orange")],
        ),
        panel(
            "stat",
            "Leak level",
            "Leak level (low, medium, high) from the trend test over the last 100 tasks." + CHOSEN,
            "none",
            [target(f"max(\n{state_rank(LEAK_LEVEL, WORKER)}\n)", "leak level")],
            width=5,
            height=5,
            thresholds=LEAK_LEVEL_STEPS,
            mappings=value_mapping(LEAK_LEVEL, ("green", "orange", "red")),
            no_value="not judged yet",
        ),
        panel(
            "stat",
            "Recommended request and Celery budget",
            "Recommended memory request (p90 of per-bucket peaks x 1.15) and the "
            "worker_max_memory_per_child budget that keeps the pod under the recommended limit.",
            "bytes",
            [
                target(f"max(ramflow_recommended_memory_request_bytes{{{POD}}})", "request"),
                target(
                    f"min(ramflow_recommended_celery_max_memory_per_child_bytes{{{POD}}})",
                    "max memory per child",
                ),
            ],
            width=6,
            height=5,
        ),
        panel(
            "stat",
            "Recommended container limit",
            "Limit recommended from this pod's lifetime (peak + headroom + leak over the "
            "restart horizon), the limit configured now, and the recommendation over all "
            "replicas of the workload and 7 days (recording rules).",
            "bytes",
            [
                target(f"max(ramflow_recommended_memory_limit_bytes{{{POD}}})", "recommended"),
                target(f"max by (source) (ramflow_memory_limit_bytes{{{POD}}})", "configured ({{source}})"),
                target(
                    "max(\n"
                    "namespace_workload:ramflow_recommended_memory_limit_bytes:max_7d\n"
                    "and on (cluster, namespace, workload)\n"
                    f"namespace_pod:ramflow_workload:info{{{POD}}}\n)",
                    "fleet, 7 days",
                ),
            ],
            width=12,
            height=6,
        ),
        panel(
            "bargauge",
            "Memory layers",
            "Bootstrap (bare interpreter), ecosystem bloat (imports and framework up to "
            "ready) and business logic (peak since ready minus ready) of each worker process.",
            "bytes",
            [target(f"ramflow_layer_bytes{{{POD}}}", "{{worker}} {{layer}}", instant=True)],
            width=12,
            height=6,
            options={"orientation": "horizontal", "displayMode": "gradient"},
        ),
        panel(
            "timeseries",
            "Margins over time",
            "Working-set and non-reclaimable margins of each pod. The OOM-risk alert fires "
            f"when the non-reclaimable margin stays below {OOM_RISK_MARGIN * 100:g} %.",
            "percentunit",
            [
                target(f"ramflow_safety_margin_ratio{{{POD}}}", "{{pod}} safety"),
                target(f"ramflow_nonreclaimable_margin_ratio{{{POD}}}", "{{pod}} non-reclaimable"),
            ],
            width=24,
            height=8,
            thresholds=MARGIN_STEPS,
        ),
    ]
    return dashboard(
        "executive",
        "Go/no-go view of Python worker memory: integrity, safety margins, leak risk and the "
        "recommended container limit.",
        panels,
    )
