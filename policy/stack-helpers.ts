/** What stack policies share: the stack's plain workloads, read once from the resource list. */
import type { PolicyResource } from "@pulumi/policy";
import { containersOf, isWorkloadType, metadataOf, parseType, podTemplate, PodTemplate } from "./k8s";

export interface Workload {
  readonly resource: PolicyResource;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: PodTemplate;
  /** Images of every container (all three lists). */
  readonly images: string[];
}

/** Every resource of a workload kind with a pod template, with its namespace ("default" if unset). */
export function workloadsOf(resources: readonly PolicyResource[]): Workload[] {
  return resources.flatMap((r) => {
    // By type first: reading props deserializes them (audit/analyzer.ts), wasted on most resources.
    if (!isWorkloadType(r.type)) return [];
    const pod = podTemplate(r.type, r.props);
    if (!pod) return [];
    const m = metadataOf(r.props);
    const images = containersOf(pod.spec).flatMap((c) => (typeof c.container.image === "string" ? [c.container.image] : []));
    return [{ resource: r, kind: parseType(r.type)!.kind, namespace: m.namespace ?? "default", name: m.name ?? r.name, pod, images }];
  });
}

/** Resources of one kind in one of the given API groups. */
export function ofKind(resources: readonly PolicyResource[], groups: readonly string[], kind: string): PolicyResource[] {
  return resources.filter((r) => {
    const t = parseType(r.type);
    return !!t && t.kind === kind && groups.includes(t.group);
  });
}
