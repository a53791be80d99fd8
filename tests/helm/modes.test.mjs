// The chart's three modes as the real Helm renders them: worker (the Deployment with
// the sidecar), webhook (ramflowd webhook, its Service, PodDisruptionBudget,
// MutatingWebhookConfiguration and certificate), monitoring (the rules and the
// dashboards, once per cluster).
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { find, helm, podSpec, renderChart, templateArgs } from "./lib/manifests.mjs";

const kinds = (objs) => objs.map((o) => o.kind).sort();
const webhook = (options = {}) => renderChart({ release: "rf", namespace: "ramflow-system", ...options,
  set: ["mode=webhook", ...(options.set ?? [])] });
const webhookArgs = (objects) => Object.fromEntries(podSpec(objects, "rf-ramflow").containers[0].args
  .filter((a) => a.startsWith("--")).map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2)));

test("each mode renders its objects and nothing of the others", () => {
  assert.deepEqual(kinds(renderChart()), ["Deployment", "Pod", "Service", "ServiceAccount"]);
  assert.deepEqual(kinds(webhook()), ["Deployment", "MutatingWebhookConfiguration", "Pod", "PodDisruptionBudget",
    "Secret", "Service", "ServiceAccount"]);
  assert.deepEqual(kinds(renderChart({ set: ["mode=monitoring"] })), ["ConfigMap", "ConfigMap", "ConfigMap", "PrometheusRule"]);
  // Options of the worker mode do not leak into the others.
  const all = ["serviceMonitor.enabled=true", "networkPolicy.enabled=true", "podDisruptionBudget.enabled=true"];
  assert.deepEqual(kinds(renderChart({ set: ["mode=monitoring", ...all] })), ["ConfigMap", "ConfigMap", "ConfigMap", "PrometheusRule"]);
  assert.equal(webhook({ set: all }).filter((o) => ["ServiceMonitor", "NetworkPolicy"].includes(o.kind)).length, 0);
});

test("rules and dashboards: once per cluster from the monitoring mode, off in worker releases unless asked", () => {
  const monitoringKinds = ["ConfigMap", "PrometheusRule"];
  for (const release of ["shop", "billing"]) {
    const objects = renderChart({ release });
    assert.deepEqual(objects.filter((o) => monitoringKinds.includes(o.kind)), [], `worker release ${release} installs no copy`);
  }
  const uids = renderChart({ release: "ramflow-monitoring", set: ["mode=monitoring"] })
    .filter((o) => o.kind === "ConfigMap")
    .map((cm) => JSON.parse(Object.values(cm.data)[0]).uid);
  assert.equal(new Set(uids).size, 3, `three dashboards with distinct uids: ${uids}`);
  assert.deepEqual(kinds(renderChart({ set: ["mode=monitoring", "prometheusRule.enabled=false"] })), ["ConfigMap", "ConfigMap", "ConfigMap"]);
  assert.deepEqual(kinds(renderChart({ set: ["mode=monitoring", "grafanaDashboards.enabled=false"] })), ["PrometheusRule"]);
  const own = renderChart({ set: ["prometheusRule.enabled=true", "grafanaDashboards.enabled=true"] });
  assert.ok(find(own, "PrometheusRule") && find(own, "ConfigMap"), "a worker release can still carry its own copies");
});

test("webhook: 2 replicas kept up by a PodDisruptionBudget, behind a Service on 443", () => {
  const objects = webhook();
  const deployment = find(objects, "Deployment");
  assert.equal(deployment.spec.replicas, 2);
  const podLabels = deployment.spec.template.metadata.labels;
  const selects = (selector) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  const pdb = find(objects, "PodDisruptionBudget");
  assert.equal(pdb.spec.minAvailable, 1);
  assert.ok(selects(pdb.spec.selector.matchLabels));
  assert.ok(selects(deployment.spec.selector.matchLabels));
  const service = find(objects, "Service");
  assert.ok(selects(service.spec.selector));
  assert.deepEqual(service.spec.ports, [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }]);
  const container = deployment.spec.template.spec.containers[0];
  assert.deepEqual(container.ports, [{ name: "https", containerPort: 8443, protocol: "TCP" }]);
  assert.equal(container.readinessProbe.httpGet.scheme, "HTTPS");
  const secretVolume = deployment.spec.template.spec.volumes.find((v) => v.name === "tls").secret.secretName;
  assert.equal(secretVolume, find(objects, "Secret").metadata.name);
});

test("webhook: the configuration sends pod CREATEs to /mutate and /mutate/namespace of that Service", () => {
  const objects = webhook({ set: ["webhook.objectSelector.matchLabels.team=shop"] });
  const config = find(objects, "MutatingWebhookConfiguration");
  const service = find(objects, "Service");
  assert.deepEqual(config.webhooks.map((w) => w.clientConfig.service), [
    { name: service.metadata.name, namespace: "ramflow-system", path: "/mutate", port: 443 },
    { name: service.metadata.name, namespace: "ramflow-system", path: "/mutate/namespace", port: 443 },
  ]);
  for (const w of config.webhooks) {
    assert.equal(w.failurePolicy, "Ignore", "a webhook bug never stops a deployment");
    assert.equal(w.sideEffects, "None");
    assert.deepEqual(w.rules, [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }]);
    assert.deepEqual(w.objectSelector, { matchLabels: { team: "shop" } });
    assert.deepEqual(w.namespaceSelector.matchExpressions[1],
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["ramflow-system", "kube-system"] });
  }
  assert.deepEqual(config.webhooks.map((w) => w.namespaceSelector.matchExpressions[0]), [
    { key: "ramflow.io/inject", operator: "NotIn", values: ["true"] },
    { key: "ramflow.io/inject", operator: "In", values: ["true"] },
  ], "a labelled namespace goes to /mutate/namespace only, the others to /mutate");
  const fail = find(webhook({ set: ["webhook.failurePolicy=Fail"] }), "MutatingWebhookConfiguration");
  assert.deepEqual(fail.webhooks.map((w) => w.failurePolicy), ["Fail", "Fail"]);
});

test("webhook without cert-manager: Helm's CA signs the serving certificate for <service>.<namespace>.svc", () => {
  const objects = webhook();
  const secret = find(objects, "Secret");
  const pem = (key) => Buffer.from(secret.data[key], "base64");
  const ca = new X509Certificate(pem("ca.crt"));
  const leaf = new X509Certificate(pem("tls.crt"));
  assert.ok(leaf.verify(ca.publicKey), "tls.crt is signed by ca.crt");
  assert.ok(leaf.checkPrivateKey(createPrivateKey(pem("tls.key"))), "tls.key belongs to tls.crt");
  const host = `${find(objects, "Service").metadata.name}.ramflow-system.svc`;
  assert.equal(leaf.checkHost(host), host, `the API server calls https://${host}`);
  const config = find(objects, "MutatingWebhookConfiguration");
  for (const w of config.webhooks) assert.equal(w.clientConfig.caBundle, secret.data["ca.crt"]);
  assert.equal(config.metadata.annotations?.["cert-manager.io/inject-ca-from"], undefined);
});

test("webhook with cert-manager: a Certificate from a self-signed Issuer (or yours), caBundle injected", () => {
  const objects = webhook({ apiVersions: ["cert-manager.io/v1"] });
  assert.equal(find(objects, "Secret"), undefined, "cert-manager writes the Secret");
  const certificate = find(objects, "Certificate");
  const issuer = find(objects, "Issuer");
  assert.deepEqual(issuer.spec, { selfSigned: {} });
  assert.deepEqual(certificate.spec.issuerRef, { name: issuer.metadata.name, kind: "Issuer" });
  assert.ok(certificate.spec.dnsNames.includes(`${find(objects, "Service").metadata.name}.ramflow-system.svc`));
  const volume = find(objects, "Deployment").spec.template.spec.volumes.find((v) => v.name === "tls");
  assert.equal(volume.secret.secretName, certificate.spec.secretName);
  const config = find(objects, "MutatingWebhookConfiguration");
  assert.equal(config.metadata.annotations["cert-manager.io/inject-ca-from"], `ramflow-system/${certificate.metadata.name}`);
  for (const w of config.webhooks) assert.equal(w.clientConfig.caBundle, undefined);

  const yours = webhook({ apiVersions: ["cert-manager.io/v1"],
    set: ["webhook.certManager.issuerRef.name=corp-ca", "webhook.certManager.issuerRef.kind=ClusterIssuer"] });
  assert.equal(find(yours, "Issuer"), undefined);
  assert.deepEqual(find(yours, "Certificate").spec.issuerRef, { name: "corp-ca", kind: "ClusterIssuer" });
  assert.ok(find(webhook({ set: ["webhook.certManager.enabled=true"] }), "Certificate"), "true forces cert-manager");
  assert.ok(find(webhook({ apiVersions: ["cert-manager.io/v1"], set: ["webhook.certManager.enabled=false"] }), "Secret"),
    "false forces Helm's certificate");
});

test("webhook: --native-sidecar follows the cluster version (sidecar.native), the injected pieces follow sidecar.*", () => {
  assert.equal(webhookArgs(webhook({ kubeVersion: "1.28.0" }))["native-sidecar"], "false");
  assert.equal(webhookArgs(webhook({ kubeVersion: "1.30.0" }))["native-sidecar"], "true");
  assert.equal(webhookArgs(webhook({ kubeVersion: "1.30.0", set: ["sidecar.native=never"] }))["native-sidecar"], "false");
  assert.equal(webhookArgs(webhook({ kubeVersion: "1.28.0", set: ["sidecar.native=always"] }))["native-sidecar"], "true");
  const args = webhookArgs(webhook({ set: ["sidecar.port=9988", "sidecar.interval=2s", "sidecar.image.tag=1.2.3",
    "sidecar.resources.limits.cpu=500m", "socketDir=/run/rf", "agent.mountPath=/rf-agent"] }));
  assert.deepEqual([args.image, args["sidecar-port"], args.interval, args["sidecar-cpu-limit"], args["sidecar-memory-limit"],
    args["socket-dir"], args["agent-mount-path"]],
  ["ghcr.io/ramflow/ramflow:1.2.3", "9988", "2s", "500m", "128Mi", "/run/rf", "/rf-agent"]);
});

test("webhook mode refuses the privileged sidecar modes with the reason", () => {
  for (const set of ["sidecar.ebpf.enabled=true", "sidecar.readOtherUids=true"]) {
    assert.throws(() => helm(templateArgs({ set: ["mode=webhook", set] })),
      (e) => /mode webhook injects the restricted sidecar only/.test(e.stderr), set);
  }
});

test("PodMonitor: the release's pods in worker mode, every injected pod in webhook mode, the job always prometheusJob", () => {
  const worker = find(renderChart({ release: "jobs", set: ["podMonitor.enabled=true"] }), "PodMonitor");
  assert.deepEqual(worker.spec.selector.matchLabels, { "app.kubernetes.io/name": "ramflow", "app.kubernetes.io/instance": "jobs" });
  const injected = find(webhook({ set: ["podMonitor.enabled=true"] }), "PodMonitor");
  assert.deepEqual(injected.spec.selector.matchLabels, { "ramflow.io/injected": "true" });
  assert.deepEqual(injected.spec.namespaceSelector, { any: true });
  for (const m of [worker, injected]) {
    assert.equal(m.spec.sampleLimit, 3000);
    const [keep, job] = m.spec.podMetricsEndpoints[0].relabelings;
    assert.deepEqual(keep, { sourceLabels: ["__meta_kubernetes_pod_container_name"], regex: "ramflow", action: "keep" },
      "only the sidecar (another container's port may be called metrics too)");
    assert.deepEqual(job, { targetLabel: "job", replacement: "ramflow", action: "replace" });
  }
  assert.equal(find(renderChart({ set: ["mode=monitoring", "podMonitor.enabled=true"] }), "PodMonitor"), undefined);
});
