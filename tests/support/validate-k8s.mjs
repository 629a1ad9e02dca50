// Validates Kubernetes objects against the Kubernetes OpenAPI schema (kubernetes-models) and the
// Flux CRD schemas (@kubernetes-models/flux-cd). Both packages are ESM-only (v5), so this runs as
// its own Node process: the jest suite (CommonJS, ts-jest) feeds it JSON on stdin.
// Input: [{ id, object }]. Output: [{ id, ok, error?, unsupported? }].
import { readFileSync } from "node:fs";

const input = JSON.parse(readFileSync(0, "utf8"));

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group.endsWith("fluxcd.io")
    ? [`@kubernetes-models/flux-cd/${group}/${version}/${kind}`]
    : group === ""
      ? [`kubernetes-models/v1/${kind}`]
      : [`kubernetes-models/${group}/${version}/${kind}`, `kubernetes-models/${group.split(".")[0]}/${version}/${kind}`];
  for (const c of candidates) {
    try {
      const mod = await import(c);
      if (mod[kind]) return mod[kind];
    } catch {
      /* try the next spelling */
    }
  }
  return undefined;
}

const out = [];
for (const { id, object } of input) {
  const Model = await modelFor(object.apiVersion, object.kind);
  if (!Model) {
    out.push({ id, ok: false, unsupported: true, error: `no schema for ${object.apiVersion} ${object.kind}` });
    continue;
  }
  try {
    new Model(object).validate();
    out.push({ id, ok: true });
  } catch (e) {
    out.push({ id, ok: false, error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(out));
