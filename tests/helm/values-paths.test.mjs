// Every .Values path a template reads exists in values.yaml (or lies inside a
// free-form Kubernetes object such as securityContext), and every key of
// values.yaml is read by some template.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { chartDir, templateFiles } from "./lib/manifests.mjs";

const values = parse(readFileSync(join(chartDir, "values.yaml"), "utf8"));
const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function templatePaths() {
  const used = new Map();
  for (const path of templateFiles()) {
    const f = relative(join(chartDir, "templates"), path);
    const text = readFileSync(path, "utf8");
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = m[1].slice(1);
      used.set(path, [...(used.get(path) ?? []), f]);
    }
  }
  return used;
}

// A schema node with neither declared properties nor a closed shape is a free-form object.
function freeForm(keys) {
  let node = schema;
  for (const k of keys) {
    node = node.properties?.[k];
    if (!node) return false;
  }
  return node.type === "object" && !node.properties;
}

test("every .Values path used in a template exists in values.yaml", () => {
  const missing = [];
  for (const [path, files] of templatePaths()) {
    const keys = path.split(".");
    let node = values;
    for (let i = 0; i < keys.length; i++) {
      if (isObject(node) && keys[i] in node) { node = node[keys[i]]; continue; }
      if (!freeForm(keys.slice(0, i))) missing.push(`${path} (${files.join(", ")})`);
      break;
    }
  }
  assert.deepEqual(missing, []);
});

test("every key of values.yaml is read by a template", () => {
  const used = [...templatePaths().keys()];
  const unread = [];
  const walk = (node, prefix) => {
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const read = used.some((u) => u === path || path.startsWith(`${u}.`));
      if (read) continue;
      if (isObject(v) && Object.keys(v).length && !freeForm(path.split("."))) walk(v, path);
      else unread.push(path);
    }
  };
  walk(values, "");
  assert.deepEqual(unread, []);
});
