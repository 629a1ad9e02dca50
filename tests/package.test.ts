/**
 * The package (issue 20): `npm pack` builds it (prepack: tsc -p tsconfig.build.json), a scratch
 * program outside the repository installs the tarball, declares a platform in typed TypeScript
 * with one override of each escape-hatch kind plus an object of its own
 * (tests/fixtures/package-consumer), type-checks against the package's declarations, and renders
 * with the package's render entry (`microservice-platform/render`).
 *
 * Needs: the npm registry or npm's cache (the package's dependencies), Helm (scripts/setup.sh) and
 * the chart cache ../shared/charts-src with the chart defaults ../shared/charts; each is named
 * when it is absent.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { load } from "js-yaml";
import { findHelm } from "../render/charts";

const ROOT = path.resolve(__dirname, "..");
const SHARED = path.resolve(ROOT, "..", "shared");
const FIXTURE = path.join(__dirname, "fixtures", "package-consumer");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string> };

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

type Obj = Record<string, any>;
let work: string;
let out: string;
let summary: { mandatory: number; findings: unknown[]; objects: number };
let packedFiles: string[];
const manifest = (rel: string): Obj => load(fs.readFileSync(path.join(out, "manifests", rel), "utf8")) as Obj;

beforeAll(() => {
  const helm = findHelm(); // throws "not installed: helm" with the way to install it
  for (const d of ["charts-src", "charts"]) if (!fs.existsSync(path.join(SHARED, d))) throw new Error(`this test needs ${path.join(SHARED, d)} (../shared/${d}), which is absent`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "platform-package-"));
  const packed = JSON.parse(ok(spawnSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" }), "npm pack")) as { filename: string; files: { path: string }[] }[];
  const tarball = path.join(work, packed[0]!.filename);
  packedFiles = packed[0]!.files.map((f) => f.path);

  const app = path.join(work, "team-program");
  fs.mkdirSync(app);
  for (const f of fs.readdirSync(FIXTURE)) fs.copyFileSync(path.join(FIXTURE, f), path.join(app, f));
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "team-program", private: true, version: "0.0.0" }));
  ok(spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: app, encoding: "utf8" }), "npm install of the packed package");
  // The team's TypeScript against the package's declarations (@types/node from this repository).
  ok(spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", app, "--typeRoots", path.join(ROOT, "node_modules", "@types")], { cwd: app, encoding: "utf8" }), "tsc of the team's program");
  out = path.join(work, "render");
  const env = { ...process.env, PATH: `${path.dirname(helm)}${path.delimiter}${path.join(ROOT, ".tools", "bin")}${path.delimiter}${process.env["PATH"]}`, PLATFORM_CHART_CACHE: path.join(SHARED, "charts-src"), PLATFORM_CHART_DEFAULTS: path.join(SHARED, "charts"), PLATFORM_ALLOW_MISSING_SUBCHARTS: "1" };
  const stdout = ok(spawnSync(process.execPath, [path.join(app, "bin", "render.js"), out], { cwd: app, encoding: "utf8", env }), "the team's render");
  summary = JSON.parse(stdout.trim().split("\n").pop()!);
}, 600_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships the compiled entry points with declarations, the vendored CRDs and the docs, and no sources or tests", () => {
    const files = packedFiles;
    expect(files).toEqual(expect.arrayContaining(["dist/lib/index.js", "dist/lib/index.d.ts", "dist/lib/render.js", "dist/lib/render.d.ts", "package.json", "LICENSE", "CHANGELOG.md", "UPGRADING.md", "policy/platform-exemptions.json"]));
    expect(files.some((f) => f.startsWith("crds/gateway-api/"))).toBe(true);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("tests/") || f.startsWith("Pulumi."))).toEqual([]);
  });
});

describe("a team's own program using the package", () => {
  it("installs with one copy of each Pulumi SDK (a second @pulumi/pulumi would split the engine's resource registry)", () => {
    const app = path.join(work, "team-program");
    for (const sdk of ["@pulumi/pulumi", "@pulumi/kubernetes"]) {
      const copies = ok(spawnSync("npm", ["ls", sdk, "--all", "--parseable"], { cwd: app, encoding: "utf8" }), `npm ls ${sdk}`).trim().split("\n").filter(Boolean);
      expect({ sdk, copies: new Set(copies).size }).toEqual({ sdk, copies: 1 });
    }
  });

  it("renders with every proof holding and no mandatory policy finding", () => {
    expect(summary.findings).toEqual([]);
    expect(summary.mandatory).toBe(0);
    expect(fs.readFileSync(path.join(out, "report.md"), "utf8")).toMatch(/^# Platform render: stack `team-dev`/);
  });

  it("carries each escape hatch to the objects: chart values, pod extras, secretEnv", () => {
    const traefik = manifest("gateway-controller-traefik/deployment-gateway-system-traefik.yaml");
    expect(traefik["spec"].template.spec.containers[0].args).toContain("--log.format=json");
    const web = manifest("workloads-web/deployment-apps-web.yaml");
    const spec = web["spec"].template.spec;
    expect(web["spec"].template.metadata.labels["team.example.com/owner"]).toBe("web");
    expect(web["spec"].template.metadata.annotations).toEqual({ "team.example.com/runbook": "https://runbooks.example.com/web" });
    expect(spec.nodeSelector).toEqual({ "team.example.com/pool": "web" });
    expect(spec.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "web", effect: "NoSchedule" }]);
    expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight).toBe(50);
    expect(spec.imagePullSecrets).toEqual([{ name: "acme-registry" }]);
    expect(spec.volumes).toContainEqual({ name: "web-tls", secret: { secretName: "web-tls" } });
    const app = spec.containers[0];
    expect(app.volumeMounts).toContainEqual({ name: "web-tls", mountPath: "/etc/web/tls", readOnly: true });
    expect(app.envFrom).toEqual([{ configMapRef: { name: "web-settings" }, prefix: "WEB_" }]);
    expect(app.env).toContainEqual({ name: "SESSION_KEY", valueFrom: { secretKeyRef: { name: "web-session", key: "key" } } });
  });

  it("renders the team's own objects in a group that waits for the Platform, instead of dropping them", () => {
    expect(manifest("program/configmap-apps-web-settings.yaml")).toMatchObject({ kind: "ConfigMap", metadata: { name: "web-settings", namespace: "apps" }, data: { GREETING: "hello" } });
    const ks = (fs.readFileSync(path.join(out, "flux", "kustomizations.yaml"), "utf8").split(/^---$/m).map((d) => load(d)) as Obj[]).find((k) => k["metadata"].name === "platform-program")!;
    expect(ks["spec"].dependsOn.map((d: Obj) => d["name"])).toEqual(expect.arrayContaining(["platform-web", "platform-namespaces", "platform-kyverno"]));
  });

  it("refuses bad typed input in one line per key before registering anything", () => {
    const app = path.join(work, "team-program");
    const script = `const { parsePlatformConfig, ConfigError } = require("microservice-platform");
const { input } = require("./bin/index");
const lines = (raw) => { try { parsePlatformConfig(raw); return []; } catch (e) { if (!(e instanceof ConfigError)) throw e; return e.problems; } };
console.log(JSON.stringify([
  lines({ ...input, environment: "staging" }),
  lines({ ...input, services: { ...input.services, api: { ...input.services.api, replicas: { min: 3, max: 2 } } } }),
]));`;
    const [env, replicas] = JSON.parse(ok(spawnSync(process.execPath, ["-e", script], { cwd: app, encoding: "utf8" }), "parsePlatformConfig")) as string[][];
    expect(env).toEqual([expect.stringMatching(/^platform:environment: .*\(got "staging"; expected .*dev.*prod/)]);
    expect(replicas).toEqual([expect.stringMatching(/^platform:services\.api\.replicas/)]);
  });
});

describe("package.json", () => {
  it("pins every runtime dependency exactly (what the SBOM and the consumer's lock file record)", () => {
    for (const [name, v] of Object.entries(pkg.dependencies)) expect({ name, v }).toEqual({ name, v: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });
});
