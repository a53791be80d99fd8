// Every ci values file renders for Kubernetes 1.28 and 1.30, and every rendered
// object (chart and kustomize) validates against the Kubernetes and
// prometheus-operator schemas.
import { test } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import {
  ciValuesFiles, find, kubeVersions, kustomize, kustomizeDirs, podSpec, renderChart, sidecarOf,
} from "./lib/manifests.mjs";
import { validateObject } from "./lib/validate.mjs";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { chartDir, repo } from "./lib/manifests.mjs";

const chartDashboards = () => {
  const dir = join(chartDir, "files/dashboards");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
};

for (const valuesFile of ciValuesFiles()) {
  for (const kubeVersion of kubeVersions) {
    test(`chart ${basename(valuesFile)} on ${kubeVersion} renders valid objects`, async () => {
      const objects = renderChart({ valuesFile, kubeVersion });
      assert.ok(find(objects, "Deployment"), "a Deployment is rendered");
      for (const o of objects) await validateObject(o);
      const notes = renderChart({ valuesFile, kubeVersion, notes: true });
      assert.match(notes, /port-forward/);
      assert.match(notes, /ramflowd recommend/);
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
  assert.deepEqual(kinds(renderChart()), ["Deployment", "Service", "ServiceAccount"]);
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

test("prometheusRule.knobs changes the rules exactly as deploy/prometheus/set_knobs.py does", () => {
  const valuesFile = ciValuesFiles().find((f) => f.includes("full"));
  const knobs = parse(readFileSync(valuesFile, "utf8")).prometheusRule.knobs;
  assert.ok(Object.keys(knobs).length > 0, "full-values.yaml sets some knobs");
  const chartRules = find(renderChart({ valuesFile }), "PrometheusRule").spec;
  const script = join(repo, "deploy/prometheus/set_knobs.py");
  const assignments = Object.entries(knobs).map(([k, v]) => `${k}=${v}`);
  const expected = parse(execFileSync("/usr/bin/python3", [script, ...assignments], { encoding: "utf8" }));
  assert.deepEqual(chartRules.groups, expected.groups);
  assert.deepEqual(find(renderChart({ valuesFile: ciValuesFiles().find((f) => f.includes("default")) }), "PrometheusRule"), undefined);
});
