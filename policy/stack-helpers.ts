/** What stack policies share: the stack's plain workloads and resources by kind, read once from the resource list. */
import type { PolicyResource } from "@pulumi/policy";
import { ContainerRef, containersOf, isWorkloadType, metadataOf, parseType, podTemplate, PodTemplate } from "./k8s";
import { byIdentity } from "./memo";

export interface Workload {
  readonly resource: PolicyResource;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: PodTemplate;
  /** Every container (all three lists). */
  readonly containers: readonly ContainerRef[];
  /** Images of every container (all three lists). */
  readonly images: readonly string[];
}

/**
 * Every resource of a workload kind with a pod template, with its namespace ("default" if unset).
 * Once per resource list (policy/memo.ts): five stack policies read the workloads.
 */
export const workloadsOf = byIdentity((resources: readonly PolicyResource[]): readonly Workload[] =>
  Object.freeze(
    resources.flatMap((r) => {
      // By type first: reading props deserializes them (audit/analyzer.ts), wasted on most resources.
      if (!isWorkloadType(r.type)) return [];
      const pod = podTemplate(r.type, r.props);
      if (!pod) return [];
      const m = metadataOf(r.props);
      const containers = Object.freeze(containersOf(pod.spec));
      const images = Object.freeze(containers.flatMap((c) => (typeof c.container.image === "string" ? [c.container.image] : [])));
      return [Object.freeze({ resource: r, kind: parseType(r.type)!.kind, namespace: m.namespace ?? "default", name: m.name ?? r.name, pod, containers, images })];
    }),
  ),
);

/** The resources of each type token, in stack order; once per resource list. */
const byType = byIdentity((resources: readonly PolicyResource[]): ReadonlyMap<string, readonly PolicyResource[]> => {
  const out = new Map<string, PolicyResource[]>();
  for (const r of resources) {
    const list = out.get(r.type);
    if (list) list.push(r);
    else out.set(r.type, [r]);
  }
  for (const list of out.values()) Object.freeze(list);
  return out;
});

/** Resources of one kind in one of the given API groups, in stack order. */
export function ofKind(resources: readonly PolicyResource[], groups: readonly string[], kind: string): readonly PolicyResource[] {
  const lists: (readonly PolicyResource[])[] = [];
  for (const [type, list] of byType(resources)) {
    const t = parseType(type);
    if (t && t.kind === kind && groups.includes(t.group)) lists.push(list);
  }
  if (lists.length <= 1) return lists[0] ?? [];
  // Several versions of the kind: back to stack order.
  const keep = new Set(lists);
  return resources.filter((r) => keep.has(byType(resources).get(r.type)!));
}
