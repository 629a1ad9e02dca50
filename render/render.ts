/** Render one stack in-process: validate config, run the program under mocks, build the model. */
import { definePlatform } from "../program";
import type { PlatformConfig } from "../config/schema";
import { runProgram, RunResult } from "./harness";
import { buildModel, RenderModel } from "./model";
import { reportMarkdown } from "./report";
import { platformConfigOf, PROJECT, readStackConfig } from "./stack";

export interface Rendered {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly run: RunResult;
  readonly model: RenderModel;
  readonly report: string;
}

/**
 * Renders from a flat config map. Config is validated before the mock runtime starts, so invalid
 * config registers nothing at all (ConfigError propagates).
 */
export async function renderConfig(stack: string, flat: Record<string, string>): Promise<Rendered> {
  const config = platformConfigOf(flat);
  const run = await runProgram({ project: PROJECT, stack, config: flat, program: () => definePlatform() });
  const model = buildModel(run.resources);
  return { stack, config, run, model, report: reportMarkdown({ stack, config, model }) };
}

export function renderStack(stack: string): Promise<Rendered> {
  return renderConfig(stack, readStackConfig(stack));
}
