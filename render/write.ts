/**
 * Writes a render to disk: manifests, Flux objects, report and graph.
 *
 * The objects are written while the program still runs: `RenderWriter.onRegister` (handed to the
 * harness) takes each plain Kubernetes object as it registers and a worker thread turns it into
 * YAML and writes its file, on the machine's other core. What needs the whole run (Helm releases
 * as Flux objects, kustomization.yaml files, Flux Kustomizations, report, graphs) is written by
 * `finish`. Everything goes to a staging folder inside the output folder; only a finished render
 * replaces what an earlier one wrote there (RENDER_ENTRIES; anything else in the folder, such as a
 * Git repository's own files, is kept). So a failed render leaves the earlier one, and files of
 * removed components do not linger for GitOps to apply.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";
import { dump } from "js-yaml";
import { isKubernetesObject, K8sObject, manifestOf } from "./gitops";
import type { RecordedResource } from "./harness";
import { groupFolder, PLATFORM_TYPE, RenderModel } from "./model";
import { dotGraph, mermaidGraph } from "./report";

// js-yaml: 2.6× faster than `yaml` on the rendered objects (docs/benchmarks.md), and it quotes
// YAML 1.1 booleans such as "on"/"yes", which Kubernetes' YAML 1.1 parser would otherwise read as true.
const YAML_OPTIONS = { lineWidth: -1, noRefs: true } as const;
const yamlDoc = (o: unknown) => dump(o, YAML_OPTIONS);

export function fileNameOf(o: K8sObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
  return `${o.kind}-${ns}${o.metadata.name}.yaml`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
}

/** A file for the writer thread: its path below the output folder and an object (written as YAML) or a text. */
type FileMessage = readonly [rel: string, content: unknown];

/** Objects handed to the thread per message: one message per object cost more than cloning them. */
const BATCH = 64;

/**
 * The writer thread, plain JavaScript run with `eval` (no TypeScript loader in a worker): files
 * are written 16 at a time, because creating files, not the CPU, bounds a lone writer (at N = 1000,
 * 13k files: 0.5-3 s one by one, 0.4-0.6 s sixteen at a time on this machine); folders are made
 * once. Ends with {done} after "end", or {error} at the first failure.
 */
const WRITER_THREAD = `
const { parentPort, workerData } = require("worker_threads");
const fs = require("fs");
const path = require("path");
const { dump } = require(workerData.jsYaml);
const queue = [];
const made = new Set();
let next = 0, writing = 0, ended = false, failed;
function pump() {
  while (!failed && writing < 16 && next < queue.length) {
    const [rel, content] = queue[next];
    queue[next++] = undefined;
    const file = path.join(workerData.dir, rel);
    const dir = path.dirname(file);
    let text;
    try {
      if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
      text = typeof content === "string" ? content : dump(content, workerData.yamlOptions);
    } catch (e) { failed = e; break; }
    writing++;
    fs.writeFile(file, text, (e) => { writing--; if (e && !failed) failed = e; pump(); });
  }
  if (failed && writing === 0) parentPort.postMessage({ error: String(failed && failed.stack || failed) });
  else if (ended && writing === 0 && next === queue.length) parentPort.postMessage({ done: next });
}
parentPort.on("message", (m) => {
  if (m === "end") ended = true; else for (const f of m) queue.push(f);
  pump();
});
`;

/** What a render writes at the top of its output folder: replaced as a whole by the next render. */
export const RENDER_ENTRIES = ["manifests", "flux", "report.md", "graph.mmd", "graph.dot", "graph.svg"] as const;

/** Writes one render into `outDir`; see the file comment. One writer per render. */
export class RenderWriter {
  private readonly staging: string;
  private worker?: Worker;
  private finished?: Promise<number>;
  private batch: FileMessage[] = [];
  /** Files handed to the thread while the program ran. */
  private readonly streamed = new Set<string>();
  private platformUrn?: string;
  /** Registration → its top-level component below the Platform (null: not below it). */
  private readonly roots = new Map<string, RecordedResource | null>();
  private readonly byUrn = new Map<string, RecordedResource>();
  private readonly folders = new Map<string, string>();

  /** Whether this writer made `outDir` (removed again if the render fails). */
  private readonly outDirIsNew: boolean;

  constructor(private readonly outDir: string) {
    this.outDirIsNew = !fs.existsSync(outDir);
    // Inside the output folder: the same file system, so the final renames are cheap.
    this.staging = path.join(outDir, `.rendering-${process.pid}`);
  }

  /** How many object files were handed to the writer thread while the program ran. */
  get streamedFiles(): number {
    return this.streamed.size;
  }

  /** For the harness (RunOptions.onRegister): queues a Kubernetes object's file as the object registers. */
  readonly onRegister = (r: RecordedResource): void => {
    this.byUrn.set(r.urn, r);
    if (r.type === PLATFORM_TYPE) this.platformUrn = r.urn;
    if (!isKubernetesObject(r)) return;
    const root = this.rootOf(r);
    if (!root) return;
    let object: K8sObject | undefined;
    try {
      object = manifestOf(r).object;
    } catch {
      return; // a secret in a plain object: buildModel throws the same error and the render stops
    }
    if (!object) return; // a Secret: left out, listed in the report
    let dir = this.folders.get(root.urn);
    if (!dir) this.folders.set(root.urn, (dir = groupFolder(root).dir));
    const rel = path.join("manifests", dir, fileNameOf(object));
    this.streamed.add(rel);
    this.send([rel, object]);
  };

  /** Writes what needs the whole run, waits for every file, then puts the render in place of `outDir`. */
  async finish(model: RenderModel, report: string): Promise<{ files: string[]; svg: boolean }> {
    const dot = dotGraph(model);
    const svg = svgOf(dot); // Graphviz runs beside the writes
    const files = new Set<string>();
    for (const g of model.groups) {
      const names = g.objects.map(fileNameOf);
      g.objects.forEach((o, i) => {
        const rel = path.join("manifests", g.dir, names[i]!);
        files.add(rel);
        if (!this.streamed.has(rel)) this.send([rel, o]);
      });
      // Every Flux Kustomization path must exist, also for a component whose only object is a Secret
      // (supplied out of band): a kustomization.yaml lists exactly the files, nothing else in the folder.
      const kustomization = path.join("manifests", g.dir, "kustomization.yaml");
      files.add(kustomization);
      this.send([kustomization, { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names }]);
    }
    const stray = [...this.streamed].filter((rel) => !files.has(rel));
    if (stray.length) throw new Error(`render writer: ${stray.length} file(s) written while the program ran are not in the model, e.g. ${stray[0]}`);
    const texts: FileMessage[] = [
      [path.join("flux", "kustomizations.yaml"), model.kustomizations.map(yamlDoc).join("---\n")],
      ["report.md", report],
      ["graph.mmd", mermaidGraph(model)],
      ["graph.dot", dot],
    ];
    const svgText = await svg;
    if (svgText !== undefined) texts.push(["graph.svg", svgText]);
    for (const t of texts) this.send(t);
    await this.end();
    for (const entry of RENDER_ENTRIES) {
      const target = path.join(this.outDir, entry);
      fs.rmSync(target, { recursive: true, force: true });
      if (fs.existsSync(path.join(this.staging, entry))) fs.renameSync(path.join(this.staging, entry), target);
    }
    fs.rmdirSync(this.staging);
    return { files: [...files, ...texts.map(([rel]) => rel)], svg: svgText !== undefined };
  }

  /** After a failed render: stops the thread and removes the staging folder; what `outDir` held is untouched. */
  async abort(): Promise<void> {
    await this.worker?.terminate();
    fs.rmSync(this.staging, { recursive: true, force: true });
    if (this.outDirIsNew && fs.existsSync(this.outDir) && !fs.readdirSync(this.outDir).length) fs.rmdirSync(this.outDir);
  }

  private rootOf(r: RecordedResource): RecordedResource | null {
    const known = this.roots.get(r.urn);
    if (known !== undefined) return known;
    // Parents register before their children, so the chain is known.
    const parent = r.parent ? this.byUrn.get(r.parent) : undefined;
    const root = !parent || !this.platformUrn ? null : r.parent === this.platformUrn ? r : this.rootOf(parent);
    this.roots.set(r.urn, root);
    return root;
  }

  private send(f: FileMessage): void {
    this.batch.push(f);
    if (this.batch.length >= BATCH) this.flush();
  }

  private flush(): void {
    if (!this.batch.length) return;
    this.thread().postMessage(this.batch);
    this.batch = [];
  }

  /** The thread, started with the first file, so a render that fails on its config writes nothing at all. */
  private thread(): Worker {
    if (this.worker) return this.worker;
    fs.rmSync(this.staging, { recursive: true, force: true });
    fs.mkdirSync(this.staging, { recursive: true });
    const worker = new Worker(WRITER_THREAD, {
      eval: true,
      workerData: { dir: this.staging, jsYaml: require.resolve("js-yaml"), yamlOptions: YAML_OPTIONS },
      // The render's 64 MiB semi-spaces (RENDER_NODE_FLAGS) are for the program's promises; the
      // writer's garbage is one document at a time.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.finished = new Promise<number>((resolve, reject) => {
      worker.on("message", (m: { done?: number; error?: string }) => (m.error ? reject(new Error(`render writer: ${m.error}`)) : resolve(m.done!)));
      worker.on("error", reject);
      worker.on("exit", (code) => reject(new Error(`render writer stopped (exit ${code}) before it finished`)));
    });
    this.finished.catch(() => undefined); // awaited in end(); a failure before then must not be unhandled
    return (this.worker = worker);
  }

  private async end(): Promise<void> {
    this.flush();
    const worker = this.thread();
    worker.postMessage("end");
    await this.finished;
    await worker.terminate();
  }
}

/** Graphviz's SVG of the graph, or undefined without Graphviz. Asynchronous, so it runs while files are written. */
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

/** Writes a render from its model alone (no objects streamed while the program ran): tests, `audit --manifests` fixtures. */
export async function writeRender(model: RenderModel, report: string, outDir: string): Promise<{ files: string[]; svg: boolean }> {
  const writer = new RenderWriter(outDir);
  try {
    return await writer.finish(model, report);
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
