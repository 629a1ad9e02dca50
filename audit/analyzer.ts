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
import type { TypeScopedPolicy } from "../policy/type-scope";
import { provenValid } from "./config-validity";
import type { EnforcementLevel, Policies, PolicyResource, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

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

// @internal in the SDK's typings, present at runtime: the sentinels unknownCheckingProxy checks for.
const policyProxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
const UNKNOWNS = new Set<unknown>(
  ["Boolean", "Number", "String", "Array", "Asset", "Archive", "Object"].map((k) => policyProxy[`unknown${k}Value`]).filter((v) => v !== undefined),
);
// The sentinels are strings of one length (UUIDs): a string of another length is never one, without hashing it.
const UNKNOWN_LENGTHS = new Set([...UNKNOWNS].map((v) => (typeof v === "string" ? v.length : -1)));
if (UNKNOWN_LENGTHS.size !== 1 || UNKNOWN_LENGTHS.has(-1)) throw new Error("@pulumi/policy: the unknown-value sentinels are not strings of one length; audit/analyzer.ts plainOf must learn to spot them");
const UNKNOWN_LENGTH = [...UNKNOWN_LENGTHS][0]!;

/**
 * Plain JSON as the SDK deserializes it (secrets unwrapped, undefined properties dropped), noting
 * in `seen` whether it holds an unknown value. Copy-on-write: a subtree that is already plain is
 * returned as is, so a render's registrations (plain data, mostly without secrets) are not copied;
 * copying every resource's props was the largest allocation of a run. Policies
 * only read props (tests/policy-memo.test.ts runs the pack over frozen props).
 */
function plainOf(v: unknown, seen: { unknown: boolean }): unknown {
  if (typeof v === "string") {
    if (v.length === UNKNOWN_LENGTH && UNKNOWNS.has(v)) seen.unknown = true;
    return v;
  }
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = plainOf(x, seen);
      if (out === undefined && y !== x) out = v.slice(0, i);
      if (out !== undefined) out.push(y);
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  if (Object.getPrototypeOf(o) !== Object.prototype) {
    if (o[SECRET_SIG_KEY] === SECRET_SIG) return plainOf(o["value"], seen);
    // Not plain data (a class instance, a null-prototype object): copied, as the SDK's deserializer would.
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) if (x !== undefined) out[k] = plainOf(x, seen);
    return out;
  }
  // for-in over a plain object visits its own enumerable keys, as Object.entries, without the array;
  // the secret signature is spotted among them (a lookup of the absent key on every object cost more).
  let out: Record<string, unknown> | undefined;
  const before = seen.unknown;
  for (const k in o) {
    const x = o[k];
    if (k === SECRET_SIG_KEY && x === SECRET_SIG) {
      seen.unknown = before; // only the secret's value counts
      return plainOf(o["value"], seen);
    }
    const y = x === undefined ? x : plainOf(x, seen);
    if (out === undefined && (x === undefined || y !== x)) {
      out = {};
      for (const j in o) {
        if (j === k) break;
        out[j] = o[j]; // the keys before k: defined and already plain
      }
    }
    if (out !== undefined && x !== undefined) out[k] = y;
  }
  return out ?? o;
}

/** Plain JSON as the SDK deserializes it: secrets unwrapped, undefined properties dropped. */
export function plainProps(v: unknown): any {
  return plainOf(v, { unknown: false });
}

/** Props as a policy sees them: plain, behind the unknown-checking proxy only when they hold an unknown. */
interface Prepared {
  readonly plain: unknown;
  readonly unknown: boolean;
}
const prepare = (r: AnalyzedResource): Prepared => {
  const seen = { unknown: false };
  let plain = plainOf(r.props, seen);
  // A fresh top-level object per run: the pack memoizes per props object (policy/memo.ts), and
  // registrations outlive a run (and may change between runs).
  if (plain === r.props) plain = { ...r.props };
  return { plain, unknown: seen.unknown };
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

/**
 * The policy's raw config without enforcementLevel, as the SDK's getConfig returns it. Built once
 * per run (the SDK builds a copy per call): policies only read it, and a stable object lets the
 * pack keep its parsed config for the run (policy/config.ts configOf).
 */
function rawConfigOf(name: string, cfg: Normalized): () => object {
  const c = cfg[name];
  if (!c) {
    const none = {};
    return () => none;
  }
  const { enforcementLevel: _e, ...props } = c;
  return () => props;
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
/** The resource options a policy sees: none are recorded but the parent. */
const optsOf = (r: AnalyzedResource): PolicyResource["opts"] => {
  const o: PolicyResource["opts"] = { protect: false, ignoreChanges: emptyOpts.ignoreChanges, aliases: emptyOpts.aliases, customTimeouts: emptyOpts.customTimeouts, additionalSecretOutputs: emptyOpts.additionalSecretOutputs };
  if (r.parent) o.parent = r.parent;
  return o;
};

/** Runs the pack's resource policies on one resource (the engine's `analyze` call). */
export async function analyzeResource(policies: Policies, r: AnalyzedResource, config: PackConfig = {}): Promise<AnalysisResult> {
  const cfg = normalizeConfig(policies, config);
  return analyzeResourceWith(policies, r, cfg);
}

/** A resource policy that runs in this run (not disabled), with what its calls need. */
interface Active {
  readonly p: ResourceValidationPolicy;
  readonly level: EnforcementLevel;
  readonly validations: readonly ResourceValidation[];
  readonly getConfig: () => object;
}

type Hint = (type: string) => string | undefined;
// A type scope is a pure function of the type token: kept across runs, per hint function (the
// pod policies share theirs, so it is computed once for all of them).
const scopes = new WeakMap<Hint, Map<string, string | undefined>>();
function scopeOf(hint: Hint, type: string): string | undefined {
  let byType = scopes.get(hint);
  if (!byType) scopes.set(hint, (byType = new Map()));
  if (!byType.has(type)) byType.set(type, hint(type));
  return byType.get(type);
}

/** Per-run memos: deserialized props per resource, each policy's level and config, the steps per type. */
interface RunMemo {
  readonly prepared: (r: AnalyzedResource) => Prepared;
  readonly getConfig: (p: Policies[number]) => () => object;
  /** The resource policies of this run, in pack order. */
  readonly active: readonly Active[];
  /**
   * For a resource of this type, per active policy: the notApplicable reason the type alone decides
   * (policy/type-scope.ts), or undefined: the policy runs.
   */
  readonly scopes: (type: string) => readonly (string | undefined)[];
  /** The stack's tags: none offline (the SDK builds an empty map per call; policies only read it). */
  readonly stackTags: Map<string, string>;
}
function runMemo(policies: Policies, cfg: Normalized): RunMemo {
  const props = new Map<AnalyzedResource, Prepared>();
  const configs = new Map<Policies[number], () => object>();
  const byType = new Map<string, readonly (string | undefined)[]>();
  const getConfig = (p: Policies[number]) => {
    let c = configs.get(p);
    if (!c) configs.set(p, (c = rawConfigOf(p.name, cfg)));
    return c;
  };
  const active: Active[] = policies.flatMap((p) => {
    const level = levelFor(p, cfg);
    return level !== "disabled" && isResourcePolicy(p) ? [{ p, level, validations: Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!], getConfig: getConfig(p) }] : [];
  });
  // The distinct type-scope hints (policy/type-scope.ts) and which one each active policy has (-1: none).
  const hints: Hint[] = [];
  const hintOf = active.map(({ p }) => {
    const h = (p as Partial<TypeScopedPolicy>).notApplicableToType;
    if (typeof h !== "function") return -1;
    if (!hints.includes(h)) hints.push(h);
    return hints.indexOf(h);
  });
  return {
    prepared: (r) => {
      let p = props.get(r);
      if (!p) props.set(r, (p = prepare(r)));
      return p;
    },
    getConfig,
    stackTags: new Map(),
    active,
    scopes: (type) => {
      let reasons = byType.get(type);
      if (!reasons) {
        const byHint = hints.map((h) => scopeOf(h, type));
        byType.set(type, (reasons = hintOf.map((h) => (h < 0 ? undefined : byHint[h]))));
      }
      return reasons;
    },
  };
}

const never = () => false;
const nothing = () => undefined;

/**
 * The resource policies on one resource. Synchronous unless a policy returns a promise: the
 * pack's policies are synchronous, and a promise and a microtask per resource were a good part of
 * the analyzer's own cost on large stacks.
 */
function analyzeResourceWith(policies: Policies, r: AnalyzedResource, cfg: Normalized, memo: RunMemo = runMemo(policies, cfg)): AnalysisResult | Promise<AnalysisResult> {
  return new ResourceAnalysis(r, memo).from(0, 0);
}

/** One resource's analysis in progress (an object, not closures: one allocation per resource). */
class ResourceAnalysis {
  readonly out: AnalysisResult = { diagnostics: [], notApplicable: [] };
  readonly #r: AnalyzedResource;
  readonly #memo: RunMemo;
  readonly #scopes: readonly (string | undefined)[];
  // Deserialized once per resource, as the engine's analyzer does (and only if a policy runs on it);
  // opts and stackTags too: the SDK builds them per policy, policies only read them.
  #shared: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name" | "opts" | "stackTags"> | undefined;

  constructor(r: AnalyzedResource, memo: RunMemo) {
    this.#r = r;
    this.#memo = memo;
    this.#scopes = memo.scopes(r.type);
  }

  /** From step i, validation j on; returns the result, or a promise of it once a policy is asynchronous. */
  from(i0: number, j0: number): AnalysisResult | Promise<AnalysisResult> {
    const r = this.#r;
    const active = this.#memo.active;
    const scopes = this.#scopes;
    for (let i = i0; i < active.length; i++) {
      const na = scopes[i];
      // The verdict validateResource would reach by calling notApplicable(), without the call.
      if (na !== undefined) {
        this.out.notApplicable.push({ policyName: active[i]!.p.name, urn: r.urn, reason: na });
        continue;
      }
      const { p, level, validations, getConfig } = active[i]!;
      const shared = (this.#shared ??= { type: r.type, props: policyProps(this.#memo.prepared(r)), urn: r.urn, name: r.name, opts: optsOf(r), stackTags: this.#memo.stackTags });
      for (let j = i === i0 ? j0 : 0; j < validations.length; j++) {
        // Spelled out: a spread of `shared` allocated several times the object itself.
        const args: ResourceValidationArgs = { type: shared.type, props: shared.props, urn: shared.urn, name: shared.name, opts: shared.opts, stackTags: shared.stackTags, isType: never, asType: nothing, getConfig: getConfig as ResourceValidationArgs["getConfig"], notApplicable: throwNotApplicable };
        let done: unknown;
        try {
          done = validations[j]!(args, reporter(p, level, this.out.diagnostics, r.urn));
        } catch (e) {
          this.caught(p, e);
        }
        if (done instanceof Promise) return this.resume(done, p, i, j + 1);
      }
    }
    return this.out;
  }

  // Apart from the loop: a closure in the loop body would capture its bindings, which then cost an
  // allocation per iteration.
  private resume(done: Promise<unknown>, p: Policies[number], i: number, j: number): Promise<AnalysisResult> {
    return done.then(undefined, (e: unknown) => this.caught(p, e)).then(() => this.from(i, j));
  }

  /** What a policy's throw (or rejection) means: a diagnostic, a not-applicable mark, or an error. */
  private caught(p: Policies[number], e: unknown): void {
    const urn = this.#r.urn;
    if (e instanceof UnknownValueError) {
      const text = `can't run policy '${p.name}' during preview: ${(e as Error).message}`;
      this.out.diagnostics.push({ policyName: p.name, message: text, detail: text, enforcementLevel: "advisory", urn });
    } else if (e instanceof NotApplicableError) {
      this.out.notApplicable.push({ policyName: p.name, urn, ...(e.reason ? { reason: e.reason } : {}) });
    } else {
      throw new Error(`Error validating resource ${urn} with policy '${p.name}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** Runs the pack's stack policies over all resources (the engine's `analyzeStack` call). */
export async function analyzeStack(policies: Policies, resources: readonly AnalyzedResource[], config: PackConfig = {}): Promise<AnalysisResult> {
  return analyzeStackWith(policies, resources, normalizeConfig(policies, config));
}

/**
 * A resource as stack policies see it. Its props are deserialized on first read: stack policies
 * pick their resources by type before reading props. A class, not an object literal with a
 * getter: that made each of them a slow dictionary object.
 */
class StackResource implements PolicyResource {
  readonly type: string;
  readonly urn: string;
  readonly name: string;
  parent?: PolicyResource;
  dependencies: PolicyResource[] = [];
  readonly propertyDependencies: Record<string, PolicyResource[]> = {};
  isType(): boolean {
    return false;
  }
  asType(): undefined {
    return undefined;
  }
  readonly #r: AnalyzedResource;
  readonly #memo: RunMemo;
  #props: unknown;
  #read = false;
  #opts: PolicyResource["opts"] | undefined;
  constructor(r: AnalyzedResource, memo: RunMemo) {
    this.type = r.type;
    this.urn = r.urn;
    this.name = r.name;
    this.#r = r;
    this.#memo = memo;
  }
  /** Built on first read too: no stack policy of the pack reads it. */
  get opts(): PolicyResource["opts"] {
    return (this.#opts ??= optsOf(this.#r));
  }
  get props(): any {
    if (!this.#read) {
      this.#props = policyProps(this.#memo.prepared(this.#r));
      this.#read = true;
    }
    return this.#props;
  }
}

async function analyzeStackWith(policies: Policies, resources: readonly AnalyzedResource[], cfg: Normalized, memo: RunMemo = runMemo(policies, cfg)): Promise<AnalysisResult> {
  const diagnostics: Diagnostic[] = [];
  const notApplicable: NotApplicable[] = [];
  // Built once and shared by the stack policies (they only read it); the SDK's server builds one per
  // policy, which cost five passes over every resource per render (docs/benchmarks.md).
  let shared: PolicyResource[] | undefined;
  const stackResources = (): PolicyResource[] => {
    if (shared) return shared;
    const byUrn = new Map<string, PolicyResource>();
    const list: PolicyResource[] = resources.map((r) => {
      const pr = new StackResource(r, memo);
      byUrn.set(r.urn, pr);
      return pr;
    });
    resources.forEach((r, i) => {
      const pr = list[i]!;
      if (r.parent && byUrn.has(r.parent)) pr.parent = byUrn.get(r.parent)!;
      if (r.dependencies?.length) for (const d of r.dependencies) if (byUrn.has(d)) pr.dependencies.push(byUrn.get(d)!);
    });
    return (shared = list);
  };
  for (const p of policies) {
    const level = levelFor(p, cfg);
    if (level === "disabled" || !isStackPolicy(p)) continue;
    const list = stackResources();
    const args: StackValidationArgs = { resources: list, stackTags: new Map(), getConfig: memo.getConfig(p) as StackValidationArgs["getConfig"], notApplicable: throwNotApplicable };
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
  const memo = runMemo(policies, cfg);
  const perResource = new Map<string, AnalysisResult>();
  for (const r of resources) {
    const result = analyzeResourceWith(policies, r, cfg, memo);
    perResource.set(r.urn, result instanceof Promise ? await result : result);
  }
  return { perResource, stack: await analyzeStackWith(policies, resources, cfg, memo) };
}
