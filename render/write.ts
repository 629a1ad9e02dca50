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

/** Files written this many at a time: creating files, not the CPU, bounds this step. */
const CONCURRENT_WRITES = 16;

/** A file to write: its path below the output directory and its text, made only when it is written. */
type Pending = readonly [rel: string, text: () => string];

/** Writes everything; resolves to the paths written, relative to `outDir`, and whether the SVG was made. */
export async function writeRender(model: RenderModel, report: string, outDir: string): Promise<{ files: string[]; svg: boolean }> {
  const out: Pending[] = [];
  for (const g of model.groups) {
    const names = g.objects.map(fileNameOf);
    g.objects.forEach((o, i) => out.push([path.join("manifests", g.dir, names[i]!), () => yamlDoc(o)]));
    // Every Flux Kustomization path must exist, also for a component whose only object is a Secret
    // (supplied out of band): a kustomization.yaml lists exactly the files, nothing else in the folder.
    out.push([path.join("manifests", g.dir, "kustomization.yaml"), () => yamlDoc({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names })]);
  }
  out.push([path.join("flux", "kustomizations.yaml"), () => model.kustomizations.map(yamlDoc).join("---\n")]);
  out.push(["report.md", () => report], ["graph.mmd", () => mermaidGraph(model)]);
  const dot = dotGraph(model);
  out.push(["graph.dot", () => dot]);
  // A large stack's SVG is megabytes: past spawnSync's default 1 MiB buffer dot was killed and the
  // render said Graphviz was missing (found by the N = 1000 benchmark).
  const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 1 << 30 });
  const svgMade = svg.status === 0 && !!svg.stdout;
  if (svgMade) out.push(["graph.svg", () => svg.stdout]);
  await writeFiles(outDir, out);
  return { files: out.map(([rel]) => rel), svg: svgMade };
}

/**
 * Writes the files, several at a time: one by one, each file creation waited for the file system
 * (at N = 1000, 13k files: 0.5-3 s one by one, 0.4-0.6 s sixteen at a time on this machine). Each
 * text is made just before its file is written, so the 13k YAML documents are never all in memory.
 */
async function writeFiles(outDir: string, files: readonly Pending[]): Promise<void> {
  for (const dir of new Set(files.map(([rel]) => path.dirname(path.join(outDir, rel))))) fs.mkdirSync(dir, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [rel, text] = files[next++]!;
      await fs.promises.writeFile(path.join(outDir, rel), text());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_WRITES }, worker));
}
