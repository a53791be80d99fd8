"""The worked example's metric relabelings keep every series the alerts and dashboards
read: a real Prometheus scrapes, through the metricRelabelings of the ServiceMonitor
that `helm/ramflow/ci/full-values.yaml` renders (field names turned into the scrape
config's, as prometheus-operator does), a target on 127.0.0.1 that serves one sample
of every ramflow_* name used in deploy/prometheus/ramflow-rules.yaml and
grafana/dashboards/. The same target is scraped a second time through the relabeling
the example used to carry (keep only ramflow_function_.*), which must lose series:
the check can tell. Needs helm and prometheus (scripts/install-deps.sh); stage 70.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from prom_servers import Servers, free_port, get_json, wait_until  # noqa: E402

OLD_EXAMPLE = [{"sourceLabels": ["__name__"], "regex": "ramflow_function_.*", "action": "keep"}]


def used_names() -> set[str]:
    """Every ramflow_* series name the rules and the dashboards query (recording rules excluded)."""
    texts = [(REPO / "deploy" / "prometheus" / "ramflow-rules.yaml").read_text()]
    texts += [p.read_text() for p in (REPO / "grafana" / "dashboards").glob("*.json")]
    return {m for t in texts for m in re.findall(r"\b(ramflow_[a-z0-9_]+)\b", t)}


def full_values_relabelings() -> list[dict]:
    out = subprocess.run(["helm", "template", "shop", str(REPO / "helm" / "ramflow"), "-f",
                          str(REPO / "helm" / "ramflow" / "ci" / "full-values.yaml"),
                          "--show-only", "templates/servicemonitor.yaml"], capture_output=True, text=True, check=True).stdout
    return yaml.safe_load(out)["spec"]["endpoints"][0]["metricRelabelings"]


def scrape_config(relabelings: list[dict]) -> list[dict]:
    """prometheus-operator's translation: camelCase fields to the scrape config's, action in lower case."""
    names = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    out = []
    for r in relabelings:
        entry = {names.get(k, k): v for k, v in r.items()}
        if "action" in entry:
            entry["action"] = entry["action"].lower()
        out.append(entry)
    return out


class Target:
    """A /metrics on 127.0.0.1 with one sample of each name."""

    def __init__(self, names: set[str]):
        body = "".join(f'{n}{{namespace="shop",pod="shop-ramflow-0"}} 1\n' for n in sorted(names)).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_full_values_relabelings_keep_every_series_the_alerts_and_dashboards_read(tmp_path):
    names = used_names()
    assert len(names) > 30, sorted(names)
    target = Target(names)
    servers = Servers(tmp_path)
    port = free_port()
    jobs = {"full-values": full_values_relabelings(), "old-example": OLD_EXAMPLE}
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target.address]}],
                            "metric_relabel_configs": scrape_config(relabelings)} for job, relabelings in jobs.items()],
    }
    (tmp_path / "prometheus.yaml").write_text(json.dumps(config))
    try:
        servers.start("prometheus", ["prometheus", f"--config.file={tmp_path / 'prometheus.yaml'}",
                                     f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"])

        def seen(job: str) -> set[str]:
            result = get_json(f"http://127.0.0.1:{port}/api/v1/query",
                              {"query": f'group by (__name__) ({{job="{job}",__name__=~"ramflow_.+"}})'})["data"]["result"]
            return {r["metric"]["__name__"] for r in result}

        def scraped_both() -> bool:
            servers.check_running("prometheus")
            up = get_json(f"http://127.0.0.1:{port}/api/v1/query", {"query": "up == 1"})["data"]["result"]
            return {r["metric"]["job"] for r in up} == set(jobs)

        wait_until(scraped_both, 30, "a scrape of both jobs")
        assert sorted(names - seen("full-values")) == [], "ci/full-values.yaml's metricRelabelings drop series the rules or dashboards read"
        lost = names - seen("old-example")
        assert len(lost) > 20, f"the old example should lose most series, lost {sorted(lost)}"
    finally:
        servers.stop()
        target.close()
