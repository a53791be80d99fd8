// values.yaml and every ci values file validate against values.schema.json
// (ajv, as strict as JSON Schema draft-07 allows); the schema documents every
// field; values.yaml comments every key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import Ajv from "ajv";
import { parse, parseDocument, isMap, isPair, visit } from "yaml";
import { chartDir, ciValuesFiles } from "./lib/manifests.mjs";

const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const load = (f) => parse(readFileSync(f, "utf8")) ?? {};

function check(values) {
  return validate(values) ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
}

for (const file of [join(chartDir, "values.yaml"), ...ciValuesFiles()]) {
  test(`${basename(file)} validates against values.schema.json`, () => {
    assert.deepEqual(check(load(file)), []);
  });
}

test("the schema rejects bad values with a message", () => {
  const bad = [
    [{ sidecar: { native: "sometimes" } }, /must be equal to one of the allowed values/],
    [{ sidecar: { port: 80 } }, /must be >= 1024/],
    [{ sidecar: { interval: "fast" } }, /must match pattern/],
    [{ replicaCount: -1 }, /must be >= 0/],
    [{ serviceMonitr: { enabled: true } }, /must NOT have additional properties/],
    [{ podDisruptionBudget: { maxUnavailable: "half" } }, /must match pattern/],
  ];
  for (const [values, message] of bad) {
    assert.match(check(values).join("\n"), message, JSON.stringify(values));
  }
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
