/**
 * The deployment critical path: the longest chain of resources `pulumi up` awaits one after the
 * other, against the chain the platform's real dependencies require. Pure: it reads recorded
 * registrations (render/harness.ts), nothing else.
 *
 * An edge "A waits for B" is required when
 * - data: an output of B flows into A's inputs (the harness's propertyDependencies), or
 * - namespace: B is the Namespace A lives in, or
 * - api: B provides or serves A's API group (a CRD of that group, or a Helm release whose chart
 *   installs the CRDs or runs the controller of that group: PROVIDES below), the
 *   CRDs → controllers → custom resources order, or
 * - reference: A's inputs name B (a Secret, ConfigMap or ServiceAccount A mounts or reads).
 * - job: A is a configuration Job of the component whose server B is.
 * Any other edge came from a `dependsOn` that no real dependency explains: it serializes A behind
 * B for nothing, and when A and B sit in different components it serializes unrelated areas.
 * tls/random resources are computed by their providers in no time; they count as zero-length steps.
 */
import type { RecordedResource } from "../render/harness";

/** The part of a registration the analysis reads. */
export type GraphResource = Pick<RecordedResource, "urn" | "type" | "name" | "custom" | "parent" | "dependencies" | "propertyDependencies" | "inputs">;

/**
 * API groups each pinned chart installs the CRDs of, or runs the controller for (chart name as in
 * versions/index.ts; CRD groups as in crds/README.md). A release of another chart provides none.
 */
export const PROVIDES: Readonly<Record<string, readonly string[]>> = {
  base: ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
  istiod: ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io", "gateway.networking.k8s.io"],
  "gateway-crds-helm": ["gateway.envoyproxy.io"],
  "gateway-helm": ["gateway.envoyproxy.io", "gateway.networking.k8s.io"],
  traefik: ["traefik.io", "gateway.networking.k8s.io"],
  "strimzi-kafka-operator": ["kafka.strimzi.io"],
  "prometheus-operator-crds": ["monitoring.coreos.com"],
  "kube-prometheus-stack": ["monitoring.coreos.com"],
  kyverno: ["kyverno.io", "policies.kyverno.io"],
};

/**
 * Releases that cannot become ready before another release is: the chart's pods need it at start.
 * ztunnel gets its certificates and configuration from istiod; istiod needs the Istio CRDs.
 */
export const RELEASE_NEEDS: Readonly<Record<string, readonly string[]>> = {
  ztunnel: ["istiod"],
};

/** Objects a chart reads by a fixed name at start-up (not named in its values): istiod's plug-in CA. */
export const RELEASE_READS: Readonly<Record<string, readonly string[]>> = {
  istiod: ["Secret/cacerts"],
};

export type EdgeReason = "data" | "namespace" | "api" | "reference" | "release" | "job" | "admission" | "none";

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly reason: EdgeReason;
}

export interface CriticalPath {
  /** Longest chain over every recorded edge (URNs, first to deploy first). */
  readonly actual: string[];
  /** Longest chain over the required edges only. */
  readonly minimum: string[];
  /** Awaited steps (tls/random count zero) of each. */
  readonly actualSteps: number;
  readonly minimumSteps: number;
  /** Edges between awaited (Kubernetes) resources that no real dependency explains. */
  readonly unexplained: Edge[];
}

const isAwaited = (r: GraphResource) => r.custom && r.type.startsWith("kubernetes:");
const groupOf = (type: string): string | undefined => /^kubernetes:([^/:]+)\//.exec(type)?.[1];

function namespaceOf(r: GraphResource): string | undefined {
  const i = r.inputs as { metadata?: { namespace?: string }; namespace?: string };
  return r.type === "kubernetes:helm.sh/v3:Release" ? i.namespace : i.metadata?.namespace;
}

/** API groups a resource provides: a CRD its own group, a release its chart's. */
function provided(r: GraphResource): string[] {
  const i = r.inputs as { spec?: { group?: string }; chart?: string };
  if (r.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") return i.spec?.group ? [i.spec.group] : [];
  if (r.type === "kubernetes:helm.sh/v3:Release") return [...(PROVIDES[i.chart ?? ""] ?? [])];
  return [];
}

/** Kinds whose creation creates pods, which admission policies check. */
const POD_CREATORS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"];

/** Why A waits for B. */
export function classify(a: GraphResource, b: GraphResource): EdgeReason {
  if (Object.values(a.propertyDependencies ?? {}).some((urns) => urns.includes(b.urn))) return "data";
  const bName = (b.inputs as { metadata?: { name?: string } }).metadata?.name;
  if (b.type === "kubernetes:core/v1:Namespace" && bName !== undefined && namespaceOf(a) === bName) return "namespace";
  const group = groupOf(a.type);
  const needs = a.type === "kubernetes:helm.sh/v3:Release" ? PROVIDES[(a.inputs as { chart?: string }).chart ?? ""] ?? [] : group ? [group] : [];
  const has = provided(b);
  if (needs.some((g) => has.includes(g)) && a.urn !== b.urn) {
    // A controller release needs the CRDs of the groups it serves; a custom resource its CRDs and controller.
    return "api";
  }
  if (a.type === "kubernetes:helm.sh/v3:Release" && b.type === "kubernetes:helm.sh/v3:Release") {
    const ac = (a.inputs as { chart?: string }).chart ?? "";
    if ((RELEASE_NEEDS[ac] ?? []).includes((b.inputs as { chart?: string }).chart ?? "")) return "release";
  }
  const bKind = b.type.split(":").pop()!;
  if (a.type === "kubernetes:helm.sh/v3:Release" && (RELEASE_READS[(a.inputs as { chart?: string }).chart ?? ""] ?? []).includes(`${bKind}/${bName}`)) return "reference";
  // A configuration Job of a component (etcd auth, NATS streams) runs against that component's server.
  const aKind = a.type.split(":").pop()!;
  // Pods created before the admission policies exist would never have been checked by them.
  if (POD_CREATORS.includes(aKind) && b.type === "kubernetes:kyverno.io/v1:ClusterPolicy") return "admission";
  if (["Job", "CronJob"].includes(aKind) && a.parent === b.parent && ["StatefulSet", "Deployment", "Release"].includes(bKind)) return "job";
  if (bName !== undefined && ["Secret", "ConfigMap", "ServiceAccount", "PersistentVolumeClaim"].includes(b.type.split(":").pop()!) && namespaceOf(a) === namespaceOf(b)) {
    if (JSON.stringify(a.inputs).includes(JSON.stringify(bName))) return "reference";
  }
  return "none";
}

/** Longest chain (by awaited steps) through `edges`; ties broken by URN for a stable result. */
function longest(resources: readonly GraphResource[], deps: (r: GraphResource) => readonly string[]): { path: string[]; steps: number } {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const memo = new Map<string, { steps: number; next?: string }>();
  const visit = (urn: string, stack: Set<string>): number => {
    const hit = memo.get(urn);
    if (hit) return hit.steps;
    if (stack.has(urn)) throw new Error(`dependency cycle through ${urn}`);
    stack.add(urn);
    const r = byUrn.get(urn)!;
    let best = 0;
    let next: string | undefined;
    for (const d of [...deps(r)].sort()) {
      if (!byUrn.has(d)) continue;
      const s = visit(d, stack);
      if (s > best) [best, next] = [s, d];
    }
    stack.delete(urn);
    const steps = best + (isAwaited(r) ? 1 : 0);
    memo.set(urn, { steps, ...(next ? { next } : {}) });
    return steps;
  };
  let top: string | undefined;
  let topSteps = -1;
  for (const r of [...resources].sort((x, y) => x.urn.localeCompare(y.urn))) {
    if (!r.custom) continue;
    const s = visit(r.urn, new Set());
    if (s > topSteps) [top, topSteps] = [r.urn, s];
  }
  const path: string[] = [];
  for (let u = top; u; u = memo.get(u)!.next) path.push(u);
  return { path: path.reverse(), steps: Math.max(0, topSteps) };
}

/** The actual and the minimum critical path of a recorded run, and the edges that lengthen it for nothing. */
export function criticalPath(resources: readonly GraphResource[]): CriticalPath {
  const custom = resources.filter((r) => r.custom);
  const byUrn = new Map(custom.map((r) => [r.urn, r]));
  const reasons = new Map<string, Edge[]>();
  for (const a of custom) {
    reasons.set(
      a.urn,
      a.dependencies.flatMap((d) => {
        const b = byUrn.get(d);
        return b ? [{ from: a.urn, to: d, reason: classify(a, b) }] : [];
      }),
    );
  }
  const actual = longest(custom, (r) => r.dependencies);
  const minimum = longest(custom, (r) => reasons.get(r.urn)!.filter((e) => e.reason !== "none").map((e) => e.to));
  const unexplained = [...reasons.values()].flat().filter((e) => e.reason === "none" && isAwaited(byUrn.get(e.from)!) && isAwaited(byUrn.get(e.to)!));
  return { actual: actual.path, minimum: minimum.path, actualSteps: actual.steps, minimumSteps: minimum.steps, unexplained };
}

/** The component directly below the Platform that a resource belongs to (its area's group). */
export function componentOf(resources: readonly GraphResource[]): (urn: string) => string {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const platform = resources.find((r) => r.type === "platform:index:Platform")?.urn;
  return (urn) => {
    let cur = byUrn.get(urn);
    while (cur && cur.parent !== platform) cur = cur.parent ? byUrn.get(cur.parent) : undefined;
    return cur?.name ?? "?";
  };
}
