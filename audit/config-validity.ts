/**
 * Proves a policy's config valid without compiling its schema. Ajv compiles a schema into code
 * before it validates anything, and the first compile in a process (meta-schema included) cost
 * more than the whole pack run over the prod render; the pack's schemas use
 * a small subset of JSON Schema, so a valid config can be recognized by reading the schema
 * directly. The answer is one-sided: `true` means Ajv would accept the value too; `false` means
 * "not proven" (a violation, or a keyword or keyword value outside the subset), and the analyzer
 * then asks Ajv, which also words the errors. So no config is accepted that Ajv would reject, and
 * every error message stays Ajv's (tests/policy-config-validity.test.ts checks both directions).
 */

type Schema = Record<string, unknown>;

/** Annotations: no effect on validity (Ajv applies no defaults here: useDefaults is off). */
const ANNOTATIONS = new Set(["default", "description", "title", "examples"]);

const TYPES: Record<string, (v: unknown) => boolean> = {
  object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number" && Number.isFinite(v),
  integer: (v) => typeof v === "number" && Number.isInteger(v),
  boolean: (v) => typeof v === "boolean",
  null: (v) => v === null,
};

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0;
const isPrimitive = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);

/** Length in code points, as Ajv's minLength counts it (a surrogate pair is one character). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    n++;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/**
 * Whether `value` certainly satisfies `schema`. Keywords understood: type (one name), properties,
 * required, additionalProperties (false, or a schema), items (one schema), minLength, maxLength,
 * minimum, maximum, enum (of primitives), plus annotations; anything else answers false.
 */
export function provenValid(schema: unknown, value: unknown): boolean {
  if (schema === true) return true;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return false;
  const s = schema as Schema;
  for (const k in s) {
    const kw = s[k];
    if (ANNOTATIONS.has(k)) continue;
    switch (k) {
      case "type":
        if (typeof kw !== "string" || !TYPES[kw] || !TYPES[kw]!(value)) return false;
        break;
      case "properties": {
        if (typeof kw !== "object" || kw === null || Array.isArray(kw)) return false;
        if (!TYPES["object"]!(value)) break; // applies to objects only
        const o = value as Record<string, unknown>;
        for (const p in kw) if (o[p] !== undefined && !provenValid((kw as Schema)[p], o[p])) return false;
        break;
      }
      case "required":
        if (!Array.isArray(kw) || !kw.every((r) => typeof r === "string")) return false;
        if (TYPES["object"]!(value) && kw.some((r) => (value as Record<string, unknown>)[r] === undefined)) return false;
        break;
      case "additionalProperties": {
        if (!TYPES["object"]!(value)) break;
        const declared = (s["properties"] ?? {}) as Schema;
        if (typeof declared !== "object" || declared === null || "patternProperties" in s) return false;
        for (const p in value as object) {
          if (Object.prototype.hasOwnProperty.call(declared, p)) continue;
          if (kw === false || !provenValid(kw, (value as Record<string, unknown>)[p])) return false;
        }
        break;
      }
      case "items":
        if (typeof kw !== "object" || kw === null || Array.isArray(kw)) return false;
        if (Array.isArray(value) && !value.every((x) => provenValid(kw, x))) return false;
        break;
      case "minLength":
      case "maxLength":
        if (!isCount(kw)) return false;
        // A string of n UTF-16 units has between n/2 and n code points: count only when that does not decide.
        if (typeof value === "string" && (k === "minLength" ? value.length < 2 * kw && codePoints(value) < kw : value.length > kw && codePoints(value) > kw)) return false;
        break;
      case "minimum":
      case "maximum":
        if (typeof kw !== "number" || !Number.isFinite(kw)) return false;
        if (typeof value === "number" && (k === "minimum" ? value < kw : value > kw)) return false;
        break;
      case "enum":
        if (!Array.isArray(kw) || !kw.every(isPrimitive) || !kw.includes(value)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
