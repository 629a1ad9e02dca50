/**
 * Flows: every connection the platform needs, derived from the declarations and the render, and
 * each one evaluated against what the cluster will enforce: mesh enrollment (namespace and pod
 * labels), PeerAuthentication, AuthorizationPolicy at ztunnel and at waypoints, and NetworkPolicy.
 *
 * Istio ambient semantics used (istio.io/latest/docs/ambient/, 1.30):
 * - A pod is in the mesh when its namespace (or the pod) has istio.io/dataplane-mode=ambient and the
 *   pod does not opt out with istio.io/dataplane-mode=none; host-network pods never are.
 * - Between two mesh pods traffic is HBONE mTLS: the caller has its SPIFFE principal
 *   <trustDomain>/ns/<ns>/sa/<serviceAccount>.
 * - Plaintext from outside the mesh (a non-mesh pod, the API server, a load balancer) into a mesh
 *   pod is captured by ztunnel and refused under STRICT PeerAuthentication, unless the pod carries
 *   ambient.istio.io/bypass-inbound-capture: "true" (inbound is then not captured at all).
 * - Kubelet probes are exempt: istio-cni rewrites them to come from 169.254.7.127, which ztunnel
 *   lets through ("Ambient and Kubernetes health probes").
 * - ztunnel enforces AuthorizationPolicies without targetRefs (root namespace ones mesh-wide); a
 *   rule with L7 fields never matches in an ALLOW and always matches in a DENY there. A waypoint
 *   enforces those whose targetRefs name the Service or the waypoint, for traffic sent to a
 *   Service that uses it (istio.io/use-waypoint on the Service or its namespace); behind it,
 *   ztunnel sees the waypoint's identity. Traffic sent to pod endpoints skips the waypoint.
 * - DENY first; then with no ALLOW policy applicable, allowed; else some ALLOW rule must match.
 * - NetworkPolicy is enforced outside the pod (ambient/usage/networkpolicy): between mesh pods it
 *   sees HBONE port 15008, through a waypoint two connections (caller → waypoint, waypoint →
 *   destination), and kubelet probes into mesh pods from 169.254.7.127 (wireHops below).
 */
import type { PlatformConfig } from "../../config/schema";
import { PLATFORM_NAMESPACES } from "../../config/schema";
import { serviceGraph } from "../../components/service-graph";
import { Obj, selects } from "../../policy/k8s";
import { NATS_CLIENT_PORT } from "../../components/messaging/nats";
import { KAFKA_TLS_PORT } from "../../components/messaging/strimzi-kafka";
import { ETCD_CLIENT_PORT } from "../../components/discovery/etcd-cluster";
import { CONSUL_HTTPS_PORT } from "../../components/discovery/consul";
import { gatewayProxyPods, HBONE_PORT, PROBE_SNAT_ADDRESS } from "../../components/security/network-grants";
import { metricsPort } from "./ownership";
import { idOf, indexOf, LiveObject, nsOf, ObjectIndex, PodSet } from "./pods";

/** Where a flow starts: a pod set, or an actor outside every pod. */
export type FlowSource = { readonly pods: PodSet } | { readonly external: "load-balancer" | "kube-apiserver" | "kubelet" };

export interface Flow {
  /** What it is, for people: "orders → payments (declared call)". */
  readonly name: string;
  /** Kind of flow, the report groups by it. */
  readonly kind: "call" | "gateway" | "ingress" | "webhook" | "scrape" | "telemetry" | "datasource" | "probe" | "broker" | "store" | "rollout" | "secret" | "control";
  readonly from: FlowSource;
  readonly to: PodSet;
  /** Destination pod port. */
  readonly port: number;
  /** Sent to the Service address (a waypoint applies), or to pod endpoints. */
  readonly via: { readonly service: string } | "pod";
  /** A flow the platform needs; a refused required flow is a finding. */
  readonly required: boolean;
  /** Config key that controls it. */
  readonly key: string;
  /** For L7 checks at a waypoint: one request the flow makes. */
  readonly request?: { readonly method?: string; readonly path?: string };
}

export interface FlowVerdict {
  readonly flow: Flow;
  readonly allowed: boolean;
  /** Why: the hops and the rule that decided. */
  readonly reason: string;
}

const AMBIENT = "istio.io/dataplane-mode";

/** The mesh as rendered: namespaces, policies and services, indexed once. */
export interface MeshView {
  readonly objects: readonly LiveObject[];
  /** The pods, controller-made ones included (the waypoints a hop goes through). */
  readonly pods: readonly PodSet[];
  readonly index: ObjectIndex;
  readonly nsLabels: (ns: string) => Record<string, string>;
  readonly rootNamespace: string;
  readonly trustDomain: string;
}

export function meshView(objects: readonly LiveObject[], trustDomain: string, rootNamespace: string = PLATFORM_NAMESPACES.mesh, pods: readonly PodSet[] = []): MeshView {
  const index = indexOf(objects);
  return { objects, pods, index, nsLabels: index.nsLabels, rootNamespace, trustDomain };
}

/** Whether a pod set is in the ambient mesh. */
export function enrolled(m: MeshView, p: PodSet): boolean {
  if (p.spec["hostNetwork"] === true) return false;
  const own = p.metadata.labels[AMBIENT];
  if (own === "none") return false;
  if (own === "ambient") return true;
  return m.nsLabels(p.namespace)[AMBIENT] === "ambient";
}

export const principalOf = (m: MeshView, p: PodSet): string => `${m.trustDomain}/ns/${p.namespace}/sa/${p.spec["serviceAccountName"] ?? p.spec["serviceAccount"] ?? "default"}`;

/** The effective PeerAuthentication mode for a pod and port: workload > namespace > root namespace; PERMISSIVE when none. */
export function mtlsMode(m: MeshView, p: PodSet, port: number): string {
  const pas = m.index.kind("PeerAuthentication");
  const pick = (cands: LiveObject[]): string | undefined => {
    for (const pa of cands) {
      const s: Obj = pa["spec"] ?? {};
      const portLevel = s["portLevelMtls"]?.[String(port)]?.mode;
      if (portLevel && portLevel !== "UNSET") return portLevel;
      const mode = s["mtls"]?.mode;
      if (mode && mode !== "UNSET") return mode;
    }
    return undefined;
  };
  const workload = pas.filter((pa) => nsOf(pa) === p.namespace && pa["spec"]?.selector && selects(pa["spec"].selector, p.metadata.labels));
  const namespace = pas.filter((pa) => nsOf(pa) === p.namespace && !pa["spec"]?.selector);
  const root = pas.filter((pa) => nsOf(pa) === m.rootNamespace && !pa["spec"]?.selector);
  return pick(workload) ?? pick(namespace) ?? pick(root) ?? "PERMISSIVE";
}

const globMatch = (pat: string, v: string): boolean =>
  pat === "*" || (pat.endsWith("*") ? v.startsWith(pat.slice(0, -1)) : pat.startsWith("*") ? v.endsWith(pat.slice(1)) : pat === v);

interface Caller {
  readonly principal?: string;
  readonly namespace?: string;
}

/** Whether one AuthorizationPolicy rule matches a request. `l4` = evaluated at ztunnel. */
function ruleMatches(rule: Obj, caller: Caller, port: number, req: Flow["request"], l4: boolean, action: string): boolean {
  const from: Obj[] = rule["from"] ?? [];
  const fromOk =
    from.length === 0 ||
    from.some((f) => {
      const s: Obj = f["source"] ?? {};
      const checks: boolean[] = [];
      if (s["principals"]) checks.push(!!caller.principal && (s["principals"] as string[]).some((p) => globMatch(p, caller.principal!)));
      if (s["notPrincipals"]) checks.push(!caller.principal || !(s["notPrincipals"] as string[]).some((p) => globMatch(p, caller.principal!)));
      if (s["namespaces"]) checks.push(!!caller.namespace && (s["namespaces"] as string[]).some((n) => globMatch(n, caller.namespace!)));
      if (s["notNamespaces"]) checks.push(!caller.namespace || !(s["notNamespaces"] as string[]).some((n) => globMatch(n, caller.namespace!)));
      if (s["ipBlocks"] || s["remoteIpBlocks"]) checks.push(false); // pod IPs are not modelled: never matches
      return checks.every(Boolean);
    });
  if (!fromOk) return false;
  const to: Obj[] = rule["to"] ?? [];
  const toOk =
    to.length === 0 ||
    to.some((t) => {
      const o: Obj = t["operation"] ?? {};
      if (o["ports"] && !(o["ports"] as string[]).map(String).includes(String(port))) return false;
      if (o["notPorts"] && (o["notPorts"] as string[]).map(String).includes(String(port))) return false;
      const l7 = ["methods", "paths", "hosts", "notMethods", "notPaths", "notHosts"].filter((k) => o[k]);
      if (l7.length && l4) return action === "DENY";
      if (o["methods"] && !(req?.method && (o["methods"] as string[]).includes(req.method))) return false;
      if (o["paths"] && !(req?.path && (o["paths"] as string[]).some((p) => globMatch(p, req.path!)))) return false;
      return true;
    });
  if (!toOk) return false;
  if ((rule["when"] ?? []).length) return action === "DENY"; // conditions are not modelled: the safe reading
  return true;
}

/** ALLOW/DENY evaluation over the policies that apply at one enforcement point. */
function authorize(policies: readonly LiveObject[], caller: Caller, port: number, req: Flow["request"], l4: boolean): { allowed: boolean; by: string } {
  const action = (p: LiveObject) => String(p["spec"]?.action ?? "ALLOW");
  for (const p of policies.filter((p) => action(p) === "DENY")) {
    if ((p["spec"]?.rules ?? []).some((r: Obj) => ruleMatches(r, caller, port, req, l4, "DENY"))) return { allowed: false, by: `DENY ${idOf(p)}` };
  }
  const allows = policies.filter((p) => action(p) === "ALLOW");
  if (!allows.length) return { allowed: true, by: "no ALLOW policy applies" };
  const hit = allows.find((p) => (p["spec"]?.rules ?? []).some((r: Obj) => ruleMatches(r, caller, port, req, l4, "ALLOW")));
  return hit ? { allowed: true, by: `ALLOW ${idOf(hit)}` } : { allowed: false, by: `no ALLOW rule matches (${allows.map(idOf).join(", ")})` };
}

/** Policies ztunnel enforces for a destination pod. */
function ztunnelPolicies(m: MeshView, dst: PodSet): LiveObject[] {
  const atZtunnel = (o: LiveObject) => !o["spec"]?.targetRefs && !o["spec"]?.targetRef;
  return [
    ...(dst.namespace === m.rootNamespace ? [] : m.index.inNs("AuthorizationPolicy", m.rootNamespace).filter((o) => atZtunnel(o) && !o["spec"]?.selector)),
    ...m.index.inNs("AuthorizationPolicy", dst.namespace).filter((o) => atZtunnel(o) && (!o["spec"]?.selector || selects(o["spec"].selector, dst.metadata.labels))),
  ];
}

/** The waypoint a Service's traffic goes through, if any: its own label, else its namespace's. */
function waypointOf(m: MeshView, service: LiveObject): string | undefined {
  const own = service.metadata.labels?.["istio.io/use-waypoint"];
  if (own) return own === "none" ? undefined : own;
  return m.nsLabels(nsOf(service))["istio.io/use-waypoint"];
}

/** Where a connection comes from, as NetworkPolicy sees it: a pod, an address outside every pod, or an unknown address. */
export type WireSource = { readonly pods: PodSet } | { readonly ip: string } | { readonly anywhere: true };

const ipv4 = (ip: string): number => ip.split(".").reduce((n, x) => n * 256 + Number(x), 0);
function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split("/");
  if (!base || base.includes(":") || ip.includes(":")) return false;
  const size = 2 ** (32 - Number(bits ?? 32));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

/** Whether one NetworkPolicy peer matches a source (`here`: the policy's namespace). */
function peerMatches(m: MeshView, peer: Obj, src: WireSource, here: string): boolean {
  if (peer["ipBlock"]) {
    const cidr = String(peer["ipBlock"].cidr ?? "");
    // An unknown address, or a pod (pod IPs are not modelled), is inside only the whole range.
    if (!("ip" in src)) return /\/0$/.test(cidr);
    return cidrContains(cidr, src.ip) && !((peer["ipBlock"].except ?? []) as string[]).some((e) => cidrContains(e, src.ip));
  }
  if (!("pods" in src)) return false;
  const p = src.pods;
  const nsOk = peer["namespaceSelector"] ? Object.keys(peer["namespaceSelector"]).length === 0 || selects(peer["namespaceSelector"], m.nsLabels(p.namespace)) : p.namespace === here;
  const podOk = peer["podSelector"] ? Object.keys(peer["podSelector"]).length === 0 || selects(peer["podSelector"], p.metadata.labels) : true;
  return nsOk && podOk;
}

/**
 * NetworkPolicy ingress into one pod on one port: allowed unless some Ingress policy selects the pod
 * and no rule of those admits the source on that port (rules are additive).
 */
export function networkPolicyAdmits(m: MeshView, src: WireSource, dst: PodSet, port: number): { allowed: boolean; by?: string } {
  if (dst.spec["hostNetwork"] === true) return { allowed: true };
  const nps = m.index.inNs("NetworkPolicy", dst.namespace).filter((o) => Object.keys(o["spec"]?.podSelector ?? {}).length === 0 || selects(o["spec"].podSelector, dst.metadata.labels));
  const ingress = nps.filter((np) => ((np["spec"]?.policyTypes as string[] | undefined) ?? ["Ingress"]).includes("Ingress"));
  if (!ingress.length) return { allowed: true };
  for (const np of ingress) {
    for (const rule of (np["spec"]?.ingress ?? []) as Obj[]) {
      const ports: Obj[] = rule["ports"] ?? [];
      if (ports.length && !ports.some((p) => (p["port"] === undefined ? true : p["endPort"] ? port >= Number(p["port"]) && port <= Number(p["endPort"]) : String(p["port"]) === String(port)))) continue;
      const peers: Obj[] = rule["from"] ?? [];
      if (!peers.length || peers.some((peer) => peerMatches(m, peer, src, dst.namespace))) return { allowed: true, by: idOf(np) };
    }
  }
  return { allowed: false, by: ingress.map(idOf).join(", ") };
}

/** The pod of a namespace's waypoint (what pods.ts reconstructs), or its labels alone when not in the view. */
function waypointPod(m: MeshView, ns: string, wp: string): PodSet {
  const found = m.pods.find((p) => p.namespace === ns && p.metadata.labels["gateway.networking.k8s.io/gateway-name"] === wp);
  return found ?? { id: `Deployment ${ns}/${wp}`, kind: "Deployment", namespace: ns, name: wp, replicas: 1, metadata: { labels: { "gateway.networking.k8s.io/gateway-name": wp, "gateway.istio.io/managed": "istio.io-mesh-controller" }, annotations: {} }, spec: {}, source: "istiod: waypoint" };
}

/**
 * The connections a flow makes on the wire, as NetworkPolicy sees them: between mesh pods to HBONE
 * 15008, through a waypoint in two hops (caller → waypoint, waypoint → destination, both on 15008),
 * kubelet probes into a mesh pod from 169.254.7.127 (into other pods they come from the node,
 * which NetworkPolicy always admits), and the API server and load balancer from anywhere.
 */
function wireHops(m: MeshView, flow: Flow): { src: WireSource; dst: PodSet; port: number }[] {
  const dst = flow.to;
  if ("external" in flow.from) {
    if (flow.from.external === "kubelet") return enrolled(m, dst) ? [{ src: { ip: PROBE_SNAT_ADDRESS }, dst, port: flow.port }] : [];
    return [{ src: { anywhere: true }, dst, port: flow.port }];
  }
  const src = flow.from.pods;
  if (!enrolled(m, src)) return [{ src: { pods: src }, dst, port: flow.port }];
  const svc = flow.via !== "pod" ? m.index.get("Service", dst.namespace, flow.via.service) : undefined;
  const wp = svc && enrolled(m, dst) ? waypointOf(m, svc) : undefined;
  if (wp) {
    const w = waypointPod(m, dst.namespace, wp);
    return [{ src: { pods: src }, dst: w, port: HBONE_PORT }, { src: { pods: w }, dst, port: HBONE_PORT }];
  }
  return [{ src: { pods: src }, dst, port: enrolled(m, dst) ? HBONE_PORT : flow.port }];
}

/** Evaluates one flow. */
export function evaluateFlow(m: MeshView, flow: Flow): FlowVerdict {
  const dst = flow.to;
  const admittedBy: string[] = [];
  const verdict = (allowed: boolean, reason: string): FlowVerdict => ({ flow, allowed, reason: allowed && admittedBy.length ? `${reason}; admitted by ${admittedBy.join(", ")}` : reason });
  for (const hop of wireHops(m, flow)) {
    const np = networkPolicyAdmits(m, hop.src, hop.dst, hop.port);
    const from = "pods" in hop.src ? hop.src.pods.id : "ip" in hop.src ? hop.src.ip : "any address";
    if (!np.allowed) return verdict(false, `NetworkPolicy ${np.by} admits no connection from ${from} to ${hop.dst.id} on port ${hop.port}`);
    if (np.by) admittedBy.push(`${np.by} (port ${hop.port})`);
  }
  if (!enrolled(m, dst)) return verdict(true, "destination outside the mesh: nothing intercepts it");
  if ("external" in flow.from && flow.from.external === "kubelet") return verdict(true, "kubelet probe: ambient exempts it (SNAT to 169.254.7.127)");
  const src = "pods" in flow.from ? flow.from.pods : undefined;
  const srcInMesh = !!src && enrolled(m, src);
  if (!srcInMesh) {
    if (dst.metadata.annotations["ambient.istio.io/bypass-inbound-capture"] === "true") return verdict(true, "plaintext from outside the mesh: the destination bypasses inbound capture");
    const mode = mtlsMode(m, dst, flow.port);
    if (mode === "STRICT") return verdict(false, `plaintext from outside the mesh into a STRICT destination (PeerAuthentication): ztunnel refuses it`);
    const z = authorize(ztunnelPolicies(m, dst), src ? { namespace: src.namespace } : {}, flow.port, flow.request, true);
    return verdict(z.allowed, `plaintext (${mode}) at ztunnel: ${z.by}`);
  }
  const caller: Caller = { principal: principalOf(m, src!), namespace: src!.namespace };
  if (flow.via !== "pod") {
    const via = flow.via;
    const svc = m.index.get("Service", dst.namespace, via.service);
    const wp = svc && waypointOf(m, svc);
    if (wp) {
      const gw = m.index.get("Gateway", dst.namespace, wp);
      if (!gw) return verdict(false, `Service uses waypoint ${wp}, which is not in the render`);
      const atWaypoint = m.index
        .inNs("AuthorizationPolicy", dst.namespace)
        .filter((o) => ((o["spec"]?.targetRefs ?? []) as Obj[]).some((t) => (t["kind"] === "Service" && t["name"] === via.service) || (t["kind"] === "Gateway" && t["name"] === wp)));
      const w = authorize(atWaypoint, caller, flow.port, flow.request, false);
      if (!w.allowed) return verdict(false, `at waypoint ${dst.namespace}/${wp}: ${w.by}`);
      const wpSa = gw["metadata"]?.annotations?.["gateway.istio.io/service-account"] ?? wp;
      const z = authorize(ztunnelPolicies(m, dst), { principal: `${m.trustDomain}/ns/${dst.namespace}/sa/${wpSa}`, namespace: dst.namespace }, flow.port, flow.request, true);
      return verdict(z.allowed, `via waypoint ${dst.namespace}/${wp} (${w.by}); at ztunnel: ${z.by}`);
    }
  }
  const z = authorize(ztunnelPolicies(m, dst), caller, flow.port, flow.request, true);
  return verdict(z.allowed, `mTLS as ${caller.principal} at ztunnel: ${z.by}`);
}

/** The Service a cluster-local URL names (`http://<name>.<namespace>[.svc...][:port][/path][?query]`). */
export function serviceOfUrl(url: string): { name: string; namespace: string; port?: number; path?: string } | undefined {
  const m = /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc[a-z0-9.-]*)?(?::(\d+))?(\/[^?\s]*)?(?:\?\S*)?$/.exec(url);
  if (!m) return undefined;
  return { name: m[1]!, namespace: m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}), ...(m[4] && m[4] !== "/" ? { path: m[4] } : {}) };
}

/** The pods a Service selects, and the pod port its `port` maps to. */
function behind(pods: readonly PodSet[], svc: LiveObject, port?: number): { pods: PodSet[]; port: number } {
  const sel: Record<string, string> | undefined = svc["spec"]?.selector;
  const matched = sel ? pods.filter((p) => p.namespace === nsOf(svc) && selects({ matchLabels: sel }, p.metadata.labels)) : [];
  const sp: Obj | undefined = ((svc["spec"]?.ports ?? []) as Obj[]).find((p) => port === undefined || Number(p["port"]) === port) ?? svc["spec"]?.ports?.[0];
  let target = sp?.["targetPort"] ?? sp?.["port"] ?? port ?? 0;
  if (typeof target === "string" && !/^\d+$/.test(target)) {
    const named = matched.flatMap((p) => (p.spec["containers"] ?? []).flatMap((c: Obj) => c["ports"] ?? [])).find((cp: Obj) => cp["name"] === target);
    target = named?.containerPort ?? 0;
  }
  return { pods: matched, port: Number(target) };
}

/**
 * The serving pods of each declared service, by namespace/name: the Microservice's Deployment, or
 * under a progressive rollout Flagger's `<name>-primary` copy of it (the target is the canary,
 * scaled to zero between rollouts).
 */
function deploymentPods(pods: readonly PodSet[]): (name: string, ns: string) => PodSet | undefined {
  const byKey = new Map(pods.filter((p) => p.kind === "Deployment").map((p) => [`${p.namespace}/${p.name}`, p]));
  return (name, ns) => {
    const primary = byKey.get(`${ns}/${name}-primary`);
    return primary?.source.startsWith("flagger:") ? primary : byKey.get(`${ns}/${name}`);
  };
}

/** Every flow the stack needs, derived from the declarations and the render; `scraped`: scrapedBy(objects, pods). */
export function requiredFlows(objects: readonly LiveObject[], pods: readonly PodSet[], config: PlatformConfig, scraped: ReadonlyMap<string, string>): Flow[] {
  const graph = serviceGraph(config);
  const flows: Flow[] = [];
  const ix = indexOf(objects);
  const svcObj = (ns: string, name: string) => ix.get("Service", ns, name);
  const servicePods = deploymentPods(pods);

  // Declared calls, to the Service address.
  const node = new Map(graph.services.map((s) => [s.name, s]));
  for (const c of graph.calls) {
    const from = node.get(c.from)!;
    const to = node.get(c.to)!;
    const src = servicePods(from.name, from.namespace);
    const dst = servicePods(to.name, to.namespace);
    if (!src || !dst) continue;
    flows.push({ name: `${c.from} → ${c.to}`, kind: "call", from: { pods: src }, to: dst, port: to.port, via: { service: to.name }, required: true, key: `platform:services.${c.from}.calls`, request: { ...(c.methods?.[0] ? { method: c.methods[0] } : {}), ...(c.paths?.[0] ? { path: c.paths[0] } : {}) } });
  }

  // The gateway: load balancer → proxies, proxies → exposed services' pods.
  if (config.gateway.enabled) {
    const proxies = pods.filter((p) => p.source.startsWith("envoy-gateway:") || (p.namespace === config.gateway.namespace && p.metadata.labels["app.kubernetes.io/name"] === "traefik"));
    for (const p of proxies) {
      const listener = p.source.startsWith("envoy-gateway:") ? 10443 : 8443;
      flows.push({ name: `load balancer → ${p.id}`, kind: "ingress", from: { external: "load-balancer" }, to: p, port: listener, via: "pod", required: true, key: "platform:gateway" });
      for (const e of graph.exposures) {
        const dst = servicePods(e.service, e.namespace);
        if (dst) flows.push({ name: `gateway → ${e.service}`, kind: "gateway", from: { pods: p }, to: dst, port: e.port, via: "pod", required: true, key: `platform:services.${e.service}.expose` });
      }
    }
  }

  // The API server → every admission and conversion webhook.
  const hooks: { owner: LiveObject; ref: Obj }[] = [];
  for (const o of [...ix.kind("ValidatingWebhookConfiguration"), ...ix.kind("MutatingWebhookConfiguration")]) for (const w of (o["webhooks"] ?? []) as Obj[]) if (w["clientConfig"]?.service) hooks.push({ owner: o, ref: w["clientConfig"].service });
  for (const o of ix.kind("CustomResourceDefinition")) if (o["spec"]?.conversion?.strategy === "Webhook" && o["spec"].conversion.webhook?.clientConfig?.service) hooks.push({ owner: o, ref: o["spec"].conversion.webhook.clientConfig.service });
  // Kyverno registers its webhooks itself at start-up (not in the render): its two webhook Services.
  for (const name of ["kyverno-svc", "kyverno-cleanup-controller"]) {
    const svc = svcObj(PLATFORM_NAMESPACES.security, name);
    if (svc) hooks.push({ owner: svc, ref: { namespace: PLATFORM_NAMESPACES.security, name, port: 443 } });
  }
  const seenHook = new Set<string>();
  for (const h of hooks) {
    const svc = svcObj(h.ref["namespace"], h.ref["name"]);
    if (!svc) continue;
    const b = behind(pods, svc, Number(h.ref["port"] ?? 443));
    for (const dst of b.pods) {
      const k = `${dst.id}:${b.port}`;
      if (seenHook.has(k)) continue;
      seenHook.add(k);
      flows.push({ name: `API server → ${idOf(svc)} (${idOf(h.owner)})`, kind: "webhook", from: { external: "kube-apiserver" }, to: dst, port: b.port, via: "pod", required: true, key: dst.chart ? `${dst.chart} chart` : "platform:security" });
    }
  }

  // Prometheus → every pod it scrapes.
  const prometheus = pods.filter((p) => p.source.startsWith("prometheus-operator") && p.metadata.labels["app.kubernetes.io/name"] === "prometheus");
  if (prometheus.length) {
    for (const p of pods) {
      if (!scraped.has(p.id) || prometheus.includes(p)) continue;
      const mp = metricsPort(p);
      const portNum = Number(mp) || Number((p.spec["containers"] ?? []).flatMap((c: Obj) => c["ports"] ?? []).find((cp: Obj) => cp["name"] === mp)?.containerPort ?? 0);
      flows.push({ name: `Prometheus → ${p.id}`, kind: "scrape", from: { pods: prometheus[0]! }, to: p, port: portNum, via: "pod", required: true, key: "platform:observability" });
    }
  }

  // Grafana → its data sources (the datasource ConfigMaps the chart renders).
  const grafana = pods.find((p) => p.metadata.labels["app.kubernetes.io/name"] === "grafana");
  if (grafana) {
    for (const cm of ix.kind("ConfigMap").filter((o) => o.metadata.labels?.["grafana_datasource"] !== undefined)) {
      for (const text of Object.values((cm["data"] ?? {}) as Record<string, string>)) {
        for (const url of text.match(/https?:\/\/[a-z0-9.-]+(:\d+)?/g) ?? []) {
          const t = serviceOfUrl(url);
          const svc = t && svcObj(t.namespace, t.name);
          if (!svc) continue;
          const b = behind(pods, svc, t!.port);
          for (const dst of b.pods) flows.push({ name: `Grafana → ${idOf(svc)}`, kind: "datasource", from: { pods: grafana }, to: dst, port: b.port, via: { service: svc.metadata.name }, required: true, key: "platform:observability" });
        }
      }
    }
  }

  // Flagger → the metrics server each MetricTemplate queries (the canary analysis); Flagger → each
  // Canary webhook's receiver (the loadtester), and the loadtester → every URL its gates fetch (the
  // error-budget gate's Prometheus, the smoke tests' canary Service).
  const flagger = pods.find((p) => p.chart?.startsWith("flagger") && p.metadata.labels["app.kubernetes.io/name"] === "flagger");
  if (flagger) {
    // One flow per source and Service, however many Canaries share it; the pods behind the URL either way.
    const seen = new Set<string>();
    const toUrl = (from: PodSet, url: string, name: string, key: string): PodSet[] => {
      const t = serviceOfUrl(url);
      const svc = t && svcObj(t.namespace, t.name);
      if (!svc) return [];
      const b = behind(pods, svc, t!.port);
      if (seen.has(`${from.id} ${idOf(svc)}`)) return b.pods;
      seen.add(`${from.id} ${idOf(svc)}`);
      for (const dst of b.pods) flows.push({ name: `${name} → ${idOf(svc)}`, kind: "rollout", from: { pods: from }, to: dst, port: b.port, via: { service: svc.metadata.name }, required: true, key, ...(t!.path ? { request: { method: "GET", path: t!.path } } : {}) });
      return b.pods;
    };
    for (const mt of ix.kind("MetricTemplate")) toUrl(flagger, String(mt["spec"]?.provider?.address ?? ""), "Flagger (canary analysis)", "platform:services.<name>.rollout");
    for (const cd of ix.kind("Canary")) {
      const key = `platform:services.${cd.metadata.name}.rollout`;
      for (const wh of (cd["spec"]?.analysis?.webhooks ?? []) as Obj[]) {
        const runner = toUrl(flagger, String(wh["url"] ?? ""), `Flagger (webhook ${wh["name"]})`, key)[0];
        if (!runner) continue;
        for (const url of String(wh["metadata"]?.cmd ?? "").match(/https?:\/\/[^\s'"]+/g) ?? []) toUrl(runner, url, `${runner.name} (gate ${wh["name"]})`, key);
      }
    }
  }

  // External Secrets' controller → the store each SecretStore names (it logs in there as the
  // service); the store's configurator Job → the store. Raft between the servers is the chart's own.
  const secretFlow = (from: PodSet, url: string, name: string, key: string) => {
    const t = serviceOfUrl(url);
    const svc = t && svcObj(t.namespace, t.name);
    if (!svc) return;
    const b = behind(pods, svc, t!.port);
    for (const dst of b.pods) flows.push({ name: `${name} → ${idOf(svc)}`, kind: "secret", from: { pods: from }, to: dst, port: b.port, via: { service: svc.metadata.name }, required: true, key });
  };
  const eso = pods.find((p) => p.chart?.startsWith("external-secrets") && p.metadata.labels["app.kubernetes.io/name"] === "external-secrets");
  // A service's SecretStore comes from its `secrets`; a component's (`platform-secrets`) from secrets.platformSecrets.
  const declaredBy = (st: Obj) => (st.metadata.labels?.["app.kubernetes.io/component"] === "platform-secrets" ? "platform:secrets.platformSecrets" : `platform:services.${st.metadata.labels?.["app.kubernetes.io/instance"] ?? st.metadata.name}.secrets`);
  if (eso) for (const st of ix.kind("SecretStore")) secretFlow(eso, String(st["spec"]?.provider?.vault?.server ?? ""), `External Secrets (${idOf(st)})`, declaredBy(st));
  for (const job of pods.filter((p) => p.kind === "Job" && p.namespace === PLATFORM_NAMESPACES.secrets)) {
    const addr = (job.spec["containers"] ?? []).flatMap((c: Obj) => c["env"] ?? []).find((e: Obj) => e["name"] === "VAULT_ADDR")?.value;
    if (addr) secretFlow(job, String(addr), job.id, "platform:secrets");
  }

  // Applications → the OpenTelemetry collector.
  const otlp = /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)[^:]*:(\d+)/.exec(config.observability.otlpEndpoint);
  const collector = otlp && svcObj(otlp[2]!, otlp[1]!);
  if (collector) {
    const b = behind(pods, collector, Number(otlp![3]));
    for (const s of graph.services) {
      const src = servicePods(s.name, s.namespace);
      for (const dst of b.pods) if (src) flows.push({ name: `${s.name} → ${idOf(collector)} (OTLP)`, kind: "telemetry", from: { pods: src }, to: dst, port: b.port, via: { service: collector.metadata.name }, required: true, key: "platform:observability.otlpEndpoint" });
    }
    // The gateway's proxies and the waypoints send their spans there too.
    const proxies = pods.filter((p) => p.metadata.labels["gateway.istio.io/managed"] === "istio.io-mesh-controller" || (config.gateway.enabled && p.namespace === config.gateway.namespace && selects({ matchLabels: gatewayProxyPods(config.gateway.implementation) }, p.metadata.labels)));
    for (const p of proxies) for (const dst of b.pods) flows.push({ name: `${p.id} → ${idOf(collector)} (OTLP)`, kind: "telemetry", from: { pods: p }, to: dst, port: b.port, via: { service: collector.metadata.name }, required: true, key: "platform:observability.otlpEndpoint" });
  }

  // Services → NATS, for those that declared NATS use (the server then checks their certificate).
  const natsSvc = config.messaging.nats.enabled ? svcObj(PLATFORM_NAMESPACES.nats, "nats") : undefined;
  if (natsSvc) {
    const b = behind(pods, natsSvc, NATS_CLIENT_PORT);
    for (const s of graph.services) {
      const src = servicePods(s.name, s.namespace);
      if (!src || !config.services[s.name]?.nats) continue;
      for (const dst of b.pods) flows.push({ name: `${s.name} → ${idOf(natsSvc)} (NATS)`, kind: "broker", from: { pods: src }, to: dst, port: b.port, via: { service: natsSvc.metadata.name }, required: true, key: `platform:services.${s.name}.nats` });
    }
    // The JetStream Job creates the streams and buckets through the same port.
    for (const job of pods.filter((p) => p.kind === "Job" && p.namespace === PLATFORM_NAMESPACES.nats)) {
      for (const dst of b.pods) flows.push({ name: `${job.id} → ${idOf(natsSvc)} (NATS)`, kind: "broker", from: { pods: job }, to: dst, port: b.port, via: { service: natsSvc.metadata.name }, required: true, key: "platform:messaging.nats.streams" });
    }
  }

  // Services → the config store and the Kafka brokers, for those that declared their use (clients
  // reach every member or broker directly after the first contact).
  const storeSvc = config.discovery.store === "etcd" ? svcObj(PLATFORM_NAMESPACES.discovery, "etcd") : config.discovery.store === "consul" ? svcObj(PLATFORM_NAMESPACES.discovery, "consul-server") : undefined;
  if (storeSvc) {
    const b = behind(pods, storeSvc, config.discovery.store === "etcd" ? ETCD_CLIENT_PORT : CONSUL_HTTPS_PORT);
    for (const s of graph.configStoreClients) {
      const src = servicePods(s, config.services[s]!.namespace);
      for (const dst of b.pods) if (src) flows.push({ name: `${s} → ${idOf(storeSvc)} (config store)`, kind: "store", from: { pods: src }, to: dst, port: b.port, via: "pod", required: true, key: `platform:services.${s}.configStore` });
    }
  }
  if (config.messaging.kafka.enabled) {
    const brokers = pods.filter((p) => p.namespace === PLATFORM_NAMESPACES.kafka && p.metadata.labels["strimzi.io/broker-role"] === "true");
    for (const s of [...new Set(graph.topicUse.map((u) => u.service))]) {
      const src = servicePods(s, config.services[s]!.namespace);
      for (const dst of brokers) if (src) flows.push({ name: `${s} → ${dst.id} (Kafka)`, kind: "broker", from: { pods: src }, to: dst, port: KAFKA_TLS_PORT, via: "pod", required: true, key: `platform:services.${s}` });
    }
  }

  // The mesh's data plane → istiod (configuration and certificates over xDS).
  const istiod = svcObj(PLATFORM_NAMESPACES.mesh, "istiod");
  if (istiod) {
    const b = behind(pods, istiod, 15012);
    const proxies = pods.filter((p) => p.metadata.labels["gateway.istio.io/managed"] === "istio.io-mesh-controller" || (p.namespace === PLATFORM_NAMESPACES.mesh && p.metadata.labels["app"] === "ztunnel"));
    for (const p of proxies) for (const dst of b.pods) flows.push({ name: `${p.id} → ${idOf(istiod)} (xDS)`, kind: "control", from: { pods: p }, to: dst, port: b.port, via: { service: "istiod" }, required: true, key: "platform:mesh" });
  }

  // Kubelet → every probe.
  for (const p of pods) {
    const probed = (p.spec["containers"] ?? []).some((c: Obj) => c["readinessProbe"]?.httpGet || c["livenessProbe"]?.httpGet || c["readinessProbe"]?.tcpSocket || c["livenessProbe"]?.tcpSocket);
    if (probed) flows.push({ name: `kubelet → ${p.id} (probes)`, kind: "probe", from: { external: "kubelet" }, to: p, port: 0, via: "pod", required: true, key: "—" });
  }
  return flows;
}

/** Every required flow, evaluated. */
export function flowProofs(objects: readonly LiveObject[], pods: readonly PodSet[], config: PlatformConfig, scraped: ReadonlyMap<string, string>): FlowVerdict[] {
  const flows = requiredFlows(objects, pods, config, scraped);
  // Nothing intercepts or filters: every flow is allowed; still list them.
  if (!config.mesh.enabled && !indexOf(objects).kind("NetworkPolicy").length) return flows.map((flow) => ({ flow, allowed: true, reason: "no mesh and no NetworkPolicy" }));
  const m = meshView(objects, config.cluster.domain, PLATFORM_NAMESPACES.mesh, pods);
  return flows.map((f) => evaluateFlow(m, f));
}
