/** The policy verdicts of a rendered stack: what `npm run audit -- --stack` and report.md show. */
import * as path from "path";
import { fileNameOf } from "../render/write";
import type { K8sObject } from "../render/gitops";
import { FLUX_NAMESPACE, isHelmChart } from "../render/gitops";
import type { RenderModel } from "../render/model";
import type { RunResult } from "../render/harness";
import type { PackConfig } from "./analyzer";
import { audit, fromRegistrations, Verdicts } from "./verdicts";

/** Where the render writes each registration (null: not written, e.g. a Secret or a component). */
export function renderedFiles(model: RenderModel): (urn: string) => string | null {
  const files = new Map<string, string>();
  for (const g of model.groups) {
    for (const r of g.resources) {
      const i = r.inputs as { kind?: string; metadata?: { name?: string; namespace?: string }; name?: string };
      let obj: Pick<K8sObject, "kind" | "metadata"> | undefined;
      if (isHelmChart(r.type)) obj = { kind: "HelmRelease", metadata: { name: i.name ?? r.name, namespace: FLUX_NAMESPACE } };
      else if (i.kind && i.kind !== "Secret" && i.metadata?.name) obj = { kind: i.kind, metadata: { name: i.metadata.name, ...(i.metadata.namespace ? { namespace: i.metadata.namespace } : {}) } };
      if (obj) files.set(r.urn, path.join("manifests", g.dir, fileNameOf(obj as K8sObject)));
    }
  }
  return (urn) => files.get(urn) ?? null;
}

/** Runs the pack over a render's registrations. */
export function auditRun(run: RunResult, model: RenderModel, config: PackConfig): Promise<Verdicts> {
  return audit(fromRegistrations(run.resources, renderedFiles(model)), config);
}
