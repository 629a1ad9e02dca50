/**
 * Chart expansion (render/charts.ts): what the Kubernetes provider does with a Chart v4, done with
 * a real Helm. Needs the Helm that scripts/install-tools.sh builds and ../shared/charts-src (CI has
 * both); without them the tests that template say so and fail, never pass silently.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BUILTIN_KIND_VERSIONS, ChartExpander, ChartNotFoundError, clusterApiVersions, CrdScopes, defaultChartCaches, defaultCrdSources, dependencyEnabled, findHelm, MissingSubchartError, toChildren } from "../render/charts";
import { renderStack, Rendered } from "../render/render";

const SHARED_CHARTS = path.resolve(__dirname, "..", "..", "shared", "charts-src");

function requireTools(): void {
  findHelm(); // throws "not installed: helm ..." with the way to install it
  if (!fs.existsSync(SHARED_CHARTS)) throw new Error(`these tests need the chart cache ${SHARED_CHARTS} (../shared/charts-src), which is absent`);
}

describe("the provider's naming, namespaces and ordering (pure)", () => {
  const obj = (apiVersion: string, kind: string, name: string, namespace?: string, spec?: unknown) => ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...(spec ? { spec } : {}) });

  it("names children <chart>:<namespace>/<name>, applies the release namespace to namespaced kinds only, and orders CRs after their CRD", () => {
    const crd = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", undefined, { group: "example.com", names: { kind: "Widget" }, scope: "Namespaced" });
    const { children, unresolved } = toChildren(
      [obj("v1", "ConfigMap", "c"), obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r"), crd, obj("example.com/v1", "Widget", "w"), obj("other.io/v1", "Thing", "t")],
      "my-chart",
      "team",
      new CrdScopes(),
    );
    expect(children.map((c) => [c.type, c.name])).toEqual([
      ["kubernetes:core/v1:ConfigMap", "my-chart:team/c"],
      ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "my-chart:r"],
      ["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "my-chart:widgets.example.com"],
      ["kubernetes:example.com/v1:Widget", "my-chart:team/w"],
      ["kubernetes:other.io/v1:Thing", "my-chart:t"],
    ]);
    expect(children[3]!.dependsOn).toEqual([2]);
    // A kind whose scope nobody knows stays without a namespace, and is reported (as the provider warns).
    expect(unresolved).toEqual(["other.io/v1/Thing"]);
  });

  it("refuses a chart that renders one object twice (the engine would refuse the duplicate URN)", () => {
    expect(() => toChildren([obj("v1", "ConfigMap", "c", "a"), obj("v1", "ConfigMap", "c", "a")], "x", "a", new CrdScopes())).toThrow(/twice/);
  });

  it("decides a subchart's condition as Helm does: user values over chart defaults, first boolean condition wins", () => {
    const dep = { name: "grafana", condition: "grafana.enabled" };
    expect(dependencyEnabled(dep, {}, { grafana: { enabled: true } })).toBe(true);
    expect(dependencyEnabled(dep, { grafana: { enabled: false } }, { grafana: { enabled: true } })).toBe(false);
    expect(dependencyEnabled({ name: "x", condition: "a.on,b.on" }, { b: { on: false } }, {})).toBe(false);
    expect(dependencyEnabled({ name: "x" }, {}, {})).toBe(true);
  });
});

describe("templating with Helm", () => {
  beforeAll(requireTools);
  const expander = () => new ChartExpander({ cacheDirs: defaultChartCaches(), kubeVersion: "1.34.0", apiVersions: [], templateCacheDir: null, crdSources: defaultCrdSources() });

  it("expands a pinned chart from the cache into its objects, release namespace applied", async () => {
    const e = await expander().expand("nats", { name: "nats", chart: "nats", version: "2.14.2", namespace: "nats", values: { config: { cluster: { enabled: true, replicas: 3 } } } });
    const sts = e.children.find((c) => c.object.kind === "StatefulSet")!;
    expect(sts.name).toBe("nats:nats/nats");
    expect((sts.object as any).spec.replicas).toBe(3);
    expect(e.children.every((c) => c.object.kind === "ClusterRole" || c.object.metadata.namespace === "nats")).toBe(true);
  });

  it("does not apply hooks for a Chart v4, and applies them for a Helm Release", async () => {
    const inp = { name: "kyverno", chart: "kyverno", version: "3.9.0", namespace: "kyverno", values: {} };
    const v4 = await expander().expand("kyverno", inp);
    expect(v4.droppedHooks.some((h) => h.startsWith("Job/kyverno-migrate-resources"))).toBe(true);
    expect(v4.children.some((c) => c.object.metadata.name === "kyverno-migrate-resources")).toBe(false);
    const v3 = await expander().expand("kyverno", inp, { hooks: true });
    expect(v3.children.some((c) => c.object.kind === "Job" && c.object.metadata.name === "kyverno-migrate-resources")).toBe(true);
  });

  it("names a chart missing from every cache, with version and the places searched", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "empty-cache-"));
    const e = new ChartExpander({ cacheDirs: [dir], kubeVersion: "1.34.0", apiVersions: [], templateCacheDir: null });
    await expect(e.expand("x", { chart: "nats", version: "9.9.9", repositoryOpts: { repo: "https://example.invalid" } })).rejects.toThrow(ChartNotFoundError);
    await expect(e.expand("x", { chart: "nats", version: "9.9.9" })).rejects.toThrow(new RegExp(`chart nats 9.9.9 not found: looked in ${dir}/nats/9.9.9`));
  });

  it("refuses a chart whose cache copy lacks an enabled subchart unless told, and then reports it", async () => {
    const inp = { name: "kps", chart: "kube-prometheus-stack", version: "88.5.3", namespace: "observability", values: {} };
    const strict = new ChartExpander({ cacheDirs: [SHARED_CHARTS], kubeVersion: "1.34.0", apiVersions: [], templateCacheDir: null });
    await expect(strict.expand("kps", inp)).rejects.toThrow(MissingSubchartError);
    const lax = new ChartExpander({ cacheDirs: [SHARED_CHARTS], kubeVersion: "1.34.0", apiVersions: [], templateCacheDir: null, allowMissingSubcharts: true, subchartDefaults: [path.resolve(SHARED_CHARTS, "..", "charts")] });
    const e = await lax.expand("kps", inp);
    expect(e.missingSubcharts.map((m) => m.split(" ")[0]).sort()).toEqual(["grafana", "kube-state-metrics", "prometheus-node-exporter"]);
    expect(e.children.some((c) => c.object.kind === "Prometheus")).toBe(true);
  });
});

describe("the render holds every chart object", () => {
  beforeAll(requireTools);
  let r: Rendered;
  beforeAll(async () => {
    r = await renderStack("prod");
  });

  it("records each chart object as a child of its Chart, with its real type", () => {
    expect(r.run.charts.length).toBeGreaterThanOrEqual(14);
    for (const { urn, expansion } of r.run.charts) {
      const children = r.run.resources.filter((x) => x.parent === urn);
      expect(children.length).toBe(expansion.children.length);
      expect(children.length).toBeGreaterThan(0);
      for (const c of children) expect(c.type).toBe(`kubernetes:${(c.inputs as any).apiVersion.includes("/") ? (c.inputs as any).apiVersion : `core/${(c.inputs as any).apiVersion}`}:${(c.inputs as any).kind}`);
    }
    const istiod = r.run.charts.find((c) => c.expansion.chart === "istiod")!;
    expect(r.run.resources.some((x) => x.parent === istiod.urn && x.type === "kubernetes:apps/v1:Deployment" && (x.inputs as any).metadata.name === "istiod")).toBe(true);
  });

  it("gives chart objects the Chart's install-order dependencies", () => {
    const chart = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "istiod")!;
    expect(chart.dependencies.length).toBeGreaterThan(0);
    for (const c of r.run.resources.filter((x) => x.parent === chart.urn)) expect(c.dependencies).toEqual(expect.arrayContaining(chart.dependencies));
  });

  it("counts the objects per chart in report.md and names what is not covered", () => {
    expect(r.report).toContain("## Charts");
    expect(r.report).toMatch(/\| istio-istiod \(istiod\) \| 1\.30\.3 \| \d+ \|/);
    expect(r.report).toContain("**Not covered by this render**");
    expect(r.report).toContain("kube-prometheus-stack → grafana 12.11.1");
  });

  it("writes every chart object in rendered mode and none of them as a HelmRelease", () => {
    const objects = r.model.groups.flatMap((g) => g.objects);
    expect(objects.filter((o) => o.kind === "HelmRelease").map((o) => o.metadata.name)).toEqual([]);
    const chartObjects = r.run.charts.reduce((n, c) => n + c.expansion.children.filter((x) => x.object.kind !== "Secret").length, 0);
    expect(objects.length).toBeGreaterThanOrEqual(chartObjects);
  });

  it("tells charts the built-in kinds discovery lists: PodDisruptionBudgets render as policy/v1 (v1beta1 is gone)", () => {
    expect(clusterApiVersions(r.config)).toContain("policy/v1/PodDisruptionBudget");
    const pdbs = r.model.groups.flatMap((g) => g.objects).filter((o) => o.kind === "PodDisruptionBudget");
    expect(pdbs.length).toBeGreaterThan(0);
    expect(pdbs.filter((o) => o.apiVersion !== "policy/v1").map((o) => o.metadata.name)).toEqual([]);
  });

  it("tells charts the API versions of exactly the CRDs the stack installs", () => {
    const installed = new Set(
      r.model.groups.flatMap((g) => g.objects).filter((o) => o.kind === "CustomResourceDefinition").flatMap((o: any) => o.spec.versions.filter((v: any) => v.served).map((v: any) => `${o.spec.group}/${v.name}/${o.spec.names.kind}`)),
    );
    const claimed = clusterApiVersions(r.config).filter((a) => a.split("/").length === 3 && !BUILTIN_KIND_VERSIONS.includes(a));
    const notInstalled = claimed.filter((a) => !installed.has(a));
    expect(notInstalled).toEqual([]);
  });
});
