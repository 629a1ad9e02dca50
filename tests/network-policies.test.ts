/**
 * NetworkPolicies: a default deny in every namespace the platform creates, allow rules derived from
 * the declarations, and the proof that evaluates them with ambient's wire semantics (HBONE 15008,
 * waypoint hops, kubelet probes from 169.254.7.127). Property-tested over random service graphs,
 * checked on the whole dev and prod renders, and broken on purpose.
 */
import * as fc from "fast-check";
import { evaluateFlow, meshView, networkPolicyAdmits } from "../audit/running/flows";
import { proveRunning } from "../audit/running";
import type { LiveObject, PodSet } from "../audit/running/pods";
import { authorizationObjects, waypointNamespaces, WAYPOINT_NAME } from "../components/mesh/authorization";
import { meshWideObjects } from "../components/mesh/mesh-policies";
import { serviceGraph } from "../components/service-graph";
import { HBONE_PORT, networkPlan, networkPolicyManifests, SERVICE_POD_LABEL } from "../components/security/network-grants";
import { parsePlatformConfig } from "../config/load";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";
import { mutated } from "./support/mutate";

type Inputs = Record<string, any>;
const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});
const prove = (r: Rendered, resources = r.run.resources) => proveRunning({ resources }, r.config, { podSecurity: null, kyverno: null, natsAuthz: null });

describe.each(["dev", "prod"])("the %s render", (stack) => {
  it("has a default deny of ingress in every namespace it creates, and no policy anywhere else", () => {
    const r = rendered[stack]!;
    const namespaces = r.running.objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
    const nps = r.running.objects.filter((o) => o.kind === "NetworkPolicy");
    expect(namespaces.length).toBeGreaterThan(8);
    for (const ns of namespaces) {
      const deny = nps.find((o) => o.metadata.namespace === ns && o.metadata.name === "default-deny-ingress");
      expect([ns, deny?.["spec"]]).toEqual([ns, { podSelector: {}, policyTypes: ["Ingress"] }]);
    }
    expect(nps.filter((o) => !namespaces.includes(o.metadata.namespace!))).toEqual([]);
  });

  it("admits every flow the platform needs, with the rule each crossing of the wire matched", () => {
    const r = rendered[stack]!;
    const flows = r.running.flows;
    expect(flows.filter((f) => !f.allowed).map((f) => `${f.flow.name}: ${f.reason}`)).toEqual([]);
    expect([...new Set(flows.map((f) => f.flow.kind))]).toEqual(expect.arrayContaining(["call", "store", "broker", "control", "webhook", "telemetry", "secret"]));
    // A call between mesh pods crosses the wire twice, both times on HBONE: caller → waypoint, waypoint → callee.
    const call = flows.find((f) => f.flow.kind === "call")!;
    expect(call.reason).toMatch(new RegExp(`admitted by NetworkPolicy ${call.flow.to.namespace}/allow-waypoint \\(port 15008\\), NetworkPolicy ${call.flow.to.namespace}/allow-${call.flow.to.name} \\(port 15008\\)`));
  });

  it("lets Strimzi render no NetworkPolicy of its own (it would select the brokers without admitting HBONE)", () => {
    const op = rendered[stack]!.running.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "strimzi-cluster-operator")!;
    const env = (op["spec"].template.spec.containers[0].env as Inputs[]).find((e) => e["name"] === "STRIMZI_NETWORK_POLICY_GENERATION");
    expect(env?.["value"]).toBe("false");
  });
});

describe("broken on purpose, the proof refuses", () => {
  const refusedBy = (r: Rendered, pick: (o: Inputs) => boolean) =>
    prove(r, mutated(r, pick, (o) => (o["spec"].ingress = []))).findings.filter((f) => f.proof === "flows");

  it("the config store's clients, when their rule admits nothing", () => {
    const r = rendered["dev"]!;
    const refused = refusedBy(r, (o) => o["kind"] === "NetworkPolicy" && o["metadata"].namespace === "discovery" && o["metadata"].name === "allow-store-clients");
    expect(refused.map((f) => f.subject).sort()).toEqual(r.config.services ? r.running.flows.filter((f) => f.flow.kind === "store").map((f) => f.flow.name).sort() : []);
    expect(refused.every((f) => /NetworkPolicy .* admits no connection from Deployment apps\/\S+ to StatefulSet discovery\/etcd on port 15008/.test(f.message))).toBe(true);
  });

  it("every call into a namespace, when its waypoint's rule admits nothing", () => {
    const r = rendered["prod"]!;
    const refused = refusedBy(r, (o) => o["kind"] === "NetworkPolicy" && o["metadata"].namespace === "apps" && o["metadata"].name === `allow-${WAYPOINT_NAME}`);
    const calls = r.running.flows.filter((f) => f.flow.kind === "call" || (f.flow.kind === "rollout" && f.flow.to.namespace === "apps"));
    expect(refused.map((f) => f.subject).sort()).toEqual([...new Set(calls.map((f) => f.flow.name))].sort());
  });

  it("the API server, when a webhook's rule admits nothing (Kyverno registers its webhooks itself)", () => {
    const r = rendered["prod"]!;
    const refused = refusedBy(r, (o) => o["kind"] === "NetworkPolicy" && o["metadata"].namespace === "kyverno" && o["metadata"].name === "allow-api-server-webhooks");
    expect(refused.map((f) => f.subject).sort()).toEqual(["API server → Service kyverno/kyverno-cleanup-controller (Service kyverno/kyverno-cleanup-controller)", "API server → Service kyverno/kyverno-svc (Service kyverno/kyverno-svc)"]);
  });

  it("kubelet probes into mesh pods, when nothing admits 169.254.7.127", () => {
    const r = rendered["dev"]!;
    const refused = refusedBy(r, (o) => o["kind"] === "NetworkPolicy" && o["metadata"].namespace === "nats" && o["metadata"].name === "allow-kubelet-probes");
    expect(refused.map((f) => f.subject)).toEqual(["kubelet → StatefulSet nats/nats (probes)"]);
  });

  it("and the access matrix names a rule that admits more than the declarations", () => {
    const r = rendered["dev"]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "NetworkPolicy" && o["metadata"].namespace === "kafka" && o["metadata"].name === "allow-kafka-clients", (o) => (o["spec"].ingress = [{ from: [{ namespaceSelector: {} }] }])));
    const extra = p.findings.filter((f) => f.proof === "matrix").map((f) => f.subject);
    const users = new Set(r.running.flows.filter((f) => f.flow.kind === "broker" && f.flow.to.namespace === "kafka").map((f) => f.flow.name.split(" ")[0]));
    const others = Object.keys(r.config.services).filter((s) => !users.has(s));
    expect(others.length).toBeGreaterThan(0);
    for (const s of others) expect(extra.some((x) => x.startsWith(s) && /Kafka brokers/.test(x))).toBe(true);
  });
});

describe("NetworkPolicy rules over random service graphs", () => {
  const names = ["a", "b", "c", "d", "e"];
  const arbitraryServices = fc
    .record({
      ns: fc.array(fc.constantFrom("apps", "team"), { minLength: names.length, maxLength: names.length }),
      calls: fc.uniqueArray(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).filter(([f, t]) => f !== t), { selector: ([f, t]) => `${f}>${t}`, maxLength: 8 }),
    })
    .map(({ ns, calls }) =>
      Object.fromEntries(names.map((n, i) => [n, { image: `ghcr.io/acme/${n}@sha256:${"a".repeat(64)}`, version: "1.0.0", namespace: ns[i], port: 8080, calls: calls.filter(([f]) => f === n).map(([, t]) => ({ service: t })) }])),
    );
  const world = (services: Inputs, mesh: boolean) => {
    const cfg = parsePlatformConfig({
      environment: "dev",
      mesh: { enabled: mesh },
      gateway: { enabled: false, implementation: "traefik", hostnames: ["shop.example.com"] },
      observability: { enabled: false },
      discovery: { store: "none" },
      messaging: { kafka: { enabled: false }, nats: { enabled: false } },
      security: { admission: { enabled: false }, allowedRegistries: ["ghcr.io/acme"] },
      services,
    } as any);
    const graph = serviceGraph(cfg);
    const waypoints = new Set(mesh ? waypointNamespaces(graph) : []);
    const objects = [
      ...(mesh ? [...meshWideObjects("istio-system", 10), ...authorizationObjects(graph, { trustDomain: "cluster.local" })] : []),
      ...networkPolicyManifests(networkPlan(cfg, graph)),
      ...graph.namespaces.map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n, labels: mesh ? { "istio.io/dataplane-mode": "ambient", ...(waypoints.has(n) ? { "istio.io/use-waypoint": WAYPOINT_NAME } : {}) } : {} } })),
      ...graph.services.map((s) => ({ apiVersion: "v1", kind: "Service", metadata: { name: s.name, namespace: s.namespace }, spec: { selector: { "app.kubernetes.io/name": s.name }, ports: [{ port: s.port }] } })),
    ] as LiveObject[];
    const pod = (s: (typeof graph.services)[number]): PodSet => ({ id: `Deployment ${s.namespace}/${s.name}`, kind: "Deployment", namespace: s.namespace, name: s.name, replicas: 1, metadata: { labels: { "app.kubernetes.io/name": s.name, [SERVICE_POD_LABEL]: s.name }, annotations: {} }, spec: { serviceAccountName: s.serviceAccount, containers: [] }, source: "rendered" });
    const waypointPod = (ns: string): PodSet => ({ id: `Deployment ${ns}/${WAYPOINT_NAME}`, kind: "Deployment", namespace: ns, name: WAYPOINT_NAME, replicas: 1, metadata: { labels: { "gateway.networking.k8s.io/gateway-name": WAYPOINT_NAME, "gateway.istio.io/managed": "istio.io-mesh-controller", "istio.io/dataplane-mode": "none" }, annotations: {} }, spec: { serviceAccountName: WAYPOINT_NAME, containers: [] }, source: "istiod" });
    const pods = [...graph.services.map(pod), ...[...waypoints].map(waypointPod)];
    return { graph, waypoints, pod, waypointPod, m: meshView(objects, "cluster.local", "istio-system", pods) };
  };

  it.each([true, false])("with the mesh %s: a call is allowed exactly when declared, and no service reaches another's pods around the waypoint", (mesh) => {
    fc.assert(
      fc.property(arbitraryServices, (services) => {
        const { graph, waypoints, pod, waypointPod, m } = world(services, mesh);
        for (const from of graph.services) {
          for (const to of graph.services) {
            if (from === to) continue;
            const declared = graph.calls.some((c) => c.from === from.name && c.to === to.name);
            const v = evaluateFlow(m, { name: `${from.name} → ${to.name}`, kind: "call", from: { pods: pod(from) }, to: pod(to), port: to.port, via: { service: to.name }, required: declared, key: "-" });
            if (v.allowed !== declared) throw new Error(`${from.name} → ${to.name}: declared ${declared}, evaluated ${v.allowed} (${v.reason})`);
            if (mesh) {
              // Straight to the pod on HBONE: only the waypoint (or the gateway) may; never another service.
              if (networkPolicyAdmits(m, { pods: pod(from) }, pod(to), HBONE_PORT).allowed) throw new Error(`${from.name} reaches ${to.name}'s pods around the waypoint`);
            } else {
              // Without the mesh the NetworkPolicy alone decides, on the application port.
              if (networkPolicyAdmits(m, { pods: pod(from) }, pod(to), to.port).allowed !== declared) throw new Error(`${from.name} → ${to.name}: NetworkPolicy disagrees with the declarations`);
            }
          }
          for (const ns of waypoints) {
            const callsInto = graph.calls.some((c) => c.from === from.name && graph.services.find((s) => s.name === c.to)!.namespace === ns);
            if (networkPolicyAdmits(m, { pods: pod(from) }, waypointPod(ns), HBONE_PORT).allowed !== callsInto) throw new Error(`${from.name} → waypoint ${ns}: calls into it ${callsInto}`);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("the switch", () => {
  it("security.networkPolicies false renders no NetworkPolicy outside prod, and prod refuses it naming the key", async () => {
    const dev = readStackConfig("dev");
    // A stack of its own (no policy/stacks/<stack>.json): its pack config is derived from its config.
    const r = await renderConfig("sandbox", { ...dev, "platform:security": JSON.stringify({ ...JSON.parse(dev["platform:security"] ?? "{}"), networkPolicies: false }) });
    expect(r.running.objects.filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
    expect(r.running.findings).toEqual([]);
    // The pack reports every namespace with workloads as open, without failing the preview.
    const open = r.verdicts.records.flatMap((x) => x.violations.filter((v) => v.policy === "network-default-deny").map((v) => [x.kind, x.name, v.enforcementLevel]));
    const withWorkloads = new Set(r.running.objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind)).map((o) => o.metadata.namespace));
    expect(open.map(([, name]) => name).sort()).toEqual([...withWorkloads].sort());
    expect(open.every(([kind, , level]) => kind === "Namespace" && level === "advisory")).toBe(true);
    const prod = readStackConfig("prod");
    await expect(renderConfig("prod", { ...prod, "platform:security": JSON.stringify({ ...JSON.parse(prod["platform:security"]!), networkPolicies: false }) })).rejects.toThrow(/platform:security\.networkPolicies.*false/);
  });
});
