// Every ci values file renders for Kubernetes 1.28 and 1.30, and every rendered
// object (chart and kustomize) validates against the Kubernetes and
// prometheus-operator schemas.
import { test } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import {
  ciValuesFiles, find, kubeVersions, kustomize, kustomizeDirs, modeOf, podSpec, renderChart, sidecarOf,
} from "./lib/manifests.mjs";
import { validateObject } from "./lib/validate.mjs";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { chartDir, helm, repo, templateArgs } from "./lib/manifests.mjs";

const chartDashboards = () => {
  const dir = join(chartDir, "files/dashboards");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
};

// What each mode must render, and what its NOTES.txt must tell.
const modeChecks = {
  worker: { kind: "Deployment", notes: [/port-forward/, /ramflowd recommend/] },
  webhook: { kind: "MutatingWebhookConfiguration", notes: [/ramflow\.io\/inject/, /ramflow_webhook_admission_reviews_total/] },
  monitoring: { kind: "PrometheusRule", notes: [/once per cluster/] },
};

for (const valuesFile of ciValuesFiles()) {
  for (const kubeVersion of kubeVersions) {
    test(`chart ${basename(valuesFile)} on ${kubeVersion} renders valid objects`, async () => {
      const objects = renderChart({ valuesFile, kubeVersion });
      const want = modeChecks[modeOf(valuesFile)];
      assert.ok(find(objects, want.kind), `a ${want.kind} is rendered`);
      for (const o of objects) await validateObject(o);
      const notes = renderChart({ valuesFile, kubeVersion, notes: true });
      for (const re of want.notes) assert.match(notes, re);
    });
  }
}

for (const dir of kustomizeDirs()) {
  test(`kustomize ${dir.split("/deploy/")[1]} renders valid objects`, async () => {
    const objects = kustomize(dir);
    assert.ok(objects.length > 0);
    for (const o of objects) await validateObject(o);
  });
}

test("native sidecar on 1.30, plain container started first on 1.28", () => {
  const native = podSpec(renderChart({ kubeVersion: "1.30.0" }));
  assert.deepEqual(native.initContainers.map((c) => c.name), ["ramflow-agent", "ramflow"]);
  assert.equal(sidecarOf(native).restartPolicy, "Always");
  assert.ok(sidecarOf(native).startupProbe, "the worker waits for the sidecar's startup probe");
  assert.deepEqual(native.containers.map((c) => c.name), ["worker"]);

  const plain = podSpec(renderChart({ kubeVersion: "1.28.0" }));
  assert.deepEqual(plain.initContainers.map((c) => c.name), ["ramflow-agent"]);
  assert.deepEqual(plain.containers.map((c) => c.name), ["ramflow", "worker"]);
  assert.equal(plain.containers[0].restartPolicy, undefined);
  assert.match(plain.containers[0].lifecycle.postStart.exec.command.join(" "), /-S \/run\/ramflow\/ramflow.sock/);
});

test("default security: sidecar as the worker's UID, nothing added, read-only, no escalation", () => {
  const spec = podSpec(renderChart());
  assert.equal(spec.shareProcessNamespace, true);
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault");
  const sc = sidecarOf(spec).securityContext;
  assert.equal(sc.runAsUser, undefined, "inherits the pod's (the worker's) UID");
  assert.deepEqual(sc.capabilities, { drop: ["ALL"] });
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.seccompProfile.type, "RuntimeDefault");
  assert.ok(sidecarOf(spec).resources.limits.memory);
  assert.ok(sidecarOf(spec).args.includes("off"), "eBPF off by default");
});

test("capability modes run as UID 0 with only the capabilities they need", () => {
  const spec = podSpec(renderChart({ valuesFile: ciValuesFiles().find((f) => f.includes("privileged")) }));
  const s = sidecarOf(spec);
  assert.equal(s.securityContext.runAsUser, 0);
  assert.equal(s.securityContext.runAsNonRoot, false);
  assert.deepEqual(s.securityContext.capabilities, { drop: ["ALL"], add: ["BPF", "PERFMON", "SYS_PTRACE"] });
  assert.equal(s.args[s.args.indexOf("--ebpf") + 1], "on");
  assert.equal(s.args[s.args.indexOf("--allowed-uids") + 1], "1000", "the worker's UID may still connect");
  // eBPF alone: UID 0 without SYS_PTRACE may not open a UID-1000 worker's /proc/<pid>/root
  // (where its cgroup is read) — seen in the pod test (docs/kubernetes.md).
  const ebpf = sidecarOf(podSpec(renderChart({ set: ["sidecar.ebpf.enabled=true"] }))).securityContext;
  assert.deepEqual(ebpf.capabilities, { drop: ["ALL"], add: ["BPF", "PERFMON", "SYS_PTRACE"] });
  const ptrace = sidecarOf(podSpec(renderChart({ set: ["sidecar.readOtherUids=true"] }))).securityContext;
  assert.deepEqual(ptrace.capabilities, { drop: ["ALL"], add: ["SYS_PTRACE"] });
});

test("the worker's limits reach the sidecar through the Downward API", () => {
  const s = sidecarOf(podSpec(renderChart()));
  const limit = s.env.find((e) => e.name === "RAMFLOW_MEMORY_LIMIT_BYTES");
  assert.deepEqual(limit.valueFrom.resourceFieldRef, { containerName: "worker", resource: "limits.memory", divisor: "1" });
  const request = s.env.find((e) => e.name === "RAMFLOW_MEMORY_REQUEST_BYTES");
  assert.equal(request.valueFrom.resourceFieldRef.resource, "requests.memory");
});

test("the worker loads the agent through PYTHONPATH and finds the socket", () => {
  const spec = podSpec(renderChart());
  const worker = spec.containers.find((c) => c.name === "worker");
  const env = Object.fromEntries(worker.env.map((e) => [e.name, e.value]));
  assert.equal(env.PYTHONPATH, "/ramflow-agent/sitecustomize");
  assert.equal(env.RAMFLOW_SOCKET, "/run/ramflow/ramflow.sock");
  const sidecar = sidecarOf(spec);
  assert.equal(sidecar.args[sidecar.args.indexOf("--socket") + 1], env.RAMFLOW_SOCKET);
});

test("optional objects appear only when enabled", () => {
  const kinds = (objs) => objs.map((o) => o.kind).sort();
  assert.deepEqual(kinds(renderChart()), ["Deployment", "Pod", "Service", "ServiceAccount"]);
  assert.deepEqual(kinds(renderChart({ set: ["helmTest.enabled=false"] })), ["Deployment", "Service", "ServiceAccount"]);
  const full = renderChart({ valuesFile: ciValuesFiles().find((f) => f.includes("full")) });
  for (const k of ["ServiceMonitor", "PrometheusRule", "NetworkPolicy", "PodDisruptionBudget"]) {
    assert.ok(find(full, k), `${k} rendered with full-values.yaml`);
  }
  const rule = find(full, "PrometheusRule");
  assert.ok(rule.spec.groups.some((g) => g.rules.some((r) => r.alert)), "alerting rules embedded");
  const dashboards = chartDashboards();
  const configMaps = full.filter((o) => o.kind === "ConfigMap");
  assert.equal(configMaps.length, dashboards.length, "one ConfigMap per dashboard in helm/ramflow/files/dashboards");
  for (const cm of configMaps) {
    assert.equal(cm.metadata.labels.grafana_dashboard, "1");
    for (const v of Object.values(cm.data)) JSON.parse(v);
  }
});

const setKnobs = (assignments) => parse(execFileSync("/usr/bin/python3",
  [join(repo, "deploy/prometheus/set_knobs.py"), ...assignments], { encoding: "utf8" }));

test("prometheusRule.knobs changes the rules exactly as deploy/prometheus/set_knobs.py does", () => {
  const valuesFile = ciValuesFiles().find((f) => f.includes("full"));
  const { knobs, disabledAlerts, extraRules } = parse(readFileSync(valuesFile, "utf8")).prometheusRule;
  assert.ok(Object.keys(knobs).length > 0, "full-values.yaml sets some knobs");
  const chartRules = find(renderChart({ valuesFile }), "PrometheusRule").spec;
  const expected = setKnobs(Object.entries(knobs).map(([k, v]) => `${k}=${v}`));
  // full-values.yaml also leaves alerts out and adds its own group.
  for (const g of expected.groups) g.rules = g.rules.filter((r) => !disabledAlerts.includes(r.alert));
  expected.groups.push({ name: "ramflow-extra.rules", rules: extraRules });
  assert.deepEqual(chartRules.groups, expected.groups);
  assert.deepEqual(find(renderChart({ valuesFile: ciValuesFiles().find((f) => f.includes("default")) }), "PrometheusRule"), undefined);
});

test("the chart's rules with default knobs are deploy/prometheus/ramflow-rules.yaml, whatever the release is called", () => {
  for (const release of ["ramflow", "jobs"]) {
    const rule = find(renderChart({ release, set: ["mode=monitoring"] }), "PrometheusRule");
    assert.deepEqual(rule.spec.groups, setKnobs([]).groups, release);
  }
});

test("prometheusRule.disabledAlerts leaves out every rule of each named alert, and refuses unknown names", () => {
  const all = find(renderChart({ set: ["mode=monitoring"] }), "PrometheusRule").spec.groups.flatMap((g) => g.rules);
  const some = find(renderChart({ set: ["mode=monitoring", "prometheusRule.disabledAlerts={RamflowOOMProjected,RamflowSidecarDown}"] }),
    "PrometheusRule").spec.groups.flatMap((g) => g.rules);
  const names = (rules) => rules.map((r) => r.alert ?? r.record);
  assert.deepEqual(names(some), names(all).filter((n) => n !== "RamflowOOMProjected" && n !== "RamflowSidecarDown"));
  assert.equal(names(all).filter((n) => n === "RamflowOOMProjected").length, 2, "both severities of RamflowOOMProjected existed");
  assert.throws(() => helm(templateArgs({ set: ["mode=monitoring", "prometheusRule.disabledAlerts={RamflowOOMRsk}"] })),
    (e) => /prometheusRule\.disabledAlerts: RamflowOOMRsk is not an alert of ramflow; known: RamflowAgentSilent, /.test(e.stderr));
});
