/**
 * Every workload that runs (or can scale to) more than one replica has a PodDisruptionBudget
 * selecting its pods: without one, a node drain may evict every replica at once.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { holdsUnknowns, metadataOf, selects } from "./k8s";
import { ofKind, workloadsOf } from "./stack-helpers";

const REPLICATED = ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"];

/**
 * A namespace's PDBs, indexed so that a workload is matched against the few that may select it,
 * not against all of them (quadratic when every service has its PDB in one namespace): a PDB whose
 * selector has matchLabels can only select pods carrying its first label, so it is filed under
 * that key=value; the others (matchExpressions only, empty or odd selectors) are always tried.
 * Props holding an unknown value (preview) are not indexed: there every read may throw, and only
 * the plain scan reads exactly what it always read.
 */
interface PdbIndex {
  readonly byLabel: Map<string, PolicyResource[]>;
  readonly other: PolicyResource[];
}
const labelKey = (k: string, v: unknown) => `${k}\u0000${String(v)}`;

function indexPdb(index: PdbIndex, p: PolicyResource): void {
  if (holdsUnknowns(p.props)) return void index.other.push(p);
  const ml: unknown = p.props["spec"]?.["selector"]?.["matchLabels"];
  const first = ml && typeof ml === "object" ? Object.entries(ml)[0] : undefined;
  if (!first) return void index.other.push(p);
  const key = labelKey(...first);
  if (!index.byLabel.has(key)) index.byLabel.set(key, []);
  index.byLabel.get(key)!.push(p);
}

/** The PDBs that may select pods with these labels (selects() decides). */
function candidates(index: PdbIndex | undefined, labels: Record<string, string>): PolicyResource[] {
  if (!index) return [];
  if (holdsUnknowns(labels)) return [...index.other, ...[...index.byLabel.values()].flat()];
  const out = [...index.other];
  for (const [k, v] of Object.entries(labels)) out.push(...(index.byLabel.get(labelKey(k, v)) ?? []));
  return out;
}

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
    const pdbs = new Map<string, PdbIndex>();
    for (const p of ofKind(args.resources, ["policy"], "PodDisruptionBudget")) {
      const ns = metadataOf(p.props).namespace ?? "default";
      if (!pdbs.has(ns)) pdbs.set(ns, { byLabel: new Map(), other: [] });
      indexPdb(pdbs.get(ns)!, p);
    }
    for (const w of workloadsOf(args.resources).filter((w) => REPLICATED.includes(w.kind))) {
      const replicas = w.resource.props["spec"]?.["replicas"] ?? 1;
      const hpaMax = Math.max(0, hpaMaxOf.get(`${w.namespace}\u0000${w.kind}\u0000${w.name}`) ?? 0);
      if (replicas <= 1 && hpaMax <= 1) continue;
      const podLabels = (w.pod.metadata["labels"] ?? {}) as Record<string, string>;
      const covered = candidates(pdbs.get(w.namespace), podLabels).some((p) => selects(p.props["spec"]?.["selector"], podLabels));
      if (covered) continue;
      const how = hpaMax > 1 ? `autoscales to ${hpaMax}` : `runs ${replicas} replicas`;
      reportOrExempt(report, `${w.kind} ${w.namespace}/${w.name} ${how} and no PodDisruptionBudget selects its pods`, exemptionFor(cfg.exemptions, w.namespace, w.name), w.resource.urn);
    }
  },
};
