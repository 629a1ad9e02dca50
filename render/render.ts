/** Render one stack in-process: validate config, run the program under mocks, build the model. */
import * as path from "path";
import { auditRun } from "../audit/stack";
import { readPolicyConfig, stackPolicyConfigFile, Verdicts, verdictsMarkdown } from "../audit/verdicts";
import { definePlatform } from "../program";
import type { PlatformConfig } from "../config/schema";
import { runProgram, RunResult } from "./harness";
import { buildModel, RenderModel } from "./model";
import { reportMarkdown, ReportSection } from "./report";
import { platformConfigOf, PROJECT, readStackConfig, ROOT } from "./stack";

export interface Rendered {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly run: RunResult;
  readonly model: RenderModel;
  /** The CrossGuard pack's verdicts on this render (config policy/stacks/<stack>.json if present). */
  readonly verdicts: Verdicts;
  readonly report: string;
}

export interface RenderOptions {
  /** Extra report sections computed from the validated config (the CLI adds the formal models). */
  readonly sections?: (config: PlatformConfig) => Promise<readonly ReportSection[]>;
  /** Called as each step ends (the benchmarks time the steps apart: bench/measure.ts). */
  readonly onPhase?: (phase: RenderPhase) => void;
}

/** The steps of a render, in order. */
export type RenderPhase = "config" | "program" | "model" | "policy" | "report";

/**
 * Renders from a flat config map. Config is validated before the mock runtime starts, so invalid
 * config registers nothing at all (ConfigError propagates).
 */
export async function renderConfig(stack: string, flat: Record<string, string>, options: RenderOptions = {}): Promise<Rendered> {
  const phase = options.onPhase ?? (() => undefined);
  const config = platformConfigOf(flat);
  phase("config");
  const run = await runProgram({ project: PROJECT, stack, config: flat, program: () => definePlatform() });
  phase("program");
  const model = buildModel(run.resources);
  phase("model");
  const policyConfig = stackPolicyConfigFile(stack);
  const verdicts = await auditRun(run, model, policyConfig ? readPolicyConfig(policyConfig) : {});
  phase("policy");
  const sections = [
    { title: "Policy verdicts", body: verdictsMarkdown(verdicts, policyConfig && path.relative(ROOT, policyConfig)) },
    ...(options.sections ? await options.sections(config) : []),
  ];
  const report = reportMarkdown({ stack, config, model, sections });
  phase("report");
  return { stack, config, run, model, verdicts, report };
}

export function renderStack(stack: string): Promise<Rendered> {
  return renderConfig(stack, readStackConfig(stack));
}
