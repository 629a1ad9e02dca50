/**
 * Reads the `platform:` config namespace, validates it with the schema and reports every problem
 * at once as `platform:<key.path>: <what is wrong> (got <value>; expected <allowed>)`. Nothing here
 * registers a resource: callers load the config first, so bad config registers nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigProblem, crossFieldRules, PlatformConfig, PlatformInput, structuralSchema } from "./schema";
import { maskSecrets } from "./secrets";

export const CONFIG_NAMESPACE = "platform";

/** Thrown when the stack config is invalid; `problems` holds one formatted line per problem. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Renders a key path the way a person types it after `platform:`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** A value as an error line shows it: secrets masked (config/secrets.ts), long values cut. */
function show(v: unknown, key = ""): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(maskSecrets(v, key));
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}

/** Walks the schema along `path` and returns the object keys allowed there (for unknown-key hints). */
function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur: z.ZodType | undefined = schema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let x = s;
    for (;;) {
      if (x instanceof z.ZodOptional || x instanceof z.ZodDefault || x instanceof z.ZodPrefault || x instanceof z.ZodNullable) {
        x = x.unwrap() as z.ZodType;
      } else if (x instanceof z.ZodPipe) {
        x = x.in as z.ZodType;
      } else return x;
    }
  };
  for (const p of path) {
    if (!cur) return [];
    const s = unwrap(cur);
    if (s instanceof z.ZodObject) cur = (s.shape as Record<string, z.ZodType>)[String(p)];
    else if (s instanceof z.ZodRecord) cur = s.valueType as z.ZodType;
    else if (s instanceof z.ZodArray) cur = s.element as z.ZodType;
    else return [];
  }
  const s = cur ? unwrap(cur) : undefined;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected;
    case "invalid_value":
      return issue.values.map((v) => JSON.stringify(v)).join(" | ");
    case "too_small":
      return `${issue.origin === "array" || issue.origin === "string" ? "length " : ""}${issue.inclusive === false ? ">" : ">="} ${String(issue.minimum)}`;
    case "too_big":
      return `${issue.origin === "array" || issue.origin === "string" ? "length " : ""}${issue.inclusive === false ? "<" : "<="} ${String(issue.maximum)}`;
    case "invalid_format":
      return issue.format === "regex" && issue.pattern ? `a value matching ${issue.pattern}` : `a valid ${issue.format}`;
    case "invalid_key":
      return issue.issues.map((i) => expectedOf(i)).join("; ");
    default:
      return "a valid value";
  }
}

/** Formats zod issues; unknown keys become one line per key. */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(structuralSchema, issue.path);
      for (const k of issue.keys) {
        lines.push(`${CONFIG_NAMESPACE}:${keyPath([...issue.path, k])}: unknown key (got ${show(k)}; expected one of ${allowed.join(", ")})`);
      }
      continue;
    }
    const missing = (issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined;
    const what = missing ? "required" : issue.code === "invalid_key" ? `invalid key: ${issue.issues.map((i) => i.message).join("; ")}` : issue.message;
    lines.push(`${CONFIG_NAMESPACE}:${keyPath(issue.path)}: ${what} (got ${show(issue.input, String(issue.path[issue.path.length - 1] ?? ""))}; expected ${expectedOf(issue)})`);
  }
  return lines;
}

/** Formats cross-field problems as error lines. */
function problemLines(problems: readonly ConfigProblem[]): string[] {
  return problems.map((p) => `${CONFIG_NAMESPACE}:${keyPath(p.path)}: ${p.message} (got ${show(p.got, String(p.path[p.path.length - 1] ?? ""))}; expected ${p.expected})`);
}

/**
 * The cross-field mistakes a structurally invalid config also has, so that one run reports every
 * mistake it can: the keys structural validation refused are taken out (an unknown key, a bad
 * optional value) and the rules run on the rest. Rules about the part of the config a removed key
 * sits in (the same service, the same area) are left out, since the removal itself could cause
 * them. When a removal cannot help (a required key, an array element) no rule runs.
 */
function rulesBesides(raw: Record<string, unknown>, issues: readonly z.core.$ZodIssue[]): string[] {
  const removed: (string | number)[][] = [];
  const copy = structuredClone(raw) as Record<string, unknown>;
  for (let round = 0; round < 3; round++) {
    for (const issue of issues) {
      const path = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [[...issue.path]];
      for (const p of path) {
        const last = p[p.length - 1];
        if (p.length === 0 || p.some((x) => typeof x === "number") || ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined)) return [];
        let parent: unknown = copy;
        for (const k of p.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey];
        if (!parent || typeof parent !== "object") return [];
        delete (parent as Record<PropertyKey, unknown>)[last as PropertyKey];
        removed.push(p as (string | number)[]);
      }
    }
    const again = structuralSchema.safeParse(copy);
    if (again.success) {
      // The area a removed key belongs to: its first two segments (services.<name>, messaging.kafka...).
      const areas = removed.map((p) => p.slice(0, 2).join("."));
      return problemLines(crossFieldRules(again.data).filter((pr) => !areas.some((a) => pr.path.slice(0, 2).join(".") === a)));
    }
    issues = again.error.issues;
  }
  return [];
}

/**
 * Validates a raw config object (top-level keys without the `platform:` prefix). Returns the
 * parsed, defaulted config or throws ConfigError listing every problem.
 */
export function parsePlatformConfig(raw: PlatformInput | Record<string, unknown>): PlatformConfig {
  const parsed = structuralSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError([...formatZodIssues(parsed.error.issues), ...rulesBesides(raw as Record<string, unknown>, parsed.error.issues)]);
  const problems = crossFieldRules(parsed.data);
  if (problems.length > 0) {
    throw new ConfigError(problemLines(problems));
  }
  return parsed.data;
}

/**
 * Picks the `platform:*` keys out of a full config map (`ns:key` → value text). All keys are
 * kept, not just the known ones, so that a misspelt top-level key is reported rather than ignored.
 */
export function platformKeysOf(all: Readonly<Record<string, string>>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE || rest.length === 0) continue;
    raw[rest.join(":")] = decodeConfigValue(value);
  }
  return raw;
}

/** Pulumi passes structured config as JSON text and scalars as plain text. */
export function decodeConfigValue(value: string): unknown {
  const t = value.trim();
  if (/^[\[{]/.test(t) || /^(true|false|null)$/.test(t) || /^-?[0-9]+(\.[0-9]+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * Config namespaces a stack of this project may use: its own, the providers the program uses, and
 * Pulumi's. A key in any other namespace (`platfrom:services`) would be ignored by everything.
 */
export const KNOWN_NAMESPACES: readonly string[] = [CONFIG_NAMESPACE, "kubernetes", "random", "tls", "pulumi"];

/** One line per key whose namespace nothing reads. */
export function namespaceProblems(all: Readonly<Record<string, string>>): string[] {
  return Object.keys(all)
    .filter((k) => k.includes(":") && !KNOWN_NAMESPACES.includes(k.split(":")[0]!))
    .map((k) => `${k}: unknown config namespace (got ${show(k.split(":")[0])}; expected ${KNOWN_NAMESPACES.map((n) => `${n}:`).join(", ")})`);
}

/** A whole stack's config map, validated: unknown namespaces and every platform problem, in one error. */
export function parseStackConfig(all: Readonly<Record<string, string>>): PlatformConfig {
  const ns = namespaceProblems(all);
  let config: PlatformConfig;
  try {
    config = parsePlatformConfig(platformKeysOf(all));
  } catch (e) {
    if (e instanceof ConfigError && ns.length) throw new ConfigError([...ns, ...e.problems]);
    throw e;
  }
  if (ns.length) throw new ConfigError(ns);
  return config;
}

/** The stack's validated config. Throws ConfigError before any resource is registered. */
export function loadPlatformConfig(): PlatformConfig {
  return parseStackConfig(pulumi.runtime.allConfig());
}
