// The real ramflowd accepts the sidecar's arguments and environment as every ci
// values file renders them: started with them (listen address, socket and state
// directory moved to a temporary place), it must still be running after 2 s. In the
// webhook mode the real `ramflowd webhook` starts with the rendered arguments and the
// certificate of the rendered Secret, and answers /healthz over TLS to a client that
// trusts only the configuration's caBundle and checks the Service's DNS name, as
// the API server does. Skipped while the binary is absent ($RAMFLOWD or
// build/default/src/ramflowd), failed then when CI=true.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ciValuesFiles, find, modeOf, podSpec, renderChart, repo, sidecarOf } from "./lib/manifests.mjs";

const binary = process.env.RAMFLOWD || join(repo, "build/default/src/ramflowd");
const missing = !existsSync(binary);
if (missing && process.env.CI === "true") throw new Error(`no ramflowd at ${binary}: build it first`);

const freePort = () => new Promise((resolve) => {
  const srv = createServer().listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

function localize(args, port, dir) {
  const out = [...args];
  const set = (flag, value) => { const i = out.indexOf(flag); if (i >= 0) out[i + 1] = value; };
  set("--listen", `127.0.0.1:${port}`);
  set("--socket", join(dir, "ramflow.sock"));
  set("--state-dir", join(dir, "state"));
  return out;
}

function environment(env) {
  const out = { PATH: process.env.PATH };
  for (const e of env ?? []) out[e.name] = e.value ?? "536870912";  // Downward API: a plausible byte count
  return out;
}

for (const valuesFile of ciValuesFiles().filter((f) => modeOf(f) === "worker")) {
  test(`ramflowd accepts the sidecar of ${valuesFile.split("/").pop()}`, { skip: missing && `no ramflowd at ${binary} yet` }, async () => {
    const sidecar = sidecarOf(podSpec(renderChart({ valuesFile })));
    const dir = mkdtempSync(join(tmpdir(), "ramflow-args-"));
    const args = localize(sidecar.args, await freePort(), dir);
    const child = spawn(binary, args, { env: environment(sidecar.env), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => { stderr += d; });
    const exited = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 2000);
      child.on("exit", (code) => { clearTimeout(timer); resolve(code); });
    });
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    assert.equal(exited, null, `ramflowd ${args.join(" ")} exited with ${exited}:\n${stderr}`);
  });
}

function healthz(port, host, ca) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", servername: host, ca, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const valuesFile of ciValuesFiles().filter((f) => modeOf(f) === "webhook")) {
  test(`ramflowd webhook serves the chart's certificate with the arguments of ${valuesFile.split("/").pop()}`,
    { skip: missing && `no ramflowd at ${binary} yet` }, async () => {
      const objects = renderChart({ valuesFile, kubeVersion: "1.28.0" });
      const secret = find(objects, "Secret");
      const config = find(objects, "MutatingWebhookConfiguration");
      const { name, namespace } = config.webhooks[0].clientConfig.service;
      const dir = mkdtempSync(join(tmpdir(), "ramflow-webhook-args-"));
      for (const key of ["tls.crt", "tls.key"]) writeFileSync(join(dir, key), Buffer.from(secret.data[key], "base64"));
      const port = await freePort();
      const args = podSpec(objects, "ramflow").containers[0].args.map((a) =>
        a.startsWith("--listen=") ? `--listen=127.0.0.1:${port}` : a.replace(/^(--tls-(cert|key)=)\/tls\//, `$1${dir}/`));
      const child = spawn(binary, args, { env: { PATH: process.env.PATH }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => { stderr += d; });
      try {
        const ca = Buffer.from(config.webhooks[0].clientConfig.caBundle, "base64");
        let answer;
        let lastError;
        for (let i = 0; i < 50 && !answer; i++) {
          answer = await healthz(port, `${name}.${namespace}.svc`, ca).catch((e) => {
            lastError = e;
            return new Promise((r) => setTimeout(() => r(undefined), 100));
          });
        }
        assert.equal(answer?.status, 200, `ramflowd ${args.join(" ")}: ${lastError}\n${stderr}`);
      } finally {
        child.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
