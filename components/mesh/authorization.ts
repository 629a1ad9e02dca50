/**
 * Zero-trust authorization as plain data, derived from the service declarations alone.
 *
 * Ambient mode enforces in two places, and the objects follow that:
 * - ztunnel (L4, per node) enforces policies without `targetRefs`, on the destination workload.
 *   It knows the caller's SPIFFE principal but not HTTP methods or paths.
 * - a waypoint (L7, per namespace) enforces policies whose `targetRefs` name a Service (or the
 *   waypoint Gateway itself) for traffic addressed to that Service.
 *
 * Per application namespace: `allow-nothing` (ztunnel default deny). For each service with declared
 * callers: an ALLOW for exactly those principals at the namespace's waypoint, which every namespace
 * with a called service has (the calls' timeouts and breakers are L7); the waypoint also gets its
 * own allow-nothing and ztunnel admits only the waypoint's identity. The gateway's identity is
 * allowed at ztunnel to exactly the exposed services: Traefik and Envoy Gateway send to pod
 * endpoints, not the Service address, so their traffic never passes a waypoint.
 */
import type { K8sObject } from "../core/objects";
import type { ServiceGraph } from "../service-graph";
import { PLATFORM_LABELS } from "../shared/labels";

const SECURITY_API = "security.istio.io/v1";
const labels = PLATFORM_LABELS;

/** The waypoint's name in each namespace that has one; its ServiceAccount has the same name. */
export const WAYPOINT_NAME = "waypoint";

/** One allowed (source principal → destination service) pair, with L7 constraints if declared. */
export interface AllowRule {
  readonly service: string;
  readonly namespace: string;
  readonly principal: string;
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
  /** Where it is enforced. */
  readonly at: "ztunnel" | "waypoint";
}

/** Inputs beside the graph. */
export interface AuthorizationInput {
  /** SPIFFE trust domain (cluster.domain). */
  readonly trustDomain: string;
  /** The gateway data plane's principal; absent when the gateway is off. */
  readonly gatewayPrincipal?: string;
  /** Flagger's loadtester principal, allowed to the progressive services that declare smoke tests (it calls their canary). */
  readonly loadtesterPrincipal?: string;
}

/**
 * Namespaces with a called service: they get a waypoint. Every call carries L7 resilience (its
 * timeout, the mesh's retries, the destination's breaker: components/mesh/traffic.ts), which only a
 * waypoint applies; authorization of methods and paths needs it too.
 */
export function waypointNamespaces(graph: ServiceGraph): string[] {
  const nsOf = new Map(graph.services.map((s) => [s.name, s.namespace]));
  return [...new Set(graph.calls.map((c) => nsOf.get(c.to)!))].sort();
}

/** Principal of a namespace's waypoint. */
export const waypointPrincipal = (trustDomain: string, namespace: string): string => `${trustDomain}/ns/${namespace}/sa/${WAYPOINT_NAME}`;

/** Every allow the platform grants: declared calls, plus the gateway to exposed services. */
export function allowRules(graph: ServiceGraph, input: AuthorizationInput): AllowRule[] {
  const byName = new Map(graph.services.map((s) => [s.name, s]));
  const waypoints = new Set(waypointNamespaces(graph));
  const rules: AllowRule[] = graph.calls.map((c) => {
    const to = byName.get(c.to)!;
    return {
      service: c.to,
      namespace: to.namespace,
      principal: byName.get(c.from)!.principal,
      ...(c.methods ? { methods: c.methods } : {}),
      ...(c.paths ? { paths: c.paths } : {}),
      at: waypoints.has(to.namespace) ? "waypoint" : "ztunnel",
    };
  });
  if (input.gatewayPrincipal) {
    for (const e of graph.exposures) rules.push({ service: e.service, namespace: e.namespace, principal: input.gatewayPrincipal, at: "ztunnel" });
  }
  if (input.loadtesterPrincipal) {
    for (const e of graph.exposures) {
      if (e.progressive?.smokeTests.length) rules.push({ service: e.service, namespace: e.namespace, principal: input.loadtesterPrincipal, at: waypoints.has(e.namespace) ? "waypoint" : "ztunnel" });
    }
  }
  return rules;
}

/** Istio path patterns for a declared path: HTTP prefixes match the path and below; gRPC methods exactly. */
function pathPatterns(protocol: "http" | "grpc", paths: readonly string[]): string[] {
  if (protocol === "grpc") return [...paths];
  return paths.flatMap((p) => (p === "/" ? ["/*"] : [p, `${p.replace(/\/+$/, "")}/*`]));
}

/** AuthorizationPolicies (and waypoints) for every application namespace. */
export function authorizationObjects(graph: ServiceGraph, input: AuthorizationInput): K8sObject[] {
  const out: K8sObject[] = [];
  const rules = allowRules(graph, input);
  const waypoints = new Set(waypointNamespaces(graph));
  const protocolOf = new Map(graph.services.map((s) => [s.name, s.protocol]));
  const canaried = new Set(graph.exposures.filter((e) => e.spec.canary).map((e) => e.service));
  // Flagger's Services of a progressive service: traffic to each passes the waypoint.
  const flaggered = new Set(graph.exposures.filter((e) => e.progressive).map((e) => e.service));

  for (const ns of graph.namespaces) {
    // Default deny at ztunnel: an ALLOW policy with no rules matches nothing.
    out.push({ apiVersion: SECURITY_API, kind: "AuthorizationPolicy", metadata: { name: "allow-nothing", namespace: ns, labels }, spec: {} });
    if (waypoints.has(ns)) {
      out.push({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: WAYPOINT_NAME, namespace: ns, labels: { ...labels, "istio.io/waypoint-for": "service" } },
        spec: { gatewayClassName: "istio-waypoint", listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] },
      });
      // Default deny at the waypoint too, for services that nobody may call.
      out.push({
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: "waypoint-allow-nothing", namespace: ns, labels },
        spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: WAYPOINT_NAME }] },
      });
      // Behind a waypoint, ztunnel sees the waypoint as the caller; the waypoint has checked the real one.
      out.push({
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: "allow-from-waypoint", namespace: ns, labels },
        spec: { action: "ALLOW", rules: [{ from: [{ source: { principals: [waypointPrincipal(input.trustDomain, ns)] } }] }] },
      });
    }
  }

  const services = [...new Set(rules.map((r) => r.service))].sort();
  for (const svc of services) {
    const mine = rules.filter((r) => r.service === svc);
    const ns = mine[0]!.namespace;
    const protocol = protocolOf.get(svc) ?? "http";
    const atWaypoint = mine.filter((r) => r.at === "waypoint");
    const atZtunnel = mine.filter((r) => r.at === "ztunnel");
    if (atWaypoint.length) {
      out.push({
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: `allow-${svc}`, namespace: ns, labels },
        spec: {
          targetRefs: [svc, ...(canaried.has(svc) ? [`${svc}-canary`] : []), ...(flaggered.has(svc) ? [`${svc}-primary`, `${svc}-canary`] : [])].map((name) => ({ group: "", kind: "Service", name })),
          action: "ALLOW",
          rules: atWaypoint.map((r) => ({
            from: [{ source: { principals: [r.principal] } }],
            ...(r.methods || r.paths ? { to: [{ operation: { ...(r.methods ? { methods: [...r.methods] } : {}), ...(r.paths ? { paths: pathPatterns(protocol, r.paths) } : {}) } }] } : {}),
          })),
        },
      });
    }
    if (atZtunnel.length) {
      out.push({
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: { name: atWaypoint.length ? `allow-${svc}-direct` : `allow-${svc}`, namespace: ns, labels },
        spec: {
          // Stable and canary pods (and Flagger's primary, which renames app.kubernetes.io/name)
          // share the instance label: one identity, one policy.
          selector: { matchLabels: { "app.kubernetes.io/instance": svc } },
          action: "ALLOW",
          rules: [{ from: [{ source: { principals: [...new Set(atZtunnel.map((r) => r.principal))].sort() } }] }],
        },
      });
    }
  }
  return out;
}

/**
 * A small evaluator of the policies above, with Istio's ambient semantics, for tests and the
 * report: is a request from `principal` to `service` allowed? `direct` means sent to pod
 * endpoints (as the gateway does); otherwise to the Service address (through a waypoint if any).
 */
export function isAllowed(
  objects: readonly K8sObject[],
  graph: ServiceGraph,
  trustDomain: string,
  req: { principal: string; service: string; direct?: boolean; method?: string; path?: string },
): boolean {
  const svc = graph.services.find((s) => s.name === req.service);
  if (!svc) return false;
  const policies = objects.filter((o) => o.kind === "AuthorizationPolicy" && o.metadata.namespace === svc.namespace) as any[];
  const hasWaypoint = objects.some((o) => o.kind === "Gateway" && o.metadata.namespace === svc.namespace && o.metadata.name === WAYPOINT_NAME);
  const matches = (p: any, principal: string, op?: { method?: string; path?: string }) =>
    (p.spec.rules ?? []).some(
      (r: any) =>
        (r.from ?? []).some((f: any) => (f.source.principals ?? []).includes(principal)) &&
        (r.to === undefined ||
          r.to.some((t: any) => {
            const o = t.operation;
            const methodOk = !o.methods || (op?.method !== undefined && o.methods.includes(op.method));
            const pathOk = !o.paths || (op?.path !== undefined && o.paths.some((pat: string) => (pat.endsWith("*") ? op.path!.startsWith(pat.slice(0, -1)) : op.path === pat)));
            return methodOk && pathOk;
          })),
    );
  // ALLOW semantics: when any ALLOW policy applies, at least one must match.
  const allowedBy = (applicable: any[], principal: string, op?: { method?: string; path?: string }) => applicable.length === 0 || applicable.some((p) => matches(p, principal, op));
  const ztunnelApplies = (p: any) => !p.spec.targetRefs && (!p.spec.selector || p.spec.selector.matchLabels["app.kubernetes.io/instance"] === svc.name);
  const ztunnel = policies.filter(ztunnelApplies);
  if (hasWaypoint && !req.direct) {
    const atWaypoint = policies.filter((p) => (p.spec.targetRefs ?? []).some((t: any) => (t.kind === "Service" && t.name === svc.name) || (t.kind === "Gateway" && t.name === WAYPOINT_NAME)));
    if (!allowedBy(atWaypoint, req.principal, req)) return false;
    return allowedBy(ztunnel, waypointPrincipal(trustDomain, svc.namespace));
  }
  return allowedBy(ztunnel, req.principal);
}
