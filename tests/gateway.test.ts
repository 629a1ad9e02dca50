import { generatedSecret } from "./support/generated-secrets";
import { flaggerObjects } from "../audit/running/flagger";
import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError, parsePlatformConfig } from "../config/load";
import { envoyGatewayCrdsValues, envoyGatewayValues } from "../components/gateway/envoy-gateway-controller";
import { envoyDuration, IMPLEMENTATIONS, otlpTarget, serviceRouteObjects } from "../components/gateway/routing";
import { traefikValues } from "../components/gateway/traefik-controller";
import { INSTALL_ORDER } from "../components/install-order";
import { serviceGraph } from "../components/service-graph";
import { isSecretMarker } from "../render/harness";
import { Rendered, renderConfig } from "../render/render";
import { platformConfigOf, readStackConfig, ROOT } from "../render/stack";
import { charts } from "../versions";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { resiliencePlan } from "../config/resilience";
import { unknownValueKeys } from "./support/helm-values";

const crds = new CrdValidator(CRD_DIR);
// A Canary's router follows the gateway (docs/delivery.md): it is gateway area too.
const GATEWAY_STAGES = new Set(["gateway-controller", "gateway", "routes", "rollouts"]);

/** A stack's flat config with one top-level key's object changed. */
function withKey(stack: string, key: string, change: (v: any) => void): Record<string, string> {
  const flat = readStackConfig(stack);
  const v = JSON.parse(flat[`platform:${key}`]!);
  change(v);
  return { ...flat, [`platform:${key}`]: JSON.stringify(v) };
}

/** The same stack on the other implementation. Envoy's rate limit has no burst, so it is dropped there. */
function switched(stack: string, impl: "traefik" | "envoy"): Record<string, string> {
  let flat = withKey(stack, "gateway", (g) => (g.implementation = impl));
  if (impl === "envoy") {
    flat = { ...flat, ...withKeyFrom(flat, "services", (svcs) => Object.values<any>(svcs).forEach((s) => s.expose?.rateLimit && delete s.expose.rateLimit.burst)) };
  }
  return flat;
}
function withKeyFrom(flat: Record<string, string>, key: string, change: (v: any) => void): Record<string, string> {
  const v = JSON.parse(flat[`platform:${key}`]!);
  change(v);
  return { [`platform:${key}`]: JSON.stringify(v) };
}

const renders: Record<string, Rendered> = {};
beforeAll(async () => {
  // Sequential: the mock runtime is process-global. Every stack on both implementations.
  for (const stack of ["dev", "prod"]) {
    for (const impl of ["traefik", "envoy"] as const) renders[`${stack}/${impl}`] = await renderConfig(stack, switched(stack, impl));
  }
});

const objectsOf = (r: Rendered) => r.model.groups.flatMap((g) => g.objects);
const gatewayObjects = (r: Rendered) => r.model.groups.filter((g) => GATEWAY_STAGES.has(g.stage)).flatMap((g) => g.objects);
const find = (r: Rendered, kind: string, name: string, namespace?: string) =>
  objectsOf(r).find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace)) as any;

describe.each(["dev/traefik", "dev/envoy", "prod/traefik", "prod/envoy"])("the gateway of %s", (key) => {
  const impl = key.endsWith("traefik") ? "traefik" : "envoy";

  it("renders only custom resources that validate against the pinned CRDs", () => {
    const r = renders[key]!;
    // The gateway's custom resources (the controller charts' own objects are checked by tests/render.test.ts).
    const custom = gatewayObjects(r).filter((o) => /^(gateway\.networking\.k8s\.io|gateway\.envoyproxy\.io|traefik\.io|monitoring\.coreos\.com)\//.test(o.apiVersion));
    const kinds = new Set(custom.map((o) => o.kind));
    const expected = impl === "traefik" ? ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "Middleware", "TraefikService", "PodMonitor", "TLSOption"] : ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "EnvoyProxy", "ClientTrafficPolicy", "BackendTrafficPolicy", "PodMonitor"];
    expect([...kinds].sort()).toEqual(expected.sort());
    for (const o of custom) {
      expect(crds.has(o.apiVersion, o.kind)).toBe(true);
      expect({ id: `${o.kind}/${o.metadata.name}`, ...crds.validate(o) }).toEqual({ id: `${o.kind}/${o.metadata.name}`, ok: true, errors: [], celNotEvaluated: [] });
    }
  });

  it("listens on the implementation's ports, redirects HTTP to HTTPS and terminates TLS per hostname", () => {
    const r = renders[key]!;
    const gw = find(r, "Gateway", "platform", "gateway-system");
    const [http, ...https] = gw.spec.listeners;
    expect(http).toMatchObject({ name: "http", protocol: "HTTP", port: IMPLEMENTATIONS[impl].httpPort, allowedRoutes: { namespaces: { from: "Same" } } });
    expect(https.map((l: any) => l.hostname)).toEqual(r.config.gateway.hostnames);
    for (const l of https) {
      expect(l).toMatchObject({ protocol: "HTTPS", port: IMPLEMENTATIONS[impl].httpsPort, tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "platform-gateway-tls" }] } });
      expect(l.allowedRoutes.namespaces.selector.matchExpressions[0].values).toEqual(["apps", "notifications"]);
    }
    const redirect = find(r, "HTTPRoute", "https-redirect", "gateway-system");
    expect(redirect.spec.parentRefs).toEqual([expect.objectContaining({ name: "platform", sectionName: "http" })]);
    expect(redirect.spec.rules[0].filters).toEqual([{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }]);
    expect(find(r, "GatewayClass", `platform-${impl}`).spec.controllerName).toBe(IMPLEMENTATIONS[impl].controllerName);
  });

  it("routes only to Services and ports that the render creates", () => {
    const r = renders[key]!;
    // Flagger's Services and TraefikService count: it makes them from the Canary (audit/running/flagger.ts).
    const made = flaggerObjects(objectsOf(r) as any);
    const services = [...objectsOf(r), ...made].filter((o) => o.kind === "Service") as any[];
    const exists = (ns: string, name: string, port: number) => services.some((s) => s.metadata.namespace === ns && s.metadata.name === name && s.spec.ports.some((p: any) => p.port === port));
    const refs: { ns: string; name: string; port: number }[] = [];
    for (const route of objectsOf(r).filter((o) => o.kind === "HTTPRoute" || o.kind === "GRPCRoute") as any[]) {
      for (const rule of route.spec.rules) for (const b of rule.backendRefs ?? []) if ((b.kind ?? "Service") === "Service") refs.push({ ns: route.metadata.namespace, name: b.name, port: b.port });
    }
    for (const ts of [...objectsOf(r), ...made].filter((o) => o.kind === "TraefikService") as any[]) for (const b of ts.spec.weighted.services) refs.push({ ns: ts.metadata.namespace, name: b.name, port: b.port });
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect({ ...ref, exists: exists(ref.ns, ref.name, ref.port) }).toEqual({ ...ref, exists: true });
  });

  it("splits canary traffic by the configured weights and sends the canary header to the canary only", () => {
    const r = renders[key]!;
    const svc = r.config.services["order-service"]!;
    if (svc.rollout.strategy === "progressive") {
      // Flagger owns the weights: on Traefik a TraefikService behind the platform's route, on Envoy the route itself.
      const header = [{ type: "Exact", name: svc.rollout.header.name, value: svc.rollout.header.value }];
      const route = find(r, "HTTPRoute", impl === "traefik" ? "order-service" : "order-service-canary-header", "apps");
      expect(route.spec.rules[0].matches).toEqual([{ path: { type: "PathPrefix", value: "/orders" }, headers: header }]);
      expect(route.spec.rules[0].backendRefs).toEqual([{ kind: "Service", name: "order-service-canary", port: 8080 }]);
      if (impl === "traefik") expect(route.spec.rules[1].backendRefs).toEqual([{ group: "traefik.io", kind: "TraefikService", name: "order-service" }]);
      else expect(find(r, "HTTPRoute", "order-service", "apps")).toBeUndefined();
      return;
    }
    const canary = svc.expose!.canary!;
    const route = find(r, "HTTPRoute", "order-service", "apps");
    const [headerRule, splitRule] = route.spec.rules;
    expect(headerRule.matches).toEqual([{ path: { type: "PathPrefix", value: "/orders" }, headers: [{ type: "Exact", name: canary.header.name, value: canary.header.value }] }]);
    expect(headerRule.backendRefs).toEqual([{ kind: "Service", name: "order-service-canary", port: 8080 }]);
    expect(splitRule.backendRefs).toEqual([
      { kind: "Service", name: "order-service", port: 8080, weight: canary.weights.stable },
      { kind: "Service", name: "order-service-canary", port: 8080, weight: canary.weights.canary },
    ]);
  });

  it("gives sticky services their cookie through the implementation's own mechanism", () => {
    const r = renders[key]!;
    const sticky = r.config.services["user-service"]!.expose!.sticky!;
    const route = find(r, "HTTPRoute", "user-service", "apps");
    if (impl === "traefik") {
      expect(route.spec.rules.at(-1).backendRefs).toEqual([{ group: "traefik.io", kind: "TraefikService", name: "user-service-sticky" }]);
      const ts = find(r, "TraefikService", "user-service-sticky", "apps");
      expect(ts.spec.weighted.sticky.cookie).toMatchObject({ name: sticky.cookieName, secure: true, httpOnly: true, maxAge: sticky.ttlSeconds });
      expect(ts.spec.weighted.services.every((s: any) => s.sticky.cookie.secure)).toBe(true);
    } else {
      const btp = find(r, "BackendTrafficPolicy", "user-service", "apps");
      expect(btp.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "user-service" }]);
      expect(btp.spec.loadBalancer).toEqual({ type: "ConsistentHash", consistentHash: { type: "Cookie", cookie: { name: sticky.cookieName, ttl: envoyDuration(sticky.ttlSeconds), attributes: { SameSite: "Lax" } } } });
    }
    // A service that asked for nothing sticky gets nothing sticky.
    expect(find(r, "TraefikService", "order-service-sticky")).toBeUndefined();
    expect(find(r, "BackendTrafficPolicy", "order-service")?.spec.loadBalancer).toBeUndefined();
  });

  it("rate-limits and adds security headers for every exposed service, gRPC included", () => {
    const r = renders[key]!;
    const grpc = find(r, "GRPCRoute", "inventory-service", "apps");
    expect(grpc.spec.rules[0].matches).toEqual([{ method: { type: "Exact", service: "acme.inventory.v1.StockQuery" } }]);
    for (const [svc, kind] of [["order-service", "HTTPRoute"], ["inventory-service", "GRPCRoute"]] as const) {
      const rps = r.config.services[svc]!.expose!.rateLimit!.requestsPerSecond;
      const route = find(r, kind, svc, "apps");
      if (impl === "traefik") {
        for (const rule of route.spec.rules) {
          expect(rule.filters.map((f: any) => f.extensionRef.name)).toEqual([`${svc}-security-headers`, `${svc}-rate-limit`, `${svc}-retry`]);
        }
        expect(find(r, "Middleware", `${svc}-rate-limit`, "apps").spec.rateLimit).toMatchObject({ average: rps, period: "1s" });
        expect(find(r, "Middleware", `${svc}-security-headers`, "apps").spec.headers).toMatchObject({ stsSeconds: 31536000, frameDeny: true, contentTypeNosniff: true });
      } else {
        const btp = find(r, "BackendTrafficPolicy", svc, "apps");
        expect(btp.spec.targetRefs[0]).toEqual({ group: "gateway.networking.k8s.io", kind, name: svc });
        expect(btp.spec.rateLimit).toEqual({ type: "Local", local: { rules: [{ limit: { requests: rps, unit: "Second" } }] } });
      }
    }
    if (impl === "envoy") {
      const ctp = find(r, "ClientTrafficPolicy", "platform", "gateway-system");
      expect(ctp.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "platform" }]);
      expect(ctp.spec.headers.lateResponseHeaders.set.map((h: any) => h.name)).toEqual(["Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]);
    }
  });

  it("keeps the TLS key a secret and certifies every gateway hostname", async () => {
    const r = renders[key]!;
    // A Secret of the program's, or (secrets.platformSecrets) the one External Secrets makes from the store.
    const secret = generatedSecret(r.run.resources, r.config.gateway.namespace, "platform-gateway-tls")!;
    expect((secret.inputs as any).type).toBe("kubernetes.io/tls");
    // The whole payload travels as a Pulumi secret (the key inside it included).
    const data = (secret.inputs as any).stringData;
    expect(isSecretMarker(data)).toBe(true);
    expect(Object.keys(data.value)).toEqual(["tls.crt", "tls.key"]);
    // The manifest tree holds no value of it (at most a Secret a chart ships empty for its controller).
    expect(objectsOf(r).filter((o) => o.kind === "Secret").every((o) => (o as any).data === undefined && (o as any).stringData === undefined)).toBe(true);
    expect(JSON.stringify(objectsOf(r))).not.toContain(Object.values(data.value as Record<string, string>)[1]!.split("\n")[1]!);
    const sans = r.run.resources.find((x) => x.type === "tls:index/certRequest:CertRequest" && x.name === "gateway-server-csr")!;
    expect((sans.inputs as any).dnsNames).toEqual(r.config.gateway.hostnames);
  });
});

describe("switching the implementation", () => {
  it.each(["dev", "prod"])("changes nothing outside the gateway area in %s", (stack) => {
    // The network policies name the gateway's proxies wherever they admit them, and the gateway
    // namespace's own rules (listeners, webhook) are the implementation's: those alone may differ.
    const proxies = /"matchLabels":\{("app\.kubernetes\.io\/name":"traefik"|"app\.kubernetes\.io\/component":"proxy","app\.kubernetes\.io\/name":"envoy")\}/g;
    const outside = (r: Rendered) =>
      r.model.groups
        .filter((g) => !GATEWAY_STAGES.has(g.stage))
        .flatMap((g) => g.objects)
        .filter((o) => !(o.kind === "NetworkPolicy" && o.metadata.namespace === r.config.gateway.namespace && o.metadata.name !== "default-deny-ingress"))
        .map((o) => JSON.stringify(o).replace(proxies, '"matchLabels":"<the gateway\'s proxies>"'))
        .sort();
    const a = renders[`${stack}/traefik`]!;
    const b = renders[`${stack}/envoy`]!;
    expect(outside(a).length).toBeGreaterThan(10);
    expect(outside(b)).toEqual(outside(a));
    // ...while the gateway area does differ.
    expect(gatewayObjects(b).map((o) => JSON.stringify(o))).not.toEqual(gatewayObjects(a).map((o) => JSON.stringify(o)));
  });
});

describe("the gateway in production", () => {
  it("runs Envoy's data plane HA: HPA from the configured floor, PDB, zone spread, OTLP tracing", () => {
    const r = renders["prod/envoy"]!;
    const ep = find(r, "EnvoyProxy", "platform", "gateway-system");
    const k = ep.spec.provider.kubernetes;
    expect(k.envoyHpa).toMatchObject({ minReplicas: 3, maxReplicas: 9 });
    expect(k.envoyPDB).toEqual({ minAvailable: 2 });
    expect(k.envoyDeployment.replicas).toBeUndefined();
    expect(k.envoyDeployment.pod.topologySpreadConstraints[0]).toMatchObject({ topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" });
    // Envoy Gateway's own default context (it replaces it for both containers): no read-only root,
    // shutdown-manager writes /tmp/shutdown-ready (envoyproxy/gateway#8911).
    expect(k.envoyDeployment.container.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, privileged: false, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
    expect(ep.spec.telemetry.tracing).toEqual({
      samplingRate: r.config.observability.tracingSamplingPercent,
      // The node-local collector agent (observability.otlpEndpoint).
      provider: { type: "OpenTelemetry", backendRefs: [{ name: "otel-agent", namespace: "observability", port: 4317 }] },
    });
    const gc = find(r, "GatewayClass", "platform-envoy");
    expect(gc.spec.parametersRef).toEqual({ group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: "platform", namespace: "gateway-system" });
  });

  it("scrapes the data plane (and Envoy's controller) with PodMonitors that wait for the monitoring CRDs", () => {
    for (const [key, names] of [["prod/envoy", ["envoy-gateway", "envoy-proxy"]], ["prod/traefik", ["traefik"]]] as const) {
      const r = renders[key]!;
      const pms = r.run.resources.filter((x) => (x.inputs as any)?.kind === "PodMonitor" && (x.inputs as any).metadata.namespace === "gateway-system");
      expect(pms.map((x) => (x.inputs as any).metadata.name).sort()).toEqual([...names]);
      const crdsRelease = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "prometheus-operator-crds")!;
      for (const pm of pms) expect(pm.dependencies).toContain(crdsRelease.urn);
    }
  });

  it("installs Envoy Gateway's CRD chart with Gateway API CRDs off, then the controller with its CRDs off", () => {
    const r = renders["prod/envoy"]!;
    // The CRD chart is a Chart v4; the controller a Helm v3 Release, for its certgen hook (docs/render.md).
    const releases = r.run.resources.filter((x) => x.type === "kubernetes:helm.sh/v4:Chart" || x.type === "kubernetes:helm.sh/v3:Release");
    expect(releases.find((x) => (x.inputs as any).chart === "gateway-helm")!.type).toBe("kubernetes:helm.sh/v3:Release");
    const crdRel = releases.find((x) => (x.inputs as any).chart === "gateway-crds-helm")!;
    const ctl = releases.find((x) => (x.inputs as any).chart === "gateway-helm")!;
    expect((crdRel.inputs as any).values).toEqual({ crds: { gatewayAPI: { enabled: false }, envoyGateway: { enabled: true } } });
    expect((ctl.inputs as any).values.crds).toEqual({ enabled: false });
    expect((ctl.inputs as any).skipCrds).toBe(true);
    expect(ctl.dependencies).toContain(crdRel.urn);
    expect((ctl.inputs as any).values.deployment.replicas).toBe(3);
  });

  it("runs Traefik HA with a PDB, autoscaling, zone spread and OTLP tracing", () => {
    const cfg = platformConfigOf(switched("prod", "traefik"));
    const v = traefikValues({ dataPlane: { replicas: cfg.gateway.replicas, spreadAcrossZones: true, otlpEndpoint: cfg.observability.otlpEndpoint, samplingPercent: 10 }, logLevel: "INFO" }) as any;
    expect(v.podDisruptionBudget).toEqual({ enabled: true, minAvailable: 2 });
    expect(v.autoscaling).toMatchObject({ enabled: true, minReplicas: 3 });
    expect(v.topologySpreadConstraints[0].topologyKey).toBe("topology.kubernetes.io/zone");
    expect(v.tracing.otlp.grpc).toEqual({ enabled: true, endpoint: "otel-agent.observability.svc.cluster.local:4317", insecure: true });
    expect(v.tracing.sampleRate).toBeCloseTo(0.1);
  });
});

describe("Helm values against the pinned charts", () => {
  const chartDir = (c: { chart: string; version: string }) => path.join(ROOT, "charts", c.chart, c.version);
  const defaults = (c: { chart: string; version: string }) => parse(fs.readFileSync(path.join(chartDir(c), "values.yaml"), "utf8"));
  const dp = { replicas: 3, spreadAcrossZones: true, otlpEndpoint: "http://otel-collector.observability.svc.cluster.local:4317", samplingPercent: 10 };

  it.each([1, 3])("Traefik's values use only keys of chart %s and pass its values.schema.json (replicas %i)", (replicas) => {
    const values = traefikValues({ dataPlane: { ...dp, replicas }, logLevel: "INFO" });
    // service.spec is the Service's own spec; tlsOptions is a map of named options.
    expect(unknownValueKeys(values, defaults(charts.traefik), { freeForm: ["service.spec", "tlsOptions"] })).toEqual([]);
    const schema = JSON.parse(fs.readFileSync(path.join(chartDir(charts.traefik), "values.schema.json"), "utf8"));
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    // Helm validates the merged values: the defaults with ours over them.
    const merged = deepMerge(defaults(charts.traefik), values);
    expect(validate(merged) ? [] : validate.errors).toEqual([]);
    // Listener ports in the Gateway equal the entrypoint container ports.
    expect((values as any).ports.web.port).toBe(IMPLEMENTATIONS.traefik.httpPort);
    expect((values as any).ports.websecure.port).toBe(IMPLEMENTATIONS.traefik.httpsPort);
  });

  it("Traefik's chart keeps its own Gateway and IngressClass off and the Gateway provider on", () => {
    const v = traefikValues({ dataPlane: dp, logLevel: "INFO" }) as any;
    expect(v.providers.kubernetesGateway.enabled).toBe(true);
    expect(v.providers.kubernetesIngress.enabled).toBe(false);
    expect(v.ingressClass.enabled).toBe(false);
    expect(v.gateway.enabled).toBe(false);
    expect(v.gatewayClass.enabled).toBe(false);
  });

  it("Envoy Gateway's values use only keys of its two charts", () => {
    expect(unknownValueKeys(envoyGatewayCrdsValues(), defaults(charts.envoyGatewayCrds))).toEqual([]);
    // config.envoyGateway is the EnvoyGateway API object, passed through as it is.
    expect(unknownValueKeys(envoyGatewayValues({ replicas: 3, spreadAcrossZones: true, logLevel: "info" }), defaults(charts.envoyGateway), { freeForm: ["config.envoyGateway"] })).toEqual([]);
  });

  it("the key check would catch a misspelt key", () => {
    expect(unknownValueKeys({ ...traefikValues({ dataPlane: dp, logLevel: "INFO" }), ingresClass: { enabled: false } }, defaults(charts.traefik), { freeForm: ["service.spec", "tlsOptions"] })).toEqual(["ingresClass"]);
  });
});

function deepMerge(a: any, b: any): any {
  if (b === undefined) return a;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const out: any = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
    return out;
  }
  return b;
}

describe("gateway config validation", () => {
  const prodRaw = () => {
    const flat = readStackConfig("prod");
    return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.replace(/^platform:/, ""), JSON.parse(v.startsWith("{") || v.startsWith("[") ? v : JSON.stringify(v))]));
  };
  const problemsOf = (raw: Record<string, unknown>): string[] => {
    try {
      parsePlatformConfig(raw);
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return [...e.problems];
      throw e;
    }
  };

  /** prod's order-service back on a fixed canary (prod rolls it out progressively). */
  const withFixedCanary = (raw: any) => {
    const s = raw.services["order-service"];
    s.rollout = { strategy: "fixed" };
    s.expose.canary = { image: s.image, version: "4.1.0", weights: { stable: 90, canary: 10 } };
    return raw;
  };

  it("rejects canary weights that do not sum to 100, naming the key", () => {
    const raw: any = withFixedCanary(prodRaw());
    raw.services["order-service"].expose.canary.weights = { stable: 80, canary: 10 };
    expect(problemsOf(raw)).toEqual([expect.stringMatching(/^platform:services\.order-service\.expose\.canary\.weights: canary weights must sum to 100/)]);
  });

  it("rejects a route host the gateway does not serve", () => {
    const raw: any = prodRaw();
    raw.services["user-service"].expose.hosts = ["evil.example.org"];
    expect(problemsOf(raw)).toEqual([expect.stringMatching(/^platform:services\.user-service\.expose\.hosts\[0\]: host is not served by the gateway/)]);
  });

  it("rejects what Envoy Gateway cannot do: a rate-limit burst, sticky with a split canary", () => {
    const raw: any = withFixedCanary(prodRaw());
    raw.services["order-service"].expose.rateLimit.burst = 400;
    raw.services["order-service"].expose.sticky = { cookieName: "s" };
    const p = problemsOf(raw);
    expect(p).toEqual([
      expect.stringMatching(/^platform:services\.order-service\.expose\.rateLimit\.burst: Envoy Gateway's local rate limit has no separate burst .*got 400/),
      expect.stringMatching(/^platform:services\.order-service\.expose\.sticky: Envoy Gateway's cookie hashing/),
    ]);
    // The same declaration is fine on Traefik.
    raw.gateway.implementation = "traefik";
    expect(problemsOf(raw)).toEqual([]);
  });

  it("rejects sticky sessions on a gRPC service and an existingSecret without its name", () => {
    const raw: any = prodRaw();
    raw.services["inventory-service"].expose.sticky = {};
    raw.gateway.tls = { mode: "existingSecret" };
    expect(problemsOf(raw)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^platform:gateway\.tls\.secretName: required/), expect.stringMatching(/^platform:services\.inventory-service\.expose\.sticky: sticky sessions by cookie need HTTP routes/)]),
    );
  });

  it("uses an existing TLS Secret by name and generates no key material then", () => {
    const raw: any = prodRaw();
    raw.gateway.tls = { mode: "existingSecret", secretName: "shop-tls" };
    const cfg = parsePlatformConfig(raw);
    expect(cfg.gateway.tls).toEqual({ mode: "existingSecret", secretName: "shop-tls" });
  });
});

describe("route derivation (pure)", () => {
  const cfg = platformConfigOf(readStackConfig("dev"));
  const gw = { namespace: "gateway-system", hostnames: ["shop.example.com", "*.example.com"] };

  it("attaches a route to every HTTPS listener that serves one of its hosts, and only those", () => {
    const e = { ...serviceGraph(cfg).exposures.find((x) => x.service === "user-service")!, spec: { ...cfg.services["user-service"]!.expose!, hosts: ["shop.example.com"] } };
    const res = { exposure: resiliencePlan(cfg).exposures.find((x) => x.service === "user-service")!, destination: resiliencePlan(cfg).destinations.get("user-service")! };
    const route = serviceRouteObjects("envoy", e, gw, res).find((o) => o.kind === "HTTPRoute") as any;
    expect(route.spec.parentRefs.map((p: any) => p.sectionName)).toEqual(["https-0", "https-1"]);
    const other = serviceRouteObjects("envoy", { ...e, spec: { ...e.spec, hosts: ["api.example.com"] } }, gw, res).find((o) => o.kind === "HTTPRoute") as any;
    expect(other.spec.parentRefs.map((p: any) => p.sectionName)).toEqual(["https-1"]);
  });

  it("formats Envoy durations within the CRD's five-digit units", () => {
    expect(envoyDuration(3600)).toBe("1h");
    expect(envoyDuration(5400)).toBe("1h30m");
    expect(envoyDuration(31536000)).toBe("8760h");
    expect(envoyDuration(61)).toBe("1m1s");
  });

  it("reads an in-cluster collector URL as a Service reference", () => {
    expect(otlpTarget("http://otel-collector.observability.svc.cluster.local:4317")).toEqual({ host: "otel-collector.observability.svc.cluster.local", port: 4317, service: { name: "otel-collector", namespace: "observability" } });
    expect(otlpTarget("https://otlp.example.com")).toEqual({ host: "otlp.example.com", port: 443 });
  });

  it("puts the gateway stages after the CRDs in the install-order table", () => {
    const byName = new Map(INSTALL_ORDER.map((s) => [s.name, s]));
    expect(byName.get("gateway-controller")!.after).toEqual(["crds", "namespaces"]);
    // With secrets.platformSecrets the TLS Secret comes from the store: after the store and its operator.
    expect(byName.get("gateway")!.after).toEqual(["gateway-controller", "monitoring-crds", "secrets-operator", "secrets"]);
    expect(byName.get("routes")!.after).toEqual(["gateway-controller", "namespaces"]);
  });
});
