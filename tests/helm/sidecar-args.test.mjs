// The real ramflowd accepts the sidecar's arguments and environment as every ci
// values file renders them: started with them (listen address, socket and state
// directory moved to a temporary place), it must still be running after 2 s.
// Skipped while the binary is absent ($RAMFLOWD or build/default/src/ramflowd),
// failed then when CI=true.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ciValuesFiles, podSpec, renderChart, repo, sidecarOf } from "./lib/manifests.mjs";

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

for (const valuesFile of ciValuesFiles()) {
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
