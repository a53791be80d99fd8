// Renders the chart (with tests/helm/render, the Helm-compatible renderer) and
// the kustomize trees (with `kubectl kustomize`), and parses the output.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const helmTests = resolve(here, "..");
export const repo = resolve(helmTests, "../..");
export const chartDir = join(repo, "helm/ramflow");
export const kubeVersions = ["1.28.0", "1.30.0"];

let renderer;
function rendererPath() {
  if (renderer) return renderer;
  renderer = process.env.RAMFLOW_HELM_RENDER || join(helmTests, ".build/render");
  if (!process.env.RAMFLOW_HELM_RENDER || !existsSync(renderer)) {
    execFileSync(join(helmTests, "build-render.sh"), [renderer], { stdio: "inherit" });
  }
  return renderer;
}

export function ciValuesFiles() {
  return readdirSync(join(chartDir, "ci"))
    .filter((f) => f.endsWith("-values.yaml"))
    .sort()
    .map((f) => join(chartDir, "ci", f));
}

export function parseDocs(text, origin) {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`${origin}: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((o) => o !== null);
}

// Renders and kustomize runs are memoized per test file (each test file is its
// own process); callers get a fresh copy, so they may modify it.
const memo = new Map();
function once(key, produce) {
  if (!memo.has(key)) memo.set(key, produce());
  return structuredClone(memo.get(key));
}

export function renderChart({ valuesFile, kubeVersion = "1.30.0", notes = false } = {}) {
  return once(JSON.stringify(["chart", valuesFile, kubeVersion, notes]), () => {
    const args = ["-chart", chartDir, "-kube-version", kubeVersion];
    if (valuesFile) args.push("-f", valuesFile);
    if (notes) args.push("-notes");
    const out = execFileSync(rendererPath(), args, { encoding: "utf8" });
    return notes ? out : parseDocs(out, `chart ${valuesFile ?? "defaults"} @${kubeVersion}`);
  });
}

// Every directory under deploy/ that holds a Kustomization (components are
// rendered through the bases and overlays that use them).
export function kustomizeDirs() {
  const dirs = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = join(d, e.name);
      const k = join(sub, "kustomization.yaml");
      if (existsSync(k) && parse(readFileSync(k, "utf8")).kind !== "Component") dirs.push(sub);
      walk(sub);
    }
  };
  walk(join(repo, "deploy"));
  return dirs.sort();
}

export function kustomize(dir) {
  return once(JSON.stringify(["kustomize", dir]), () =>
    parseDocs(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" }), `kustomize ${dir}`));
}

export function find(objects, kind, name) {
  return objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

export function podSpec(objects) {
  const d = find(objects, "Deployment", "ramflow");
  if (!d) throw new Error("no Deployment named ramflow");
  return d.spec.template.spec;
}

export function sidecarOf(spec) {
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  return all.find((c) => c.name === "ramflow");
}
