/**
 * The pack's configuration, through each policy's `configSchema` (Pulumi's policy-pack config JSON:
 * `{"<policy>": {"enforcementLevel": "...", ...properties}}`). The engine hands a policy its raw
 * config (`args.getConfig()`), without the schema's defaults, so every policy reads its config
 * through `configOf`, which fills them in from the same schema: one place for each default.
 *
 * Exemptions are keyed by namespace + resource name (+ container) and need a reason. There is no
 * annotation-based self-exemption: an object cannot excuse itself; only the pack's config can.
 */
import type { PolicyConfigSchema, ReportViolation } from "@pulumi/policy";
import { byIdentity, deepFreeze } from "./memo";

/** One exemption: the object (and optionally one container of it) a policy leaves alone, and why. */
export interface Exemption {
  readonly namespace: string;
  /** The object's name; a trailing `*` matches a prefix (names with a content hash, e.g. `etcd-auth-*`). */
  readonly name: string;
  /** A container name; absent: the whole object (pod-level fields included). */
  readonly container?: string;
  readonly reason: string;
}

export const exemptionsProperty = {
  type: "array",
  description: "Objects this policy leaves alone: namespace + name (+ container), each with the reason.",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["namespace", "name", "reason"],
    properties: {
      namespace: { type: "string", minLength: 1 },
      name: { type: "string", minLength: 1 },
      container: { type: "string", minLength: 1 },
      reason: { type: "string", minLength: 10, description: "Why this object may break the policy (reviewed with the config)." },
    },
  },
  default: [],
} as const;

/** A list of whole namespaces a policy leaves alone, each with the reason, and its defaults. */
export function namespacesWithReasons(description: string, defaults: readonly { namespace: string; reason: string }[]) {
  return {
    type: "array",
    description,
    items: {
      type: "object",
      additionalProperties: false,
      required: ["namespace", "reason"],
      properties: { namespace: { type: "string", minLength: 1 }, reason: { type: "string", minLength: 10 } },
    },
    default: defaults,
  } as any;
}

/** Schema of a policy whose only setting is its exemptions. */
export const exemptionsOnly: PolicyConfigSchema = { properties: { exemptions: exemptionsProperty as any } };

const NO_SCHEMA: PolicyConfigSchema = { properties: {} };

/** The schema's defaults (copies, frozen: they are shared). */
const defaultsOf = byIdentity((schema: PolicyConfigSchema): Readonly<Record<string, unknown>> => {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema.properties ?? {})) {
    if (typeof p === "object" && p.default !== undefined) out[k] = structuredClone(p.default);
  }
  return deepFreeze(out);
});

function hasSettings(raw: object): boolean {
  for (const k in raw) if (k !== "enforcementLevel" && (raw as Record<string, unknown>)[k] !== undefined) return true;
  return false;
}

/** Parsed configs per schema, per raw config object (policy/memo.ts). */
const parsed = byIdentity((_schema: PolicyConfigSchema) => new WeakMap<object, object>());

/**
 * The policy's config with the schema's defaults applied (shallow: top-level properties). Read-only
 * (frozen) and parsed once per raw config object: every policy reads its config on every resource.
 */
export function configOf<T extends object>(schema: PolicyConfigSchema | undefined, raw: object | undefined): T {
  const s = schema ?? NO_SCHEMA;
  if (!raw || !hasSettings(raw)) return defaultsOf(s) as T;
  const bySchema = parsed(s);
  let out = bySchema.get(raw);
  if (!out) {
    const o: Record<string, unknown> = { ...defaultsOf(s) };
    for (const [k, v] of Object.entries(raw)) if (v !== undefined && k !== "enforcementLevel") o[k] = v;
    bySchema.set(raw, (out = Object.freeze(o)));
  }
  return out as T;
}

/** The exemption covering this object (and container), if any. */
export function exemptionFor(exemptions: readonly Exemption[], namespace: string, name: string, container?: string): Exemption | undefined {
  const nameMatches = (pattern: string) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name);
  return exemptions.find((e) => e.namespace === namespace && nameMatches(e.name) && (e.container === undefined || e.container === container));
}

/**
 * Reports a finding, or, when an exemption covers it, an advisory note carrying the exemption's
 * reason: an exemption stays visible in every preview instead of silencing the check. The
 * advisory note uses the object form of reportViolation (message + enforcementLevel), which the
 * SDK's analyzer server accepts (server.js makeReportViolationFun) though its typings declare only
 * the string form.
 */
export function reportOrExempt(report: ReportViolation, message: string, exemption: Exemption | undefined, urn?: string): void {
  if (!exemption) report(message, urn);
  else report({ message: `exempted (${exemption.reason}): ${message}`, enforcementLevel: "advisory", ...(urn ? { urn } : {}) } as any);
}
