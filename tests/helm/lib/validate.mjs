// Offline validation against the Kubernetes, prometheus-operator and cert-manager OpenAPI
// schemas shipped by the kubernetes-models packages. These validators accept
// unknown fields (the API server's strict field validation is not reproduced).
const modules = {
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
  "cert-manager.io/v1": "@kubernetes-models/cert-manager/cert-manager.io/v1",
};

export async function validateObject(obj) {
  const { apiVersion, kind } = obj;
  if (!apiVersion || !kind) throw new Error(`object without apiVersion/kind: ${JSON.stringify(obj).slice(0, 120)}`);
  const base = modules[apiVersion] ?? `kubernetes-models/${apiVersion}`;
  let mod;
  try {
    mod = await import(`${base}/${kind}`);
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind} in kubernetes-models`);
  }
  const Model = mod[kind] ?? mod.default;
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new Error(`${kind}/${obj.metadata?.name}: ${e.message}`);
  }
}
