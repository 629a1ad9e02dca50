import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError, parsePlatformConfig } from "../config/load";
import type { PlatformConfig } from "../config/schema";
import { allowRules, authorizationObjects, isAllowed, waypointNamespaces } from "../components/mesh/authorization";
import { istioPlatform, istioValues } from "../components/mesh/istio-ambient";
import { CACERTS_KEYS } from "../components/mesh/mesh-ca";
import { meshWideObjects } from "../components/mesh/mesh-policies";
import { serviceGraph } from "../components/service-graph";
import { isSecretMarker } from "../render/harness";
import { accessMatrix } from "../audit/running/access";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { readStackConfig, ROOT } from "../render/stack";
import { charts } from "../versions";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { unknownValueKeys } from "./support/helm-values";

/** The schema's default retry policy (resilience.retries). */
const RETRIES = { attempts: 2, perTryTimeoutMs: 500, backoffMs: 25, retryOn: ["connect-failure", "refused-stream", "reset-before-request"] as ("connect-failure" | "refused-stream" | "reset-before-request")[], budgetPercent: 20, budgetMinConcurrency: 3 };

const crds = new CrdValidator(CRD_DIR);
const MESH_STAGES = new Set(["mesh-ca", "mesh-control-plane", "mesh-policy"]);
const TD = "cluster.local";
const GW = "cluster.local/ns/gateway-system/sa/platform-gateway";

const renders: Record<string, Rendered> = {};
beforeAll(async () => {
  renders["dev"] = await renderStack("dev");
  renders["prod"] = await renderStack("prod");
});
const objectsOf = (r: Rendered) => r.model.groups.flatMap((g) => g.objects);

describe.each(["dev", "prod"])("the mesh of %s", (stack) => {
  it("renders only Istio and Gateway API objects that validate against the pinned CRDs", () => {
    const r = renders[stack]!;
    const mesh = r.model.groups.filter((g) => g.stage === "mesh-policy").flatMap((g) => g.objects);
    expect(new Set(mesh.map((o) => o.kind))).toEqual(new Set(["PeerAuthentication", "Telemetry", "AuthorizationPolicy", "Gateway", "HTTPRoute", "DestinationRule"]));
    for (const o of mesh) expect({ id: `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, ...crds.validate(o) }).toEqual({ id: `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, ok: true, errors: [], celNotEvaluated: [] });
  });

  it("enforces STRICT mTLS mesh-wide and traces at the configured rate with access logs", () => {
    const r = renders[stack]!;
    const pa = objectsOf(r).find((o) => o.kind === "PeerAuthentication") as any;
    expect(pa).toMatchObject({ metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } });
    const tel = objectsOf(r).find((o) => o.kind === "Telemetry") as any;
    expect(tel.spec.tracing).toEqual([{ providers: [{ name: "otel-tracing" }], randomSamplingPercentage: r.config.observability.tracingSamplingPercent }]);
    expect(tel.spec.accessLogging).toEqual([{ providers: [{ name: "envoy" }] }]);
    const istiod = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "istiod")!;
    expect((istiod.inputs as any).values.meshConfig.extensionProviders).toEqual([{ name: "otel-tracing", opentelemetry: { service: "otel-agent.observability.svc.cluster.local", port: 4317 } }]);
  });

  it("enrolls the application, gateway and data namespaces in ambient; not the webhook, node-agent or mesh namespaces", () => {
    const r = renders[stack]!;
    const nss = objectsOf(r).filter((o) => o.kind === "Namespace") as any[];
    const enrolled = nss.filter((n) => n.metadata.labels["istio.io/dataplane-mode"] === "ambient").map((n) => n.metadata.name).sort();
    // Flagger's too: it queries Prometheus, a STRICT mTLS workload (docs/delivery.md).
    const progressive = Object.values(r.config.services).some((s) => s.rollout.strategy === "progressive");
    // The secret store's too (External Secrets' controller reaches it with mTLS); not External Secrets' namespace (its webhook).
    expect(enrolled).toEqual(["apps", "discovery", ...(progressive ? ["flagger"] : []), "gateway-system", "kafka", "nats", "notifications", ...(r.config.secrets.enabled ? ["vault"] : [])]);
    for (const out of ["kyverno", "istio-system", "observability", ...(r.config.secrets.enabled ? ["external-secrets"] : [])]) expect(nss.find((n) => n.metadata.name === out).metadata.labels["istio.io/dataplane-mode"]).toBeUndefined();
    expect(nss.find((n) => n.metadata.name === "istio-system").metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    expect(nss.find((n) => n.metadata.name === "apps").metadata.labels["istio.io/use-waypoint"]).toBe("waypoint");
    expect(nss.find((n) => n.metadata.name === "notifications").metadata.labels["istio.io/use-waypoint"]).toBeUndefined();
  });

  it("installs cacerts and the Gateway API CRDs before istiod, istiod before cni and ztunnel, policies after istiod", () => {
    const r = renders[stack]!;
    const rel = (chart: string) => r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === chart)!;
    const cacerts = r.run.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && (x.inputs as any).metadata.name === "cacerts")!;
    // The Gateway API CRDs (their own stage), not the CRDs charts bring as their own objects.
    const gatewayApi = r.run.resources.find((x) => x.type === "platform:crds:GatewayApiCrds")!;
    const crdUrns = r.run.resources.filter((x) => x.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" && x.parent === gatewayApi.urn).map((x) => x.urn);
    expect(crdUrns.length).toBeGreaterThan(0);
    const istiod = rel("istiod");
    expect(istiod.dependencies).toEqual(expect.arrayContaining([cacerts.urn, rel("base").urn, ...crdUrns]));
    expect(rel("cni").dependencies).toContain(istiod.urn);
    expect(rel("ztunnel").dependencies).toContain(istiod.urn);
    for (const p of r.run.resources.filter((x) => (x.inputs as any)?.kind === "AuthorizationPolicy")) expect(p.dependencies).toContain(istiod.urn);
    expect((istiod.inputs as any).values.profile).toBe("ambient");
    expect((rel("cni").inputs as any).values.profile).toBe("ambient");
  });

  it("delivers the plug-in CA as a Secret with the four keys istiod expects, as a Pulumi secret", () => {
    const r = renders[stack]!;
    const cacerts = r.run.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && (x.inputs as any).metadata.name === "cacerts")!;
    expect((cacerts.inputs as any).metadata.namespace).toBe("istio-system");
    const data = (cacerts.inputs as any).stringData;
    expect(isSecretMarker(data)).toBe(true);
    expect(Object.keys(data.value).sort()).toEqual([...CACERTS_KEYS].sort());
    // The chain at the argument level: the intermediate is a CA signed with the root's key and certificate.
    const byUrn = new Map(r.run.resources.map((x) => [x.urn, x]));
    const inter = r.run.resources.find((x) => x.type === "tls:index/locallySignedCert:LocallySignedCert" && x.name === "mesh-ca-intermediate")!;
    const root = r.run.resources.find((x) => x.type === "tls:index/selfSignedCert:SelfSignedCert" && x.name === "mesh-ca-root")!;
    const rootKey = r.run.resources.find((x) => x.name === "mesh-ca-root-key")!;
    expect((inter.inputs as any).isCaCertificate).toBe(true);
    expect((root.inputs as any).isCaCertificate).toBe(true);
    expect(inter.dependencies).toEqual(expect.arrayContaining([root.urn, rootKey.urn]));
    expect(root.dependencies).toContain(rootKey.urn);
    expect([...byUrn.keys()]).toContain(inter.urn);
    expect((inter.inputs as any).allowedUses).toEqual(["cert_signing", "crl_signing"]);
  });

  it("allows exactly the declared calls and the gateway to exposed services, per the rendered policies", () => {
    const r = renders[stack]!;
    const graph = serviceGraph(r.config);
    const objs = objectsOf(r).filter((o) => o.kind === "AuthorizationPolicy" || (o.kind === "Gateway" && o.metadata.name === "waypoint"));
    const gw = "cluster.local/ns/gateway-system/sa/platform-gateway";
    for (const from of graph.services) {
      for (const to of graph.services) {
        const call = graph.calls.find((c) => c.from === from.name && c.to === to.name);
        const req = { principal: from.principal, service: to.name, method: call?.methods?.[0] ?? "GET", path: call?.paths?.[0] ?? "/" };
        expect({ from: from.name, to: to.name, allowed: isAllowed(objs, graph, TD, req) }).toEqual({ from: from.name, to: to.name, allowed: call !== undefined });
      }
      const exposed = graph.exposures.some((e) => e.service === from.name);
      expect({ gatewayTo: from.name, allowed: isAllowed(objs, graph, TD, { principal: gw, service: from.name, direct: true }) }).toEqual({ gatewayTo: from.name, allowed: exposed });
    }
    // L7: order-service may GET /users but not DELETE it, nor GET another path.
    const order = graph.services.find((s) => s.name === "order-service")!.principal;
    expect(isAllowed(objs, graph, TD, { principal: order, service: "user-service", method: "GET", path: "/users/42" })).toBe(true);
    expect(isAllowed(objs, graph, TD, { principal: order, service: "user-service", method: "DELETE", path: "/users/42" })).toBe(false);
    expect(isAllowed(objs, graph, TD, { principal: order, service: "user-service", method: "GET", path: "/admin" })).toBe(false);
    // Bypassing the waypoint (straight to the pod) is refused for a caller.
    expect(isAllowed(objs, graph, TD, { principal: order, service: "user-service", method: "GET", path: "/users", direct: true })).toBe(false);
  });
});

describe("authorization derivation (property)", () => {
  const names = ["a", "b", "c", "d", "e"];
  const arbCfg = fc
    .record({
      ns: fc.array(fc.constantFrom("ns1", "ns2"), { minLength: 5, maxLength: 5 }),
      calls: fc.array(fc.record({ from: fc.nat(4), to: fc.nat(4), l7: fc.boolean() }), { maxLength: 10 }),
      exposed: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      gateway: fc.boolean(),
    })
    .map(({ ns, calls, exposed, gateway }) => {
      const seen = new Set<string>();
      const services: Record<string, any> = {};
      names.forEach((n, i) => (services[n] = { namespace: ns[i], port: 8080, protocol: "http", calls: [], produces: [], consumes: [], ...(exposed[i] ? { expose: { hosts: ["x.example.com"], paths: ["/"], headers: {} } } : {}) }));
      for (const c of calls) {
        const key = `${c.from}>${c.to}`;
        if (c.from === c.to || seen.has(key)) continue;
        seen.add(key);
        services[names[c.from]!].calls.push({ service: names[c.to]!, ...(c.l7 ? { methods: ["GET"], paths: ["/api"] } : {}) });
      }
      return { cfg: { services, cluster: { domain: TD } } as unknown as Pick<PlatformConfig, "services" | "cluster">, gateway };
    });

  it("allows exactly the declared pairs (plus gateway → exposed); every undeclared pair is denied", () => {
    fc.assert(
      fc.property(arbCfg, ({ cfg, gateway }) => {
        const graph = serviceGraph(cfg);
        const input = { trustDomain: TD, ...(gateway ? { gatewayPrincipal: GW } : {}) };
        const objs = authorizationObjects(graph, input);
        // The rule set is exactly the declarations.
        const ruleSet = new Set(allowRules(graph, input).map((r) => `${r.principal}>${r.service}`));
        const declared = new Set([...graph.calls.map((c) => `${graph.services.find((s) => s.name === c.from)!.principal}>${c.to}`), ...(gateway ? graph.exposures.map((e) => `${GW}>${e.service}`) : [])]);
        expect(ruleSet).toEqual(declared);
        // And the rendered policies, evaluated, agree on every pair.
        for (const from of graph.services) {
          for (const to of graph.services) {
            const call = graph.calls.find((c) => c.from === from.name && c.to === to.name);
            const allowed = isAllowed(objs, graph, TD, { principal: from.principal, service: to.name, method: "GET", path: "/api/x" });
            expect(allowed).toBe(call !== undefined);
          }
          const viaGateway = isAllowed(objs, graph, TD, { principal: GW, service: from.name, direct: true });
          expect(viaGateway).toBe(gateway && graph.exposures.some((e) => e.service === from.name));
          // A stranger is never allowed.
          expect(isAllowed(objs, graph, TD, { principal: `${TD}/ns/ns1/sa/stranger`, service: from.name, method: "GET", path: "/api" })).toBe(false);
        }
        // Waypoints exactly where an L7 call lands.
        expect(objs.filter((o) => o.kind === "Gateway").map((o) => o.metadata.namespace).sort()).toEqual(waypointNamespaces(graph));
      }),
      { numRuns: 200 },
    );
  });
});

describe("Istio charts' values", () => {
  const defaultsOf = (pin: { chart: string; version: string }) => parse(fs.readFileSync(path.join(ROOT, "charts", pin.chart, pin.version, "values.yaml"), "utf8"))._internal_defaults_do_not_set;
  // resources is a Kubernetes ResourceRequirements: the charts' defaults show only requests, their templates read limits too.
  const opts = { extraTopLevel: ["profile", "platform", "compatibilityVersion"], freeForm: ["meshConfig", "resources"] };

  it.each([true, false])("use only keys of the pinned charts (production %s)", (production) => {
    const v = istioValues({ replicas: production ? 2 : 1, distribution: "k3d", trustDomain: TD, spreadAcrossZones: production, otlpEndpoint: "http://otel-collector.observability.svc.cluster.local:4317", production, retries: RETRIES });
    expect(unknownValueKeys(v.base, defaultsOf(charts.istioBase), opts)).toEqual([]);
    expect(unknownValueKeys(v.istiod, defaultsOf(charts.istiod), opts)).toEqual([]);
    expect(unknownValueKeys(v.cni, defaultsOf(charts.istioCni), opts)).toEqual([]);
    expect(unknownValueKeys(v.ztunnel, defaultsOf(charts.ztunnel), opts)).toEqual([]);
  });

  it("runs istiod HA in prod: autoscaling from the replica floor, PDB, zone spread", () => {
    const v = istioValues({ replicas: 2, distribution: "generic", trustDomain: TD, spreadAcrossZones: true, otlpEndpoint: "http://c.o.svc:4317", production: true, retries: RETRIES }).istiod as any;
    expect(v).toMatchObject({ autoscaleMin: 2, replicaCount: 2, global: { defaultPodDisruptionBudget: { enabled: true } }, resources: { requests: { cpu: "500m", memory: "2Gi" } } });
    expect(v.topologySpreadConstraints[0].topologyKey).toBe("topology.kubernetes.io/zone");
    expect(v.platform).toBeUndefined();
  });

  it("maps distributions to Istio's platform profiles where one exists", () => {
    expect(istioPlatform("k3d")).toBe("k3d");
    expect(istioPlatform("gke")).toBe("gke");
    expect(istioPlatform("openshift")).toBe("openshift");
    expect(istioPlatform("generic")).toBeUndefined();
  });

  it("mesh-wide objects are valid Istio resources", () => {
    for (const o of meshWideObjects("istio-system", 10)) expect(crds.validate(o)).toEqual({ ok: true, errors: [], celNotEvaluated: [] });
  });
});

describe("a stack with the mesh off", () => {
  it("renders nothing of the mesh and says mTLS and authorization are absent", async () => {
    const flat = readStackConfig("dev");
    flat["platform:mesh"] = JSON.stringify({ ...JSON.parse(flat["platform:mesh"] ?? "{}"), enabled: false });
    const r = await renderConfig("dev", flat);
    expect(r.model.groups.filter((g) => MESH_STAGES.has(g.stage))).toEqual([]);
    expect(objectsOf(r).some((o) => o.apiVersion.includes("istio.io"))).toBe(false);
    expect(objectsOf(r).filter((o) => o.kind === "Namespace").some((o: any) => o.metadata.labels["istio.io/dataplane-mode"])).toBe(false);
    expect(r.report).toMatch(/no mTLS and no service-to-service authorization/);
    // The NetworkPolicies are then the only line, on the application ports: every required flow passes them...
    expect(r.running.flows.filter((f) => !f.allowed).map((f) => `${f.flow.name}: ${f.reason}`)).toEqual([]);
    expect(r.running.flows.find((f) => f.flow.kind === "call")!.reason).toMatch(/admitted by NetworkPolicy apps\/allow-[a-z-]+ \(port \d{4}\)$/);
    // ...and the access matrix says what they enforce: calls at L4, whatever methods and paths were declared.
    const narrowed = Object.entries(r.config.services).flatMap(([from, s]) => s.calls.filter((c) => c.methods?.length || c.paths?.length).map((c) => ({ from, to: c.service })));
    expect(narrowed.length).toBeGreaterThan(0);
    const matrix = accessMatrix(r.config);
    for (const c of narrowed) {
      expect(matrix.find((l) => l.kind === "call" && l.service === c.from && l.grant.startsWith(`${c.to} `))).toMatchObject({ grant: `${c.to} any method any path`, enforcedBy: expect.stringMatching(/^NetworkPolicy .*; declared .+, which only the mesh enforces$/) });
    }
    expect(r.running.findings.filter((f) => f.proof === "matrix")).toEqual([]);
  });

  it("is refused in prod, and an external CA must be the Secret istiod reads", () => {
    const raw = (stack: string) => Object.fromEntries(Object.entries(readStackConfig(stack)).map(([k, v]) => [k.replace(/^platform:/, ""), /^[[{]/.test(v) ? JSON.parse(v) : v]));
    const problems = (r: Record<string, unknown>) => {
      try {
        parsePlatformConfig(r);
        return [];
      } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
      }
    };
    const prod: any = raw("prod");
    prod.mesh.enabled = false;
    expect(problems(prod)).toEqual([expect.stringMatching(/^platform:mesh\.enabled: prod needs the mesh/)]);
    const dev: any = raw("dev");
    dev.mesh = { ...(dev.mesh ?? {}), ca: { mode: "external", secretName: "my-ca" } };
    expect(problems(dev)).toEqual([expect.stringMatching(/^platform:mesh\.ca\.secretName: istiod reads the plug-in CA only from the Secret cacerts/)]);
  });
});
