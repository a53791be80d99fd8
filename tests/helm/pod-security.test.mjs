// The Pod Security Standards level each mode's pods need, and that the chart says so.
// No API server (hence no PodSecurity admission) runs here: the checks below are the
// published baseline and restricted rules (kubernetes.io/docs/concepts/security/
// pod-security-standards, v1.30) written out for the fields a pod spec can carry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ciValuesFiles, find, renderChart } from "./lib/manifests.mjs";

const baselineCapabilities = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const restrictedVolumes = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
  "projected", "secret"]);

// Violations of a pod spec at `level` ("baseline" or "restricted", which includes baseline).
export function violations(spec, level) {
  const found = [];
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  const pod = spec.securityContext ?? {};
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[field]) found.push(field);
  for (const v of spec.volumes ?? []) if (v.hostPath) found.push(`hostPath volume ${v.name}`);
  if (pod.seccompProfile?.type === "Unconfined") found.push("pod seccomp Unconfined");
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) found.push(`${c.name}: privileged`);
    if (sc.windowsOptions?.hostProcess) found.push(`${c.name}: hostProcess`);
    for (const cap of sc.capabilities?.add ?? []) if (!baselineCapabilities.has(cap)) found.push(`${c.name}: adds ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) found.push(`${c.name}: hostPort`);
    if (sc.procMount && sc.procMount !== "Default") found.push(`${c.name}: procMount`);
    if (sc.seccompProfile?.type === "Unconfined") found.push(`${c.name}: seccomp Unconfined`);
  }
  if (level === "baseline") return found;
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!restrictedVolumes.has(type)) found.push(`volume ${v.name} of type ${type}`);
  }
  if (pod.runAsUser === 0) found.push("pod runAsUser 0");
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) found.push(`${c.name}: allowPrivilegeEscalation not false`);
    if (!(sc.runAsNonRoot ?? pod.runAsNonRoot)) found.push(`${c.name}: runAsNonRoot not true`);
    if (sc.runAsUser === 0) found.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (!["RuntimeDefault", "Localhost"].includes(seccomp)) found.push(`${c.name}: seccomp ${seccomp}`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) found.push(`${c.name}: does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== "NET_BIND_SERVICE") found.push(`${c.name}: adds ${cap} (restricted)`);
  }
  return found;
}

// The strictest level every pod of a render meets.
function levelOf(objects) {
  const specs = objects.flatMap((o) => o.kind === "Pod" ? [o.spec] : o.spec?.template?.spec ? [o.spec.template.spec] : []);
  assert.ok(specs.length > 0, "the render has pods");
  if (specs.every((s) => violations(s, "restricted").length === 0)) return "restricted";
  if (specs.every((s) => violations(s, "baseline").length === 0)) return "baseline";
  return "privileged";
}

const statedLevel = (options) => renderChart({ ...options, notes: true }).match(/Pod Security: .*?level "(\w+)"/s)?.[1];

for (const valuesFile of ciValuesFiles()) {
  const name = valuesFile.split("/").pop();
  if (name.startsWith("monitoring")) continue;  // no pods
  for (const kubeVersion of ["1.28.0", "1.30.0"]) {
    test(`${name} on ${kubeVersion}: the level the pods need is the one NOTES.txt states`, () => {
      const objects = renderChart({ valuesFile, kubeVersion });
      const want = name.startsWith("privileged") ? "privileged" : "restricted";
      assert.equal(levelOf(objects), want,
        objects.filter((o) => o.spec?.template).map((o) => violations(o.spec.template.spec, "restricted")).join("; "));
      assert.equal(statedLevel({ valuesFile, kubeVersion }), want);
    });
  }
}

test("each privileged sidecar mode alone needs privileged: baseline forbids the capabilities it adds", () => {
  for (const set of ["sidecar.ebpf.enabled=true", "sidecar.readOtherUids=true"]) {
    const objects = renderChart({ set: [set] });
    const spec = find(objects, "Deployment").spec.template.spec;
    assert.equal(levelOf(objects), "privileged", set);
    assert.ok(violations(spec, "baseline").every((v) => /^ramflow: adds (BPF|PERFMON|SYS_PTRACE)$/.test(v)), violations(spec, "baseline").join("; "));
    assert.equal(statedLevel({ set: [set] }), "privileged");
  }
});

test("the check itself refuses what restricted forbids", () => {
  const spec = find(renderChart(), "Deployment").spec.template.spec;
  const broken = structuredClone(spec);
  delete broken.containers.find((c) => c.name === "worker").securityContext.allowPrivilegeEscalation;
  broken.volumes.push({ name: "host", hostPath: { path: "/" } });
  const found = violations(broken, "restricted");
  assert.ok(found.includes("worker: allowPrivilegeEscalation not false") && found.includes("hostPath volume host"), found.join("; "));
});
