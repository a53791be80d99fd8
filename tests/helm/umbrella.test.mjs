// The chart as a dependency of an umbrella chart, with the real Helm: `helm
// dependency build` packs it from this checkout (file://), and the umbrella renders
// with a `global` section (Helm hands it to every sub-chart, so the schema must
// accept it) and ramflow's values under its name or an alias.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { chartDir, find, helm, parseDocs } from "./lib/manifests.mjs";

let umbrella;

before(() => {
  umbrella = mkdtempSync(join(tmpdir(), "ramflow-umbrella-"));
  writeFileSync(join(umbrella, "Chart.yaml"), stringify({
    apiVersion: "v2", name: "shop", version: "1.0.0", type: "application",
    dependencies: [
      { name: "ramflow", version: "0.1.0", repository: `file://${chartDir}` },
      { name: "ramflow", alias: "ramflowMonitoring", version: "0.1.0", repository: `file://${chartDir}` },
    ],
  }));
  writeFileSync(join(umbrella, "values.yaml"), stringify({
    global: { imageRegistry: "registry.example.com", environment: "production" },
    ramflow: {
      worker: { image: { repository: "registry.example.com/shop/worker", tag: "2.4.1" } },
      serviceMonitor: { enabled: true },
    },
    ramflowMonitoring: { mode: "monitoring" },
  }));
  helm(["dependency", "build", umbrella]);
});

after(() => rmSync(umbrella, { recursive: true, force: true }));

test("helm dependency build packs the chart into the umbrella", () => {
  assert.deepEqual(readdirSync(join(umbrella, "charts")), ["ramflow-0.1.0.tgz"]);
});

test("the umbrella with a global section passes helm lint --strict and renders both sub-charts", () => {
  assert.match(helm(["lint", "--strict", umbrella]), /0 chart\(s\) failed/);
  const objects = parseDocs(helm(["template", "shop", umbrella, "--namespace", "shop", "--kube-version", "1.30.0"]), "umbrella");
  const worker = find(objects, "Deployment", "shop-ramflow");
  assert.ok(worker, `the worker Deployment: ${objects.map((o) => `${o.kind}/${o.metadata.name}`)}`);
  const container = worker.spec.template.spec.containers.find((c) => c.name === "worker");
  assert.equal(container.image, "registry.example.com/shop/worker:2.4.1");
  assert.equal(find(objects, "ServiceMonitor").spec.jobLabel, "ramflow.io/job");
  assert.equal(objects.filter((o) => o.kind === "PrometheusRule").length, 1, "one PrometheusRule, from the monitoring alias");
  assert.equal(objects.filter((o) => o.kind === "ConfigMap").length, 3);
});

test("a mistyped ramflow value is still refused inside the umbrella", () => {
  assert.throws(() => helm(["template", "shop", umbrella, "--set", "ramflow.sidecar.nativ=never"]),
    (e) => /ramflow:[\s\S]*Additional property nativ is not allowed/.test(e.stderr) && !/global is not allowed/.test(e.stderr));
});
