/**
 * Placement: schedules every pod set on the stack's cluster profile (platform:cluster.zones ×
 * nodesPerZone, labelled with platform:cluster.nodeLabels) under the scheduler's hard rules, then
 * drains each node in turn.
 *
 * Scheduling (kube-scheduler's filters, no scoring beyond spreading): nodeSelector, required node
 * affinity, required pod affinity and anti-affinity (anti-affinity both ways: an existing pod's
 * term also repels the newcomer), topology spread with DoNotSchedule. Nodes have no taints and no
 * capacity limit (sizes are the cluster's, not the platform's). Long-running sets are placed first,
 * then DaemonSets (one per eligible node), then Jobs and CronJobs, which must fit beside the
 * workloads they serve.
 *
 * Draining node n (kubectl drain --ignore-daemonsets): every PDB that selects a pod on n must allow
 * a disruption, every evicted pod must fit on another node, and every quorum (etcd, Consul, NATS,
 * KRaft controllers) must keep a majority with the members PDBs let go at once.
 */
import type { PlatformConfig } from "../../config/schema";
import { clusterProfile } from "../../config/schema";
import { Obj, selects } from "../../policy/k8s";
import type { Finding } from "./index";
import { gatewayClassOverlay, idOf, indexOf, LiveObject, nsOf, PodSet } from "./pods";

export interface Node {
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** A PodDisruptionBudget, rendered or made by a controller. */
export interface Budget {
  readonly id: string;
  readonly namespace: string;
  readonly selector: Obj;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
}

/** A quorum system and the pod sets whose pods are its members. */
export interface QuorumSet {
  readonly id: string;
  readonly members: readonly PodSet[];
}

export interface PlacementResult {
  readonly nodes: readonly Node[];
  /** Pod set id → node names of its replicas (DaemonSets: every eligible node). */
  readonly placement: ReadonlyMap<string, readonly string[]>;
  readonly budgets: readonly Budget[];
  readonly quorums: readonly { id: string; members: number }[];
  /** Per node: "ok" or why its drain fails. */
  readonly drains: readonly { node: string; ok: boolean; problems: string[] }[];
  readonly findings: readonly Finding[];
  /** Why drains were not checked, when they were not. */
  readonly drainNote?: string;
}

export function nodesOf(zones: readonly string[], perZone: number, nodeLabels: Readonly<Record<string, string>> = {}): Node[] {
  return zones.flatMap((z, zi) =>
    Array.from({ length: perZone }, (_, i) => {
      const name = `node-${zi + 1}-${i + 1}`;
      return { name, labels: { "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", ...nodeLabels, "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": z, "topology.kubernetes.io/region": "region" } };
    }),
  );
}

function exprMatches(e: Obj, labels: Record<string, string>): boolean {
  const v = labels[e["key"]];
  const vals: string[] = e["values"] ?? [];
  switch (e["operator"]) {
    case "In": return v !== undefined && vals.includes(v);
    case "NotIn": return v === undefined || !vals.includes(v);
    case "Exists": return v !== undefined;
    case "DoesNotExist": return v === undefined;
    case "Gt": return v !== undefined && Number(v) > Number(vals[0]);
    case "Lt": return v !== undefined && Number(v) < Number(vals[0]);
    default: return false;
  }
}

/** nodeSelector and required node affinity. */
function nodeFits(spec: Obj, node: Node): boolean {
  for (const [k, v] of Object.entries((spec["nodeSelector"] ?? {}) as Record<string, string>)) if (node.labels[k] !== v) return false;
  const terms: Obj[] | undefined = spec["affinity"]?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length) return terms.some((t) => ((t["matchExpressions"] ?? []) as Obj[]).every((e) => exprMatches(e, node.labels)));
  return true;
}

const termNamespaces = (term: Obj, own: string, nsLabels: (n: string) => Record<string, string>, ns: string): boolean =>
  term["namespaceSelector"] ? Object.keys(term["namespaceSelector"]).length === 0 || selects(term["namespaceSelector"], nsLabels(ns)) : ((term["namespaces"] as string[] | undefined) ?? [own]).includes(ns);

const required = (spec: Obj, kind: "podAffinity" | "podAntiAffinity"): Obj[] => spec["affinity"]?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];

/**
 * Where each pod set's replicas are. Selector matches are computed per (selector, pod set) once and
 * counts per set and node, so a placement costs the sets a rule selects, not every placed pod
 * (a 1000-service stack places some 3000 pods).
 */
class Placement {
  readonly nodesOf = new Map<PodSet, Node[]>();
  readonly podsOn = new Map<Node, number>();
  /** Placed sets whose pods carry required anti-affinity: they can repel newcomers. */
  readonly repellers = new Set<PodSet>();
  constructor(
    readonly all: readonly PodSet[],
    readonly nsLabels: (n: string) => Record<string, string>,
    private readonly matchCache: Map<string, PodSet[]> = new Map(),
  ) {}
  /** A copy without one node's pods (the node drained). */
  without(node: Node): Placement {
    const p = new Placement(this.all, this.nsLabels, this.matchCache);
    for (const [set, nodes] of this.nodesOf) {
      const kept = nodes.filter((n) => n !== node);
      if (kept.length) p.nodesOf.set(set, kept);
      if (kept.length && this.repellers.has(set)) p.repellers.add(set);
    }
    for (const [n, c] of this.podsOn) if (n !== node) p.podsOn.set(n, c);
    return p;
  }
  add(set: PodSet, node: Node): void {
    const l = this.nodesOf.get(set);
    if (l) l.push(node);
    else this.nodesOf.set(set, [node]);
    this.podsOn.set(node, (this.podsOn.get(node) ?? 0) + 1);
    if (required(set.spec, "podAntiAffinity").length) this.repellers.add(set);
  }
  /** Pod sets a term's selector selects, in the namespaces it covers (relative to `own`). */
  selected(term: Obj, selector: Obj, own: string): PodSet[] {
    const key = `${own}\0${JSON.stringify(term["namespaces"] ?? null)}\0${JSON.stringify(term["namespaceSelector"] ?? null)}\0${JSON.stringify(selector)}`;
    let hit = this.matchCache.get(key);
    if (!hit) {
      hit = this.all.filter((p) => termNamespaces(term, own, this.nsLabels, p.namespace) && selects(selector, p.metadata.labels));
      this.matchCache.set(key, hit);
    }
    return hit;
  }
  /** Replicas of `sets` in the domain `key=value`. */
  count(sets: readonly PodSet[], key: string, value: string): number {
    let n = 0;
    for (const s of sets) for (const node of this.nodesOf.get(s) ?? []) if (node.labels[key] === value) n++;
    return n;
  }
}

/** Why `set` cannot go on `node` given what is placed; undefined when it can. */
function podFits(set: PodSet, node: Node, nodes: readonly Node[], st: Placement): string | undefined {
  if (!nodeFits(set.spec, node)) return "nodeSelector/node affinity";
  const inDomain = (sets: readonly PodSet[], key: string) => node.labels[key] !== undefined && st.count(sets, key, node.labels[key]!) > 0;
  for (const t of required(set.spec, "podAntiAffinity")) {
    const sets = st.selected(t, t["labelSelector"] ?? {}, set.namespace).filter((s) => st.nodesOf.has(s));
    const hit = sets.find((s) => inDomain([s], t["topologyKey"]));
    if (hit) return `anti-affinity (${t["topologyKey"]}) with ${hit.id}`;
  }
  for (const r of st.repellers) {
    for (const t of required(r.spec, "podAntiAffinity")) {
      if (termNamespaces(t, r.namespace, st.nsLabels, set.namespace) && selects(t["labelSelector"] ?? {}, set.metadata.labels) && inDomain([r], t["topologyKey"])) return `repelled by ${r.id}'s anti-affinity (${t["topologyKey"]})`;
    }
  }
  for (const t of required(set.spec, "podAffinity")) {
    const sets = st.selected(t, t["labelSelector"] ?? {}, set.namespace).filter((s) => st.nodesOf.has(s));
    if (sets.length === 0 && selects(t["labelSelector"] ?? {}, set.metadata.labels)) continue; // the first pod of a self-affine set may go anywhere
    if (!inDomain(sets, t["topologyKey"])) return `pod affinity (${t["topologyKey"]}) finds no match`;
  }
  for (const c of (set.spec["topologySpreadConstraints"] ?? []) as Obj[]) {
    if ((c["whenUnsatisfiable"] ?? "DoNotSchedule") !== "DoNotSchedule") continue;
    const key = c["topologyKey"];
    if (node.labels[key] === undefined) return `topology spread: node has no ${key}`;
    const eligible = nodes.filter((n) => n.labels[key] !== undefined && nodeFits(set.spec, n));
    const domains = [...new Set(eligible.map((n) => n.labels[key]!))];
    // Spread counts pods of the pod's own namespace only.
    const sets = st.selected({ namespaces: [set.namespace] }, c["labelSelector"] ?? {}, set.namespace);
    const minDomains = Number(c["minDomains"] ?? 1);
    const globalMin = domains.length < minDomains ? 0 : Math.min(...domains.map((d) => st.count(sets, key, d)));
    const self = selects(c["labelSelector"] ?? {}, set.metadata.labels) ? 1 : 0;
    if (st.count(sets, key, node.labels[key]!) + self - globalMin > Number(c["maxSkew"] ?? 1)) return `topology spread (${key}, maxSkew ${c["maxSkew"]})`;
  }
  return undefined;
}

/** Places `n` replicas of `set`; returns the nodes, or the reason the first unplaceable one fails. */
function place(set: PodSet, n: number, nodes: readonly Node[], st: Placement): { nodes: Node[]; failure?: string } {
  const out: Node[] = [];
  for (let i = 0; i < n; i++) {
    const reasons = new Map<string, number>();
    const mine = (node: Node) => (st.nodesOf.get(set) ?? []).filter((x) => x === node).length;
    const fit = nodes
      .filter((node) => {
        const why = podFits(set, node, nodes, st);
        if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
        return !why;
      })
      // Spread like the scheduler's default scoring: fewest pods of this set, then fewest pods.
      .sort((a, b) => mine(a) - mine(b) || (st.podsOn.get(a) ?? 0) - (st.podsOn.get(b) ?? 0))[0];
    if (!fit) return { nodes: out, failure: `replica ${i + 1} of ${n} fits no node: ${[...reasons].map(([r, c]) => `${c} × ${r}`).join("; ")}` };
    st.add(set, fit);
    out.push(fit);
  }
  return { nodes: out };
}

/** Rendered PDBs plus those controllers create (Strimzi per Kafka cluster, Envoy Gateway per EnvoyProxy envoyPDB). */
export function budgetsOf(objects: readonly LiveObject[], pods: readonly PodSet[]): Budget[] {
  const out: Budget[] = objects
    .filter((o) => o.kind === "PodDisruptionBudget")
    .map((o) => ({ id: idOf(o), namespace: nsOf(o), selector: o["spec"]?.selector ?? {}, minAvailable: o["spec"]?.minAvailable, maxUnavailable: o["spec"]?.maxUnavailable }));
  for (const k of objects.filter((o) => o.kind === "Kafka")) {
    const c = k.metadata.name;
    const members = pods.filter((p) => p.kind === "StrimziPodSet" && p.namespace === nsOf(k) && p.metadata.labels["strimzi.io/cluster"] === c);
    const total = members.reduce((n, p) => n + (p.replicas as number), 0);
    const maxU = Number(k["spec"]?.kafka?.template?.podDisruptionBudget?.maxUnavailable ?? 1);
    out.push({ id: `PodDisruptionBudget ${nsOf(k)}/${c}-kafka (Strimzi)`, namespace: nsOf(k), selector: { matchLabels: { "strimzi.io/cluster": c, "strimzi.io/name": `${c}-kafka` } }, minAvailable: Math.max(0, total - maxU) });
    if (k["spec"]?.entityOperator) out.push({ id: `PodDisruptionBudget ${nsOf(k)}/${c}-entity-operator (Strimzi)`, namespace: nsOf(k), selector: { matchLabels: { "strimzi.io/cluster": c, "strimzi.io/name": `${c}-entity-operator` } }, maxUnavailable: 1 });
  }
  const waypointPdb = gatewayClassOverlay(objects, "istio-waypoint", "podDisruptionBudget");
  if (waypointPdb?.["spec"]) {
    for (const p of pods.filter((p) => p.source.startsWith("istiod:"))) {
      out.push({ id: `PodDisruptionBudget ${p.namespace}/${p.name} (istiod)`, namespace: p.namespace, selector: { matchLabels: { "gateway.networking.k8s.io/gateway-name": p.name } }, minAvailable: waypointPdb["spec"].minAvailable, maxUnavailable: waypointPdb["spec"].maxUnavailable });
    }
  }
  for (const p of pods.filter((p) => p.source.startsWith("envoy-gateway:"))) {
    const ep = objects.find((o) => o.kind === "EnvoyProxy" && p.source.includes(idOf(o)));
    const pdb: Obj | undefined = ep?.["spec"]?.provider?.kubernetes?.envoyPDB;
    if (pdb && (pdb["minAvailable"] !== undefined || pdb["maxUnavailable"] !== undefined)) {
      out.push({ id: `PodDisruptionBudget ${p.namespace}/${p.name} (Envoy Gateway)`, namespace: p.namespace, selector: { matchLabels: { "app.kubernetes.io/name": "envoy", "gateway.envoyproxy.io/owning-gateway-name": p.metadata.labels["gateway.envoyproxy.io/owning-gateway-name"]! } }, minAvailable: pdb["minAvailable"], maxUnavailable: pdb["maxUnavailable"] });
    }
  }
  return out;
}

const scaled = (v: number | string, total: number, roundUp: boolean): number => {
  if (typeof v === "number" || /^\d+$/.test(v)) return Number(v);
  const pct = Number(v.replace("%", "")) / 100;
  return roundUp ? Math.ceil(pct * total) : Math.floor(pct * total);
};

/** Disruptions a budget allows with every selected pod healthy. */
export function allowedDisruptions(b: Budget, selected: number): number {
  if (b.maxUnavailable !== undefined) return scaled(b.maxUnavailable, selected, true);
  if (b.minAvailable !== undefined) return selected - scaled(b.minAvailable, selected, true);
  return selected; // neither set: the API server refuses such a PDB; treat as no limit
}

/** The quorum systems among the pod sets. */
export function quorumSets(pods: readonly PodSet[]): QuorumSet[] {
  const out: QuorumSet[] = [];
  const imageName = (i: string) => i.split("@")[0]!.split(":")[0]!.split("/").pop()!;
  for (const p of pods) {
    if (p.kind !== "StatefulSet") continue;
    const images = ((p.spec["containers"] ?? []) as Obj[]).map((c) => imageName(String(c["image"] ?? "")));
    const system = ["etcd", "nats", "consul"].find((s) => images.includes(s));
    if (!system) continue;
    // Consul clients are not voters: only the server StatefulSet is a quorum.
    if (system === "consul" && p.metadata.labels["component"] !== "server") continue;
    out.push({ id: `${system} ${p.id}`, members: [p] });
  }
  const kraft = new Map<string, PodSet[]>();
  for (const p of pods.filter((p) => p.kind === "StrimziPodSet" && p.metadata.labels["strimzi.io/controller-role"] === "true")) {
    const k = `${p.namespace}/${p.metadata.labels["strimzi.io/cluster"]}`;
    kraft.set(k, [...(kraft.get(k) ?? []), p]);
  }
  for (const [k, members] of kraft) out.push({ id: `KRaft controllers of Kafka ${k}`, members });
  return out;
}

export function placementProofs(objects: readonly LiveObject[], pods: readonly PodSet[], config: PlatformConfig): PlacementResult {
  const profile = clusterProfile(config);
  const nodes = nodesOf(profile.zones, profile.nodesPerZone, profile.nodeLabels);
  const nsLabels = indexOf(objects).nsLabels;
  const findings: Finding[] = [];
  const key = (p: PodSet) => (p.chart ? `${p.chart} chart values (affinity / topologySpreadConstraints) or platform:cluster.nodesPerZone` : "platform:cluster.zones / platform:cluster.nodesPerZone");

  const order = (p: PodSet) => (p.kind === "DaemonSet" ? 1 : p.kind === "Job" || p.kind === "CronJob" ? 2 : 0);
  const sets = [...pods].sort((a, b) => order(a) - order(b));
  const st = new Placement(pods, nsLabels);
  const placement = new Map<string, string[]>();
  for (const set of sets) {
    if (set.replicas === "node") {
      const on = nodes.filter((n) => nodeFits(set.spec, n));
      for (const n of on) st.add(set, n);
      placement.set(set.id, on.map((n) => n.name));
      continue;
    }
    const r = place(set, set.replicas, nodes, st);
    placement.set(set.id, r.nodes.map((n) => n.name));
    if (r.failure) findings.push({ proof: "placement", subject: set.id, message: `cannot be scheduled on ${nodes.length} node(s) in ${profile.zones.length} zone(s): ${r.failure}`, key: key(set) });
  }

  const budgets = budgetsOf(objects, pods);
  const quorums = quorumSets(pods);
  const drains: { node: string; ok: boolean; problems: string[] }[] = [];
  let drainNote: string | undefined;
  if (nodes.length < 2) {
    drainNote = `the cluster profile has ${nodes.length} node: draining it stops everything (set platform:cluster.nodesPerZone to check drains)`;
  } else {
    // Pods each budget selects (DaemonSet pods are not evicted by a drain).
    const selectedBy = new Map(budgets.map((b) => [b, pods.filter((p) => p.replicas !== "node" && p.namespace === b.namespace && selects(b.selector, p.metadata.labels))]));
    const onNode = (s: PodSet, node: Node) => (st.nodesOf.get(s) ?? []).filter((n) => n === node).length;
    const placedCount = (s: PodSet) => (st.nodesOf.get(s) ?? []).length;
    for (const node of nodes) {
      const problems: string[] = [];
      const allowedBy = new Map<Budget, number>();
      for (const b of budgets) {
        const sel = selectedBy.get(b)!;
        if (!sel.some((s) => onNode(s, node) > 0)) continue;
        const total = sel.reduce((n, s) => n + placedCount(s), 0);
        const allowed = allowedDisruptions(b, total);
        allowedBy.set(b, allowed);
        if (allowed < 1) problems.push(`${b.id} allows no disruption (${total} pods selected, ${b.minAvailable !== undefined ? `minAvailable ${b.minAvailable}` : `maxUnavailable ${b.maxUnavailable}`})`);
      }
      // Evicted pods must fit elsewhere, with the node cordoned.
      const rest = st.without(node);
      const others = nodes.filter((n) => n !== node);
      for (const [set, at] of st.nodesOf) {
        if (set.replicas === "node" || set.kind === "Job" || set.kind === "CronJob") continue; // DaemonSets stay; Jobs rerun
        const evicted = at.filter((n) => n === node).length;
        if (!evicted) continue;
        const r = place(set, evicted, others, rest);
        if (r.failure) problems.push(`${set.id} cannot be rescheduled: ${r.failure.replace(/^replica \d+ of \d+ /, "")}`);
      }
      for (const q of quorums) {
        const total = q.members.reduce((n, s) => n + placedCount(s), 0);
        const here = q.members.reduce((n, s) => n + onNode(s, node), 0);
        if (!here) continue;
        // With a PDB over the members, evictions go one budget at a time; without one, all at once.
        const budget = [...allowedBy].filter(([b]) => q.members.every((m) => m.namespace === b.namespace && selects(b.selector, m.metadata.labels))).map(([, a]) => a);
        const down = budget.length ? Math.min(here, ...budget.map((a) => Math.max(a, 0))) : here;
        const majority = Math.floor(total / 2) + 1;
        if (total - down < majority) problems.push(`${q.id} loses its majority: ${down} of ${total} members go down at once (majority ${majority})`);
      }
      drains.push({ node: node.name, ok: problems.length === 0, problems });
      for (const p of problems) findings.push({ proof: "placement", subject: `drain of ${node.name} (${node.labels["topology.kubernetes.io/zone"]})`, message: p, key: "PodDisruptionBudgets / platform:cluster.nodesPerZone" });
    }
  }
  return { nodes, placement, budgets, quorums: quorums.map((q) => ({ id: q.id, members: q.members.reduce((n, m) => n + (m.replicas === "node" ? 0 : m.replicas), 0) })), drains, findings, ...(drainNote ? { drainNote } : {}) };
}
