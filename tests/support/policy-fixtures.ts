/** Small builders of Kubernetes objects for the policy tests, and a runner over the real pack. */
import { analyzeAll, analyzeResource, AnalyzedResource, Diagnostic, PackConfig } from "../../audit/analyzer";
import { typeToken } from "../../policy/k8s";
import { policies } from "../../policy/policies";

export type Obj = Record<string, any>;

/** A container that passes every resource policy of the pack. */
export function goodContainer(name = "app", over: Obj = {}): Obj {
  return {
    name,
    image: "ghcr.io/acme/app@sha256:" + "a".repeat(64),
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    ...over,
  };
}

/** A pod spec that passes every resource policy: restricted security context at pod level. */
export function goodPodSpec(over: Obj = {}): Obj {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [goodContainer()],
    ...over,
  };
}

const API: Record<string, string> = { Pod: "v1", Deployment: "apps/v1", StatefulSet: "apps/v1", DaemonSet: "apps/v1", ReplicaSet: "apps/v1", Job: "batch/v1", CronJob: "batch/v1" };
export const WORKLOAD_KINDS = Object.keys(API);

/** A workload of `kind` around a pod spec, with pod labels. */
export function workload(kind: string, name: string, spec: Obj, opts: { namespace?: string; labels?: Record<string, string>; replicas?: number; annotations?: Record<string, string> } = {}): Obj {
  const labels = opts.labels ?? { app: name };
  const meta = { name, namespace: opts.namespace ?? "apps" };
  const template = { metadata: { labels, ...(opts.annotations ? { annotations: opts.annotations } : {}) }, spec };
  switch (kind) {
    case "Pod":
      return { apiVersion: "v1", kind, metadata: { ...meta, labels, ...(opts.annotations ? { annotations: opts.annotations } : {}) }, spec };
    case "CronJob":
      return { apiVersion: API[kind], kind, metadata: meta, spec: { schedule: "0 * * * *", jobTemplate: { spec: { template } } } };
    case "Job":
      return { apiVersion: API[kind], kind, metadata: meta, spec: { template } };
    default:
      return { apiVersion: API[kind], kind, metadata: meta, spec: { ...(kind === "DaemonSet" ? {} : { replicas: opts.replicas ?? 1 }), selector: { matchLabels: labels }, template } };
  }
}

export function asResource(o: Obj, i = 0): AnalyzedResource {
  const type = typeToken(o["apiVersion"], o["kind"]);
  return { type, name: o["metadata"]?.["name"] ?? `r${i}`, urn: `urn:pulumi:test::platform::${type}::${o["metadata"]?.["name"] ?? i}-${i}`, props: o };
}

/** The diagnostics of one policy for one object. */
export async function check(policy: string, o: Obj, config: PackConfig = {}): Promise<Diagnostic[]> {
  const r = await analyzeResource(policies, asResource(o), config);
  return r.diagnostics.filter((d) => d.policyName === policy);
}

/** The stack-phase diagnostics of one policy over a set of objects (or prepared resources). */
export async function checkStack(policy: string, objs: (Obj | AnalyzedResource)[], config: PackConfig = {}): Promise<{ diagnostics: Diagnostic[]; notApplicable: boolean }> {
  const resources = objs.map((o, i) => ("urn" in o && "props" in o ? (o as AnalyzedResource) : asResource(o as Obj, i)));
  const { stack } = await analyzeAll(policies.filter((p) => p.name === policy), resources, config);
  return { diagnostics: stack.diagnostics, notApplicable: stack.notApplicable.some((n) => n.policyName === policy) };
}
