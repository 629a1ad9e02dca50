/**
 * Writes a render to disk: manifests, the GitOps objects (Flux or Argo CD), report and graph.
 *
 * Everything goes to a staging folder inside the output folder first; only a finished render
 * replaces what an earlier one wrote there. The render keeps a list of the files it wrote
 * (LEDGER): the next render removes those it no longer writes (a removed component's files do not
 * linger for GitOps to apply) and never touches a file it did not write (a Git repository's own
 * files, a team's README beside the manifests, another stack's folder). A failed write leaves the
 * earlier render.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dump } from "js-yaml";
import { DEFAULT_GITOPS, gitopsFiles, GitOpsOptions, K8sObject } from "./gitops";
import { groupLevels, RenderModel } from "./model";
import { dotGraph, mermaidGraph } from "./report";

// js-yaml: 2.6× faster than `yaml` on the rendered objects (docs/benchmarks.md), and it quotes
// YAML 1.1 booleans such as "on"/"yes", which Kubernetes' YAML 1.1 parser would otherwise read as true.
const yamlDoc = (o: unknown) => dump(o, { lineWidth: -1, noRefs: true });

export function fileNameOf(o: K8sObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
  return `${o.kind}-${ns}${o.metadata.name}.yaml`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
}

/** What a render writes at the top of its output folder. */
export const RENDER_ENTRIES = ["manifests", "flux", "argocd", "report.md", "graph.mmd", "graph.dot", "graph.svg", "calls.mmd"] as const;

/** The list of files the last render wrote, one path per line, below the output folder. */
export const LEDGER = ".render-files";

/** The staging folder's name inside the output folder. */
export const STAGING = ".rendering";

/** Files written this many at a time: creating files, not the CPU, bounds this step. */
const CONCURRENT_WRITES = 16;

/** A file to write: its path below the output folder and its text, made only when it is written. */
type Pending = readonly [rel: string, text: () => string];

/** More files a render writes beside the model's. */
export interface RenderExtras {
  /** The service call graph (render/compare.ts callGraph), written as calls.mmd. */
  readonly callGraph?: string;
}

/** Writes everything; resolves to the paths written, relative to `outDir`, and whether the SVG was made. */
export async function writeRender(model: RenderModel, report: string, outDir: string, gitops: GitOpsOptions = DEFAULT_GITOPS, extras: RenderExtras = {}): Promise<{ files: string[]; svg: boolean }> {
  const dot = dotGraph(model);
  const svg = svgOf(dot); // Graphviz lays the graph out while the files are written
  const out: Pending[] = [];
  for (const g of model.groups) {
    const names = g.objects.map(fileNameOf);
    g.objects.forEach((o, i) => out.push([path.join("manifests", g.dir, names[i]!), () => yamlDoc(o)]));
    // Every Flux Kustomization path must exist, also for a component whose only object is a Secret
    // (supplied out of band): a kustomization.yaml lists exactly the files, nothing else in the folder.
    out.push([path.join("manifests", g.dir, "kustomization.yaml"), () => yamlDoc({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names })]);
  }
  const levels = groupLevels(model);
  for (const f of gitopsFiles(model.groups, levels, gitops, model.secrets)) out.push([f.path, () => f.objects.map(yamlDoc).join("---\n")]);
  out.push(["report.md", () => report], ["graph.mmd", () => mermaidGraph(model)], ["graph.dot", () => dot]);
  if (extras.callGraph !== undefined) out.push(["calls.mmd", () => extras.callGraph!]);

  const existed = fs.existsSync(outDir);
  // Inside the output folder: the same file system, so the final renames are cheap. One fixed
  // name, cleared first, so a render killed half-way leaves nothing the next one does not remove.
  const staging = path.join(outDir, STAGING);
  try {
    fs.rmSync(staging, { recursive: true, force: true });
    await writeFiles(staging, out);
    const svgText = await svg;
    if (svgText !== undefined) {
      out.push(["graph.svg", () => svgText]);
      await writeFiles(staging, out.slice(-1));
    }
    const written = out.map(([rel]) => rel);
    replaceOwnFiles(outDir, staging, previousFiles(outDir), written);
    fs.rmSync(staging, { recursive: true, force: true });
    return { files: out.map(([rel]) => rel), svg: svgText !== undefined };
  } catch (e) {
    await svg; // no Graphviz left running
    fs.rmSync(staging, { recursive: true, force: true });
    if (!existed && fs.existsSync(outDir) && !fs.readdirSync(outDir).length) fs.rmdirSync(outDir);
    throw e;
  }
}

/**
 * What the last render wrote: its ledger, or, for a folder an older version rendered into (no
 * ledger), every file under RENDER_ENTRIES, which that version replaced as a whole.
 */
function previousFiles(outDir: string): string[] {
  const ledger = path.join(outDir, LEDGER);
  if (fs.existsSync(ledger)) return fs.readFileSync(ledger, "utf8").split("\n").filter(Boolean);
  const walk = (rel: string): string[] => {
    const abs = path.join(outDir, rel);
    if (!fs.existsSync(abs)) return [];
    return fs.statSync(abs).isDirectory() ? fs.readdirSync(abs).flatMap((n) => walk(path.join(rel, n))) : [rel];
  };
  return RENDER_ENTRIES.flatMap((e) => walk(e));
}

/**
 * Moves the staged files into place, removes the files the previous render wrote and this one
 * does not (and the folders that leaves empty), and writes the new ledger last.
 */
function replaceOwnFiles(outDir: string, staging: string, previous: readonly string[], written: readonly string[]): void {
  const now = new Set(written);
  for (const rel of previous) {
    if (now.has(rel) || rel.split(/[\\/]/).includes("..")) continue;
    fs.rmSync(path.join(outDir, rel), { force: true });
    // Folders the removal emptied, up to the output folder.
    for (let dir = path.dirname(path.join(outDir, rel)); dir.startsWith(outDir + path.sep) && fs.existsSync(dir) && !fs.readdirSync(dir).length; dir = path.dirname(dir)) fs.rmdirSync(dir);
  }
  for (const rel of written) {
    const target = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(path.join(staging, rel), target);
  }
  fs.writeFileSync(path.join(staging, LEDGER), [...written].sort().join("\n") + "\n");
  fs.renameSync(path.join(staging, LEDGER), path.join(outDir, LEDGER));
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

/** Graphviz's SVG of the graph, or undefined without Graphviz. Asynchronous, so it runs while the files are written. */
function svgOf(dot: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const p = spawn("dot", ["-Tsvg"]);
    const chunks: Buffer[] = [];
    p.stdout.on("data", (c: Buffer) => chunks.push(c));
    p.on("error", () => resolve(undefined)); // not installed
    p.stdin.on("error", () => undefined); // dot gone before it read everything; its exit code tells
    p.on("close", (code) => resolve(code === 0 && chunks.length ? Buffer.concat(chunks).toString("utf8") : undefined));
    p.stdin.end(dot);
  });
}
