/**
 * The GitHub workflows (issue 20): actionlint (built by scripts/install-tools.sh from the Go module
 * proxy; with shellcheck on PATH it also checks every `run:` script) passes on them and fails on a
 * broken one; they run on hosted runners as a non-root user (no bare apt-get: setup goes through
 * scripts/setup.sh, which uses sudo); the preview supports Pulumi Cloud and a self-managed
 * backend; a committed render that is stale fails scripts/check-render-fresh.sh.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { findTool } from "../render/tools";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const actionlint = findTool("actionlint", "PLATFORM_ACTIONLINT");
if (!actionlint) throw new Error("not installed: actionlint (run `bash scripts/install-tools.sh`, which builds it from the Go module proxy)");
if (!findTool("shellcheck", "PLATFORM_SHELLCHECK")) throw new Error("not installed: shellcheck (run `bash scripts/setup.sh`, which installs Debian's shellcheck); actionlint checks the workflows' scripts with it");
const lint = (args: string[], cwd = ROOT) => spawnSync(actionlint, ["-no-color", ...args], { cwd, encoding: "utf8" });
type Obj = Record<string, any>;
const wf = (f: string) => parse(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as Obj;
const runs = (w: Obj): string[] => Object.values<Obj>(w["jobs"]).flatMap((j) => (j["steps"] ?? []).map((s: Obj) => String(s["run"] ?? "")));

describe("actionlint", () => {
  it("passes on every workflow", () => {
    const r = lint(files.map((f) => path.join(WORKFLOWS, f)));
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: "" });
  });

  it("fails on a workflow with a wrong context, an unknown runner and a shell mistake (so the check above can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
    const broken = fs
      .readFileSync(path.join(WORKFLOWS, "preview.yml"), "utf8")
      .replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-2404")
      .replace("policy/stacks/${{ matrix.stack }}.json", "policy/stacks/${{ matrix.stak }}.json")
      .replace(`printf '%s' "$KUBECONFIG_CONTENT" > ~/.kube/config`, `printf '%s' $KUBECONFIG_CONTENT > ~/.kube/config`);
    fs.writeFileSync(path.join(dir, "preview.yml"), broken);
    const r = lint([path.join(dir, "preview.yml")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/label "ubuntu-2404" is unknown/);
    expect(r.stdout).toMatch(/property "stak" is not defined/);
    // shellcheck, through actionlint (scripts/setup.sh installs it): the unquoted expansion.
    expect(r.stdout).toMatch(/shellcheck reported issue in this script: SC2086/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("hosted runners", () => {
  it.each(files)("%s installs nothing with a bare apt-get (runners are not root): setup goes through scripts/setup.sh", (f) => {
    for (const run of runs(wf(f))) expect(run).not.toMatch(/(^|[;&|]\s*)apt(-get)?\s+install/m);
  });

  it("the offline checks run .ci/run on the maintained Node LTS lines", () => {
    const job = wf("preview.yml")["jobs"]["offline"];
    expect(job["strategy"]["matrix"]["node"]).toEqual([22, 24]);
    expect(runs({ jobs: { offline: job } })).toContain("bash .ci/run");
  });
});

describe("preview", () => {
  const job = wf("preview.yml")["jobs"]["preview"];
  const step = job["steps"].find((s: Obj) => String(s["uses"] ?? "").startsWith("pulumi/actions@"));
  it("previews on Pulumi Cloud or a self-managed backend, whichever the repository configures", () => {
    expect(step["with"]["cloud-url"]).toBe("${{ vars.PULUMI_BACKEND_URL }}");
    expect(step["with"]["stack-name"]).toMatch(/vars\.PULUMI_BACKEND_URL && matrix\.stack \|\| format\('\{0\}\/\{1\}', vars\.PULUMI_ORG, matrix\.stack\)/);
    expect(Object.keys(step["env"]).sort()).toEqual(["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]);
    // Both are documented, with the permissions a server-side dry run needs.
    const doc = fs.readFileSync(path.join(ROOT, "docs", "ci.md"), "utf8");
    for (const s of ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "--secrets-provider", "KUBECONFIG", "dry-run"]) expect({ s, documented: doc.includes(s) }).toEqual({ s, documented: true });
  });
});

describe("a stale committed render fails", () => {
  // One real render, committed to a scratch folder as a team would, then checked as it is and after a hand edit.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-fresh-"));
  const check = () => spawnSync("bash", [path.join(ROOT, "scripts", "check-render-fresh.sh"), dir, "--skip-charts"], { cwd: ROOT, encoding: "utf8" });
  beforeAll(() => {
    const r = spawnSync("npm", ["run", "--silent", "render", "--", "--stack", "dev", "--out", path.join(dir, "dev"), "--skip-charts"], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`render failed: ${r.stderr}`);
  }, 300_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes when the committed render is what the program renders now (the render is byte-for-byte repeatable)", () => {
    const r = check();
    expect({ status: r.status, out: r.stdout.trim(), err: r.stderr }).toEqual({ status: 0, out: `render-fresh: ${dir}/dev is up to date`, err: "" });
  }, 300_000);

  it("fails, naming the stale file and the command that refreshes it, when the committed render differs", () => {
    const file = path.join(dir, "dev", "manifests", "workloads-order-service", "deployment-apps-order-service.yaml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/image: .*/, "image: ghcr.io/acme-shop/order-service:edited-by-hand"));
    const r = check();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`render-fresh: ${dir}/dev is stale; re-render it with: npm run render -- --stack dev --out ${dir}/dev --skip-charts`);
    expect(r.stderr).toMatch(/Files .*deployment-apps-order-service\.yaml and \(fresh\)\/manifests\/workloads-order-service\/deployment-apps-order-service\.yaml differ/);
  }, 300_000);
});
