/**
 * The GitOps output: Flux and Argo CD trees validate against their pinned CRDs and carry the
 * install order; stacks rendered into one repository keep to their own folders; the render removes
 * only files it wrote; the same stack renders byte for byte the same.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadAll } from "js-yaml";
import { callGraph, compareRenders, currentRender, previousRender } from "../render/compare";
import { DEFAULT_GITOPS, GitOpsOptions, gitopsProblems } from "../render/gitops";
import { groupLevels } from "../render/model";
import { Rendered, renderConfig, RenderOptions, renderStack } from "../render/render";
import { gitopsFromArgs, readStackConfig } from "../render/stack";
import { LEDGER, writeRender } from "../render/write";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";

type Obj = Record<string, any>;
const crds = new CrdValidator(CRD_DIR);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gitops-"));

/** Every file below `dir` (relative path → SHA-256), the ledger included. */
function hashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), createHash("sha256").update(fs.readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}
const docs = (file: string): Obj[] => loadAll(fs.readFileSync(file, "utf8")).filter(Boolean) as Obj[];

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});

describe("Flux and Argo CD trees", () => {
  it("Flux: one Kustomization per component below the stack's folder, dependsOn = the install order's edges, valid against the pinned CRD", async () => {
    const r = rendered["prod"]!;
    const out = tmp();
    await writeRender(r.model, r.report, out, { ...DEFAULT_GITOPS, path: "clusters/prod", source: "fleet" });
    const ks = docs(path.join(out, "flux", "kustomizations.yaml"));
    expect(ks.map((k) => k["metadata"].name).sort()).toEqual(r.model.groups.map((g) => `platform-${g.name}`).sort());
    for (const k of ks) {
      expect(crds.validate(k as any)).toEqual(expect.objectContaining({ ok: true }));
      expect(k["spec"].path).toMatch(/^\.\/clusters\/prod\/manifests\/[a-z0-9-]+$/);
      expect(fs.existsSync(path.join(out, k["spec"].path.replace("./clusters/prod/", ""), "kustomization.yaml"))).toBe(true);
      expect(k["spec"].sourceRef).toEqual({ kind: "GitRepository", name: "fleet" });
      // Either Flux waits for everything it applied, or it checks an explicit list (with the left-out Secrets).
      expect(k["spec"].wait === true || (k["spec"].wait === false && k["spec"].healthChecks.length > 0)).toBe(true);
    }
    // A component whose Secrets are supplied out of band is not Ready until they exist, so istiod
    // does not start without its CA (it would sign with a CA of its own), nor a workload without its credentials.
    const ca = ks.find((k) => k["metadata"].name === "platform-mesh-ca")!;
    expect(ca["spec"]).toMatchObject({ wait: false, healthChecks: [{ apiVersion: "v1", kind: "Secret", name: "cacerts", namespace: "istio-system" }] });
    expect(ks.find((k) => k["metadata"].name === "platform-istio")!["spec"].dependsOn).toEqual(expect.arrayContaining([{ name: "platform-mesh-ca" }]));
    const etcd = ks.find((k) => k["metadata"].name === "platform-etcd")!;
    const etcdGroup = r.model.groups.find((g) => g.name === "etcd")!;
    if (r.config.secrets.platformSecrets.enabled) {
      // Its Secrets come from the store: ExternalSecrets in its own folder, which Flux health-checks
      // (Ready once the store answers) with everything else it applied, before what depends on etcd.
      expect(etcd["spec"]).toMatchObject({ wait: true });
      expect(etcd["spec"].healthChecks).toBeUndefined();
      expect(etcdGroup.objects.filter((o) => o.kind === "ExternalSecret").map((o) => o.metadata.name)).toEqual(expect.arrayContaining(["etcd-server-tls", "etcd-peer-tls", "etcd-root"]));
      expect(etcd["spec"].dependsOn).toEqual(expect.arrayContaining([{ name: "platform-vault" }, { name: "platform-external-secrets" }]));
    } else {
      expect(etcd["spec"].healthChecks).toHaveLength(etcdGroup.objects.length + r.model.secrets.filter((x) => x.component === "etcd").length);
      expect(etcd["spec"].healthChecks).toEqual(expect.arrayContaining([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "etcd", namespace: "discovery" }, { apiVersion: "v1", kind: "Secret", name: "etcd-server-tls", namespace: "discovery" }]));
    }
    expect(ks.find((k) => k["metadata"].name === "platform-kyverno")!["spec"]).toMatchObject({ wait: true });
    expect(ks.find((k) => k["metadata"].name === "platform-kyverno")!["spec"].healthChecks).toBeUndefined();
    const workloads = ks.find((k) => k["metadata"].name === "platform-payment-service")!;
    expect(workloads["spec"].dependsOn.map((d: Obj) => d["name"])).toEqual(expect.arrayContaining(["platform-payment-service-secrets", "platform-admission-policies"]));
  });

  it("Argo CD: one Application per component with its sync wave from the install levels, a root app of apps, valid against the pinned CRD", async () => {
    const r = rendered["prod"]!;
    const out = tmp();
    const o: GitOpsOptions = { engine: "argocd", path: "clusters/prod", source: "https://git.example.com/acme/platform.git", revision: "main", namePrefix: "prod" };
    await writeRender(r.model, r.report, out, o);
    expect(fs.existsSync(path.join(out, "flux"))).toBe(false);
    const apps = docs(path.join(out, "argocd", "applications", "applications.yaml"));
    const [root] = docs(path.join(out, "argocd", "root.yaml"));
    for (const a of [...apps, root!]) expect(crds.validate(a as any)).toEqual(expect.objectContaining({ ok: true }));
    expect(apps.map((a) => a["metadata"].name).sort()).toEqual(r.model.groups.map((g) => `prod-${g.name}`).sort());
    const levels = groupLevels(r.model);
    const wave = (name: string) => Number(apps.find((a) => a["metadata"].name === `prod-${name}`)!["metadata"].annotations["argocd.argoproj.io/sync-wave"]);
    // Every component syncs in a later wave than each component it depends on.
    for (const g of r.model.groups) for (const d of g.dependsOn) expect(wave(g.name)).toBeGreaterThan(wave(d));
    expect(new Set(apps.map((a) => a["metadata"].annotations["argocd.argoproj.io/sync-wave"])).size).toBe(levels.length);
    expect(apps.every((a) => a["spec"].source.repoURL === o.source && a["spec"].source.targetRevision === "main" && a["spec"].source.path.startsWith("clusters/prod/manifests/"))).toBe(true);
    expect(root!["spec"].source.path).toBe("clusters/prod/argocd/applications");
  });

  it("refuses options that cannot work, one line naming the option", () => {
    expect(gitopsProblems({ ...DEFAULT_GITOPS, path: "../elsewhere" })).toEqual([expect.stringMatching(/^--gitops-path: must be a path inside the repository/)]);
    expect(gitopsProblems({ ...DEFAULT_GITOPS, engine: "argocd", source: "platform" })).toEqual([expect.stringMatching(/^--gitops-source: Argo CD needs the repository URL \(got "platform"/)]);
    expect(gitopsProblems({ ...DEFAULT_GITOPS, source: "Not A Name" })).toEqual([expect.stringMatching(/^--gitops-source: the Flux GitRepository's name must be a DNS label/)]);
    expect(gitopsFromArgs(["--gitops", "argo"])).toEqual({ error: expect.stringMatching(/^--gitops: unknown engine "argo"; expected flux or argocd$/) });
    expect(gitopsFromArgs(["--gitops", "argocd", "--gitops-source", "https://g/x.git", "--charts", "helmrelease"])).toEqual({ error: expect.stringMatching(/^--charts helmrelease: HelmReleases need Flux/) });
    expect(gitopsFromArgs([])).toEqual(DEFAULT_GITOPS);
  });
});

describe("one repository, several stacks", () => {
  it("renders the same stack byte for byte the same", async () => {
    const a = tmp();
    const b = tmp();
    const again = await renderStack("dev");
    await writeRender(rendered["dev"]!.model, rendered["dev"]!.report, a);
    await writeRender(again.model, again.report, b);
    expect(hashes(b)).toEqual(hashes(a));
  });

  it("keeps each stack to its folder, removes only its own stale files and keeps a team's files", async () => {
    const repo = tmp();
    const dev = path.join(repo, "clusters", "dev");
    const prod = path.join(repo, "clusters", "prod");
    await writeRender(rendered["dev"]!.model, rendered["dev"]!.report, dev, { ...DEFAULT_GITOPS, path: "clusters/dev" });
    await writeRender(rendered["prod"]!.model, rendered["prod"]!.report, prod, { engine: "argocd", path: "clusters/prod", source: "https://git.example.com/p.git", revision: "HEAD", namePrefix: "prod" });
    fs.writeFileSync(path.join(dev, "manifests", "README.md"), "ours\n");
    fs.writeFileSync(path.join(dev, "manifests", "workloads-notification-service", "notes.txt"), "ours too\n");
    const prodBefore = hashes(prod);
    // dev without notification-service: its component goes, the team's files stay, prod is untouched.
    const flat = readStackConfig("dev");
    const services = JSON.parse(flat["platform:services"]!);
    delete services["notification-service"];
    const smaller = await renderConfig("dev", { ...flat, "platform:services": JSON.stringify(services) });
    await writeRender(smaller.model, smaller.report, dev, { ...DEFAULT_GITOPS, path: "clusters/dev" });
    expect(hashes(prod)).toEqual(prodBefore);
    expect(fs.readFileSync(path.join(dev, "manifests", "README.md"), "utf8")).toBe("ours\n");
    expect(fs.readdirSync(path.join(dev, "manifests", "workloads-notification-service"))).toEqual(["notes.txt"]);
    const ledger = fs.readFileSync(path.join(dev, LEDGER), "utf8").split("\n").filter(Boolean);
    expect(ledger.some((f) => f.includes("notification-service"))).toBe(false);
    expect([...hashes(dev).keys()].filter((f) => f !== LEDGER && !ledger.includes(f)).sort()).toEqual(["manifests/README.md", "manifests/workloads-notification-service/notes.txt"]);
  });
});

describe("review in pull requests: --compare, the call graph, the images", () => {
  const withService = (edit: (services: Record<string, any>) => void, options: RenderOptions = {}) => {
    const flat = readStackConfig("dev");
    const services = JSON.parse(flat["platform:services"]!);
    edit(services);
    return renderConfig("dev", { ...flat, "platform:services": JSON.stringify(services) }, options);
  };

  it("reports exactly the changed service's objects, with the changed fields, and its image as new", async () => {
    const before = tmp();
    await writeRender(rendered["dev"]!.model, rendered["dev"]!.report, before);
    const previous = previousRender(before);
    if ("error" in previous) throw new Error(previous.error);
    const next = await withService((s) => (s["payment-service"].image = "ghcr.io/acme-shop/payment-service@sha256:" + "ab".repeat(32)), { compare: { previous, against: before } });
    const changes = compareRenders(previous, currentRender(next.model));
    expect(changes.added).toEqual([]);
    expect(changes.removed).toEqual([]);
    expect(changes.changed.map((c) => `${c.component} ${c.object["kind"]}/${c.object["metadata"].name} ${c.fields.join(",")}`)).toEqual(["workloads-payment-service Deployment/payment-service spec.template.spec.containers[0].image"]);
    const report = next.report;
    // Right after the summary, before the install stages.
    expect(report.indexOf("## What changes")).toBeLessThan(report.indexOf("## Install stages"));
    expect(report).toMatch(/## What changes\n\nAgainst the render in `[^`]+`: 0 added, 1 changed, 0 removed\./);
    expect(report).toContain(`| \`ghcr.io/acme-shop/payment-service@sha256:${"ab".repeat(32)}\` | Deployment apps/payment-service | new |`);
    // The same render against itself: nothing changes.
    expect(compareRenders(previous, currentRender(rendered["dev"]!.model))).toEqual({ added: [], removed: [], changed: [] });
    expect(previousRender(path.join(before, "nowhere"))).toEqual({ error: expect.stringMatching(/^--compare: .* holds no earlier render \(no manifests\/ folder\)/) });
  });

  it("draws the call graph one sorted line per service and edge: a new call adds one line, nothing else moves", async () => {
    const cfg = rendered["dev"]!.config;
    const before = callGraph(cfg);
    expect(callGraph(cfg)).toBe(before);
    expect(before).toContain('  svc_order_service -->|"http GET /users · allow-user-service"| svc_user_service');
    expect(before).toMatch(/GATEWAY -->\|"https [^"]+ · gateway principal"\| svc_user_service/);
    const flat = readStackConfig("dev");
    const services = JSON.parse(flat["platform:services"]!);
    services["inventory-service"].calls = [...(services["inventory-service"].calls ?? []), { service: "user-service", methods: ["GET"] }];
    const after = callGraph((await renderConfig("dev", { ...flat, "platform:services": JSON.stringify(services) })).config);
    const a = new Set(before.split("\n"));
    const b = after.split("\n");
    expect(b.filter((l) => !a.has(l))).toEqual(['  svc_inventory_service -->|"http GET · allow-user-service"| svc_user_service']);
    expect(before.split("\n").filter((l) => !b.includes(l))).toEqual([]);
  });
});
