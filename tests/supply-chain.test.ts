/**
 * Supply chain of this project: the CycloneDX SBOMs the release workflow publishes are generated
 * here, offline, from the installed tree and the lock files, and must parse and list the runtime
 * dependencies; the workflows run the preview with the pack and produce SBOM + SLSA provenance;
 * the policy pack stays independent of the program.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { listStacks } from "../render/stack";

const ROOT = path.resolve(__dirname, "..");
// The package's exports map hides its bin, so it is run by path (what `npx cyclonedx-npm` runs).
const CYCLONEDX = path.join(ROOT, "node_modules", "@cyclonedx", "cyclonedx-npm", "bin", "cyclonedx-npm-cli.js");
const readJson = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"));

interface Bom {
  bomFormat: string;
  specVersion: string;
  metadata: { component: { name: string; version: string } };
  components: { group?: string; name: string; version: string; purl?: string; components?: Bom["components"] }[];
}

/** Runs @cyclonedx/cyclonedx-npm as the release workflow does and returns the parsed SBOM. */
function sbom(cwd: string, extra: string[] = []): Bom {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sbom-")), "bom.json");
  const r = spawnSync(process.execPath, [CYCLONEDX, "--omit", "dev", "--output-reproducible", "--of", "JSON", "--output-file", out, ...extra], { cwd, encoding: "utf8", timeout: 120000 });
  if (r.status !== 0) throw new Error(`cyclonedx-npm failed (${r.status}): ${r.stderr}`);
  return JSON.parse(fs.readFileSync(out, "utf8")) as Bom;
}

function components(b: Bom): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (cs: Bom["components"] = []) => {
    for (const c of cs) {
      m.set(c.group ? `${c.group}/${c.name}` : c.name, c.version);
      walk(c.components);
    }
  };
  walk(b.components);
  return m;
}

describe("CycloneDX SBOM of the program", () => {
  const pkg = readJson(path.join(ROOT, "package.json"));
  let bom: Bom;
  beforeAll(() => {
    bom = sbom(ROOT);
  });
  it("parses as a CycloneDX 1.6 BOM for this package", () => {
    expect(bom.bomFormat).toBe("CycloneDX");
    expect(bom.specVersion).toBe("1.6");
    expect(bom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version });
  });
  it("lists every runtime dependency at the exact version package.json pins, with a package URL", () => {
    const c = components(bom);
    // Some packages write a leading "v" in their own package.json (@pulumi/policy: "v1.21.0"); the SBOM keeps it.
    const bare = (v?: string) => v?.replace(/^v/, "");
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>)) expect({ name, version: bare(c.get(name)) }).toEqual({ name, version });
    const pulumi = bom.components.find((x) => x.group === "@pulumi" && x.name === "pulumi");
    expect(pulumi?.purl).toBe("pkg:npm/%40pulumi/pulumi@3.276.0");
  });
  it("leaves out development-only tools (test runner, property testing, model types)", () => {
    const c = components(bom);
    for (const dev of ["jest", "ts-jest", "fast-check", "kubernetes-models", "@cyclonedx/cyclonedx-npm"]) expect({ dev, listed: c.has(dev) }).toEqual({ dev, listed: false });
  });
});

describe("CycloneDX SBOM of the policy pack (from its own lock file, no install needed)", () => {
  it("lists @pulumi/policy and @pulumi/pulumi at the versions the tests run", () => {
    const bom = sbom(path.join(ROOT, "policy"), ["--package-lock-only"]);
    const c = components(bom);
    const root = readJson(path.join(ROOT, "package.json"));
    expect(bom.metadata.component.name).toBe("platform-policies");
    expect(c.get("@pulumi/policy")).toBe(root.dependencies["@pulumi/policy"]);
    expect(c.get("@pulumi/pulumi")).toBe(root.dependencies["@pulumi/pulumi"]);
  });
  it("the pack's package.json pins what its lock file resolves", () => {
    const pkg = readJson(path.join(ROOT, "policy", "package.json"));
    const lock = readJson(path.join(ROOT, "policy", "package-lock.json"));
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>)) {
      expect({ name, locked: lock.packages[`node_modules/${name}`]?.version }).toEqual({ name, locked: version });
    }
  });
});

describe("workflows", () => {
  const wf = (f: string) => parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", f), "utf8")) as Record<string, any>;
  it("preview: pulumi/actions previews every stack on pull requests with the pack and the stack's pack config, commenting on the PR", () => {
    const w = wf("preview.yml");
    expect(Object.keys(w["on"])).toEqual(["pull_request"]);
    const job = w["jobs"]["preview"];
    expect([...job.strategy.matrix.stack].sort()).toEqual(listStacks());
    const step = job.steps.find((s: any) => String(s.uses ?? "").startsWith("pulumi/actions@"));
    expect(step.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policy", policyPackConfigs: "policy/stacks/${{ matrix.stack }}.json" });
    for (const stack of listStacks()) expect(fs.existsSync(path.join(ROOT, "policy", "stacks", `${stack}.json`))).toBe(true);
    expect(job.steps.some((s: any) => /npm ci .*--prefix policy/.test(s.run ?? ""))).toBe(true);
  });
  it("release: builds the pack tarball, CycloneDX SBOMs and SLSA provenance of exactly those files", () => {
    const w = wf("release.yml");
    const build = w["jobs"]["build"];
    const runs = build.steps.map((s: any) => s.run ?? "").join("\n");
    expect(runs).toMatch(/cyclonedx-npm --omit dev .*policy\/package\.json/s);
    expect(runs).toMatch(/tar .*-C policy/s);
    expect(build.outputs.hashes).toBe("${{ steps.hash.outputs.hashes }}");
    const prov = w["jobs"]["provenance"];
    expect(prov.uses).toMatch(/^slsa-framework\/slsa-github-generator\/\.github\/workflows\/generator_generic_slsa3\.yml@v\d+\.\d+\.\d+$/);
    expect(prov.with["base64-subjects"]).toBe("${{ needs.build.outputs.hashes }}");
    expect(prov.permissions).toMatchObject({ "id-token": "write", "contents": "write", actions: "read" });
  });
});

describe("the policy pack does not import the program", () => {
  const files = fs.readdirSync(path.join(ROOT, "policy")).filter((f) => f.endsWith(".ts"));
  it.each(files)("policy/%s imports only the pack's own modules and @pulumi/policy", (f) => {
    const src = fs.readFileSync(path.join(ROOT, "policy", f), "utf8");
    const specs = [...src.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
    for (const s of specs) expect({ f, s, ok: /^\.\/[a-z0-9-]+$/.test(s) || s === "@pulumi/policy" }).toEqual({ f, s, ok: true });
  });
  it("only index.ts calls new PolicyPack (its constructor starts a server), and nothing imports index.ts", () => {
    const code = (f: string) => fs.readFileSync(path.join(ROOT, "policy", f), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    const callers = files.filter((f) => /new PolicyPack\(/.test(code(f)));
    expect(callers).toEqual(["index.ts"]);
    for (const f of files) expect(fs.readFileSync(path.join(ROOT, "policy", f), "utf8")).not.toMatch(/from "\.\/index"/);
  });
});
