// The real Helm checks values against values.schema.json: `helm lint --strict`
// passes with values.yaml and every ci values file, and `helm template` refuses
// bad values with the schema's message. The schema itself compiles under ajv's
// strict mode (Helm ignores unknown keywords: a typo would silently check
// nothing), documents every field, and values.yaml comments every key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Ajv from "ajv";
import { parseDocument, isMap, isPair, visit } from "yaml";
import { chartDir, ciValuesFiles, helm, templateArgs } from "./lib/manifests.mjs";

const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));

test("helm lint --strict passes with the default values", () => {
  assert.match(helm(["lint", "--strict", chartDir]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

for (const file of ciValuesFiles()) {
  test(`helm lint --strict passes with ${basename(file)}`, () => {
    assert.match(helm(["lint", "--strict", chartDir, "-f", file]), /0 chart\(s\) failed/);
  });
}

test("helm refuses bad values with the schema's message", () => {
  const bad = [
    ["sidecar.native=sometimes", /- sidecar\.native: sidecar\.native must be one of the following: "auto", "always", "never"/],
    ["sidecar.port=80", /- sidecar\.port: Must be greater than or equal to 1024/],
    ["sidecar.interval=fast", /- sidecar\.interval: Does not match pattern/],
    ["replicaCount=-1", /- replicaCount: Must be greater than or equal to 0/],
    ["serviceMonitr.enabled=true", /Additional property serviceMonitr is not allowed/],
    ["podDisruptionBudget.maxUnavailable=half", /- podDisruptionBudget\.maxUnavailable: Does not match pattern/],
  ];
  for (const [set, message] of bad) {
    assert.throws(() => helm(templateArgs({ set: [set] })), (e) => {
      assert.match(e.stderr, /values don't meet the specifications of the schema/, set);
      assert.match(e.stderr, message, `${set}: ${e.stderr}`);
      return true;
    }, set);
  }
});

// Values written in a file, as users do (`--set` turns 0.5 into a string).
function withValuesFile(text, run) {
  const dir = mkdtempSync(join(tmpdir(), "ramflow-values-"));
  try {
    writeFileSync(join(dir, "values.yaml"), text);
    return run(join(dir, "values.yaml"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("resources take quantities as numbers or strings, extended resources and claims", () => {
  const text = [
    "worker:", "  resources:",
    "    requests: {cpu: 0.5, memory: 1Gi, ephemeral-storage: 2G, hugepages-2Mi: 64Mi}",
    "    limits: {cpu: 2, memory: 1.5e9, nvidia.com/gpu: 1, example.com/dongle: \"1\"}",
    "    claims: [{name: gpu}]",
    "sidecar:", "  resources:", "    requests: {cpu: .05, memory: 48Mi}", "    limits: {memory: 128Mi}",
    "agent:", "  resources:", "    requests: {cpu: 10m}", "",
  ].join("\n");
  withValuesFile(text, (file) => {
    assert.match(helm(["lint", "--strict", chartDir, "-f", file]), /0 chart\(s\) failed/);
    const worker = helm(templateArgs({ valuesFile: file }));
    assert.match(worker, /nvidia\.com\/gpu: 1/);
    assert.match(worker, /cpu: 0\.5/);
  });
});

test("resources still refuse what Kubernetes refuses", () => {
  const bad = [
    ["worker.resources.requests.cpu=lots", /- worker\.resources\.requests\.cpu: Does not match pattern/],
    ["worker.resources.requests.cpu=-1", /- worker\.resources\.requests\.cpu: Must be greater than or equal to 0/],
    ["worker.resources.requests.memory=1.5.3Gi", /- worker\.resources\.requests\.memory: Does not match pattern/],
    ["worker.resources.limits.memory=1GB", /- worker\.resources\.limits\.memory: Does not match pattern/],
    ["sidecar.resources.limit.memory=1Gi", /- sidecar\.resources: Additional property limit is not allowed/],
    ["agent.resources.requests.bad name=1", /- agent\.resources\.requests: Does not match pattern/],
    ["mode=sidecar", /- mode: mode must be one of the following: "worker", "webhook", "monitoring"/],
    ["prometheusRule.enabled=maybe", /- prometheusRule\.enabled: prometheusRule\.enabled must be one of the following: "auto", true, false/],
    ["webhook.failurePolicy=Sometimes", /- webhook\.failurePolicy: webhook\.failurePolicy must be one of the following: "Ignore", "Fail"/],
    ["prometheusJob=a b", /- prometheusJob: Does not match pattern/],
  ];
  for (const [set, message] of bad) {
    assert.throws(() => helm(templateArgs({ set: [set] })), (e) => {
      assert.match(e.stderr, message, `${set}: ${e.stderr}`);
      return true;
    }, set);
  }
});

test("helm refuses a Kubernetes version below the chart's kubeVersion", () => {
  assert.throws(() => helm(templateArgs({ kubeVersion: "1.24.0" })),
    (e) => /chart requires kubeVersion: >=1\.25\.0-0/.test(e.stderr));
});

test("the schema compiles under ajv's strict mode (no unknown keyword, no loose type)", () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  assert.doesNotThrow(() => ajv.compile(schema));
});

test("every schema field has a description, every string choice an enum or a pattern where it matters", () => {
  const missing = [];
  const walk = (node, path) => {
    if (!node.description) missing.push(path || "/");
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`);
  };
  walk(schema, "");
  assert.deepEqual(missing, []);
});

test("every key of values.yaml has a comment", () => {
  const doc = parseDocument(readFileSync(join(chartDir, "values.yaml"), "utf8"));
  const uncommented = [];
  visit(doc, {
    Pair(_, pair, path) {
      const parent = path[path.length - 1];
      const first = isMap(parent) && parent.items[0] === pair;
      const comment = pair.key?.commentBefore || (first && parent.commentBefore);
      // Keys inside a free-form value (resources, probes, securityContext) are
      // the Kubernetes objects' own fields: their owner key carries the comment.
      const depth = path.filter((n) => isPair(n)).length;
      const ownerCommented = path.some((n) => isPair(n) && n.key?.commentBefore && /-- /.test(n.key.commentBefore));
      if (!comment && !(depth > 0 && ownerCommented)) uncommented.push(pair.key.value);
    },
  });
  assert.deepEqual(uncommented, []);
});
