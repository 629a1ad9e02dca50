/**
 * The secret store and application secrets by reference: the per-service store access equals the
 * declarations (property test), the rendered SecretStore/ExternalSecret and the pods' wiring follow
 * them, the flows to the store are allowed by the mesh and refused when broken on purpose, and the
 * config refuses what cannot work, by key.
 */
import * as fc from "fast-check";
import { proveRunning } from "../audit/running";
import { findPodSecurity } from "../audit/running/admission";
import { findKyverno } from "../audit/running/kyverno";
import { externalSecretsValues } from "../components/secrets/external-secrets";
import { serviceSecretObjects } from "../components/secrets/service-secrets";
import { configuratorPolicyHcl, parsePolicyHcl, policyHcl, storeAccess, storePathOf } from "../components/secrets/store-access";
import { configuratorScript, vaultServerConfig, vaultValues } from "../components/secrets/vault";
import { STORE_SECRET_DIR } from "../components/workloads/microservice";
import { parsePlatformConfig } from "../config/load";
import type { ServiceConfig } from "../config/schema";
import { isKubernetesObject } from "../render/gitops";
import { Rendered, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";
import { configProblems } from "./support/config-problems";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { mutated } from "./support/mutate";

type Inputs = Record<string, any>;
const objectsOf = (r: Rendered): Inputs[] => r.run.resources.filter(isKubernetesObject).map((x) => x.inputs as Inputs);
const crds = new CrdValidator(CRD_DIR);

const rawOf = (stack: string): Record<string, any> => {
  const flat = readStackConfig(stack);
  return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.replace(/^platform:/, ""), JSON.parse(v.startsWith("{") || v.startsWith("[") ? v : JSON.stringify(v))]));
};

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["prod"] = await renderStack("prod");
});

describe("store access from the declarations", () => {
  // Random declaration sets over a few services, paths and fields.
  const segment = fc.constantFrom("db", "provider", "signing", "api", "x-1");
  const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((p) => p.join("/"));
  const entry = fc.record({ path, key: fc.constantFrom("password", "api-key", "token"), as: fc.constantFrom("env" as const, "file" as const) });
  const envName = fc.constantFrom("A_KEY", "B_TOKEN", "C_PASS", "D_CERT");
  const decls = fc.dictionary(fc.constantFrom("orders", "payments", "users", "stock"), fc.dictionary(envName, entry));

  it("grants each service read on exactly its declared paths, below its own prefix, and no path to two services", () => {
    fc.assert(
      fc.property(decls, (d) => {
        const services = Object.fromEntries(Object.entries(d).map(([name, secrets]) => [name, { namespace: "apps", secrets } as unknown as ServiceConfig]));
        const access = storeAccess(services);
        // Services without secrets get no policy, role or store at all.
        expect(access.map((a) => a.service).sort()).toEqual(Object.keys(d).filter((n) => Object.keys(d[n]!).length).sort());
        const readers = new Map<string, string[]>();
        for (const a of access) {
          const granted = parsePolicyHcl(policyHcl(a.readPaths));
          const want = [...new Set(Object.values(d[a.service]!).map((e) => `secret/data/${storePathOf(a.service, e.path)}`))].sort();
          expect(granted.map((g) => g.path).sort()).toEqual(want);
          expect(granted.every((g) => g.capabilities.join() === "read" && !g.path.includes("*"))).toBe(true);
          expect(granted.every((g) => g.path.startsWith(`secret/data/services/${a.service}/`))).toBe(true);
          for (const g of granted) readers.set(g.path, [...(readers.get(g.path) ?? []), a.service]);
          // The ExternalSecret asks for exactly the declared names, paths and fields; the store logs in as the service.
          const [store, es] = serviceSecretObjects(a, { url: "https://vault.vault.svc.cluster.local:8200", caBundle: "Y2E=", refreshInterval: "1h" }) as Inputs[];
          expect(store!["spec"].provider.vault.auth.kubernetes).toEqual({ mountPath: "kubernetes", role: a.name, serviceAccountRef: { name: a.service, audiences: ["vault"] } });
          expect(es!["spec"].data.map((x: Inputs) => `${x.secretKey}=${x.remoteRef.key}#${x.remoteRef.property}`).sort()).toEqual(
            Object.entries(d[a.service]!).map(([n, e]) => `${n}=${storePathOf(a.service, e.path)}#${e.key}`).sort(),
          );
        }
        expect([...readers.values()].every((who) => who.length === 1)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the configurator no read on any secret, and the configurator script writes exactly the derived policies and roles", () => {
    const rules = parsePolicyHcl(configuratorPolicyHcl());
    expect(rules.some((r) => r.path.startsWith("secret/"))).toBe(false);
    expect(rules.some((r) => r.path.includes("vault-configurator"))).toBe(false);
    const cfg = parsePlatformConfig(rawOf("prod"));
    const access = storeAccess(cfg.services);
    const script = configuratorScript(access);
    expect([...script.matchAll(/vault policy write (\S+) /g)].map((m) => m[1])).toEqual(access.map((a) => a.name));
    expect(script).toContain("vault write auth/kubernetes/role/svc-payment-service bound_service_account_names=payment-service bound_service_account_namespaces=apps audience=vault token_policies=svc-payment-service");
    // What no declaration asks for any more is deleted (only the platform's svc- prefix).
    expect(script).toMatch(/vault policy delete "\$p"/);
  });
});

describe("the rendered store, operator and wiring (prod)", () => {
  it("runs Vault HA with raft over TLS, the audit volume, no injector; External Secrets without cluster-wide stores", () => {
    const v = vaultValues({ namespace: "vault", replicas: 3, storageSize: "10Gi", auditStorageSize: "10Gi", tlsSecret: "vault-tls", monitoring: true }) as Inputs;
    expect(v["server"].ha).toMatchObject({ enabled: true, replicas: 3, raft: { enabled: true } });
    expect(vaultServerConfig({ namespace: "vault", replicas: 3 }).match(/retry_join/g)).toHaveLength(3);
    expect(vaultServerConfig({ namespace: "vault", replicas: 3 })).toMatch(/tls_cert_file/);
    expect(v["injector"].enabled).toBe(false);
    const e = externalSecretsValues({ ha: true, monitoring: false, namespace: "external-secrets" }) as Inputs;
    expect([e["processClusterStore"], e["processClusterExternalSecret"], e["crds"].createClusterSecretStore]).toEqual([false, false, false]);

    const objs = objectsOf(rendered["prod"]!);
    const sts = objs.find((o) => o["kind"] === "StatefulSet" && o["metadata"].name === "vault")!;
    expect(sts["spec"].replicas).toBe(3);
    expect(sts["spec"].volumeClaimTemplates.map((c: Inputs) => c.metadata.name).sort()).toEqual(["audit", "data"]);
    const cm = objs.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === "vault-config")!;
    expect(JSON.stringify(cm["data"])).toContain("tls_cert_file");
    expect(objs.filter((o) => o["kind"] === "PodDisruptionBudget" && o["metadata"].namespace === "vault")).toHaveLength(1);
    expect(objs.some((o) => o["kind"] === "MutatingWebhookConfiguration" && /vault/.test(o["metadata"].name))).toBe(false);
    const crdNames = objs.filter((o) => o["kind"] === "CustomResourceDefinition" && /external-secrets/.test(o["metadata"].name)).map((o) => o["metadata"].name);
    expect(crdNames).toEqual(expect.arrayContaining(["externalsecrets.external-secrets.io", "secretstores.external-secrets.io"]));
    expect(crdNames).not.toContain("clustersecretstores.external-secrets.io");
  });

  it("renders payment-service's SecretStore and ExternalSecret, valid against the pinned CRDs, and its pods read them as env and files", () => {
    const objs = objectsOf(rendered["prod"]!);
    const store = objs.find((o) => o["kind"] === "SecretStore" && o["metadata"].name === "payment-service-store")!;
    const es = objs.find((o) => o["kind"] === "ExternalSecret" && o["metadata"].name === "payment-service")!;
    expect(store["metadata"]).toMatchObject({ name: "payment-service-store", namespace: "apps" });
    expect(es["spec"].data).toEqual([
      { secretKey: "PAYMENT_PROVIDER_API_KEY", remoteRef: { key: "services/payment-service/provider", property: "api-key" } },
      { secretKey: "PAYMENT_SIGNING_KEY", remoteRef: { key: "services/payment-service/signing", property: "private-key" } },
    ]);
    for (const o of [store, es]) expect(crds.validate(o as any)).toEqual(expect.objectContaining({ ok: true }));
    // Only the declaring service has a store and an ExternalSecret.
    expect(objs.filter((o) => o["kind"] === "ExternalSecret" && !String(o["spec"].secretStoreRef.name).startsWith("platform-")).map((o) => o["metadata"].name)).toEqual(["payment-service"]);
    const dep = objs.find((o) => o["kind"] === "Deployment" && o["metadata"].name === "payment-service")!;
    const pod = dep["spec"].template.spec;
    const app = pod.containers[0];
    expect(app.env.find((e: Inputs) => e.name === "PAYMENT_PROVIDER_API_KEY").valueFrom).toEqual({ secretKeyRef: { name: "payment-service-store", key: "PAYMENT_PROVIDER_API_KEY" } });
    expect(app.env.some((e: Inputs) => e.name === "PAYMENT_SIGNING_KEY")).toBe(false);
    expect(pod.volumes.find((v: Inputs) => v.name === "store-secrets").secret).toMatchObject({ secretName: "payment-service-store", items: [{ key: "PAYMENT_SIGNING_KEY", path: "PAYMENT_SIGNING_KEY" }] });
    expect(app.volumeMounts).toEqual(expect.arrayContaining([{ name: "store-secrets", mountPath: STORE_SECRET_DIR, readOnly: true }]));
  });

  it("proves External Secrets and the configurator reach the store, the store's pods are admitted, and refuses the flow without its policy rule", () => {
    const r = rendered["prod"]!;
    const flows = r.running.flows.filter((f) => f.flow.kind === "secret");
    // The service's SecretStore, each component's reader of the platform's secrets (secrets.platformSecrets), the configurator.
    const platformStores = objectsOf(r).filter((o) => o["kind"] === "SecretStore" && String(o["metadata"].name).startsWith("platform-"));
    expect(platformStores.length).toBeGreaterThan(3);
    expect(flows.map((f) => f.flow.name).sort()).toEqual(
      [
        "External Secrets (SecretStore apps/payment-service-store) → Service vault/vault",
        ...platformStores.map((o) => `External Secrets (SecretStore ${o["metadata"].namespace}/${o["metadata"].name}) → Service vault/vault`),
        expect.stringMatching(/^Job vault\/vault-configurator-[0-9a-f]{8} → Service vault\/vault$/),
      ].sort((a, b) => (typeof a === "string" && typeof b === "string" ? a.localeCompare(b) : typeof a === "string" ? -1 : 1)),
    );
    expect(flows.every((f) => f.allowed)).toBe(true);
    const admitted = r.running.admission.ran ? r.running.admission.verdicts.filter((v) => ["vault", "external-secrets"].includes(v.pods.namespace)) : [];
    expect(admitted.length).toBeGreaterThanOrEqual(5);
    expect(admitted.every((v) => v.allowed)).toBe(true);
    const opts = { podSecurity: findPodSecurity()!, kyverno: findKyverno()! };
    const broken = mutated(r, (o) => o["kind"] === "AuthorizationPolicy" && o["metadata"].name === "allow-vault", (o) => {
      o["spec"].rules = o["spec"].rules.map((x: Inputs) => ({ ...x, from: [{ source: { principals: x.from[0].source.principals.filter((p: string) => !p.includes("external-secrets")) } }] }));
    });
    const refused = proveRunning({ resources: broken }, r.config, opts).flows.find((f) => f.flow.kind === "secret" && f.flow.name.startsWith("External Secrets"))!;
    expect(refused.allowed).toBe(false);
  });

  it("prints the store's access and bootstrap in report.md", () => {
    const md = rendered["prod"]!.report;
    expect(md).toMatch(/## Secret store/);
    expect(md).toContain("| payment-service | env | PAYMENT_PROVIDER_API_KEY | `services/payment-service/provider` | api-key |");
    expect(md).toContain("vault operator init");
    expect(md).not.toMatch(/\*\*missing\*\*/);
  });
});

describe("secrets config: one line per problem, naming the key", () => {
  it("refuses store secrets without the store, a name the platform sets, a name also in env, a path that climbs out", () => {
    const raw = rawOf("dev");
    raw.secrets = { enabled: false };
    expect(configProblems(raw)).toEqual(expect.arrayContaining([expect.stringMatching(/^platform:services\.payment-service\.secrets\.PAYMENT_PROVIDER_API_KEY: the service declares a store secret, and secrets\.enabled is false/)]));
    const raw2 = rawOf("dev");
    raw2.services["payment-service"].secrets = { OTEL_SERVICE_NAME: { path: "x", key: "y" } };
    expect(configProblems(raw2)).toEqual([expect.stringMatching(/^platform:services\.payment-service\.secrets\.OTEL_SERVICE_NAME: is set by the platform/)]);
    const raw3 = rawOf("dev");
    raw3.services["payment-service"].env = { FEATURE: "on" };
    raw3.services["payment-service"].secrets = { FEATURE: { path: "x", key: "y" } };
    expect(configProblems(raw3)).toEqual([expect.stringMatching(/^platform:services\.payment-service\.secrets\.FEATURE: is also in env or secretEnv/)]);
    const raw4 = rawOf("dev");
    raw4.services["payment-service"].secrets = { K: { path: "../orders/db", key: "y" } };
    expect(configProblems(raw4)).toEqual([expect.stringMatching(/^platform:services\.payment-service\.secrets\.K\.path: must be a relative store path/)]);
  });

  it("refuses a volume or writable path where the file secrets are mounted", () => {
    const raw = rawOf("dev");
    raw.services["payment-service"].pod = { volumes: { "store-secrets": { emptyDir: {}, mountPath: "/scratch" } } };
    raw.services["payment-service"].writablePaths = ["/var/run/secrets"];
    expect(configProblems(raw).sort()).toEqual([
      expect.stringMatching(/^platform:services\.payment-service\.pod\.volumes\.store-secrets: is the volume of the service's file secrets/),
      expect.stringMatching(/^platform:services\.payment-service\.writablePaths\[0\]: overlaps the mount of the service's file secrets/),
    ]);
  });

  it("refuses a single store server in prod", () => {
    const raw = rawOf("prod");
    raw.secrets = { enabled: true, replicas: 1 };
    expect(configProblems(raw)).toEqual([expect.stringMatching(/^platform:secrets\.replicas: prod runs the secret store highly available .*\(got 1; expected 3 or 5\)/)]);
  });
});
