/**
 * The engine side of CrossGuard, in-process: what the Pulumi CLI and @pulumi/policy's analyzer
 * server (server.js) do around a policy, reproduced so tests, `npm run audit` and the render run
 * the pack's policies exactly as `pulumi preview --policy-pack policy` would:
 * - enforcement level: the policy's config, else the pack config's `all`, else the policy's own
 *   level, else the pack's (mandatory); `disabled` skips the policy, `remediate` reports as mandatory;
 * - props are plain JSON (Pulumi secrets unwrapped, as the SDK deserializes them with
 *   proxySecrets=false) wrapped in the SDK's own `unknownCheckingProxy`; an unknown value read
 *   during preview turns into an advisory "can't run policy during preview" diagnostic (props
 *   without any unknown value are handed over unwrapped: there the proxy could never fire, and its
 *   trap on every property read was a large share of the pack's cost, docs/benchmarks.md);
 * - `notApplicable()` throws and marks the policy not applicable to that resource/stack;
 * - `getConfig()` returns the policy's raw config without enforcementLevel (no schema defaults);
 * - a string violation's message is the policy description + "\n" + the message; an object one
 *   keeps its own message and may lower the enforcement level (as exemptions do);
 * - the config is validated against each policy's configSchema first, as the CLI does (proven
 *   valid without a schema compile where it can be: ./config-validity.ts).
 */
import Ajv, { ValidateFunction } from "ajv";
import { unknownCheckingProxy, UnknownValueError } from "@pulumi/policy";
import { notApplicableToType } from "../policy/type-scope";
import { provenValid } from "./config-validity";
import type { EnforcementLevel, Policies, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

/** Pack-level default enforcement (policy/index.ts). */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";

/** A resource as the engine hands it to the analyzer. */
export interface AnalyzedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Inputs, with Pulumi secrets possibly still wrapped (they are unwrapped here). */
  readonly props: Record<string, unknown>;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
}

/** One diagnostic, as the analyzer returns it. */
export interface Diagnostic {
  readonly policyName: string;
  /** Full message (description + "\n" + detail for string reports). */
  readonly message: string;
  /** The specific finding (the message the policy passed). */
  readonly detail: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly severity?: string;
  /** The resource the violation is about (resource policies: always the analyzed one). */
  readonly urn?: string;
}

export interface NotApplicable {
  readonly policyName: string;
  readonly urn?: string;
  readonly reason?: string;
}

export interface AnalysisResult {
  readonly diagnostics: Diagnostic[];
  readonly notApplicable: NotApplicable[];
}

/** Policy-pack config in Pulumi's file format: `{"<policy>": "<level>" | {enforcementLevel?, ...}, "all": ...}`. */
export type PackConfig = Record<string, unknown>;

type Normalized = Record<string, { enforcementLevel?: EnforcementLevel } & Record<string, unknown>>;

const LEVELS = ["advisory", "mandatory", "remediate", "disabled"];
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export class PolicyConfigError extends Error {}

let ajv: Ajv | undefined;
const schemas = new WeakMap<object, object>();
const validators = new WeakMap<object, ValidateFunction>();
/**
 * The policy's config schema as the CLI builds it (pkg/resource/analyzer convertSchema):
 * `{type: object, properties, required}`. The CLI does not reject undeclared top-level
 * properties, so neither does this; `configWarnings` points them out.
 */
function schemaOf(p: Policies[number]): object {
  let s = schemas.get(p);
  if (!s) schemas.set(p, (s = { type: "object", properties: p.configSchema?.properties ?? {}, required: p.configSchema?.required ?? [] }));
  return s;
}
/** Compiled only for a config provenValid cannot vouch for: most runs never pay for a compile. */
function validatorOf(p: Policies[number]): ValidateFunction {
  let v = validators.get(p);
  if (!v) validators.set(p, (v = (ajv ??= new Ajv({ allErrors: true, strict: false })).compile(schemaOf(p))));
  return v;
}

const entryOf = (v: unknown): Record<string, unknown> => (typeof v === "string" ? { enforcementLevel: v } : ((v ?? {}) as Record<string, unknown>));

/**
 * Parses the pack config as the CLI does (a level string or an object per policy, `all` for
 * every policy) and validates each policy's properties against its configSchema; every problem
 * is reported at once, naming the policy and the path.
 */
export function normalizeConfig(policies: Policies, raw: PackConfig = {}): Normalized {
  const errors: string[] = [];
  const byName = new Map(policies.map((p) => [p.name, p]));
  const out: Normalized = {};
  const levelOf = (key: string, v: unknown): EnforcementLevel | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !LEVELS.includes(v)) {
      errors.push(`${key}: enforcementLevel ${JSON.stringify(v)} is not one of ${LEVELS.join(", ")}`);
      return undefined;
    }
    return v as EnforcementLevel;
  };
  for (const [name, v] of Object.entries(raw)) {
    if (typeof v !== "string" && (typeof v !== "object" || v === null || Array.isArray(v))) {
      errors.push(`${name}: ${JSON.stringify(v)} is not a valid value; must be a string or object`);
      continue;
    }
    const { enforcementLevel, ...props } = entryOf(v);
    const level = levelOf(name, enforcementLevel);
    const p = byName.get(name);
    if (p && !provenValid(schemaOf(p), props)) {
      const validate = validatorOf(p);
      if (!validate(props)) for (const e of validate.errors ?? []) errors.push(`${name}${e.instancePath.replace(/\//g, ".")}: ${e.message}`);
    }
    out[name] = { ...props, ...(level ? { enforcementLevel: level } : {}) };
  }
  const allLevel = out["all"]?.enforcementLevel;
  if (allLevel) for (const p of policies) out[p.name] = { enforcementLevel: allLevel, ...(out[p.name] ?? {}) };
  if (errors.length) throw new PolicyConfigError(`invalid policy pack config:\n  ${errors.join("\n  ")}`);
  return out;
}

/** What the CLI would silently ignore in a pack config: unknown policy names and undeclared properties (typos). */
export function configWarnings(policies: Policies, raw: PackConfig = {}): string[] {
  const byName = new Map(policies.map((p) => [p.name, p]));
  const out: string[] = [];
  for (const [name, v] of Object.entries(raw)) {
    if (name === "all") continue;
    const p = byName.get(name);
    if (!p) {
      out.push(`${name}: no policy of that name in the pack; this entry has no effect`);
      continue;
    }
    const declared = Object.keys(p.configSchema?.properties ?? {});
    for (const k of Object.keys(entryOf(v))) if (k !== "enforcementLevel" && !declared.includes(k)) out.push(`${name}.${k}: not a setting of this policy (settings: ${declared.join(", ") || "none"}); it has no effect`);
  }
  return out;
}

/** Plain JSON as the SDK deserializes it: secrets unwrapped, undefined properties dropped. */
export function plainProps(v: unknown): any {
  if (Array.isArray(v)) return v.map(plainProps);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG_KEY] === SECRET_SIG) return plainProps(o["value"]);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) if (x !== undefined) out[k] = plainProps(x);
    return out;
  }
  return v;
}

// @internal in the SDK's typings, present at runtime: the sentinels unknownCheckingProxy checks for.
const policyProxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
const UNKNOWNS = new Set<unknown>(
  ["Boolean", "Number", "String", "Array", "Asset", "Archive", "Object"].map((k) => policyProxy[`unknown${k}Value`]).filter((v) => v !== undefined),
);
function hasUnknown(v: unknown): boolean {
  if (UNKNOWNS.has(v)) return true;
  if (v && typeof v === "object") for (const x of Array.isArray(v) ? v : Object.values(v)) if (hasUnknown(x)) return true;
  return false;
}

/** Props as a policy sees them: plain, behind the unknown-checking proxy only when they hold an unknown. */
interface Prepared {
  readonly plain: unknown;
  readonly unknown: boolean;
}
const prepare = (r: AnalyzedResource): Prepared => {
  const plain = plainProps(r.props);
  return { plain, unknown: hasUnknown(plain) };
};
const policyProps = (p: Prepared): any => (p.unknown ? unknownCheckingProxy(p.plain) : p.plain);

/**
 * What `notApplicable()` throws. Not an Error on purpose: it is thrown once per policy a resource is
 * not subject to (most resource/policy pairs) and only ever caught here, and capturing a stack
 * trace per throw was the analyzer's largest cost (docs/benchmarks.md).
 */
class NotApplicableError {
  constructor(readonly reason?: string) {}
}
const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicableError(reason);
};

const isResourcePolicy = (p: Policies[number]): p is ResourceValidationPolicy => {
  const v = (p as ResourceValidationPolicy).validateResource;
  return typeof v === "function" || Array.isArray(v);
};
const isStackPolicy = (p: Policies[number]): p is StackValidationPolicy => typeof (p as StackValidationPolicy).validateStack === "function";

function levelFor(p: Policies[number], cfg: Normalized): EnforcementLevel {
  const l = cfg[p.name]?.enforcementLevel || p.enforcementLevel || PACK_ENFORCEMENT;
  return l === "remediate" ? "mandatory" : l;
}

function getConfigFor(name: string, cfg: Normalized) {
  return <T extends object>(): T => {
    const c = cfg[name];
    if (!c) return {} as T;
    const { enforcementLevel: _e, ...props } = c;
    return props as T;
  };
}

function reporter(p: Policies[number], level: EnforcementLevel, sink: Diagnostic[], fixedUrn?: string) {
  return (message: unknown, urn?: string) => {
    if (message && typeof message === "object") {
      const m = message as { message?: string; description?: string; enforcementLevel?: EnforcementLevel; urn?: string; severity?: string };
      const text = m.message || m.description || p.description;
      sink.push({ policyName: p.name, message: text, detail: text, enforcementLevel: m.enforcementLevel || level, ...(p.severity ? { severity: p.severity } : {}), ...(fixedUrn ?? m.urn ? { urn: fixedUrn ?? m.urn } : {}) });
    } else {
      const detail = typeof message === "string" ? message : "";
      sink.push({ policyName: p.name, message: detail ? `${p.description}\n${detail}` : p.description, detail: detail || p.description, enforcementLevel: level, ...(p.severity ? { severity: p.severity } : {}), ...(fixedUrn ?? urn ? { urn: fixedUrn ?? urn } : {}) });
    }
  };
}

const emptyOpts = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

/** Runs the pack's resource policies on one resource (the engine's `analyze` call). */
export async function analyzeResource(policies: Policies, r: AnalyzedResource, config: PackConfig = {}): Promise<AnalysisResult> {
  const cfg = normalizeConfig(policies, config);
  return analyzeResourceWith(policies, r, cfg);
}

/** Per-run memos: deserialized props per resource, type scope per policy and type, level per policy. */
interface RunMemo {
  readonly prepared: (r: AnalyzedResource) => Prepared;
  readonly scope: (p: Policies[number], type: string) => string | undefined;
  readonly level: (p: Policies[number]) => EnforcementLevel;
}
function runMemo(cfg: Normalized): RunMemo {
  const props = new Map<AnalyzedResource, Prepared>();
  const scopes = new Map<Policies[number], Map<string, string | undefined>>();
  const levels = new Map<Policies[number], EnforcementLevel>();
  return {
    prepared: (r) => {
      let p = props.get(r);
      if (!p) props.set(r, (p = prepare(r)));
      return p;
    },
    scope: (p, type) => {
      let byType = scopes.get(p);
      if (!byType) scopes.set(p, (byType = new Map()));
      if (!byType.has(type)) byType.set(type, notApplicableToType(p, type));
      return byType.get(type);
    },
    level: (p) => {
      let l = levels.get(p);
      if (!l) levels.set(p, (l = levelFor(p, cfg)));
      return l;
    },
  };
}

async function analyzeResourceWith(policies: Policies, r: AnalyzedResource, cfg: Normalized, memo: RunMemo = runMemo(cfg)): Promise<AnalysisResult> {
  const diagnostics: Diagnostic[] = [];
  const notApplicable: NotApplicable[] = [];
  // Deserialized once per resource, as the engine's analyzer does (and only if a policy runs on it).
  let resource: Prepared | undefined;
  for (const p of policies) {
    const level = memo.level(p);
    if (level === "disabled" || !isResourcePolicy(p)) continue;
    // The verdict validateResource would reach by calling notApplicable(), without the throw.
    const na = memo.scope(p, r.type);
    if (na !== undefined) {
      notApplicable.push({ policyName: p.name, urn: r.urn, reason: na });
      continue;
    }
    const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!];
    for (const validate of validations) {
      const props = policyProps((resource ??= memo.prepared(r)));
      const args: ResourceValidationArgs = {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: { ...emptyOpts, ...(r.parent ? { parent: r.parent } : {}) },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: getConfigFor(p.name, cfg),
        notApplicable: throwNotApplicable,
      };
      try {
        // Most policies are synchronous: awaiting only promises saves a microtask per pair.
        const done = validate(args, reporter(p, level, diagnostics, r.urn)) as unknown;
        if (done instanceof Promise) await done;
      } catch (e) {
        if (e instanceof UnknownValueError) {
          const text = `can't run policy '${p.name}' during preview: ${(e as Error).message}`;
          diagnostics.push({ policyName: p.name, message: text, detail: text, enforcementLevel: "advisory", urn: r.urn });
        } else if (e instanceof NotApplicableError) {
          notApplicable.push({ policyName: p.name, urn: r.urn, ...(e.reason ? { reason: e.reason } : {}) });
        } else {
          throw new Error(`Error validating resource ${r.urn} with policy '${p.name}': ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
  return { diagnostics, notApplicable };
}

/** Runs the pack's stack policies over all resources (the engine's `analyzeStack` call). */
export async function analyzeStack(policies: Policies, resources: readonly AnalyzedResource[], config: PackConfig = {}): Promise<AnalysisResult> {
  return analyzeStackWith(policies, resources, normalizeConfig(policies, config));
}

async function analyzeStackWith(policies: Policies, resources: readonly AnalyzedResource[], cfg: Normalized, memo: RunMemo = runMemo(cfg)): Promise<AnalysisResult> {
  const diagnostics: Diagnostic[] = [];
  const notApplicable: NotApplicable[] = [];
  // Built once and shared by the stack policies (they only read it); the SDK's server builds one per
  // policy, which cost five passes over every resource per render (docs/benchmarks.md).
  let shared: PolicyResource[] | undefined;
  const stackResources = (): PolicyResource[] => {
    if (shared) return shared;
    const byUrn = new Map<string, PolicyResource>();
    const list: PolicyResource[] = resources.map((r) => {
      // Deserialized on first read: stack policies pick their resources by type before reading props.
      let props: any;
      const pr: PolicyResource = {
        type: r.type,
        get props() {
          return (props ??= policyProps(memo.prepared(r)));
        },
        urn: r.urn,
        name: r.name,
        opts: { ...emptyOpts, ...(r.parent ? { parent: r.parent } : {}) },
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      };
      byUrn.set(r.urn, pr);
      return pr;
    });
    resources.forEach((r, i) => {
      const pr = list[i]!;
      if (r.parent && byUrn.has(r.parent)) pr.parent = byUrn.get(r.parent)!;
      pr.dependencies = (r.dependencies ?? []).flatMap((d) => (byUrn.has(d) ? [byUrn.get(d)!] : []));
    });
    return (shared = list);
  };
  for (const p of policies) {
    const level = levelFor(p, cfg);
    if (level === "disabled" || !isStackPolicy(p)) continue;
    const list = stackResources();
    const args: StackValidationArgs = { resources: list, stackTags: new Map(), getConfig: getConfigFor(p.name, cfg), notApplicable: throwNotApplicable };
    try {
      await Promise.resolve(p.validateStack(args, reporter(p, level, diagnostics)));
    } catch (e) {
      if (e instanceof UnknownValueError) {
        const text = `can't run policy '${p.name}' during preview: ${(e as Error).message}`;
        diagnostics.push({ policyName: p.name, message: text, detail: text, enforcementLevel: "advisory" });
      } else if (e instanceof NotApplicableError) {
        notApplicable.push({ policyName: p.name, ...(e.reason ? { reason: e.reason } : {}) });
      } else {
        throw new Error(`Error validating stack with policy '${p.name}': ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return { diagnostics, notApplicable };
}

/** Both phases over a set of resources: every resource through `analyze`, then `analyzeStack`. */
export async function analyzeAll(policies: Policies, resources: readonly AnalyzedResource[], config: PackConfig = {}): Promise<{ perResource: Map<string, AnalysisResult>; stack: AnalysisResult }> {
  const cfg = normalizeConfig(policies, config);
  // Each resource's props are deserialized once for both phases and every stack policy.
  const memo = runMemo(cfg);
  const perResource = new Map<string, AnalysisResult>();
  for (const r of resources) perResource.set(r.urn, await analyzeResourceWith(policies, r, cfg, memo));
  return { perResource, stack: await analyzeStackWith(policies, resources, cfg, memo) };
}
