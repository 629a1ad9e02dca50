/**
 * One measurement in a fresh process (the mock runtime is process-global, and peak RSS must be per
 * run): `ts-node bench/measure.ts <render|floor|floorAtOnce|grouped|peer> <input.json> [<dump.json>]`. Prints one JSON
 * line (Measurement) on stdout. bench/run.ts spawns it; timings exclude process start and imports.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stats } from "./stats";

/** What one child reports. Times in milliseconds. */
export interface Measurement {
  readonly kind: "render" | "floor" | "floorAtOnce" | "grouped" | "peer";
  readonly wallMs: number;
  /** Render only: time per step (config, program, model, policy, report, write). */
  readonly phases?: Record<string, number>;
  /** Registrations (render, floor) or synthesized objects (peer). */
  readonly resources: number;
  /** Objects written (render: manifests + Flux objects; peer: YAML documents). */
  readonly objects: number;
  /** Peak resident set size of the process, bytes. */
  readonly maxRssBytes: number;
}

/** What the parent hands a child. */
export interface MeasureInput {
  readonly stack: string;
  readonly config?: Record<string, string>;
  /** floor: the registrations to replay; peer: how many services to synthesize. */
  readonly replay?: string;
  readonly services?: number;
  /** render: the folder the output goes below (default the system's temporary folder). */
  readonly outBase?: string;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
/** Policy passes after the second, in one render process; their median is the steady cost. */
export const STEADY_PASSES = 7;

async function render(input: MeasureInput, dump?: string): Promise<Measurement> {
  const { renderConfig } = await import("../render/render");
  const { writeRender } = await import("../render/write");
  const out = fs.mkdtempSync(path.join(input.outBase ?? os.tmpdir(), "bench-render-"));
  const phases: Record<string, number> = {};
  const t0 = now();
  let last = t0;
  const r = await renderConfig(input.stack, input.config!, {
    onPhase: (p) => {
      const t = now();
      phases[p] = t - last;
      last = t;
    },
  });
  await writeRender(r.model, r.report, out);
  const t1 = now();
  phases["write"] = t1 - last;
  fs.rmSync(out, { recursive: true, force: true });
  const objects = r.model.groups.reduce((n, g) => n + g.objects.length, 0) + r.model.kustomizations.length;
  // Peak RSS is taken before the dump below, which only the bench needs.
  const m: Measurement = { kind: "render", wallMs: t1 - t0, phases, resources: r.run.resources.length, objects, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
  // The pack again in the same process: its cost without the first use's compilation (V8 compiles
  // each function on its first call) and cold caches, which the render's single pass pays.
  const { auditRun } = await import("../audit/stack");
  const { readPolicyConfig, stackPolicyConfigFile } = await import("../audit/verdicts");
  const policyConfig = stackPolicyConfigFile(input.stack);
  const config = policyConfig ? readPolicyConfig(policyConfig) : {};
  const passes: number[] = [];
  for (let i = 0; i < 1 + STEADY_PASSES; i++) {
    const t2 = now();
    await auditRun(r.run, r.model, config);
    passes.push(now() - t2);
  }
  phases["policyWarm"] = passes[0]!;
  // V8 tiers a function up only after it has run a while, so the second pass still runs partly
  // interpreted code: the median of the passes after it is the pack's steady cost.
  phases["policySteady"] = stats(passes.slice(1)).median;
  if (dump) {
    // The floor replays exactly these registrations (bench/floor.ts); the critical path reads the graph.
    const { dumpRun } = await import("./floor");
    fs.writeFileSync(dump, JSON.stringify(dumpRun(r.run.resources)));
  }
  return m;
}

/** Replays the dumped registrations (bench/floor.ts): the floor one by one or all at once, or grouped per component. */
async function replay(kind: "floor" | "floorAtOnce" | "grouped", input: MeasureInput): Promise<Measurement> {
  const { replayFloor, replayGrouped } = await import("./floor");
  const dumped = JSON.parse(fs.readFileSync(input.replay!, "utf8")) as { custom: boolean }[];
  const t0 = now();
  const n = await (kind === "grouped" ? replayGrouped(input.stack, dumped as never) : replayFloor(input.stack, dumped as never, kind === "floorAtOnce"));
  const t1 = now();
  return { kind, wallMs: t1 - t0, resources: n, objects: dumped.filter((r) => r.custom).length, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function peer(input: MeasureInput): Promise<Measurement> {
  const { synthPeer } = await import("./peer");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cdk8s-"));
  const t0 = now();
  synthPeer(input.services!, out);
  const t1 = now();
  const n = fs.readdirSync(out).filter((f) => f.endsWith(".yaml")).length;
  fs.rmSync(out, { recursive: true, force: true });
  return { kind: "peer", wallMs: t1 - t0, resources: n, objects: n, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function main(): Promise<void> {
  const [kind, inputFile, dump] = process.argv.slice(2);
  const input = JSON.parse(fs.readFileSync(inputFile!, "utf8")) as MeasureInput;
  const run: Record<string, () => Promise<Measurement>> = { render: () => render(input, dump), floor: () => replay("floor", input), floorAtOnce: () => replay("floorAtOnce", input), grouped: () => replay("grouped", input), peer: () => peer(input) };
  if (!run[kind!]) throw new Error(`unknown measurement ${kind}; expected ${Object.keys(run).join(", ")}`);
  const m = await run[kind!]!();
  process.stdout.write(JSON.stringify(m) + "\n");
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`measure failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
