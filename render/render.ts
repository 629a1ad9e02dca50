/** Render one stack in-process: validate config, run the program under mocks, build the model. */
import * as path from "path";
import { proveRunning, RunningProofs } from "../audit/running";
import { runningSections } from "../audit/running/report";
import { auditRun } from "../audit/stack";
import { packConfigFor } from "../audit/pack-config";
import { readPolicyConfig, stackPolicyConfigFile, Verdicts, verdictsMarkdown } from "../audit/verdicts";
import type { Platform } from "../components/platform";
import { definePlatform, platformOutputs } from "../program";
import type { PlatformConfig } from "../config/schema";
import { ChartExpander, clusterApiVersions, defaultChartCaches, defaultCrdSources, defaultSubchartDefaults } from "./charts";
import { runProgram, RunResult } from "./harness";
import { buildModel, ChartMode, RenderModel } from "./model";
import { RenderComparison, reportMarkdown, ReportSection } from "./report";
import { platformConfigOf, PROJECT, readStackConfig, ROOT } from "./stack";

export interface Rendered {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly run: RunResult;
  readonly model: RenderModel;
  /** The CrossGuard pack's verdicts on this render (config policy/stacks/<stack>.json if present). */
  readonly verdicts: Verdicts;
  /** Proofs over the running platform (flows, admission, placement, ownership): audit/running. */
  readonly running: RunningProofs;
  readonly report: string;
}

export interface RenderOptions {
  /** Extra report sections computed from the validated config and the rendered objects (the CLI adds the formal models). */
  readonly sections?: (config: PlatformConfig, objects: RunningProofs["objects"]) => Promise<readonly ReportSection[]>;
  /** Called as each step ends (the benchmarks time the steps apart: bench/measure.ts). */
  readonly onPhase?: (phase: RenderPhase) => void;
  /**
   * How Chart registrations become objects. Default: expanded with Helm from the default chart
   * caches (render/charts.ts). `skip: true` leaves each Chart one opaque registration, and the
   * report says the render holds no chart object; only on the user's explicit request.
   */
  readonly charts?: { readonly cacheDirs?: readonly string[]; readonly pull?: boolean; readonly skip?: boolean; readonly templateCacheDir?: string | null; readonly mode?: ChartMode; readonly allowMissingSubcharts?: boolean };
  /** An earlier render (previousRender) to review against: report.md then says what changes. */
  readonly compare?: RenderComparison;
}

/** The steps of a render, in order. */
export type RenderPhase = "config" | "program" | "model" | "policy" | "proofs" | "report";

/**
 * Renders from a flat config map. Config is validated before the mock runtime starts, so invalid
 * config registers nothing at all (ConfigError propagates).
 */
export async function renderConfig(stack: string, flat: Record<string, string>, options: RenderOptions = {}): Promise<Rendered> {
  const config = platformConfigOf(flat);
  options.onPhase?.("config");
  return renderRun(stack, config, flat, () => definePlatform(), options);
}

/**
 * Renders a team's own program: `program` builds a Platform from `config` (already validated:
 * parsePlatformConfig) and whatever else the team adds; everything it registers is rendered,
 * audited and proven like a stack file's platform. The package's entry for programs that import
 * the Platform instead of running this repository's stack-file program.
 */
export async function renderProgram(stack: string, config: PlatformConfig, program: (config: PlatformConfig) => Platform | Promise<Platform>, options: RenderOptions = {}): Promise<Rendered> {
  options.onPhase?.("config");
  return renderRun(stack, config, {}, async () => platformOutputs(await program(config)), options);
}

async function renderRun(stack: string, config: PlatformConfig, flat: Record<string, string>, program: () => unknown, options: RenderOptions): Promise<Rendered> {
  const phase = options.onPhase ?? (() => undefined);
  const charts = options.charts?.skip
    ? undefined
    : new ChartExpander({
        // platform:charts.path needs no entry here: the program then names each chart by its path.
        cacheDirs: options.charts?.cacheDirs ?? defaultChartCaches(),
        kubeVersion: config.cluster.kubernetesVersion,
        apiVersions: clusterApiVersions(config),
        crdSources: defaultCrdSources(),
        ...(options.charts?.pull ? { pull: true } : {}),
        ...((options.charts?.allowMissingSubcharts ?? process.env["PLATFORM_ALLOW_MISSING_SUBCHARTS"] === "1") ? { allowMissingSubcharts: true, subchartDefaults: defaultSubchartDefaults() } : {}),
        ...(options.charts?.templateCacheDir !== undefined ? { templateCacheDir: options.charts.templateCacheDir } : {}),
      });
  const run = await runProgram({ project: PROJECT, stack, config: flat, program, ...(charts ? { charts } : {}) });
  phase("program");
  const model = buildModel(run.resources, options.charts?.mode ?? "rendered");
  phase("model");
  // The stack's pack config file (what CI's preview passes) when there is one, else the same config derived from the stack.
  const policyConfig = stackPolicyConfigFile(stack);
  const verdicts = await auditRun(run, model, policyConfig ? readPolicyConfig(policyConfig) : packConfigFor(config));
  phase("policy");
  const running = proveRunning(run, config);
  phase("proofs");
  const sections = [
    { title: "Policy verdicts", body: verdictsMarkdown(verdicts, policyConfig && path.relative(ROOT, policyConfig)) },
    ...runningSections(running),
    ...(options.sections ? await options.sections(config, running.objects) : []),
  ];
  const report = reportMarkdown({ stack, config, model, sections, ...(charts ? { charts: run.charts } : {}), ...(options.compare ? { compare: options.compare } : {}) });
  phase("report");
  return { stack, config, run, model, verdicts, running, report };
}

export function renderStack(stack: string, options: RenderOptions = {}): Promise<Rendered> {
  return renderConfig(stack, readStackConfig(stack), options);
}
