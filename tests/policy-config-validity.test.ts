/**
 * The analyzer proves a pack config valid without compiling its schema (audit/config-validity.ts)
 * and asks Ajv only when it cannot. That is only safe if "proven valid" never accepts what Ajv
 * rejects, if every policy's schema is one Ajv compiles (so skipping the compile skips no schema
 * error), and if the stacks' own configs take the fast path (or the compile is still paid).
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import fc from "fast-check";
import { normalizeConfig } from "../audit/analyzer";
import { provenValid } from "../audit/config-validity";
import { policies } from "../policy/policies";

const wrapper = (p: (typeof policies)[number]) => ({ type: "object", properties: p.configSchema?.properties ?? {}, required: p.configSchema?.required ?? [] });
const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = policies.map((p) => ({ name: p.name, schema: wrapper(p), validate: ajv.compile(wrapper(p)) }));
/** One policy per distinct config schema (most share exemptionsOnly), so each schema gets its share of cases. */
const distinct = compiled.filter((c, i) => compiled.findIndex((d) => JSON.stringify(d.schema) === JSON.stringify(c.schema)) === i);

// Strings around the pack's length limits (minLength 1 and 10), with surrogate pairs (one code point, two UTF-16 units).
const str = fc.oneof(fc.constantFrom("", "x", "ns", "abcdefghi", "abcdefghij", "\u{1F600}".repeat(5), "\u{1F600}".repeat(10), "prod", "dev", "etcd-*"), fc.string({ maxLength: 12 }));
// JSON values only: a pack config is JSON (no NaN or Infinity).
const scalar = fc.oneof(str, fc.constantFrom(0, 2, 3, 3.5, 5, -1), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
// Mostly well-formed entries (exemptions, gateway Services, infrastructure namespaces), so that one bad field decides.
const entry = fc.oneof(
  fc.record({ namespace: str, name: str, reason: str, container: str, why: scalar }, { requiredKeys: ["namespace", "name", "reason"] }),
  fc.record({ namespace: str, name: str, reason: str }, { requiredKeys: ["namespace"] }),
  fc.dictionary(fc.constantFrom("namespace", "name", "container", "reason", "why"), scalar, { maxKeys: 5 }),
);
const value = fc.oneof({ arbitrary: scalar, weight: 3 }, fc.array(str, { maxLength: 3 }), { arbitrary: fc.array(entry, { maxLength: 3 }), weight: 2 }, entry, fc.jsonValue({ maxDepth: 2 }));
/** A policy and a config for it: its own settings (and an undeclared one) with values near and off their schemas. */
const policyAndConfig = fc
  .constantFrom(...distinct.map((c) => c.name))
  .chain((name) => fc.tuple(fc.constant(name), fc.dictionary(fc.constantFrom(...Object.keys(compiled.find((c) => c.name === name)!.schema.properties), "other"), value, { maxKeys: 3 })));

describe("config validity without a schema compile", () => {
  it("every policy's config schema is one Ajv compiles (meta-schema checked), so skipping the compile skips no schema error", () => {
    for (const p of policies) expect(() => new Ajv({ allErrors: true, strict: true }).compile(wrapper(p))).not.toThrow();
  });

  it("never proves valid what Ajv rejects, and agrees with Ajv on the pack's own schemas", () => {
    let proven = 0;
    let rejected = 0;
    fc.assert(
      fc.property(policyAndConfig, ([name, v]) => {
        const c = compiled.find((x) => x.name === name)!;
        const ok = c.validate(v);
        const fast = provenValid(c.schema, v);
        if (fast) proven++;
        if (!ok) rejected++;
        // Sound: proven implies valid. Complete on the pack's schemas (only keywords of the subset).
        expect(fast).toBe(ok);
      }),
      { numRuns: 3000 },
    );
    // Not vacuous: both verdicts occur.
    expect(proven).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it("answers 'not proven' for keywords outside its subset, leaving them to Ajv", () => {
    expect(provenValid({ type: "string", pattern: "^a" }, "a")).toBe(false);
    expect(provenValid({ type: "string", format: "uri" }, "a")).toBe(false);
    expect(provenValid({ type: ["string", "null"] }, "a")).toBe(false);
    expect(provenValid({ items: [{ type: "string" }] }, ["a"])).toBe(false);
    expect(provenValid({ enum: [{ a: 1 }] }, { a: 1 })).toBe(false);
    expect(provenValid({ type: "string", minLength: "10" }, "abcdefghijk")).toBe(false);
    expect(provenValid({ type: "string", minLength: 2, description: "d", default: "ab" }, "ab")).toBe(true);
  });

  it("the stacks' pack configs are proven valid without Ajv, and Ajv agrees", () => {
    const dir = path.resolve(__dirname, "../policy/stacks");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const raw = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>;
      expect(() => normalizeConfig(policies, raw)).not.toThrow();
      for (const [name, v] of Object.entries(raw)) {
        const c = compiled.find((x) => x.name === name);
        if (!c || typeof v !== "object" || v === null) continue;
        const { enforcementLevel: _e, ...props } = v as Record<string, unknown>;
        expect([f, name, provenValid(c.schema, props)]).toEqual([f, name, true]);
        expect(c.validate(props)).toBe(true);
      }
    }
  });
});
