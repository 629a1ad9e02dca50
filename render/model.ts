/**
 * The render model: recorded registrations grouped by component, with the dependency edges
 * between components and the GitOps objects. Pure: no I/O, so tests assert on it directly.
 */
import { INSTALL_ORDER, stageOf } from "../components/install-order";
import type { RecordedResource } from "./harness";
import { fluxKustomization, healthChecksOf, helmReleaseToFlux, isHelmChart, isKubernetesObject, K8sObject, SecretReference, toManifest } from "./gitops";

export const PLATFORM_TYPE = "platform:index:Platform";
/**
 * The group of what a team's own program registers outside the Platform (lib/index.ts users): it
 * is rendered, audited and proven like the rest, after the stages it depends on.
 */
export const PROGRAM_GROUP = "program";

/** The resources of one top-level component of the Platform. */
export interface Group {
  /** Component name (unique below the Platform). */
  readonly name: string;
  /** Component type token. */
  readonly type: string;
  /** Install stage from INSTALL_ORDER. */
  readonly stage: string;
  /** Output directory below manifests/. */
  readonly dir: string;
  readonly resources: RecordedResource[];
  readonly objects: K8sObject[];
  /** Groups this group waits for. */
  readonly dependsOn: string[];
}

export interface RenderModel {
  readonly groups: Group[];
  /** Group-level edges [from, to]: `from` waits for `to`. */
  readonly edges: [string, string][];
  readonly secrets: SecretReference[];
  /** Flux Kustomizations, one per group. */
  readonly kustomizations: K8sObject[];
  /** Every registration, for counting. */
  readonly resources: readonly RecordedResource[];
}

/**
 * How charts are written for GitOps. `rendered` (default): every object a chart expanded to, as
 * plain manifests, exactly what `pulumi up` applies (a chart the render did not expand still
 * becomes a HelmRelease). `helmrelease`: one Flux HelmRelease per chart, with the same chart,
 * version and values, and none of its objects.
 */
export type ChartMode = "rendered" | "helmrelease";

export function buildModel(resources: readonly RecordedResource[], chartMode: ChartMode = "rendered"): RenderModel {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const platform = resources.find((r) => r.type === PLATFORM_TYPE);
  if (!platform) throw new Error("no platform:index:Platform component was registered");

  // The group of a resource is its ancestor directly below the Platform.
  const groupRoot = (r: RecordedResource): RecordedResource | undefined => {
    let cur: RecordedResource | undefined = r;
    while (cur && cur.parent !== platform.urn) cur = cur.parent ? byUrn.get(cur.parent) : undefined;
    return cur;
  };
  const groups = new Map<string, Group>();
  const groupOf = new Map<string, string>();
  for (const r of resources) {
    const root = groupRoot(r);
    if (!root) {
      // Outside the Platform: the stack, providers and the Platform itself are not objects; a
      // team's own Kubernetes objects and charts are, and must not be dropped.
      if (r.type === PLATFORM_TYPE || r.type === "pulumi:pulumi:Stack" || !(isKubernetesObject(r) || isHelmChart(r.type) || (r.parent && isHelmChart(byUrn.get(r.parent)?.type ?? "")))) continue;
      let g = groups.get(PROGRAM_GROUP);
      if (!g) groups.set(PROGRAM_GROUP, (g = { name: PROGRAM_GROUP, type: "program", stage: PROGRAM_GROUP, dir: PROGRAM_GROUP, resources: [], objects: [], dependsOn: [] }));
      groupOf.set(r.urn, PROGRAM_GROUP);
      g.resources.push(r);
      continue;
    }
    let g = groups.get(root.name);
    if (!g) {
      const stage = stageOf(root.type);
      if (!stage) throw new Error(`component type ${root.type} (${root.name}) has no stage in INSTALL_ORDER`);
      const dir = root.name === stage.name ? stage.name : `${stage.name}-${root.name}`;
      g = { name: root.name, type: root.type, stage: stage.name, dir, resources: [], objects: [], dependsOn: [] };
      groups.set(root.name, g);
    }
    groupOf.set(r.urn, g.name);
    if (r !== root) g.resources.push(r);
  }

  // Edges between groups come from real registration dependencies of custom resources: the engine
  // waits only on those (a component's own dependsOn does not hold its children back).
  const edgeSet = new Set<string>();
  for (const r of resources) {
    if (!r.custom) continue;
    const from = groupOf.get(r.urn);
    if (!from) continue;
    for (const d of r.dependencies) {
      // Depending on the Platform itself waits for everything it registers (the engine waits for a component's children).
      const tos = d === platform.urn ? [...groups.keys()] : [groupOf.get(d)];
      for (const to of tos) if (to && to !== from) edgeSet.add(`${from}\u0000${to}`);
    }
  }
  const edges = [...edgeSet].map((e) => e.split("\u0000") as [string, string]).sort();
  for (const [from, to] of edges) groups.get(from)!.dependsOn.push(to);

  const secrets: SecretReference[] = [];
  const releaseOf = (urn: string) => isHelmChart(byUrn.get(urn)?.type ?? "");
  const expanded = new Set<string>();
  for (const r of resources) if (r.parent && releaseOf(r.parent)) expanded.add(r.parent);
  for (const g of groups.values()) {
    for (const r of g.resources) {
      const ofChart = r.parent !== undefined && releaseOf(r.parent);
      if (ofChart && chartMode === "helmrelease") continue;
      if (isHelmChart(r.type) && (chartMode === "helmrelease" || !expanded.has(r.urn))) {
        const deps = r.dependencies.filter(releaseOf).map((u) => ((byUrn.get(u)!.inputs as { name?: string }).name ?? byUrn.get(u)!.name));
        const { objects, secret } = helmReleaseToFlux(r, deps);
        g.objects.push(...objects);
        if (secret) secrets.push({ ...secret, component: g.name });
      } else if (isKubernetesObject(r)) {
        const { object, secret } = toManifest(r);
        if (object) g.objects.push(object);
        if (secret) secrets.push({ ...secret, component: g.name });
      }
    }
  }

  const stageRank = new Map([...INSTALL_ORDER.map((s, i) => [s.name, i] as const), [PROGRAM_GROUP, INSTALL_ORDER.length] as const]);
  const sorted = [...groups.values()].sort((a, b) => stageRank.get(a.stage)! - stageRank.get(b.stage)! || a.name.localeCompare(b.name));
  return {
    groups: sorted,
    edges,
    secrets: secrets.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)),
    kustomizations: sorted.map((g) => fluxKustomization(g.name, `./manifests/${g.dir}`, g.dependsOn, undefined, healthChecksOf(g, secrets))),
    resources,
  };
}

/** Topological levels of the group graph: level n waits only for levels < n. */
export function groupLevels(model: RenderModel): string[][] {
  const level = new Map<string, number>();
  const deps = new Map(model.groups.map((g) => [g.name, g.dependsOn]));
  const visit = (n: string, stack: Set<string>): number => {
    if (level.has(n)) return level.get(n)!;
    if (stack.has(n)) throw new Error(`dependency cycle through ${n}`);
    stack.add(n);
    const l = Math.max(-1, ...(deps.get(n) ?? []).map((d) => visit(d, stack))) + 1;
    stack.delete(n);
    level.set(n, l);
    return l;
  };
  for (const g of model.groups) visit(g.name, new Set());
  const out: string[][] = [];
  for (const [n, l] of level) (out[l] ??= []).push(n);
  return out.map((l) => l.sort());
}
