/**
 * The program reads stack files as `pulumi up` does (issue 19): the same YAML is fed to the
 * program's reader (render/go-yaml.ts, behind render/stack.ts) and to go-yaml v3 itself, the module
 * Pulumi's Go SDK reads stack files with (tools/yaml-json, built from the Go module proxy by
 * scripts/install-tools.sh), and the values and the verdicts (accepted or refused) must agree.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseGoYaml } from "../render/go-yaml";
import { readStackFile } from "../render/stack";
import { findTool } from "../render/tools";

const yamlJson = findTool("yaml-json", "PLATFORM_YAML_JSON");
if (!yamlJson) throw new Error("not installed: yaml-json (run `bash scripts/install-tools.sh`, which builds it from the Go module proxy with gopkg.in/yaml.v3); the YAML parity test needs it");

const ROOT = path.resolve(__dirname, "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "yaml-parity-"));
let n = 0;
const fileOf = (text: string) => {
  const f = path.join(dir, `case-${n++}.yaml`);
  fs.writeFileSync(f, text);
  return f;
};

/** go-yaml v3's reading of a file: its value as JSON, or its error. */
function goRead(file: string): { value: unknown } | { error: string } {
  const r = spawnSync(yamlJson!, [file], { encoding: "utf8" });
  if (r.status === 0) return { value: JSON.parse(r.stdout) };
  return { error: r.stdout.trim() || r.stderr.trim() };
}
function ourRead(file: string): { value: unknown } | { error: string } {
  const doc = parseGoYaml(fs.readFileSync(file, "utf8"));
  if (doc.errors.length) return { error: doc.errors[0]!.message };
  try {
    return { value: JSON.parse(JSON.stringify(doc.toJS())) };
  } catch (e) {
    return { error: String(e) };
  }
}
/** Both readers' verdicts compared: the same value, or both refusing (their messages differ). */
const same = (f: string) => {
  const norm = (r: { value: unknown } | { error: string }) => ("error" in r ? { refused: true } : r);
  expect(norm(ourRead(f))).toEqual(norm(goRead(f)));
};

/** Scalars where YAML 1.2's core schema and go-yaml v3 disagree, and some where they agree. */
const SCALARS = [
  "0755", "0o17", "0x1F", "-0x1F", "0b101", "1_000", "012_3", "08", "09.5", "+12", "-0", "1e3", "0.5e+1", ".5", "1.10", "1.", "2.3.1",
  "yes", "no", "on", "off", "y", "true", "False", "NULL", "~", "null",
  "2024-01-02", "2024-1-2", "2024-03-04 05:06:07", "2024-03-04T05:06:07Z", "2024-03-04T05:06:07.120Z", "2024-03-04T05:06:07+02:00", "2024-03-04t05:06:07Z",
  "'0755'", '"2024-01-02"', "1:2", "12:30:00", "v1.2.3", "0.0.0.0", "1.2.3.4/32", "-", "-a", "+", "ghcr.io/acme/x:1.0", "@daily", "0 */6 * * *",
];

describe("go-yaml v3 and the program read the same values", () => {
  it.each(SCALARS)("scalar %s, alone and inside a structure", (s) => {
    same(fileOf(`config:\n  platform:top: ${s}\n  platform:nested:\n    list: [${s}]\n    map: {k: ${s}}\n`));
  });

  it.each(["Pulumi.dev.yaml", "Pulumi.prod.yaml"])("the stack file %s", (name) => {
    const f = path.join(ROOT, name);
    expect("value" in goRead(f)).toBe(true);
    same(f);
  });

  it("merge keys, anchors and aliases, block scalars, unicode", () => {
    const f = fileOf(
      [
        "base: &base {cpu: 100m, memory: 128Mi, replicas: 2}",
        "config:",
        "  platform:services:",
        "    a:",
        "      resources: {<<: *base, memory: 256Mi}",
        "      note: |",
        "        two",
        "        lines",
        "      folded: >",
        "        one",
        "        line",
        "      greeting: Grüß Gott — 你好",
        "      list: &l [1, 2]",
        "      again: *l",
      ].join("\n") + "\n",
    );
    expect("value" in goRead(f)).toBe(true);
    same(f);
  });
});

describe("go-yaml v3 and the program refuse the same files", () => {
  it.each([
    ["a tab in the indentation", "config:\n  platform:mesh:\n\treplicas: 1\n"],
    ["a duplicate key", "config:\n  platform:mesh:\n    replicas: 1\n    replicas: 2\n"],
    ["an unquoted colon and space", "config:\n  platform:x: a: b\n"],
    ["an unclosed flow mapping", "config:\n  platform:x: {a: 1\n"],
    ["an unknown alias", "config:\n  platform:x: *nothing\n"],
    ["a bad indentation", "config:\n  platform:a: 1\n   platform:b: 2\n"],
  ])("%s", (_n, text) => {
    const f = fileOf(text);
    const go = goRead(f);
    const ours = ourRead(f);
    expect({ go: "error" in go, ours: "error" in ours }).toEqual({ go: true, ours: true });
  });
});

describe("top-level config values, as Pulumi keeps them", () => {
  it("keeps a scalar's text as written (Pulumi decodes it into a string) and a structure as JSON of go-yaml's values", () => {
    const flat = readStackFile(fileOf("config:\n  platform:mode: 0755\n  platform:when: 2024-01-02\n  platform:flag: yes\n  platform:obj: {mode: 0755, when: 2024-01-02, n: 1_000}\n"));
    expect(flat).toEqual({ "platform:mode": "0755", "platform:when": "2024-01-02", "platform:flag": "yes", "platform:obj": JSON.stringify({ mode: 493, when: "2024-01-02T00:00:00Z", n: 1000 }) });
  });
});
