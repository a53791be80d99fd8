"""Execution flow tab: memory timeline of each worker and what each task retains."""
from __future__ import annotations

from common import POD, annotation, dashboard, panel, target, unit_override


def _by_function(metric: str) -> str:
    return f"sum by (function, kind) ({metric}{{{POD}}})"


def build() -> dict:
    # Definitions: docs/analysis.md, "Net self".
    net_self_columns = [
        (_by_function("ramflow_function_net_self_bytes_total"), "Kept (net self)"),
        (_by_function("ramflow_function_released_bytes_total"), "Released"),
        (_by_function("ramflow_function_gross_bytes_total"), "Own rise"),
        (_by_function("ramflow_function_freed_bytes_total"), "Freed"),
        (f"max by (function, kind) (ramflow_function_peak_bytes{{{POD}}})", "Largest own rise"),
        (_by_function("ramflow_function_calls_total"), "Calls"),
        (_by_function("ramflow_function_duration_seconds_total"), "Time in calls"),
    ]
    panels = [
        panel(
            "timeseries",
            "Memory timeline per worker",
            "RSS of each worker process. A staircase that never comes down is accumulation; "
            "spike-and-drop is heavy but clean work. Task boundaries are annotations. A "
            "recycled child's replacement continues its line (same worker).",
            "bytes",
            [target(f"ramflow_process_rss_bytes{{{POD}}}", "{{worker}} ({{role}})")],
            width=24,
            height=9,
        ),
        panel(
            "table",
            "Net self by task and function",
            "What each task and tracked function kept on its own, excluding tracked calls "
            "nested in it, summed since the sidecar started; sorted by culprit.",
            "bytes",
            [target(expr, table=True) for expr, _ in net_self_columns],
            width=24,
            height=9,
            options={"sortBy": [{"displayName": "Kept (net self)", "desc": True}]},
            overrides=[unit_override("Calls", "none"), unit_override("Time in calls", "s")],
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True},
                        "renameByName": {
                            f"Value #{ref}": name
                            for ref, (_, name) in zip("ABCDEFG", net_self_columns)
                        },
                    },
                },
            ],
        ),
        panel(
            "timeseries",
            "Kept per task call",
            "Average net self of one call over the rate window: a task that keeps "
            "memory every time it runs stands out here.",
            "bytes",
            [target(
                f"sum by (function) (rate(ramflow_function_net_self_bytes_total{{{POD}, kind=\"task\"}}[$__rate_interval]))\n"
                f"/\nsum by (function) (rate(ramflow_function_calls_total{{{POD}, kind=\"task\"}}[$__rate_interval]))",
                "{{function}}",
            )],
        ),
        panel(
            "timeseries",
            "Tasks finished per second",
            "Rate of finished tasks by name.",
            "ops",
            [target(
                f"sum by (function) (rate(ramflow_function_calls_total{{{POD}, kind=\"task\"}}[$__rate_interval]))",
                "{{function}}",
            )],
        ),
        panel(
            "timeseries",
            "Residual after the last task",
            "RSS right after the last top-level task ended minus RSS at ready. Growth task "
            "after task is what the leak test looks for.",
            "bytes",
            [target(f"ramflow_residual_bytes{{{POD}}}", "{{worker}}")],
        ),
        panel(
            "timeseries",
            "Leak rate per process",
            "Theil-Sen slope of the residual series, in bytes per second at the observed "
            "task rate.",
            "binBps",
            [target(f"ramflow_leak_rate_bytes_per_second{{{POD}}}", "{{worker}}")],
        ),
        panel(
            "timeseries",
            "Allocation speed per process",
            "Positive RSS growth per second over a sliding window.",
            "binBps",
            [target(f"ramflow_allocation_rate_bytes_per_second{{{POD}}}", "{{worker}}")],
        ),
        panel(
            "timeseries",
            "Shared and private memory per process",
            "PSS (shared pages split between the processes sharing them) and USS (pages "
            "private to the process). Summing RSS over prefork children over-counts.",
            "bytes",
            [
                target(f"ramflow_process_pss_bytes{{{POD}}}", "{{worker}} PSS"),
                target(f"ramflow_process_uss_bytes{{{POD}}}", "{{worker}} USS"),
            ],
        ),
    ]
    task_boundaries = annotation(
        "Task boundaries",
        f"sum by (function) (increase(ramflow_function_calls_total{{{POD}, kind=\"task\"}}[$__rate_interval])) > 0",
        "{{function}}",
        "task finished",
    )
    return dashboard(
        "execution-flow",
        "Memory timeline of each Python worker process and what each task retains.",
        panels,
        [task_boundaries],
    )
