/**
 * Validates custom resources against the `openAPIV3Schema` of the pinned upstream CRDs, the way
 * the API server does with strict field validation (kubectl's default): unknown fields are errors
 * unless the schema preserves them, int-or-string accepts either, and every CEL rule
 * (`x-kubernetes-validations`) is evaluated with @bufbuild/cel on the value it sits on (`self`),
 * integers as CEL ints, objects as maps. Transition rules (`oldSelf`) only apply to updates and
 * are skipped; a rule that uses a function the evaluator lacks (Kubernetes' `url()`, `isURL()`,
 * `isIP()`...) is reported as not evaluated, never as passed.
 */
import { isCelError, run } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import Ajv, { ValidateFunction } from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";

type Schema = Record<string, unknown>;

/** Translates a Kubernetes structural schema into plain JSON Schema for ajv. */
export function toJsonSchema(s: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-kubernetes-") || k === "description" || k === "format") continue;
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, toJsonSchema(ps)]));
    else if (k === "items" || k === "not") out[k] = toJsonSchema(v as Schema);
    else if (k === "additionalProperties") out[k] = typeof v === "boolean" ? v : toJsonSchema(v as Schema);
    else if (k === "allOf" || k === "anyOf" || k === "oneOf") out[k] = (v as Schema[]).map(toJsonSchema);
    else if (k === "pattern" && typeof v === "string") {
      const p = goPatternToJs(v);
      if (p !== undefined) out[k] = p;
    } else out[k] = v;
  }
  if (s["x-kubernetes-int-or-string"]) {
    delete out["type"];
    out["anyOf"] = [...((out["anyOf"] as Schema[] | undefined) ?? []), { type: "integer" }, { type: "string" }];
  }
  // Strict field validation: declared properties close the object unless upstream keeps unknowns.
  if (out["properties"] && out["additionalProperties"] === undefined && !s["x-kubernetes-preserve-unknown-fields"]) {
    out["additionalProperties"] = false;
  }
  // Kubernetes accepts null for nullable fields.
  if (s["nullable"] && typeof out["type"] === "string") out["type"] = [out["type"], "null"];
  delete out["nullable"];
  return out;
}

/**
 * CRD patterns are Go RE2. JavaScript lacks RE2's inline case-insensitive flag `(?i)`: a leading
 * one becomes a letter-by-letter class. A pattern that still does not compile is left out (the
 * API server would check it), never turned into a looser match silently elsewhere.
 */
export function goPatternToJs(p: string): string | undefined {
  let out = p;
  if (out.startsWith("(?i)")) {
    out = out.slice(4).replace(/(\\.)|([A-Za-z])/g, (_m, esc: string | undefined, ch: string | undefined) => (esc ? esc : `[${ch!.toLowerCase()}${ch!.toUpperCase()}]`));
  }
  try {
    new RegExp(out, "u");
    return out;
  } catch {
    return undefined;
  }
}

export interface CrdDoc {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[] };
}

export interface CrdResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
  /** CEL rules that could not be evaluated here (`path: rule: why`). */
  readonly celNotEvaluated: readonly string[];
}

interface CelRule {
  readonly rule: string;
  readonly message?: string;
}

/** CEL keywords Kubernetes escapes in property names as `__<word>__` (apiserver/pkg/cel/escaping.go). */
const CEL_RESERVED = new Set(["true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]);
const celName = (k: string): string =>
  CEL_RESERVED.has(k) ? `__${k}__` : k.replace(/__/g, "__underscores__").replace(/\./g, "__dot__").replace(/-/g, "__dash__").replace(/\//g, "__slash__");

/**
 * A JSON value as CEL sees it under its schema, after the API server's structural defaulting:
 * integers as ints, objects as maps with escaped property names and schema defaults filled in.
 */
function toCel(v: unknown, s: Schema | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return s?.["type"] === "integer" || (s?.["x-kubernetes-int-or-string"] && Number.isInteger(v)) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.["items"] as Schema | undefined));
  if (typeof v === "object") {
    const props = (s?.["properties"] ?? {}) as Record<string, Schema>;
    const extra = typeof s?.["additionalProperties"] === "object" ? (s["additionalProperties"] as Schema) : undefined;
    const withDefaults: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const [k, ps] of Object.entries(props)) if (withDefaults[k] === undefined && ps["default"] !== undefined) withDefaults[k] = ps["default"];
    // Map keys of additionalProperties maps are data, not field names: no escaping.
    return new Map(Object.entries(withDefaults).map(([k, x]) => [props[k] ? celName(k) : k, toCel(x, props[k] ?? extra)]));
  }
  return v;
}

/** Every CEL rule on the path from `s` down through `v`, evaluated. */
function celWalk(s: Schema | undefined, v: unknown, at: string, out: { errors: string[]; notEvaluated: string[] }): void {
  if (!s || v === undefined || v === null) return;
  for (const r of (s["x-kubernetes-validations"] ?? []) as CelRule[]) {
    if (/\boldSelf\b/.test(r.rule)) continue; // transition rule: updates only
    const res = run(r.rule, { self: toCel(v, s) as never }, { funcs: strings });
    if (isCelError(res)) out.notEvaluated.push(`${at || "/"}: ${r.rule}: ${res.message}`);
    else if (res !== true) out.errors.push(`${at || "/"} ${r.message ?? `failed rule: ${r.rule}`}`);
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => celWalk(s["items"] as Schema | undefined, x, `${at}/${i}`, out));
    return;
  }
  if (typeof v === "object") {
    const props = (s["properties"] ?? {}) as Record<string, Schema>;
    const extra = typeof s["additionalProperties"] === "object" ? (s["additionalProperties"] as Schema) : undefined;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) celWalk(props[k] ?? extra, x, `${at}/${k}`, out);
  }
}

export class CrdValidator {
  private readonly schemas = new Map<string, Schema>();
  /** The CRDs' own schemas, with their CEL rules. */
  private readonly raw = new Map<string, Schema>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  /** Loads every CRD (YAML, multi-document) below `dir`. */
  constructor(dir: string) {
    for (const file of walk(dir).filter((f) => /\.ya?ml$/.test(f))) {
      for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
        this.learn(doc.toJS() as CrdDoc | null);
      }
    }
  }

  /**
   * Adds a CRD's served versions, e.g. the CustomResourceDefinitions a render installs through its
   * charts, so the render's custom resources are checked against the CRDs it really installs.
   */
  learn(crd: CrdDoc | null): void {
    if (!crd || crd.kind !== "CustomResourceDefinition") return;
    for (const v of crd.spec.versions) {
      if (!v.served || !v.schema) continue;
      const key = `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`;
      const schema = toJsonSchema(structuredClone(v.schema.openAPIV3Schema));
      // The API server checks these itself; the CRD schema leaves metadata open.
      // apiVersion and kind are always accepted (some CRDs, Istio's, do not list them).
      const props = ((schema["properties"] as Schema | undefined) ?? (schema["properties"] = {})) as Schema;
      props["metadata"] = { type: "object" };
      props["apiVersion"] = { type: "string" };
      props["kind"] = { type: "string" };
      this.schemas.set(key, schema);
      this.raw.set(key, v.schema.openAPIV3Schema);
      this.validators.delete(key);
    }
  }

  /** The group/version/kind keys this validator knows. */
  get kinds(): string[] {
    return [...this.schemas.keys()].sort();
  }

  has(apiVersion: string, kind: string): boolean {
    return this.schemas.has(`${apiVersion}/${kind}`);
  }

  /** Compiled on first use: the vendored CRDs are large and most tests need a few kinds. */
  private compiled(key: string): ValidateFunction | undefined {
    let v = this.validators.get(key);
    const schema = this.schemas.get(key);
    if (!v && schema) {
      v = this.ajv.compile(schema);
      this.validators.set(key, v);
    }
    return v;
  }

  validate(object: { apiVersion: string; kind: string }): CrdResult {
    const key = `${object.apiVersion}/${object.kind}`;
    const v = this.compiled(key);
    if (!v) return { ok: false, errors: [`no served CRD version for ${object.apiVersion} ${object.kind}`], celNotEvaluated: [] };
    const schemaOk = v(object) as boolean;
    const errors = schemaOk ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}${e.params && "additionalProperty" in e.params ? `: ${String(e.params["additionalProperty"])}` : ""}`);
    // CEL rules run on schema-valid objects only, as the API server does.
    const cel = { errors: [] as string[], notEvaluated: [] as string[] };
    if (schemaOk) celWalk(this.raw.get(key), object, "", cel);
    return { ok: schemaOk && cel.errors.length === 0, errors: [...errors, ...cel.errors], celNotEvaluated: cel.notEvaluated };
  }
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The CRDs copied into this repository (see crds/README.md). */
export const CRD_DIR = path.resolve(__dirname, "../../crds");
