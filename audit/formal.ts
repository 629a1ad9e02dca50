/**
 * The formal models as audit findings: a stack whose configuration fails a model (or whose model
 * could not be checked) gets one mandatory stack-level violation per model case, naming the model
 * and the config keys its constants come from (formal/README.md).
 */
import type { PlatformConfig } from "../config/schema";
import type { K8sObject } from "../components/core/objects";
import { FormalVerdict, formalVerdicts } from "../formal/verdicts";
import type { Verdicts, Violation } from "./verdicts";

/** One mandatory violation per model case that did not pass; nothing for the ones that did. */
export function formalViolations(verdicts: readonly FormalVerdict[]): Violation[] {
  return verdicts
    .filter((v) => !v.passed)
    .map((v) => ({
      policy: `formal-${v.model}`,
      enforcementLevel: "mandatory",
      message: `${v.subject}: ${v.status === "failed" ? `${v.property ?? "property"} violated` : v.status}: ${v.summary} [config keys: ${v.keys.join(", ")}]`,
    }));
}

/** The pack's verdicts with the formal findings added as stack-level violations. */
export function withFormal(v: Verdicts, formal: readonly FormalVerdict[]): Verdicts {
  const extra = formalViolations(formal);
  return { ...v, stack: [...v.stack, ...extra], mandatory: v.mandatory + extra.length };
}

/** Runs the models on a stack's config and render, and adds their findings. */
export async function auditFormal(v: Verdicts, config: PlatformConfig, objects: readonly K8sObject[]): Promise<Verdicts> {
  return withFormal(v, await formalVerdicts(config, objects));
}
