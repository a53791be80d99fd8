// Renders the chart with the real Helm (`helm template`, installed by
// scripts/install-helm.sh) and the kustomize trees (with `kubectl kustomize`),
// and parses the output.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const helmTests = resolve(here, "..");
export const repo = resolve(helmTests, "../..");
export const chartDir = join(repo, "helm/ramflow");
export const kubeVersions = ["1.28.0", "1.30.0"];
export const releaseName = "ramflow";

// helm with its output; a failure throws an Error carrying helm's stderr.
export function helm(args) {
  try {
    return execFileSync(process.env.RAMFLOW_HELM || "helm", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.code === "ENOENT") throw new Error("no helm on PATH: run scripts/install-deps.sh (scripts/install-helm.sh)");
    const err = new Error(`helm ${args.join(" ")} failed:\n${e.stderr}`);
    err.stderr = String(e.stderr);
    throw err;
  }
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

export function templateArgs({ valuesFile, kubeVersion = "1.30.0", set = [], release = releaseName, namespace = "default", apiVersions = [] } = {}) {
  const args = ["template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion];
  if (valuesFile) args.push("-f", valuesFile);
  for (const s of set) args.push("--set", s);
  for (const a of apiVersions) args.push("--api-versions", a);
  return args;
}

// NOTES.txt: `helm template` leaves it out and `helm install --dry-run` needs a
// cluster in Helm 3.17 (helm/helm#13144). So the real Helm renders it from a
// copy of the chart in which NOTES.txt's text is the body of a named template
// emitted as one YAML string: the same engine, values and functions.
function renderNotes(options) {
  const copy = mkdtempSync(join(tmpdir(), "ramflow-notes-"));
  try {
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(copy, "templates/NOTES.txt"), "utf8");
    rmSync(join(copy, "templates/NOTES.txt"));
    writeFileSync(join(copy, "templates/_notes.tpl"), `{{- define "test.notes" -}}\n${notes}{{- end }}\n`);
    writeFileSync(join(copy, "templates/notes.yaml"), 'notes: {{ include "test.notes" . | toJson }}\n');
    const args = templateArgs(options);
    args[2] = copy;
    const out = helm([...args, "--show-only", "templates/notes.yaml"]);
    return parse(out.replace(/^---\n# Source: .*\n/, "")).notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

// options: valuesFile, kubeVersion, set (--set list), release, namespace, apiVersions, notes.
export function renderChart(options = {}) {
  const { notes = false, ...render } = options;
  return once(JSON.stringify(["chart", options]), () => {
    if (notes) return renderNotes(render);
    const out = helm(templateArgs(render));
    return parseDocs(out, `chart ${render.valuesFile ?? "defaults"} ${JSON.stringify(render.set ?? [])} @${render.kubeVersion ?? "1.30.0"}`);
  });
}

// The mode a values file selects (worker when it says nothing).
export function modeOf(valuesFile) {
  return (valuesFile && parse(readFileSync(valuesFile, "utf8"))?.mode) || "worker";
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

export function podSpec(objects, name = "ramflow") {
  const d = find(objects, "Deployment", name);
  if (!d) throw new Error(`no Deployment named ${name}`);
  return d.spec.template.spec;
}

// Every template file under templates/, subdirectories included.
export function templateFiles() {
  const dir = join(chartDir, "templates");
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

export function sidecarOf(spec) {
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  return all.find((c) => c.name === "ramflow");
}
