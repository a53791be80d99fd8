// The chart with default values and the kustomize base describe the same pod:
// security settings, ports, volumes, env, probes (and the rest of each
// container), for both sidecar styles, and the same Service and ServiceAccount.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { find, kustomize, podSpec, renderChart, repo } from "./lib/manifests.mjs";

const byName = (list = []) => [...list].sort((a, b) => a.name.localeCompare(b.name));

const containerFacts = (c) => ({
  name: c.name,
  image: c.image,
  command: c.command,
  args: c.args,
  restartPolicy: c.restartPolicy,
  securityContext: c.securityContext,
  ports: c.ports,
  env: c.env,
  volumeMounts: byName(c.volumeMounts),
  startupProbe: c.startupProbe,
  livenessProbe: c.livenessProbe,
  readinessProbe: c.readinessProbe,
  lifecycle: c.lifecycle,
  resources: c.resources,
});

const podFacts = (spec) => ({
  shareProcessNamespace: spec.shareProcessNamespace,
  securityContext: spec.securityContext,
  serviceAccountName: spec.serviceAccountName,
  automountServiceAccountToken: spec.automountServiceAccountToken,
  terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
  volumes: byName(spec.volumes),
  initContainers: (spec.initContainers ?? []).map(containerFacts),
  containers: spec.containers.map(containerFacts),
});

function compare(chartObjects, kustomizeObjects) {
  assert.deepEqual(podFacts(podSpec(kustomizeObjects)), podFacts(podSpec(chartObjects)));
  const svc = (objs) => {
    const s = find(objs, "Service", "ramflow");
    return { type: s.spec.type, ports: s.spec.ports, selector: s.spec.selector };
  };
  assert.deepEqual(svc(kustomizeObjects), svc(chartObjects));
  const sa = (objs) => find(objs, "ServiceAccount", "ramflow").automountServiceAccountToken;
  assert.equal(sa(kustomizeObjects), sa(chartObjects));
}

test("chart defaults on 1.30 and deploy/base agree (native sidecar)", () => {
  compare(renderChart({ kubeVersion: "1.30.0" }), kustomize(join(repo, "deploy/base")));
});

test("chart defaults on 1.28 and deploy/overlays/legacy-kubernetes agree (plain sidecar)", () => {
  compare(renderChart({ kubeVersion: "1.28.0" }), kustomize(join(repo, "deploy/overlays/legacy-kubernetes")));
});

test("the Celery+Redis overlay keeps the sidecar wiring and points the worker at Redis", () => {
  const objects = kustomize(join(repo, "deploy/overlays/celery-redis"));
  const spec = podSpec(objects);
  const worker = spec.containers.find((c) => c.name === "worker");
  const env = Object.fromEntries(worker.env.map((e) => [e.name, e.value]));
  assert.equal(env.PYTHONPATH, "/ramflow-agent/sitecustomize");
  assert.equal(env.RAMFLOW_SOCKET, "/run/ramflow/ramflow.sock");
  assert.equal(env.CELERY_BROKER_URL, "redis://redis:6379/0");
  assert.ok(find(objects, "Service", "redis"));
  const base = podSpec(kustomize(join(repo, "deploy/base")));
  assert.deepEqual(spec.initContainers, base.initContainers);
});
