/**
 * Runs one model case through SPIN: `spin -a` generates the verifier, gcc compiles it, `pan`
 * searches the state space exhaustively within its bounds, all in a temporary directory. pan exits
 * 0 even when it finds a violation, so the verdict comes from its `errors: N` line; on a violation
 * the trail is replayed with `spin -t -p` and turned into readable steps.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { definesOf, ModelCase } from "./constants";

export type RunStatus = "passed" | "failed" | "not-run" | "error";

/** One step of a counterexample. */
export interface TrailStep {
  /** Step number in spin's replay. */
  readonly step: number;
  /** The Promela process that took the step (`cluster`, `client`, `orchestrator`...). */
  readonly process: string;
  /** event: the model's own narration; violation: the property it breaks; cycle: the start of the
   *  infinite loop of a liveness counterexample; statement: a raw Promela statement (models
   *  without narration). */
  readonly kind: "event" | "violation" | "cycle" | "statement";
  readonly text: string;
  /** How many identical steps in a row this one stands for. */
  readonly repeat: number;
}

export interface SpinResult {
  readonly status: RunStatus;
  /** pan's `errors: N` (undefined when pan did not finish). */
  readonly errors?: number;
  /** The violated property (`durable`, `no-storm`, `closes (liveness)`...). */
  readonly property?: string;
  /** States pan stored: the size of the search. */
  readonly states?: number;
  readonly trail: readonly TrailStep[];
  /** Why the run did not happen or did not finish (not-run, error). */
  readonly reason?: string;
  /** pan's output, for debugging. */
  readonly panOutput: string;
}

export interface RunOptions {
  /** spin executable (default `spin` on PATH). */
  readonly spin?: string;
  /** C compiler (default `gcc`). */
  readonly cc?: string;
  /** Per-command time limit in ms (default 120 s). */
  readonly timeoutMs?: number;
  /** pan's maximum search depth (default 1,000,000 steps). */
  readonly maxDepth?: number;
}

interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly missing: boolean;
  readonly timedOut: boolean;
}

function exec(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
      resolve({
        code: e ? (typeof e.code === "number" ? e.code : null) : 0,
        stdout: String(stdout ?? ""),
        stderr: String(stderr ?? ""),
        missing: e?.code === "ENOENT",
        timedOut: Boolean(e?.killed),
      });
    });
  });
}

const STEP = /^\s*(\d+):\s+proc\s+\S+\s+\((.+?):\d+\)\s+\S+:\d+\s+\(state \d+\)\s+\[(.*)\]\s*$/;
const NARRATION = /^\s*(EVENT|VIOLATION): (.*)$/;

/**
 * Turns `spin -t -p` output into steps: the model's narration (EVENT/VIOLATION lines) with the step
 * number and process of the statement that printed it, the start of a liveness cycle, and the raw
 * statements when the model does not narrate. Consecutive identical steps are folded together.
 */
export function parseTrail(replay: string, cycle = replay.includes("<<<<<START OF CYCLE>>>>>")): TrailStep[] {
  const narrated: TrailStep[] = [];
  const statements: TrailStep[] = [];
  // spin prints a printf's output before the step line of the printf itself: narration waits
  // for that line to learn its step number and process.
  const waiting: { kind: "event" | "violation"; text: string }[] = [];
  let step = 0;
  let proc = "";
  const fold = (list: TrailStep[], s: Omit<TrailStep, "repeat">) => {
    const last = list[list.length - 1];
    if (last && last.kind === s.kind && last.text === s.text && last.process === s.process) list[list.length - 1] = { ...last, repeat: last.repeat + 1 };
    else list.push({ ...s, repeat: 1 });
  };
  const flush = () => {
    for (const w of waiting.splice(0)) fold(narrated, { step, process: proc, ...w });
  };
  for (const line of replay.split("\n")) {
    const st = STEP.exec(line);
    if (st) {
      step = Number(st[1]);
      proc = st[2]!.replace(/^:(.*):$/, "$1");
      if (st[3]!.startsWith("printf(")) {
        const w = waiting.shift();
        if (w) fold(narrated, { step, process: proc, ...w });
      } else fold(statements, { step, process: proc, kind: "statement", text: st[3]! });
      continue;
    }
    if (cycle && line.includes("<<<<<START OF CYCLE>>>>>")) {
      flush();
      const marker = { step, process: proc, kind: "cycle" as const, text: "from here the run repeats forever" };
      fold(narrated, marker);
      fold(statements, marker);
      continue;
    }
    const n = NARRATION.exec(line);
    if (n) waiting.push({ kind: n[1] === "VIOLATION" ? "violation" : "event", text: n[2]!.trim() });
  }
  flush();
  return narrated.some((s) => s.kind !== "cycle") ? narrated : statements;
}

/** Renders steps as text lines, one per step. */
export function trailLines(trail: readonly TrailStep[]): string[] {
  return trail.map((s) => {
    const rep = s.repeat > 1 ? ` (×${s.repeat})` : "";
    const mark = s.kind === "violation" ? "✗ " : s.kind === "cycle" ? "↻ " : "";
    return `${String(s.step).padStart(5)}  ${s.process.padEnd(12)} ${mark}${s.text}${rep}`;
  });
}

/** Name of the model's LTL claim, for liveness counterexamples. */
function ltlName(file: string): string | undefined {
  return /^\s*ltl\s+(\w+)/m.exec(fs.readFileSync(file, "utf8"))?.[1];
}

/** Runs one case; never throws for a missing tool or a violation (they are results). */
export async function runSpin(c: ModelCase, opts: RunOptions = {}): Promise<SpinResult> {
  const spin = opts.spin ?? "spin";
  const cc = opts.cc ?? "gcc";
  const timeout = opts.timeoutMs ?? 120_000;
  if (c.outOfBounds) return { status: "not-run", reason: c.outOfBounds, trail: [], panOutput: "" };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `formal-${c.model}-`));
  try {
    const model = path.basename(c.file);
    fs.copyFileSync(c.file, path.join(dir, model));
    const defines = definesOf(c);
    const gen = await exec(spin, ["-a", ...defines, model], dir, timeout);
    if (gen.missing) return { status: "not-run", reason: `spin is not installed (no ${spin}; apt-get install spin)`, trail: [], panOutput: "" };
    if (gen.code !== 0 || !fs.existsSync(path.join(dir, "pan.c"))) {
      return { status: "error", reason: `spin -a failed: ${(gen.stdout + gen.stderr).trim().split("\n").slice(0, 5).join(" | ")}`, trail: [], panOutput: "" };
    }
    // -O0: compiling dominates these small searches. Safety-only models: breadth-first search, which yields the shortest counterexample.
    const ccFlags = c.liveness ? [] : ["-DSAFETY", "-DBFS"];
    const build = await exec(cc, ["-O0", "-w", "-DMEMLIM=1024", ...ccFlags, "-o", "pan", "pan.c"], dir, timeout);
    if (build.missing) return { status: "not-run", reason: `a C compiler is not installed (no ${cc}; apt-get install gcc)`, trail: [], panOutput: "" };
    if (build.code !== 0) return { status: "error", reason: `compiling pan.c failed: ${build.stderr.trim().split("\n").slice(0, 5).join(" | ")}`, trail: [], panOutput: "" };
    // Liveness models: depth-first (needed for cycles) with -i, which keeps shortening the
    // counterexample; it costs nothing when there is no violation.
    const panArgs = [`-m${opts.maxDepth ?? 1_000_000}`, ...(c.liveness ? ["-a", "-f", "-i"] : [])];
    const pan = await exec(path.join(dir, "pan"), panArgs, dir, timeout);
    const out = pan.stdout + pan.stderr;
    if (pan.timedOut) return { status: "error", reason: `pan did not finish within ${timeout / 1000} s`, trail: [], panOutput: out };
    const errors = /errors: (\d+)/.exec(out);
    if (!errors) return { status: "error", reason: `pan gave no verdict: ${out.trim().split("\n").slice(-3).join(" | ")}`, trail: [], panOutput: out };
    const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? NaN);
    if (/max search depth too small/.test(out)) {
      return { status: "error", reason: "the search hit pan's depth bound, so it was not exhaustive", trail: [], panOutput: out, errors: Number(errors[1]), states };
    }
    if (Number(errors[1]) === 0) return { status: "passed", errors: 0, states, trail: [], panOutput: out };

    const replay = await exec(spin, ["-t", "-p", ...defines, model], dir, timeout);
    const cycle = /acceptance cycle/.test(out);
    const trail = parseTrail(replay.stdout, cycle);
    const violation = trail.find((s) => s.kind === "violation");
    const failedAssert = /assertion violated\s+(.*?)\s+\(at depth/.exec(out)?.[1];
    const property = cycle
      ? `${ltlName(c.file) ?? "ltl"} (liveness)`
      : violation
        ? violation.text.split(":")[0]!
        : /invalid end state/.test(out)
          ? "deadlock (invalid end state)"
          : `assertion ${failedAssert ?? "violated"}`;
    return { status: "failed", errors: Number(errors[1]), property, states, trail, panOutput: out };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
