/**
 * Every workload that runs (or can scale to) more than one replica has a PodDisruptionBudget
 * selecting its pods: without one, a node drain may evict every replica at once.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { metadataOf, selects } from "./k8s";
import { ofKind, workloadsOf } from "./stack-helpers";

const REPLICATED = ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"];

export const pdbForMultiReplicaWorkloads: StackValidationPolicy = {
  name: "pdb-for-multi-replica-workloads",
  description: "Every multi-replica workload (replicas > 1, or an autoscaler that can go above 1) has a PodDisruptionBudget.",
  severity: "medium",
  remediationSteps: "Add a policy/v1 PodDisruptionBudget (maxUnavailable: 1) whose selector matches the workload's pod labels.",
  configSchema: exemptionsOnly,
  validateStack: (args, report) => {
    const cfg = configOf<{ exemptions: Exemption[] }>(exemptionsOnly, args.getConfig());
    // Indexed once (namespace + target, namespace): a scan per workload was quadratic in the stack size.
    const hpaMaxOf = new Map<string, number>();
    for (const h of ofKind(args.resources, ["autoscaling"], "HorizontalPodAutoscaler")) {
      const ref = h.props["spec"]?.["scaleTargetRef"];
      const key = `${metadataOf(h.props).namespace ?? "default"}\u0000${ref?.kind}\u0000${ref?.name}`;
      hpaMaxOf.set(key, Math.max(hpaMaxOf.get(key) ?? 0, Number(h.props["spec"]?.["maxReplicas"] ?? 0)));
    }
    const pdbsIn = new Map<string, PolicyResource[]>();
    for (const p of ofKind(args.resources, ["policy"], "PodDisruptionBudget")) {
      const ns = metadataOf(p.props).namespace ?? "default";
      if (!pdbsIn.has(ns)) pdbsIn.set(ns, []);
      pdbsIn.get(ns)!.push(p);
    }
    for (const w of workloadsOf(args.resources).filter((w) => REPLICATED.includes(w.kind))) {
      const replicas = w.resource.props["spec"]?.["replicas"] ?? 1;
      const hpaMax = Math.max(0, hpaMaxOf.get(`${w.namespace}\u0000${w.kind}\u0000${w.name}`) ?? 0);
      if (replicas <= 1 && hpaMax <= 1) continue;
      const podLabels = (w.pod.metadata["labels"] ?? {}) as Record<string, string>;
      const covered = (pdbsIn.get(w.namespace) ?? []).some((p) => selects(p.props["spec"]?.["selector"], podLabels));
      if (covered) continue;
      const how = hpaMax > 1 ? `autoscales to ${hpaMax}` : `runs ${replicas} replicas`;
      reportOrExempt(report, `${w.kind} ${w.namespace}/${w.name} ${how} and no PodDisruptionBudget selects its pods`, exemptionFor(cfg.exemptions, w.namespace, w.name), w.resource.urn);
    }
  },
};
