// RamflowSidecarDown under any release name: the job Prometheus gives the sidecars'
// series must be the one the chart's rules select. No prometheus-operator runs here,
// so the job is derived from the rendered ServiceMonitor/PodMonitor and Service by the
// operator's documented rule (ServiceMonitor: the value of the Service's label named
// by jobLabel, else the Service's name; PodMonitor: the Pod's label named by jobLabel,
// else "<namespace>/<PodMonitor name>"; then the endpoint's relabelings, of which
// only `replace` into job with a fixed replacement is understood — anything else
// touching job fails the test). The rules are the rendered PrometheusRule, run
// through the real promtool with that job in `up`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { find, renderChart } from "./lib/manifests.mjs";

function relabelJob(job, relabelings = []) {
  for (const r of relabelings) {
    if (r.targetLabel !== "job") continue;
    assert.ok((r.action ?? "replace") === "replace" && !r.sourceLabels && r.replacement,
      `a relabeling into job this test does not model: ${JSON.stringify(r)}`);
    job = r.replacement;
  }
  return job;
}

function serviceMonitorJob(objects) {
  const monitor = find(objects, "ServiceMonitor");
  const service = find(objects, "Service");
  const job = service.metadata.labels?.[monitor.spec.jobLabel] ?? service.metadata.name;
  return relabelJob(job, monitor.spec.endpoints[0].relabelings);
}

function podMonitorJob(objects) {
  const monitor = find(objects, "PodMonitor");
  const pod = find(objects, "Deployment")?.spec.template.metadata ?? { labels: {} };
  const job = (monitor.spec.jobLabel && pod.labels[monitor.spec.jobLabel]) || `${monitor.metadata.namespace}/${monitor.metadata.name}`;
  return relabelJob(job, monitor.spec.podMetricsEndpoints[0].relabelings);
}

// promtool test rules over the rendered rules: `up` of the job as given, 1 then 0.
function sidecarDownAlerts(objects, job) {
  const dir = mkdtempSync(join(tmpdir(), "ramflow-job-"));
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: find(objects, "PrometheusRule").spec.groups }));
    const target = `{job="${job}",instance="10.1.2.3:9977",namespace="jobs",pod="jobs-ramflow-5c9d7f-abcde"}`;
    writeFileSync(join(dir, "test.yaml"), stringify({
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series: [{ series: `up${target}`, values: "1x30 0x20" }],
        alert_rule_test: [
          { eval_time: "25m", alertname: "RamflowSidecarDown", exp_alerts: [] },
          { eval_time: "45m", alertname: "RamflowSidecarDown", exp_alerts: [{
            exp_labels: { severity: "warning", job, instance: "10.1.2.3:9977", namespace: "jobs", pod: "jobs-ramflow-5c9d7f-abcde" },
            exp_annotations: {
              summary: "Prometheus cannot scrape the ramflow sidecar.",
              description: "ramflowd at 10.1.2.3:9977 (pod jobs/jobs-ramflow-5c9d7f-abcde) does not answer scrapes: memory of these workers is unwatched.",
              runbook_url: "https://github.com/ramflow/ramflow/blob/main/docs/runbooks.md#ramflowsidecardown",
            },
          }] },
        ],
      }],
    }));
    return execFileSync("promtool", ["test", "rules", join(dir, "test.yaml")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const release of ["jobs", "ramflow", "shop-celery-workers"]) {
  test(`release ${release}: the ServiceMonitor's and the PodMonitor's job is the one RamflowSidecarDown watches`, () => {
    const monitors = renderChart({ release, set: ["serviceMonitor.enabled=true", "podMonitor.enabled=true", "prometheusRule.enabled=true"] });
    assert.equal(serviceMonitorJob(monitors), "ramflow");
    assert.equal(podMonitorJob(monitors), "ramflow");
    // Quiet while the target answers, firing once it stops: not "forever" through absent().
    assert.match(sidecarDownAlerts(monitors, serviceMonitorJob(monitors)), /SUCCESS/);
  });
}

test("the webhook mode's PodMonitor gives injected pods the same job", () => {
  const objects = renderChart({ release: "jobs", set: ["mode=webhook", "podMonitor.enabled=true"] });
  const monitor = find(objects, "PodMonitor");
  assert.equal(relabelJob(`${monitor.metadata.namespace}/${monitor.metadata.name}`, monitor.spec.podMetricsEndpoints[0].relabelings), "ramflow");
});

test("prometheusJob renames the job everywhere at once", () => {
  const objects = renderChart({ release: "jobs", set: ["prometheusJob=celery-memory", "serviceMonitor.enabled=true",
    "podMonitor.enabled=true", "prometheusRule.enabled=true"] });
  assert.equal(serviceMonitorJob(objects), "celery-memory");
  assert.equal(podMonitorJob(objects), "celery-memory");
  assert.match(sidecarDownAlerts(objects, "celery-memory"), /SUCCESS/);
});

test("the test above catches a job the rules do not select (the bug under the Service's name)", () => {
  const objects = renderChart({ release: "jobs", set: ["prometheusRule.enabled=true"] });
  // Under the Service's name the rules see no target: absent() fires while the sidecar is up.
  assert.throws(() => sidecarDownAlerts(objects, "jobs-ramflow"),
    (e) => /alertname: RamflowSidecarDown, time: 25m[\s\S]*No ramflowd target is scraped at all/.test(e.stdout + e.stderr));
});
