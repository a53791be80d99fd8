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


def test_the_forgotten_search_cache_ends_bloated_with_a_high_leak(tmp):
    out = run("--", "/usr/bin/python3", "examples/search_cache.py", report=tmp / "cache.html")
    assert out.returncode == 0, out.stderr
    assert "live dashboard at http://127.0.0.1:" in out.stderr
    assert "Integrity   BLOATED" in out.stdout, out.stdout
    assert "level HIGH" in out.stdout
    assert re.search(r"1\. \S*cached_search \(function\)", out.stdout), out.stdout
    html = (tmp / "cache.html").read_text()
    assert_offline(html)
    report = embedded_report(html)
    assert report["source"] == "run"
    assert report["executive"]["integrity"]["status"] == "bloated"
    assert report["executive"]["kpis"]["leak_probability"]["level"] == "high"
    rows = report["execution_flow"]["net_self"]["rows"]
    assert rows[0]["function"].endswith("cached_search"), rows[:3]


def test_the_optimised_pipeline_ends_secure_with_a_low_leak(tmp):
    out = run("--", "/usr/bin/python3", "examples/optimised_pipeline.py", report=tmp / "pipeline.html")
    assert out.returncode == 0, out.stderr
    assert "Integrity   SECURE" in out.stdout, out.stdout
    report = embedded_report((tmp / "pipeline.html").read_text())
    assert report["executive"]["integrity"]["status"] == "secure"
    assert report["executive"]["kpis"]["leak_probability"]["level"] in ("low", "unknown")


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
