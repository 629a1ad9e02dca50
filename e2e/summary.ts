/** What an e2e run found, as the lines the CLI prints and the problems that fail it. */
import type { E2eRun } from "./apply";

/** Everything in the run a cluster would not accept or keep, one line each; empty when all went well. */
export function e2eProblems(run: E2eRun): string[] {
  const out: string[] = [];
  for (const o of run.objects) if (o.outcome === "refused") out.push(`refused: ${o.id} (${o.group}): ${o.message}`);
  for (const u of run.unstable) out.push(`second apply changed ${u.id}: ${u.changed}`);
  for (const p of run.pods) if (!p.admitted) out.push(`pod refused: ${p.id} (${p.source}): ${p.message}`);
  for (const c of run.controllerPods) {
    if (c.failed) out.push(`controller could not create pods for ${c.id}: ${c.failed}`);
    else if (c.created < c.expected) out.push(`controller created ${c.created} of ${c.expected} pods for ${c.id}`);
  }
  for (const id of run.inventory.duplicates) out.push(`rendered twice (the second apply overwrites the first): ${id}`);
  for (const id of run.inventory.missing) out.push(`not on the server after apply: ${id}`);
  for (const id of run.inventory.extra) out.push(`on the server but not in the render: ${id}`);
  for (const id of run.remaining ?? []) out.push(`still on the server after deletion: ${id}`);
  return out;
}

/** The run's summary, in the spirit of the engine's own (created, unchanged, deleted). */
export function e2eSummary(stack: string, run: E2eRun): string[] {
  const n = (k: string) => run.objects.filter((o) => o.outcome === k).length;
  const warnings = run.objects.flatMap((o) => o.warnings.map((w) => `${o.id}: ${w}`)).concat(run.pods.flatMap((p) => p.warnings.map((w) => `pod of ${p.id}: ${w}`)));
  const cp = run.controllerPods;
  return [
    `e2e ${stack}: ${run.objects.length} objects on Kubernetes ${run.version}: ${n("applied")} applied, ${n("dry-run")} server-side dry-run (webhooks, API services), ${n("refused")} refused`,
    `e2e ${stack}: second apply: ${run.unstable.length} changed, ${n("applied") - run.unstable.length} unchanged`,
    `e2e ${stack}: pods (one per pod set, dry-run through admission): ${run.pods.filter((p) => p.admitted).length} of ${run.pods.length} admitted`,
    `e2e ${stack}: workload controllers created pods for ${cp.filter((c) => !c.failed && c.created >= c.expected).length} of ${cp.length} Deployments, StatefulSets and Jobs`,
    `e2e ${stack}: inventory: ${run.inventory.missing.length} missing, ${run.inventory.extra.length} extra, ${run.inventory.duplicates.length} rendered twice`,
    run.remaining === undefined ? `e2e ${stack}: not deleted (--keep)` : `e2e ${stack}: deleted: ${run.remaining.length} left`,
    ...warnings.map((w) => `e2e ${stack}: warning: ${w}`),
  ];
}
