/**
 * The running platform (audit/running): flows, admission, placement, ownership over the whole
 * render, chart objects and controller-made pods included. Each proof holds on dev and prod, and
 * each is broken on purpose to see it fail. Admission needs the pod-security tool that
 * scripts/install-tools.sh builds (the README's test command runs it first, through scripts/setup.sh).
 */
import * as fc from "fast-check";
import { main as auditMain } from "../audit/cli";
import { findPodSecurity } from "../audit/running/admission";
import { findKyverno } from "../audit/running/kyverno";
import { evaluateFlow, meshView } from "../audit/running/flows";
import { proveRunning } from "../audit/running";
import { placementProofs } from "../audit/running/placement";
import type { LiveObject, PodSet } from "../audit/running/pods";
import { authorizationObjects, waypointNamespaces, WAYPOINT_NAME } from "../components/mesh/authorization";
import { meshWideObjects } from "../components/mesh/mesh-policies";
import { serviceGraph } from "../components/service-graph";
import { admissionPolicies } from "../components/security/admission-policies";
import { images } from "../versions";
import type { RecordedResource } from "../render/harness";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";
import { mutated } from "./support/mutate";

const podSecurity = findPodSecurity();
if (!podSecurity) throw new Error("not installed: pod-security (run `bash scripts/install-tools.sh`, which builds it from the Go module proxy); the admission proofs need it");

const kyverno = findKyverno();
if (!kyverno) throw new Error("not installed: kyverno (run `bash scripts/install-tools.sh`, which builds the Kyverno CLI from the Go module proxy); the admission proofs need it");

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});

type Inputs = Record<string, any>;
const prove = (r: Rendered, resources: readonly RecordedResource[] = r.run.resources) => proveRunning({ resources }, r.config, { podSecurity: podSecurity!, kyverno: kyverno! });
const is = (kind: string, name: string, namespace?: string) => (o: Inputs) => o["kind"] === kind && o["metadata"]?.name === name && (namespace === undefined || o["metadata"]?.namespace === namespace);

describe.each(["dev", "prod"])("the %s platform as it will run", (stack) => {
  it("has all four proofs in report.md, and every one holds", () => {
    const r = rendered[stack]!;
    for (const s of ["## Flows", "## Admission", "## Placement", "## Ownership and coverage"]) expect(r.report).toContain(s);
    expect(r.running.notRun).toEqual([]);
    expect(r.running.findings).toEqual([]);
  });

  it("checks the pods controllers create, not only the rendered workloads", () => {
    const r = rendered[stack]!;
    const sources = new Set(r.running.pods.map((p) => p.source.split(":")[0]));
    expect([...sources]).toEqual(expect.arrayContaining(["rendered", "istiod", "strimzi", "prometheus-operator", ...(r.config.gateway.implementation === "envoy" ? ["envoy-gateway"] : [])]));
    expect(r.running.pods.some((p) => p.kind === "StrimziPodSet")).toBe(true);
  });

  it("derives the required flows: declared calls, gateway, load balancer, webhooks, scrapes, telemetry, probes", () => {
    const kinds = new Set(rendered[stack]!.running.flows.map((f) => f.flow.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(["call", "gateway", "ingress", "probe", "scrape", "telemetry", "webhook"]));
    expect(rendered[stack]!.running.flows.every((f) => f.allowed)).toBe(true);
  });
});

describe("each proof fails when the platform is broken on purpose", () => {
  it("flows: a gateway namespace left out of the mesh cannot reach the exposed services (plaintext into STRICT)", () => {
    const r = rendered["prod"]!;
    const gw = r.config.gateway.namespace;
    const p = prove(r, mutated(r, is("Namespace", gw), (o) => delete o["metadata"].labels["istio.io/dataplane-mode"]));
    const refused = p.findings.filter((f) => f.proof === "flows");
    expect(refused.length).toBeGreaterThan(0);
    // The services' NetworkPolicies admit the gateway on HBONE only, so they refuse the plaintext first; STRICT would too.
    expect(refused.every((f) => /gateway → /.test(f.subject) && /STRICT|admits no connection from Deployment gateway-system\/\S+ to Deployment apps\/\S+ on port \d+$/.test(f.message))).toBe(true);
  });

  it("flows: gateway pods that capture inbound traffic refuse the load balancer (istio/istio#51482)", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "EnvoyProxy", (o) => delete o["spec"].provider.kubernetes.envoyDeployment.pod.annotations));
    expect(p.findings.map((f) => f.subject)).toEqual([expect.stringMatching(/^load balancer → /)]);
    expect(p.findings[0]!.message).toMatch(/plaintext from outside the mesh into a STRICT destination/);
  });

  it("flows: a webhook server in the mesh is unreachable for the API server", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, is("Deployment", "envoy-gateway"), (o) => delete o["spec"].template.metadata.labels["istio.io/dataplane-mode"]));
    expect(p.findings.some((f) => f.proof === "flows" && /^API server → Service gateway-system\/envoy-gateway/.test(f.subject))).toBe(true);
  });

  it("flows: a call nobody declared is refused; removing a declared caller's ALLOW refuses its call", () => {
    const r = rendered["prod"]!;
    const call = r.running.flows.find((f) => f.flow.kind === "call")!;
    const target = call.flow.to.name;
    const p = prove(r, mutated(r, (o) => o["kind"] === "AuthorizationPolicy" && (o["metadata"].name === `allow-${target}` || o["metadata"].name === `allow-${target}-direct`), (o) => (o["spec"].rules = [])));
    expect(p.findings.some((f) => f.proof === "flows" && f.subject === call.flow.name)).toBe(true);
  });

  it("admission: a waypoint without a seccomp profile is refused by Pod Security restricted (istio/istio#56383)", () => {
    const r = rendered["prod"]!;
    const p = prove(
      r,
      mutated(r, (o) => o["kind"] === "ConfigMap" && o["metadata"].name === "istio-sidecar-injector", (o) => {
        const v = JSON.parse(o["data"].values);
        v.gateways.seccompProfile = {};
        o["data"].values = JSON.stringify(v);
      }),
    );
    // Pod Security Admission refuses it, and so does Kyverno's pod-security policy.
    expect([...new Set(p.findings.map((f) => `${f.proof} ${f.subject}`))]).toEqual([expect.stringMatching(new RegExp(`^admission Deployment [a-z-]+/${WAYPOINT_NAME}$`))]);
    expect(p.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^Pod Security "restricted" refuses its pods: seccompProfile/), expect.stringMatching(/^Kyverno refuses its pods: pod-security\/pod-security-restricted/)]);
  });

  it("admission: a rendered pod without a seccomp profile in a restricted namespace is refused", () => {
    const r = rendered["dev"]!;
    const svc = Object.keys(r.config.services)[0]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "Deployment" && o["metadata"].name === svc, (o) => {
      delete o["spec"].template.spec.securityContext.seccompProfile;
      for (const c of o["spec"].template.spec.containers) delete c.securityContext.seccompProfile;
    }));
    expect([...new Set(p.findings.filter((f) => f.proof === "admission").map((f) => f.subject))]).toEqual([expect.stringMatching(new RegExp(`^Deployment [a-z-]+/${svc}$`))]);
  });

  it("admission: without the waypoint exception, Kyverno refuses the waypoint's image in prod", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, is("ClusterPolicy", "image-registries"), (o) => {
      for (const rule of o["spec"].rules) delete rule.exclude;
      o["spec"].rules = o["spec"].rules.filter((rule: any) => rule.name !== "mesh-waypoint-image");
    }));
    expect(p.findings).toEqual([
      expect.objectContaining({ proof: "admission", subject: expect.stringMatching(/\/waypoint$/), message: expect.stringMatching(/Kyverno refuses its pods: image-registries\/allowed-registries.*image-registries\/pinned-by-digest/) }),
    ]);
  });

  it("admission: Kyverno refuses an application image from a registry the stack does not allow", () => {
    const r = rendered["prod"]!;
    const svc = Object.keys(r.config.services)[0]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "Deployment" && o["metadata"].name === svc, (o) => (o["spec"].template.spec.containers[0].image = "docker.io/library/nginx:1.27")));
    expect(p.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^Kyverno refuses its pods: image-registries\/allowed-registries/)]);
  });

  it("placement: a Job the members' anti-affinity repels cannot be scheduled", () => {
    const r = rendered["dev"]!;
    const p = prove(r, mutated(r, is("CronJob", "etcd-maintenance"), (o) => (o["spec"].jobTemplate.spec.template.metadata.labels["app.kubernetes.io/name"] = "etcd")));
    expect(p.findings).toEqual([expect.objectContaining({ proof: "placement", subject: "CronJob discovery/etcd-maintenance", message: expect.stringMatching(/repelled by StatefulSet discovery\/etcd's anti-affinity/) })]);
  });

  it("placement: a PDB that allows no disruption blocks every drain of its pods' nodes", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, is("PodDisruptionBudget", "etcd", "discovery"), (o) => (o["spec"] = { minAvailable: 3, selector: o["spec"].selector })));
    const drains = p.findings.filter((f) => f.proof === "placement");
    expect(drains.length).toBe(3); // the three nodes with a member
    expect(drains.every((f) => /PodDisruptionBudget discovery\/etcd allows no disruption/.test(f.message))).toBe(true);
  });

  it("placement: a quorum whose members share a node loses its majority when that node drains", () => {
    const sts: LiveObject = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "etcd", namespace: "d" },
      spec: { replicas: 3, selector: { matchLabels: { app: "etcd" } }, template: { metadata: { labels: { app: "etcd" } }, spec: { containers: [{ name: "etcd", image: "gcr.io/etcd-development/etcd:v3.6.4" }] } } },
    };
    const pods: PodSet[] = [{ id: "StatefulSet d/etcd", kind: "StatefulSet", namespace: "d", name: "etcd", replicas: 3, metadata: { labels: { app: "etcd" }, annotations: {} }, spec: sts["spec"].template.spec, source: "rendered" }];
    const config = { ...rendered["prod"]!.config, cluster: { ...rendered["prod"]!.config.cluster, zones: ["z"], nodesPerZone: 2 } };
    const res = placementProofs([sts], pods, config);
    expect(res.findings.some((f) => /loses its majority: 2 of 3 members go down at once/.test(f.message))).toBe(true);
    // With a PDB of one disruption at a time, the same layout keeps the majority.
    const pdb: LiveObject = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "etcd", namespace: "d" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "etcd" } } } };
    expect(placementProofs([sts, pdb], pods, config).findings.filter((f) => /majority/.test(f.message))).toEqual([]);
  });

  it("ownership: replicas set under an HPA is a finding naming the key", () => {
    const r = rendered["prod"]!;
    const svc = Object.entries(r.config.services).find(([, s]) => s.replicas.max > s.replicas.min)![0];
    const p = prove(r, mutated(r, (o) => o["kind"] === "Deployment" && o["metadata"].name === svc, (o) => (o["spec"].replicas = 3)));
    expect(p.findings).toEqual([expect.objectContaining({ proof: "ownership", message: expect.stringMatching(/sets spec.replicas \(3\) while HorizontalPodAutoscaler .* owns the scale/), key: "platform:services[].replicas" })]);
  });

  it("ownership: a metrics endpoint no monitor selects is a finding", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "Prometheus", (o) => (o["spec"].additionalPodMonitors = undefined, (o["spec"].podMonitorSelector = { matchLabels: { nobody: "x" } }))));
    const subjects = p.findings.filter((f) => f.proof === "ownership").map((f) => f.subject);
    expect(subjects).toEqual(expect.arrayContaining(["DaemonSet istio-system/ztunnel", "StatefulSet discovery/etcd"]));
  });

  it("ownership: a controller-made pod without requests or a memory limit is a finding", () => {
    const r = rendered["prod"]!;
    const p = prove(r, mutated(r, (o) => o["kind"] === "Prometheus", (o) => delete o["spec"].resources));
    expect(p.findings).toEqual([expect.objectContaining({ proof: "ownership", subject: expect.stringMatching(/^StatefulSet observability\/prometheus-.* containers\[prometheus\]$/), message: "runs without cpu request, memory request, memory limit" })]);
  });

  it("flows: Grafana reaches Prometheus only as a mesh member (the pod label the chart values set)", () => {
    // The grafana subchart is not in the test chart cache: its pod is built from the values the
    // platform gives it (grafana.podLabels), in the observability namespace, which is not enrolled.
    const r = rendered["prod"]!;
    const kps = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && x.name === "kube-prometheus-stack")!;
    const podLabels = ((kps.inputs as any).values.grafana.podLabels ?? {}) as Record<string, string>;
    const grafana = (labels: Record<string, string>): PodSet => ({ id: "Deployment observability/grafana", kind: "Deployment", namespace: "observability", name: "grafana", replicas: 1, metadata: { labels: { "app.kubernetes.io/name": "grafana", ...labels }, annotations: {} }, spec: { serviceAccountName: "kps-grafana", containers: [] }, source: "rendered" });
    const prometheus = r.running.pods.find((x) => x.metadata.labels["app.kubernetes.io/name"] === "prometheus")!;
    const m = meshView(r.running.objects, r.config.cluster.domain);
    const flow = (from: PodSet) => evaluateFlow(m, { name: "Grafana → Prometheus", kind: "datasource", from: { pods: from }, to: prometheus, port: 9090, via: "pod", required: true, key: "-" });
    expect(flow(grafana(podLabels)).allowed).toBe(true);
    const withoutLabel = flow(grafana({}));
    expect(withoutLabel.allowed).toBe(false);
    expect(withoutLabel.reason).toMatch(/plaintext from outside the mesh into a STRICT destination/);
  });

  it("ownership: two routes claiming one host and path on one listener", () => {
    const r = rendered["prod"]!;
    const routes = r.running.objects.filter((o) => o.kind === "HTTPRoute" && (o["spec"]?.parentRefs ?? []).some((p: any) => (p.kind ?? "Gateway") === "Gateway"));
    const parents = (o: LiveObject) => JSON.stringify(o["spec"].parentRefs);
    const a = routes.find((x) => routes.some((y) => y !== x && parents(y) === parents(x) && y.metadata.namespace === x.metadata.namespace))!;
    const b = routes.find((y) => y !== a && parents(y) === parents(a) && y.metadata.namespace === a.metadata.namespace)!;
    expect(b).toBeDefined();
    const p = prove(r, mutated(r, is("HTTPRoute", b.metadata.name, b.metadata.namespace), (o) => ((o["spec"].hostnames = a["spec"].hostnames), (o["spec"].rules = a["spec"].rules))));
    expect(p.findings.some((f) => f.proof === "ownership" && /already claimed by HTTPRoute/.test(f.message))).toBe(true);
  });
});

describe("the audit", () => {
  it("turns a proof's failure into a mandatory violation naming the subject and the key", async () => {
    const out: string[] = [];
    const code = await auditMain(["--stack", "prod"], (s) => void out.push(s), () => undefined);
    expect(code).toBe(0);
    expect(out.join("")).toMatch(/0 mandatory/);
  });
});

describe("the variants: traefik, consul, and the platform alone", () => {
  it.each([
    ["traefik", (c: Record<string, string>) => ({ ...c, "platform:gateway": JSON.stringify({ ...JSON.parse(c["platform:gateway"]!), implementation: "traefik" }) })],
    ["consul", (c: Record<string, string>) => ({ ...c, "platform:discovery": JSON.stringify({ store: "consul", consul: { servers: 3, storage: "20Gi" } }) })],
    // No services: no application namespace, so no image rule may match at all (an empty namespace
    // list in a Kyverno rule matches every namespace, and would refuse the platform's own pods).
    ["no services", (c: Record<string, string>) => ({ ...c, "platform:services": "{}", "platform:resilience": JSON.stringify({ ...JSON.parse(c["platform:resilience"]!), sagas: {} }) })],
  ])("prod with %s: every proof holds, and the pack finds no mandatory violation in any object, chart objects included", async (_name, change) => {
    const r = await renderConfig("prod", change(readStackConfig("prod")));
    expect(r.running.notRun).toEqual([]);
    expect(r.running.findings).toEqual([]);
    expect(r.verdicts.records.flatMap((x) => x.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${x.kind} ${x.namespace}/${x.name}: ${v.message}`))).toEqual([]);
    expect(r.verdicts.stack.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
  });
});

describe("flows over random service graphs", () => {
  const names = ["a", "b", "c", "d", "e"];
  const arbitraryServices = fc
    .record({
      ns: fc.array(fc.constantFrom("apps", "team"), { minLength: names.length, maxLength: names.length }),
      calls: fc.uniqueArray(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.boolean()).filter(([f, t]) => f !== t), { selector: ([f, t]) => `${f}>${t}`, maxLength: 8 }),
    })
    .map(({ ns, calls }) =>
      Object.fromEntries(
        names.map((n, i) => [
          n,
          {
            namespace: ns[i],
            port: 8080,
            protocol: "http",
            produces: [],
            consumes: [],
            calls: calls.filter(([f]) => f === n).map(([, t, l7]) => ({ service: t, ...(l7 ? { methods: ["GET"], paths: ["/api"] } : {}) })),
          },
        ]),
      ),
    );

  it("allows exactly the declared calls, through ztunnel or the waypoint", () => {
    fc.assert(
      fc.property(arbitraryServices, (services) => {
        const cfg = { services, cluster: { domain: "cluster.local" } } as any;
        const graph = serviceGraph(cfg);
        const waypoints = new Set(waypointNamespaces(graph));
        const objects = [
          ...meshWideObjects("istio-system", 10),
          ...authorizationObjects(graph, { trustDomain: "cluster.local" }),
          ...graph.namespaces.map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n, labels: { "istio.io/dataplane-mode": "ambient", ...(waypoints.has(n) ? { "istio.io/use-waypoint": WAYPOINT_NAME } : {}) } } })),
          ...graph.services.map((s) => ({ apiVersion: "v1", kind: "Service", metadata: { name: s.name, namespace: s.namespace }, spec: { selector: { "app.kubernetes.io/name": s.name }, ports: [{ port: s.port }] } })),
        ] as LiveObject[];
        const pod = (s: (typeof graph.services)[number]): PodSet => ({ id: `Deployment ${s.namespace}/${s.name}`, kind: "Deployment", namespace: s.namespace, name: s.name, replicas: 1, metadata: { labels: { "app.kubernetes.io/name": s.name }, annotations: {} }, spec: { serviceAccountName: s.serviceAccount, containers: [] }, source: "rendered" });
        const m = meshView(objects, "cluster.local");
        for (const from of graph.services) {
          for (const to of graph.services) {
            if (from === to) continue;
            const declared = graph.calls.find((c) => c.from === from.name && c.to === to.name);
            const v = evaluateFlow(m, { name: `${from.name} → ${to.name}`, kind: "call", from: { pods: pod(from) }, to: pod(to), port: to.port, via: { service: to.name }, required: !!declared, key: "-", request: { method: "GET", path: "/api" } });
            if (v.allowed !== !!declared) throw new Error(`${from.name} → ${to.name}: declared ${!!declared}, evaluated ${v.allowed} (${v.reason})`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("admission policies for waypoints", () => {
  it("admit exactly the mesh's proxy image in waypoint pods, and keep every other pod under the registry rules", () => {
    const image = `${images.istioProxy.repository}:${images.istioProxy.tag}`;
    const policies = admissionPolicies(rendered["prod"]!.config.security, ["apps"], image);
    const rules = policies.flatMap((p: any) => p.spec.rules);
    expect(rules.find((r: any) => r.name === "mesh-waypoint-image").validate.pattern.spec.containers[0].image).toBe(image);
    for (const name of ["allowed-registries", "pinned-by-digest", "signed-with-provenance-and-sbom"]) {
      expect(rules.find((r: any) => r.name === name).exclude.any[0].resources.selector.matchLabels).toEqual({ "gateway.istio.io/managed": "istio.io-mesh-controller" });
    }
    // The image the policy admits is the one istiod gives its waypoints in this render.
    const waypoint = rendered["prod"]!.running.pods.find((p) => p.source.startsWith("istiod"))!;
    expect(waypoint.spec["containers"][0].image).toBe(image);
  });
});
