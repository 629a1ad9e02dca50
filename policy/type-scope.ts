/**
 * Resource policies that can tell from the type token alone that they do not apply. Such a policy
 * carries `notApplicableToType`, returning the reason its validateResource passes to
 * notApplicable() for that type (validateResource calls it itself, so the two cannot disagree).
 * CrossGuard ignores the extra field; the in-process analyzer (audit/analyzer.ts) records the same
 * not-applicable verdict without calling the policy, since a throw per resource/policy pair was
 * most of the pack's cost (docs/benchmarks.md).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";

export type TypeScopedPolicy = ResourceValidationPolicy & {
  /** The notApplicable reason for resources of this type, or undefined when the policy may apply. */
  readonly notApplicableToType: (type: string) => string | undefined;
};

/** The reason a policy gives for `type` without looking at props, if it is type-scoped. */
export function notApplicableToType(policy: object, type: string): string | undefined {
  const f = (policy as Partial<TypeScopedPolicy>).notApplicableToType;
  return typeof f === "function" ? f(type) : undefined;
}
