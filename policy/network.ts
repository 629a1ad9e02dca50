/**
 * Every namespace the stack runs workloads in denies ingress by default: a NetworkPolicy there
 * selects all its pods (empty podSelector), lists Ingress among its policyTypes and has no ingress
 * rule. Traffic the mesh does not see (the host network, the API server, a pod outside the mesh)
 * then reaches only what an allow rule names. And no NetworkPolicy has an ingress rule without
 * `from` and without `ports`: such a rule admits every source on every port to the pods it selects,
 * which undoes the default deny for them without saying so.
 *
 * Exempt namespaces (config, each with its reason) are the ones the stack does not own.
 */
import type { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, namespacesWithReasons } from "./config";
import { metadataOf, Obj } from "./k8s";
import { ofKind, Workload, workloadsOf } from "./stack-helpers";

interface NetworkConfig {
  /** Namespaces whose ingress the stack does not govern, with the reason. */
  exemptNamespaces: { namespace: string; reason: string }[];
}

const schema: PolicyConfigSchema = {
  properties: {
    exemptNamespaces: namespacesWithReasons("Namespaces without a default deny on purpose, each with the reason.", [
      { namespace: "kube-system", reason: "Kubernetes system components, governed by the cluster's own provisioning, not by a stack." },
    ]),
  },
};

const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

/** No matchLabels and no matchExpressions: every pod of the namespace. */
function selectsAll(spec: Obj): boolean {
  const sel = spec["podSelector"];
  return !!sel && typeof sel === "object" && Object.keys(sel["matchLabels"] ?? {}).length === 0 && empty(sel["matchExpressions"]);
}

/** Kubernetes' default: Ingress always; Egress only when egress rules are present. */
function policyTypes(spec: Obj): string[] {
  return Array.isArray(spec["policyTypes"]) ? spec["policyTypes"] : ["Ingress", ...(Array.isArray(spec["egress"]) ? ["Egress"] : [])];
}

/** A policy over every pod, for Ingress, with no ingress rule. */
export function isDefaultDeny(p: PolicyResource): boolean {
  const spec = (p.props["spec"] ?? {}) as Obj;
  return selectsAll(spec) && policyTypes(spec).includes("Ingress") && empty(spec["ingress"]);
}

export const networkDefaultDeny: StackValidationPolicy = {
  name: "network-default-deny",
  description: "Every namespace that runs workloads denies ingress by default, and no NetworkPolicy admits every source on every port.",
  severity: "high",
  remediationSteps:
    "Add a NetworkPolicy with podSelector {} and policyTypes [Ingress] and no ingress rules to the namespace, then one allow rule per flow it must admit, each with its sources (from) or its ports.",
  configSchema: schema,
  validateStack: (args, report) => {
    const cfg = configOf<NetworkConfig>(schema, args.getConfig());
    const exempt = new Set(cfg.exemptNamespaces.map((n) => n.namespace));
    const policies = ofKind(args.resources, ["networking.k8s.io"], "NetworkPolicy");
    // Each governed namespace with the first workload found there (named in the finding).
    const firstWorkload = new Map<string, Workload>();
    for (const w of workloadsOf(args.resources)) if (!exempt.has(w.namespace) && !firstWorkload.has(w.namespace)) firstWorkload.set(w.namespace, w);
    const namespaces = [...firstWorkload.keys()].sort();
    if (namespaces.length === 0 && policies.length === 0) args.notApplicable("the stack runs no workloads outside the exempt namespaces and has no NetworkPolicy");
    const nsOf = (p: PolicyResource) => metadataOf(p.props).namespace ?? "default";
    const namespaceObjects = ofKind(args.resources, ["core"], "Namespace");
    for (const ns of namespaces) {
      if (policies.some((p) => nsOf(p) === ns && isDefaultDeny(p))) continue;
      const first = firstWorkload.get(ns)!;
      report(
        `namespace ${ns} has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes Ingress, no rules): ${first.kind} ${ns}/${first.name} is reachable from every pod and node`,
        namespaceObjects.find((n) => metadataOf(n.props).name === ns)?.urn ?? first.resource.urn,
      );
    }
    for (const p of policies) {
      const rules = (p.props["spec"]?.["ingress"] ?? []) as Obj[];
      const open = Array.isArray(rules) ? rules.findIndex((r) => empty(r?.["from"]) && empty(r?.["ports"])) : -1;
      if (open >= 0) report(`NetworkPolicy ${nsOf(p)}/${metadataOf(p.props).name}: ingress rule ${open} has no from and no ports, so it admits every source on every port`, p.urn);
    }
  },
};
