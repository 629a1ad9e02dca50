/** Writes a render model to disk: manifests, Flux objects, report and graph. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dump } from "js-yaml";
import type { K8sObject } from "./gitops";
import type { RenderModel } from "./model";
import { dotGraph, mermaidGraph } from "./report";

// js-yaml: 2.6× faster than `yaml` on the rendered objects (docs/benchmarks.md), and it quotes
// YAML 1.1 booleans such as "on"/"yes", which Kubernetes' YAML 1.1 parser would otherwise read as true.
const yamlDoc = (o: unknown) => dump(o, { lineWidth: -1, noRefs: true });

export function fileNameOf(o: K8sObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
  return `${o.kind}-${ns}${o.metadata.name}.yaml`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
}

/** Writes everything; returns the paths written, relative to `outDir`, and whether the SVG was made. */
export function writeRender(model: RenderModel, report: string, outDir: string): { files: string[]; svg: boolean } {
  const files: string[] = [];
  const dirs = new Set<string>();
  const put = (rel: string, text: string) => {
    const p = path.join(outDir, rel);
    const dir = path.dirname(p);
    if (!dirs.has(dir)) fs.mkdirSync(dir, { recursive: true });
    dirs.add(dir);
    fs.writeFileSync(p, text);
    files.push(rel);
  };
  for (const g of model.groups) {
    const names = g.objects.map(fileNameOf);
    g.objects.forEach((o, i) => put(path.join("manifests", g.dir, names[i]!), yamlDoc(o)));
    // Every Flux Kustomization path must exist, also for a component whose only object is a Secret
    // (supplied out of band): a kustomization.yaml lists exactly the files, nothing else in the folder.
    put(path.join("manifests", g.dir, "kustomization.yaml"), yamlDoc({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names }));
  }
  put(path.join("flux", "kustomizations.yaml"), model.kustomizations.map(yamlDoc).join("---\n"));
  put("report.md", report);
  put("graph.mmd", mermaidGraph(model));
  const dot = dotGraph(model);
  put("graph.dot", dot);
  // A large stack's SVG is megabytes: past spawnSync's default 1 MiB buffer dot was killed and the
  // render said Graphviz was missing (found by the N = 1000 benchmark).
  const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 1 << 30 });
  if (svg.status === 0 && svg.stdout) {
    put("graph.svg", svg.stdout);
    return { files, svg: true };
  }
  return { files, svg: false };
}
