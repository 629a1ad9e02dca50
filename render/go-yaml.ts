/**
 * YAML scalars as go-yaml v3 reads them, Pulumi's reader of stack files (its resolve.go): the
 * program must mean the same values `pulumi up` will. Where YAML 1.2's core schema (the `yaml`
 * package's default) differs: integers may carry `_` and a leading `0` means octal (`0755` is 493),
 * `0b`/`0o`/`0x` prefixes, and a plain `2024-01-02` is a timestamp (Pulumi then writes it as
 * `2024-01-02T00:00:00Z`). tests/yaml-parity.test.ts compares this reader with go-yaml v3 itself.
 */
import { Document, LineCounter, parseDocument } from "yaml";
import type { ScalarTag, Tags } from "yaml";

const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const TIMESTAMP = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z|[-+]\d{2}:\d{2})?)?$/;

const two = (n: string) => n.padStart(2, "0");

/** A timestamp as Go's time.Time marshals to JSON (RFC 3339, fraction trimmed, UTC as Z). */
function goTimestamp(m: RegExpExecArray): string {
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac, zone] = m;
  const f = frac ? `.${frac}`.replace(/0+$/, "").replace(/\.$/, "") : "";
  const z = !zone || zone === "Z" || zone === "+00:00" ? "Z" : zone;
  return `${y}-${two(mo!)}-${two(d!)}T${two(h)}:${two(mi)}:${two(s)}${f}${z}`;
}

/** go-yaml v3's resolution of a plain scalar that starts like a number: int, float, timestamp, or the text itself. */
export function goResolveNumberLike(text: string): number | string {
  const ts = text.startsWith("-") || text.startsWith("+") ? null : TIMESTAMP.exec(text);
  if (ts) return goTimestamp(ts);
  const plain = text.replace(/_/g, "");
  const int = GO_INT.exec(plain);
  if (int) {
    const [, sign, digits] = int;
    const body = digits!;
    const value = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : /^0[oO]/.test(body) ? parseInt(body.slice(2), 8) : /^0[bB]/.test(body) ? parseInt(body.slice(2), 2) : body.length > 1 && body.startsWith("0") ? parseInt(body, 8) : parseInt(body, 10);
    return sign === "-" ? -value : value;
  }
  if (GO_FLOAT.test(plain)) return Number(plain);
  return text;
}

/** The number-like scalar tag go-yaml v3 applies in place of the core schema's int and float tags. */
const goNumberLike: ScalarTag = {
  default: true,
  tag: "tag:yaml.org,2002:int",
  test: /^[-+.0-9]/,
  resolve: (s: string) => goResolveNumberLike(s),
};
/** `.inf` and `.nan`, which go-yaml reads too (and Pulumi cannot write as JSON: it refuses the stack). */
const special = (tags: Tags) => tags.filter((t) => (t as ScalarTag).tag === "tag:yaml.org,2002:float" && String((t as ScalarTag).test).includes("inf"));

/** Core schema tags with go-yaml v3's number and timestamp resolution. */
export function goYamlTags(tags: Tags): Tags {
  const keep = tags.filter((t) => {
    const tag = (t as ScalarTag).tag;
    return tag !== "tag:yaml.org,2002:int" && tag !== "tag:yaml.org,2002:float";
  });
  return [...keep, ...special(tags), goNumberLike];
}

/** A YAML text parsed as Pulumi's go-yaml v3 reads it; the document's `errors` hold the parser's complaints (the first is the one to report). */
export function parseGoYaml(text: string, lineCounter?: LineCounter): Document.Parsed {
  return parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true, customTags: goYamlTags, ...(lineCounter ? { lineCounter } : {}) });
}
