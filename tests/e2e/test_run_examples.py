"""`ramflowd run` on the two example stories: the agent injected by PYTHONPATH
only, the exit code and signals forwarded, the verdicts, and a standalone HTML
report that opens offline."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from prom_servers import REPO, ramflowd_binary


def run(*args: str, report: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(ramflowd_binary()), "run", "--report", str(report), "--ebpf", "off", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def embedded_report(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="ramflow-report">(.*?)</script>', html, re.S)
    assert match, "the HTML report embeds its JSON"
    return json.loads(match.group(1))


def assert_offline(html: str) -> None:
    assert not re.search(r"https?://", html), "no reference to any outside host"


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory(prefix="ramflow-run-test-") as path:
        yield Path(path)


MiB = 1024 * 1024


def assert_sane_readout(report: dict) -> None:
    """The invariants of every readout (docs/analysis.md): request <= limit >= footprint x (1 + headroom)."""
    rec = report["executive"]["recommendation"]
    peak = report["executive"]["kpis"]["footprint"]["peak_bytes"]
    assert rec["request_bytes"] <= rec["limit_bytes"], rec
    assert rec["limit_bytes"] >= peak * (1 + rec["headroom_ratio"]), (rec, peak)
    assert rec["limit_reason"] and rec["request_reason"]
    for p in report["executive"]["processes"]:
        if p["peak_rss_bytes"] is not None:
            assert peak >= p["peak_rss_bytes"], (peak, p)


def test_the_forgotten_search_cache_ends_bloated_with_a_high_leak(tmp):
    out = run("--", "/usr/bin/python3", "examples/search_cache.py", report=tmp / "cache.html")
    assert out.returncode == 0, out.stderr
    assert "live dashboard at http://127.0.0.1:" in out.stderr
    assert "Integrity   BLOATED" in out.stdout, out.stdout
    assert re.search(r"Leak +HIGH", out.stdout), out.stdout
    # This machine's own cgroup holds other programs: the run's figures are the command's alone.
    assert "no limit fixes a leak" in out.stdout, out.stdout
    assert re.search(r"1\. \S*cached_search \(function\)", out.stdout), out.stdout
    html = (tmp / "cache.html").read_text()
    assert_offline(html)
    report = embedded_report(html)
    assert report["source"] == "run"
    assert report["executive"]["integrity"]["status"] == "bloated"
    assert report["executive"]["kpis"]["leak_probability"]["level"] == "high"
    rows = report["execution_flow"]["net_self"]["rows"]
    assert rows[0]["function"].endswith("cached_search"), rows[:3]
    assert_sane_readout(report)
    assert report["executive"]["kpis"]["footprint"]["peak_bytes"] < 300 * MiB
    assert report["executive"]["recommendation"]["limit_bytes"] < 1024 * MiB
    assert report["executive"]["recommendation"]["recycle_instead"] is True


def test_the_optimised_pipeline_ends_secure_with_a_low_leak(tmp):
    out = run("--", "/usr/bin/python3", "examples/optimised_pipeline.py", report=tmp / "pipeline.html")
    assert out.returncode == 0, out.stderr
    assert "Integrity   SECURE" in out.stdout, out.stdout
    report = embedded_report((tmp / "pipeline.html").read_text())
    assert report["executive"]["integrity"]["status"] == "secure"
    assert report["executive"]["kpis"]["leak_probability"]["level"] in ("low", "unknown")
    assert_sane_readout(report)
    assert report["executive"]["kpis"]["footprint"]["peak_bytes"] < 100 * MiB
    assert report["executive"]["recommendation"]["limit_bytes"] < 256 * MiB
    assert report["executive"]["kpis"]["leak_probability"]["probability"] < 0.35


def test_as_root_the_command_gets_a_memory_cgroup_of_its_own(tmp):
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller")
    out = run("--", "/usr/bin/python3", "examples/optimised_pipeline.py", report=tmp / "pipeline.json")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp / "pipeline.json").read_text())  # --report .json writes JSON
    assert re.fullmatch(r".*/ramflow-run-\d+", report["cgroup"]), report["cgroup"]
    assert report["executive"]["kpis"]["footprint"]["scope"] == "cgroup"
    # The cgroup's peak counter started at zero with the command: no other program in it.
    assert report["executive"]["kpis"]["footprint"]["cgroup_peak_bytes"] < 100 * MiB
    assert not Path("/sys/fs/cgroup/memory" + report["cgroup"]).exists(), "the run's cgroup is removed"


LEAKING_SCRIPT = """
import time
import ramflow
ramflow.mark_ready()
held = []
while True:
    with ramflow.task("tasks.ingest"):
        held.append(b"\\x07" * (8 << 20))  # 8 MiB kept per task, touched
    time.sleep(0.05)
"""


def test_a_rehearsed_memory_limit_gets_the_real_oom_killer_and_the_kill_is_pinned_on_its_task(tmp):
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller")
    out = run("--memory-limit", "300Mi", "--", "/usr/bin/python3", "-c", LEAKING_SCRIPT, report=tmp / "oom.json")
    assert out.returncode == 137, out.stderr  # SIGKILL by the OOM killer, forwarded
    report = json.loads((tmp / "oom.json").read_text())
    assert report["executive"]["kpis"]["safety_margin"]["limit_bytes"] == 300 * MiB
    kills = report["system_context"]["oom_kills"]["recent"]
    assert len(kills) == 1 and kills[0]["task"] == "tasks.ingest", kills
    ended = [p for p in report["executive"]["processes"] if p["state"] == "ended"]
    assert ended and ended[0]["end"]["reason"] == "oom_killed" and ended[0]["end"]["task"] == "tasks.ingest", ended
    assert_sane_readout(report)
    # Never below what the victim held at death, plus headroom.
    assert report["executive"]["recommendation"]["limit_bytes"] >= kills[0]["rss_at_death_bytes"] * 1.2
    assert "oom_killed during tasks.ingest" in out.stdout, out.stdout


def test_a_bad_memory_limit_is_refused(tmp):
    out = run("--memory-limit", "lots", "--", "/usr/bin/python3", "-c", "pass", report=tmp / "x.json")
    assert out.returncode == 2
    assert "--memory-limit \"lots\" is not a memory quantity" in out.stderr


def test_the_exit_code_is_forwarded(tmp):
    out = run("--", "/usr/bin/python3", "-c", "import sys, time; time.sleep(1); sys.exit(7)", report=tmp / "exit.html")
    assert out.returncode == 7, out.stderr
    assert (tmp / "exit.html").exists()


def test_a_command_too_short_to_sample_still_forwards_its_exit_code(tmp):
    out = run("--", "/usr/bin/python3", "-c", "import sys; sys.exit(5)", report=tmp / "short.html")
    assert out.returncode == 5, out.stderr
    assert "terminate" not in out.stderr


def test_a_command_that_cannot_start_exits_127(tmp):
    out = run("--", "/nonexistent/worker", report=tmp / "none.html")
    assert out.returncode == 127
    assert "cannot execute /nonexistent/worker" in out.stderr


def test_signals_reach_the_child(tmp):
    marker = tmp / "got-term"
    code = ("import signal, sys, time\n"
            "def on_term(*_):\n"
            f"    open({str(marker)!r}, 'w').close(); sys.exit(3)\n"
            "signal.signal(signal.SIGTERM, on_term)\n"
            "time.sleep(60)\n")
    process = subprocess.Popen([str(ramflowd_binary()), "run", "--report", str(tmp / "sig.html"), "--ebpf", "off",
                                "--", "/usr/bin/python3", "-c", code],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert marker.exists(), "the child received SIGTERM"
    assert process.returncode == 3


def test_the_default_report_name_follows_python_ram_flow(tmp):
    out = subprocess.run([str(ramflowd_binary()), "run", "--suffix", "nightly", "--ebpf", "off", "--",
                          "/usr/bin/python3", "-c", "import time; time.sleep(1.5)"],
                         capture_output=True, text=True, timeout=60, cwd=tmp,
                         env={"PATH": "/usr/bin:/bin", "RAMFLOW_ENV": "staging"})
    assert out.returncode == 0, out.stderr
    written = list((tmp / ".memory_audits").glob("*.html"))
    assert len(written) == 1
    assert re.fullmatch(r"\d{8}_\d{6}_staging_nightly\.html", written[0].name), written[0].name
