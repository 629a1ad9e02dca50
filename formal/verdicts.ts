/**
 * The formal check of one stack, as data: `formalVerdicts(config, objects)` maps the parsed config
 * and the rendered objects to model constants (formal/constants.ts), runs every model case through SPIN (formal/run.ts) and returns
 * one verdict per case. `npm run formal`, the render's report and the audit use this one function:
 * a verdict that is not `passed` is a mandatory violation naming the model and the config keys.
 *
 *   import { formalVerdicts } from "./formal/verdicts";
 *   const failing = (await formalVerdicts(config, rendered.running.objects)).filter((v) => !v.passed);
 */
import type { PlatformConfig } from "../config/schema";
import type { K8sObject } from "../components/core/objects";
import { configKeysOf, ModelCase, ModelConstant, modelCases, ModelName } from "./constants";
import { RunOptions, RunStatus, runSpin, TrailStep, trailLines } from "./run";

export interface FormalVerdict {
  readonly model: ModelName;
  /** What the run covers (topics with one replication setting, the retry policy, a saga). */
  readonly subject: string;
  /** passed: exhaustive search, no violation. failed: a counterexample. not-run: spin or gcc
   *  missing, or the config is outside the model's bounds. error: the search did not finish. */
  readonly status: RunStatus;
  /** True only when the model ran to completion and found no violation. */
  readonly passed: boolean;
  /** The config keys the model's constants come from, as `platform:<key.path>`. */
  readonly keys: readonly string[];
  readonly constants: readonly ModelConstant[];
  /** The violated property (failed only). */
  readonly property?: string;
  /** One line: what happened. */
  readonly summary: string;
  /** The counterexample, step by step (failed only). */
  readonly trail: readonly TrailStep[];
}

const platformKey = (k: string) => `platform:${k}`;

function verdictOf(c: ModelCase, r: Awaited<ReturnType<typeof runSpin>>): FormalVerdict {
  const keys = configKeysOf(c).map(platformKey);
  const base = { model: c.model, subject: c.subject, status: r.status, passed: r.status === "passed", keys, constants: c.constants, trail: r.trail };
  switch (r.status) {
    case "passed":
      return { ...base, summary: `no violation in ${r.states} states` };
    case "failed": {
      const last = [...r.trail].reverse().find((s) => s.kind === "violation");
      const what = last ? last.text : `${r.property} violated`;
      return { ...base, property: r.property, summary: `${what} (counterexample of ${r.trail.length} steps; keys: ${keys.join(", ")})` };
    }
    default:
      return { ...base, summary: `did not run: ${r.reason}` };
  }
}

/** Runs every model case of the stack (its config and its render), one after the other (the machines are shared). */
export async function formalVerdicts(config: PlatformConfig, objects: readonly K8sObject[], opts: RunOptions = {}): Promise<FormalVerdict[]> {
  const out: FormalVerdict[] = [];
  for (const c of modelCases(config, objects)) out.push(verdictOf(c, await runSpin(c, opts)));
  return out;
}

/**
 * `N passed, N failed, N not run`: a model that could not run (spin or gcc missing, beyond its
 * bounds, a search that did not finish) is counted as not run, never as passed nor as failed; the
 * commands still exit non-zero for it, since nothing was proven.
 */
export function tally(verdicts: readonly FormalVerdict[]): { passed: number; failed: number; notRun: number } {
  const passed = verdicts.filter((v) => v.passed).length;
  const failed = verdicts.filter((v) => v.status === "failed").length;
  return { passed, failed, notRun: verdicts.length - passed - failed };
}

/** The tally as one line: `3 passed, 0 failed` or `0 passed, 0 failed, 3 not run`. */
export const tallyText = (t: ReturnType<typeof tally>): string => `${t.passed} passed, ${t.failed} failed${t.notRun ? `, ${t.notRun} not run` : ""}`;

/** Plain-text report of one verdict (the CLI's output). */
export function verdictText(v: FormalVerdict): string[] {
  const head = `${v.passed ? "PASS" : v.status === "failed" ? "FAIL" : "NOT RUN"}  ${v.model}: ${v.subject}`;
  const consts = `      constants: ${v.constants.map((k) => `${k.name}=${k.value}`).join(" ")}`;
  if (v.passed) return [head, consts, `      ${v.summary}`];
  const lines = [head, consts, `      ${v.status === "failed" ? `property ${v.property} violated` : v.summary}`, `      config keys: ${v.keys.join(", ")}`];
  if (v.trail.length) lines.push("      counterexample:", ...trailLines(v.trail).map((l) => `      ${l}`));
  return lines;
}

/** The report.md section: one table row per model case, then each counterexample. */
export function formalReportSection(verdicts: readonly FormalVerdict[]): { title: string; body: string } {
  const counts = tally(verdicts);
  const notRun = verdicts.filter((v) => v.status === "not-run" || v.status === "error");
  const out: string[] = [];
  out.push(
    "SPIN models (formal/) checked with this stack's constants: message queue (no acknowledged message lost, producing available within the tolerated failures), circuit breaker with retries (no traffic while open, bounded retries, no retry storm, closes after recovery), sagas (all-or-nothing, compensation only after its step, idempotent, terminate).",
    "",
  );
  if (notRun.length === verdicts.length && verdicts.length > 0) {
    out.push(`**The formal check did not run**: ${notRun[0]!.summary.replace(/^did not run: /, "")}. Nothing below is a pass.`, "");
  }
  const violated = verdicts.filter((v) => v.status === "failed").length;
  out.push(
    `**${tallyText(counts)}**${violated ? " — a failing model is a mandatory violation: change the config keys it names." : ""}${counts.notRun ? " — a model that did not run proves nothing." : ""}`,
    "",
  );
  out.push("| model | covers | verdict | config keys |", "| --- | --- | --- | --- |");
  for (const v of verdicts) {
    const verdict = v.passed ? "passed" : v.status === "failed" ? `**FAILED**: ${v.property}` : `**did not run**: ${v.summary.replace(/^did not run: /, "")}`;
    out.push(`| ${v.model} | ${v.subject} | ${verdict} | ${v.keys.map((k) => `\`${k}\``).join(", ")} |`);
  }
  for (const v of verdicts.filter((x) => x.status === "failed")) {
    out.push("", `Counterexample for ${v.model} (${v.subject}), constants ${v.constants.map((k) => `${k.name}=${k.value}`).join(" ")}:`, "", "```", ...trailLines(v.trail), "```");
  }
  return { title: "Formal models", body: out.join("\n") };
}
