// The webhook's Helm-generated certificate is kept across upgrades: the template
// looks up its Secret (`lookup`) and reuses it. `lookup` only reaches a cluster
// with `helm template --dry-run=server`, and no cluster exists here, so this test
// plays the API server's part with a stand-in on 127.0.0.1 that answers what
// Helm asks (the discovery of /api/v1 and the GET of that one Secret) and
// records the requests; the renders are the real Helm's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseDocs, templateArgs } from "./lib/manifests.mjs";

const namespace = "ramflow-system";
const secretName = "rf-ramflow-tls";
const secretPath = `/api/v1/namespaces/${namespace}/secrets/${secretName}`;
let stored = null;           // the Secret the stand-in holds, null: none (404)
const requests = [];
let server;
let dir;

function answer(req, res) {
  const path = req.url.split("?")[0];
  requests.push(`${req.method} ${path}`);
  const send = (code, body) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method === "GET" && path === "/api/v1") {
    return send(200, { kind: "APIResourceList", apiVersion: "v1", groupVersion: "v1", resources: [
      { name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: ["get", "list"] }] });
  }
  if (req.method === "GET" && path === secretPath && stored) return send(200, stored);
  return send(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ramflow-lookup-"));
  server = createServer(answer);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  writeFileSync(join(dir, "kubeconfig"), [
    "apiVersion: v1", "kind: Config", "current-context: standin",
    `clusters: [{name: standin, cluster: {server: "http://127.0.0.1:${server.address().port}"}}]`,
    "contexts: [{name: standin, context: {cluster: standin, user: standin}}]",
    "users: [{name: standin, user: {}}]", ""].join("\n"));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

// helm runs asynchronously: the stand-in answers from this very process.
async function render() {
  const args = [...templateArgs({ release: "rf", namespace, set: ["mode=webhook"] }), "--dry-run=server"];
  const { stdout } = await promisify(execFile)(process.env.RAMFLOW_HELM || "helm", args,
    { env: { ...process.env, KUBECONFIG: join(dir, "kubeconfig") } });
  const objects = parseDocs(stdout, "webhook with lookup");
  const secret = objects.find((o) => o.kind === "Secret");
  const config = objects.find((o) => o.kind === "MutatingWebhookConfiguration");
  return { data: secret.data, caBundles: config.webhooks.map((w) => w.clientConfig.caBundle) };
}

test("a first install generates the certificate; an upgrade finds the Secret and keeps it", async () => {
  stored = null;
  const first = await render();
  assert.ok(requests.includes(`GET ${secretPath}`), `Helm looked the Secret up: ${requests}`);
  assert.deepEqual(first.caBundles, [first.data["ca.crt"], first.data["ca.crt"]]);
  const again = await render();
  assert.notEqual(again.data["ca.crt"], first.data["ca.crt"], "without a Secret each render makes a new CA");

  stored = { apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls",
    metadata: { name: secretName, namespace }, data: first.data };
  const upgrade = await render();
  assert.deepEqual(upgrade.data, first.data, "tls.crt, tls.key and ca.crt kept");
  assert.deepEqual(upgrade.caBundles, [first.data["ca.crt"], first.data["ca.crt"]], "caBundle still the kept CA");
});

test("a Secret missing one of its three keys is replaced by a new certificate", async () => {
  const { "ca.crt": _, ...partial } = (await render()).data;
  stored = { apiVersion: "v1", kind: "Secret", metadata: { name: secretName, namespace }, data: partial };
  const renewed = await render();
  assert.notEqual(renewed.data["tls.crt"], partial["tls.crt"]);
  assert.ok(renewed.data["ca.crt"]);
  assert.deepEqual(renewed.caBundles, [renewed.data["ca.crt"], renewed.data["ca.crt"]]);
});
