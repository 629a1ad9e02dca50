/**
 * The platform's own generated secrets through the store (secrets.platformSecrets): the same stack
 * rendered with and without it makes the same Secrets with the same values (the ExternalSecret reads
 * back exactly what `pulumi up` wrote), the render keeps no Secret with a value but the store's
 * bootstrap, each component's reader is granted exactly its own paths, and what reads a Secret waits
 * for its ExternalSecret.
 */
import * as fc from "fast-check";
import { parse } from "yaml";
import { alertmanagerConfigData, DEFAULT_ALERTMANAGER_CONFIG } from "../components/observability/kube-prometheus-stack";
import { PLATFORM_READER_PREFIX, PlatformStoreAccess, platformStoreAccessOf } from "../components/secrets/platform-secrets";
import { parsePolicyHcl, policyHcl, PLATFORM_ACCESS_PREFIX } from "../components/secrets/store-access";
import { parsePlatformConfig } from "../config/load";
import { auditRun } from "../audit/stack";
import { packConfigFor } from "../audit/pack-config";
import type { Verdicts } from "../audit/verdicts";
import { isSecretMarker, RecordedResource } from "../render/harness";
import { isKubernetesObject } from "../render/gitops";
import { Rendered, renderConfig } from "../render/render";
import { readStackConfig } from "../render/stack";
import { configProblems } from "./support/config-problems";
import { generatedSecret } from "./support/generated-secrets";

type Inputs = Record<string, any>;
const plain = (v: unknown): any => (isSecretMarker(v) ? plain(v.value) : v);
const KV_WRITE = "vault:kv/secretV2:SecretV2";

/** The Secrets the program registers itself (not a chart's), by namespace/name. */
function programSecrets(r: Rendered): Map<string, { type: string; data: Record<string, string>; labels: Record<string, string> }> {
  const out = new Map<string, { type: string; data: Record<string, string>; labels: Record<string, string> }>();
  for (const x of r.run.resources) {
    if (x.type !== "kubernetes:core/v1:Secret" || (x.parent && r.run.resources.find((p) => p.urn === x.parent)?.type.startsWith("kubernetes:helm.sh"))) continue;
    const i = x.inputs as Inputs;
    out.set(`${i.metadata.namespace}/${i.metadata.name}`, { type: i.type ?? "Opaque", data: plain(i.stringData) ?? {}, labels: i.metadata.labels ?? {} });
  }
  return out;
}

/** What External Secrets makes from each ExternalSecret of a platform SecretStore: the store's value at its path, the template's type and labels. */
function externalSecretResults(r: Rendered): Map<string, { type: string; data: Record<string, string>; labels: Record<string, string>; urn: string }> {
  const out = new Map<string, { type: string; data: Record<string, string>; labels: Record<string, string>; urn: string }>();
  for (const x of r.run.resources.filter(isKubernetesObject)) {
    const i = x.inputs as Inputs;
    if (i.kind !== "ExternalSecret" || !String(i.spec.secretStoreRef.name).startsWith(PLATFORM_READER_PREFIX)) continue;
    const made = generatedSecret(r.run.resources, i.metadata.namespace, i.spec.target.name);
    if (!made) throw new Error(`ExternalSecret ${i.metadata.namespace}/${i.metadata.name} reads ${i.spec.dataFrom[0].extract.key}, which nothing writes`);
    out.set(`${i.metadata.namespace}/${i.spec.target.name}`, { type: made.inputs.type, data: plain(made.inputs.stringData), labels: made.inputs.metadata.labels, urn: made.urn });
  }
  return out;
}

const flatOf = (stack: string, secrets: Record<string, unknown>, extra: Record<string, string> = {}): Record<string, string> => {
  const flat = readStackConfig(stack);
  return { ...flat, "platform:secrets": JSON.stringify({ ...JSON.parse(flat["platform:secrets"]!), ...secrets }), ...extra };
};
const CONSUL = { "platform:discovery": JSON.stringify({ store: "consul", consul: { servers: 3, storage: "20Gi" } }) };

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["prod"] = await renderConfig("prod", flatOf("prod", { platformSecrets: { enabled: true } }));
  rendered["prod-off"] = await renderConfig("prod", flatOf("prod", { platformSecrets: { enabled: false } }));
  rendered["consul"] = await renderConfig("prod", flatOf("prod", { platformSecrets: { enabled: true } }, CONSUL));
  rendered["consul-off"] = await renderConfig("prod", flatOf("prod", { platformSecrets: { enabled: false } }, CONSUL));
});

describe.each([
  ["prod", "prod-off"],
  ["consul", "consul-off"],
])("%s: the platform's generated secrets through the store", (on, off) => {
  it("makes every Secret `pulumi up` made before, with the same type, keys, values and labels, through an ExternalSecret", () => {
    const before = programSecrets(rendered[off]!);
    const after = programSecrets(rendered[on]!);
    const made = externalSecretResults(rendered[on]!);
    // Only the store's bootstrap stays a Secret: the mesh CA and the store's TLS.
    expect([...after.keys()].sort()).toEqual(["istio-system/cacerts", "vault/vault-tls"]);
    expect(made.size).toBeGreaterThan(10);
    expect([...made.keys(), ...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, secret] of made) {
      const { urn: _u, ...result } = secret;
      expect({ key, ...result }).toEqual({ key, ...before.get(key)! });
    }
  });

  it("keeps no Secret with a value in the render but the store's bootstrap, and says so", () => {
    const r = rendered[on]!;
    expect(r.model.secrets.map((s) => `${s.namespace}/${s.name}`).sort()).toEqual(["istio-system/cacerts", "vault/vault-tls"]);
    expect(r.model.secrets.every((s) => s.bootstrap === true && /store's bootstrap/.test(s.howToSupply))).toBe(true);
    // A chart's empty Secret (External Secrets' webhook certificate, Consul's auth method token: filled by their controllers) is written as it is.
    const empty = r.model.groups.flatMap((g) => g.objects).filter((o) => o.kind === "Secret");
    expect(empty.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([...(on === "consul" ? ["discovery/consul-auth-method"] : []), "external-secrets/external-secrets-webhook"]);
    expect(empty.every((o) => o["data"] === undefined && o["stringData"] === undefined)).toBe(true);
    // Without the switch the same Secrets are references for a person to supply.
    expect(rendered[off]!.model.secrets.length).toBe(r.model.secrets.length + externalSecretResults(r).size);
  });

  it("grants each component's reader `read` on exactly its own Secrets' paths, and binds it to its own ServiceAccount", () => {
    const r = rendered[on]!;
    const objects = r.run.resources.filter(isKubernetesObject).map((x) => x.inputs as Inputs);
    const job = objects.find((o) => o.kind === "Job" && String(o.metadata.name).startsWith("vault-configurator-"))!;
    const script = job.spec.template.spec.containers[0].command[2] as string;
    const policies = new Map([...script.matchAll(/vault policy write (pf-\S+) - <<'EOF'\n([\s\S]*?)EOF/g)].map((m) => [m[1]!, parsePolicyHcl(m[2]!)]));
    const roles = new Map([...script.matchAll(/vault write auth\/kubernetes\/role\/(pf-\S+) (.*)/g)].map((m) => [m[1]!, m[2]!]));
    const externals = objects.filter((o) => o.kind === "ExternalSecret" && String(o.spec.secretStoreRef.name).startsWith("platform-"));
    const stores = objects.filter((o) => o.kind === "SecretStore" && String(o.metadata.name).startsWith("platform-"));
    expect(stores.length).toBeGreaterThan(3);
    const readers = new Map<string, string>();
    for (const st of stores) {
      const role = st.spec.provider.vault.auth.kubernetes.role as string;
      const ns = st.metadata.namespace as string;
      expect(role).toBe(`${PLATFORM_ACCESS_PREFIX}${ns}_${String(st.metadata.name).slice("platform-secrets-".length)}`);
      expect(st.spec.provider.vault.auth.kubernetes.serviceAccountRef.name).toBe(st.metadata.name);
      expect(roles.get(role)).toContain(`bound_service_account_names=${st.metadata.name} bound_service_account_namespaces=${ns} audience=vault token_policies=${role}`);
      const want = externals.filter((e) => e.metadata.namespace === ns && e.spec.secretStoreRef.name === st.metadata.name).map((e) => `secret/data/${e.spec.dataFrom[0].extract.key}`).sort();
      const granted = policies.get(role)!;
      expect(granted.map((g) => g.path).sort()).toEqual(want);
      expect(granted.every((g) => g.capabilities.join() === "read" && !g.path.includes("*") && g.path.startsWith(`secret/data/platform/${ns}/`))).toBe(true);
      for (const g of granted) {
        expect(readers.get(g.path)).toBeUndefined();
        readers.set(g.path, role);
      }
    }
    // Nothing else: one policy and one role per SecretStore.
    expect([...policies.keys()].sort()).toEqual(stores.map((s) => s.spec.provider.vault.auth.kubernetes.role).sort());
    expect([...roles.keys()].sort()).toEqual([...policies.keys()].sort());
    // The configurator deletes the readers nothing declares any more, as it does the services'.
    expect(script).toContain("grep -E '^(svc-|pf-)'");
  });

  it("has each ExternalSecret wait for its write and its SecretStore, each write for the store, and every reader of a Secret for its ExternalSecret", () => {
    const r = rendered[on]!;
    const byUrn = new Map(r.run.resources.map((x) => [x.urn, x]));
    const vaultChart = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as Inputs).chart === "vault")!;
    const made = externalSecretResults(r);
    for (const [key, { urn }] of made) {
      const es = byUrn.get(urn)!;
      const deps = es.dependencies.map((d) => byUrn.get(d)!);
      const write = deps.find((d) => d.type === KV_WRITE)!;
      expect((write.inputs as Inputs).name).toBe(`platform/${key}`);
      expect(write.dependencies).toContain(vaultChart.urn);
      expect(deps.some((d) => d.type === "kubernetes:external-secrets.io/v1:SecretStore")).toBe(true);
      expect((es.inputs as Inputs).metadata.annotations["pulumi.com/waitFor"]).toBe("condition=Ready");
    }
    // Workloads and charts that read a made Secret by name wait for its ExternalSecret.
    let readers = 0;
    for (const x of r.run.resources) {
      if (!x.custom || x.type === KV_WRITE) continue;
      const text = JSON.stringify(x.inputs);
      const ns = (x.inputs as Inputs).metadata?.namespace ?? (x.inputs as Inputs).namespace;
      for (const [key, { urn }] of made) {
        const [sns, name] = key.split("/") as [string, string];
        if (sns !== ns || urn === x.urn || !new RegExp(`"(secretName|name)":"${name}"`).test(text) || x.type.endsWith(":ExternalSecret")) continue;
        if (!["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:kafka.strimzi.io/v1:KafkaUser", "kubernetes:kafka.strimzi.io/v1beta2:KafkaUser"].includes(x.type)) continue;
        readers++;
        expect({ reader: x.urn, dependsOn: x.dependencies.includes(urn) }).toEqual({ reader: x.urn, dependsOn: true });
      }
    }
    expect(readers).toBeGreaterThan(5);
  });
});

describe("the pack at preview", () => {
  const found = (v: Verdicts) => v.records.flatMap((x) => x.violations.filter((y) => y.policy === "secrets-from-store").map((y) => `${y.enforcementLevel} ${x.kind} ${x.namespace}/${x.name}`));
  it("finds no Secret with values outside the store in the render, and refuses one added to it", async () => {
    const r = rendered["prod"]!;
    expect(found(r.verdicts)).toEqual([]);
    const leak: RecordedResource = {
      urn: "urn:pulumi:prod::platform::platform:index:Platform$kubernetes:core/v1:Secret::leak",
      type: "kubernetes:core/v1:Secret",
      name: "leak",
      custom: true,
      dependencies: [],
      inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "leak", namespace: "apps" }, stringData: { password: "x" } },
    };
    const broken = await auditRun({ ...r.run, resources: [...r.run.resources, leak] }, r.model, packConfigFor(r.config));
    expect(found(broken)).toEqual(["mandatory Secret apps/leak"]);
    // Without the switch the rule does not apply: the same Secret is how such a stack works.
    const off = rendered["prod-off"]!;
    expect(found(await auditRun({ ...off.run, resources: [...off.run.resources, leak] }, off.model, packConfigFor(off.config)))).toEqual([]);
  });
});

describe("the readers' policies (property)", () => {
  it("grant `read` on exactly the given Secrets of one namespace, and two readers never share a path", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(fc.record({ component: name, namespace: name, secrets: fc.uniqueArray(name, { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 6 }), (cs) => {
        const unique = [...new Map(cs.map((c) => [`${c.namespace}/${c.component}`, c])).values()];
        const access: PlatformStoreAccess[] = unique.map((c) => platformStoreAccessOf(c.component, c.namespace, c.secrets));
        // Two readers never share a policy and role (namespace "a-b" with component "c" is not namespace "a" with "b-c").
        expect(new Set(access.map((a) => a.name)).size).toBe(access.length);
        const owner = new Map<string, string>();
        for (const a of access) {
          const granted = parsePolicyHcl(policyHcl(a.readPaths));
          expect(granted.map((g) => g.path).sort()).toEqual(a.secrets.map((s) => `secret/data/platform/${a.namespace}/${s}`).sort());
          expect(granted.every((g) => g.capabilities.join() === "read")).toBe(true);
          for (const g of granted) {
            // Two components may name the same Secret in one namespace only if they are the same reader.
            const prev = owner.get(g.path);
            if (prev !== undefined) expect(unique.filter((c) => c.namespace === a.namespace && c.secrets.includes(g.path.split("/").pop()!)).length).toBeGreaterThan(1);
            owner.set(g.path, a.name);
          }
        }
      }),
    );
  });
});

describe("Alertmanager's configuration Secret", () => {
  it("is the chart's default configuration with the stack's override merged as Helm merges values, and its template files", () => {
    expect(parse(alertmanagerConfigData(undefined)["alertmanager.yaml"]!)).toEqual(DEFAULT_ALERTMANAGER_CONFIG);
    const pager = [{ name: "pager", webhook_configs: [{ url: "https://pager.example/hook" }] }];
    const over = alertmanagerConfigData({ alertmanager: { config: { receivers: pager, route: { receiver: "pager" } }, templateFiles: { "pager.tmpl": "{{ define \"x\" }}{{ end }}" } } });
    const merged = parse(over["alertmanager.yaml"]!);
    // Lists replace, maps merge.
    expect(merged.receivers).toEqual(pager);
    expect(merged.route).toEqual({ ...(DEFAULT_ALERTMANAGER_CONFIG["route"] as object), receiver: "pager" });
    expect(merged.inhibit_rules).toEqual(DEFAULT_ALERTMANAGER_CONFIG["inhibit_rules"]);
    expect(over["pager.tmpl"]).toBe('{{ define "x" }}{{ end }}');
    // A string is the whole file.
    expect(alertmanagerConfigData({ alertmanager: { config: "route:\n  receiver: x\n" } })).toEqual({ "alertmanager.yaml": "route:\n  receiver: x\n" });
  });
});

describe("config", () => {
  it("refuses the chart's templated Alertmanager configuration, which nothing would read, by key", () => {
    const flat = readStackConfig("dev");
    const raw = Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.replace(/^platform:/, ""), JSON.parse(v.startsWith("{") || v.startsWith("[") ? v : JSON.stringify(v))]));
    raw["charts"] = { ...(raw["charts"] ?? {}), values: { "kube-prometheus-stack": { alertmanager: { tplConfig: true } } } };
    expect(configProblems(raw)).toEqual([
      "platform:charts.values.kube-prometheus-stack.alertmanager.tplConfig: is not read: the platform writes Alertmanager's configuration Secret from alertmanager.config and alertmanager.templateFiles (got true; expected alertmanager.config (a map or a string) and alertmanager.templateFiles)",
    ]);
  });

  it("refuses the platform's secrets through a store that is not there, by key", () => {
    const flat = readStackConfig("dev");
    const raw = Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.replace(/^platform:/, ""), JSON.parse(v.startsWith("{") || v.startsWith("[") ? v : JSON.stringify(v))]));
    raw["secrets"] = { enabled: false, platformSecrets: { enabled: true } };
    for (const s of Object.values(raw["services"] as Record<string, any>)) delete s.secrets;
    expect(configProblems(raw)).toEqual([
      "platform:secrets.platformSecrets.enabled: the platform's secrets go through the store, and secrets.enabled is false (got true; expected secrets.enabled: true, or platformSecrets.enabled: false)",
    ]);
    raw["secrets"] = { enabled: true, platformSecrets: { enabled: true, address: "http://127.0.0.1:8200" } };
    expect(configProblems(raw)).toEqual([expect.stringMatching(/^platform:secrets\.platformSecrets\.address: must be an https:\/\/ URL/)]);
    raw["secrets"] = { enabled: true };
    expect(parsePlatformConfig(raw).secrets.platformSecrets).toEqual({ enabled: false, address: "https://127.0.0.1:8200" });
  });
});
