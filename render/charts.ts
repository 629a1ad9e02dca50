/**
 * Chart expansion for the offline render: what the Kubernetes provider does with a
 * `kubernetes:helm.sh/v4:Chart` registration, done here with a real Helm binary so the render, the
 * tests and the policy pack see every object a chart deploys.
 *
 * The provider (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go) runs `helm template`
 * with the chart's values, release name and namespace, the cluster's kube version and API
 * versions, CRDs unless `skipCrds`, and hooks disabled (`DisableHooks = true`: hook objects are not
 * applied at all, test hooks never). It then applies the release namespace to namespaced objects
 * without one, and registers each object as `<chart resource name>:<namespace>/<name>` (or
 * `<chart resource name>:<name>` when cluster-scoped), parented to the Chart, with the object's own
 * Kubernetes type. Secret `data`/`stringData` are marked secret. This module does the same.
 *
 * Charts come from a chart cache: directories laid out `<chart>/<version>/` (the chart as
 * `helm template <dir>` takes it). A Chart whose `chart` input is a local path is templated from
 * that path. Otherwise the cache directories are searched in order; `helm pull` fills the user's
 * cache only when pulling is allowed. A chart that cannot be found is an error naming chart,
 * version and where it was looked for: never a silent partial render.
 */
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { HELM_RELEASE_TYPE, HELM_V3_RELEASE_TYPE, typeToken } from "../policy/k8s";
import { findTool } from "./tools";
import { PACKAGE_ROOT } from "../components/shared/package-root";

const run = promisify(execFile);

export const CHART_TYPE = HELM_RELEASE_TYPE;
/** A chart kept a Helm v3 Release because its install needs its hooks (docs/render.md). */
export const RELEASE_TYPE = HELM_V3_RELEASE_TYPE;

/** Oldest Helm whose `helm template` output these charts were checked with (docs/render.md). */
export const MIN_HELM_VERSION = "3.14.0";

/** The inputs of a Chart registration the expansion reads (the provider's ChartArgs). */
export interface ChartInputs {
  readonly name?: string;
  readonly namespace?: string;
  readonly chart: string;
  readonly version?: string;
  readonly repositoryOpts?: { readonly repo?: string };
  readonly values?: Record<string, unknown>;
  readonly skipCrds?: boolean;
  readonly resourcePrefix?: string;
}

/** One object of a chart as the provider registers it. */
export interface ChartChild {
  /** Pulumi resource name: `<prefix>:<namespace>/<name>` or `<prefix>:<name>`. */
  readonly name: string;
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  readonly object: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  /** Indices (into the same expansion) of the objects this one waits for: its Namespace, its CRD. */
  readonly dependsOn: readonly number[];
}

/** What one Chart expands to. */
export interface ChartExpansion {
  readonly chart: string;
  readonly version: string;
  /** Where the chart was templated from. */
  readonly source: string;
  readonly children: readonly ChartChild[];
  /** Hook objects `helm template` printed that the provider does not apply (kind/name and hook events). */
  readonly droppedHooks: readonly string[];
  /** Kinds whose namespace scope could not be determined (left without a namespace, as the provider does). */
  readonly unresolvedScope: readonly string[];
  /** Whether the result came from the template cache. */
  readonly cached: boolean;
  /** Subcharts the chart cache lacks that the values turn off: templated without them (same output). */
  readonly omittedDisabledSubcharts: readonly string[];
  /** Subcharts the chart cache lacks that the values turn ON: their objects are missing (only with allowMissingSubcharts). */
  readonly missingSubcharts: readonly string[];
}

export interface ChartExpanderOptions {
  /** Chart cache directories (`<chart>/<version>/`), searched in order. */
  readonly cacheDirs: readonly string[];
  /** The Helm binary (default: findHelm()). */
  readonly helm?: string;
  /** Kubernetes version charts see as `.Capabilities.KubeVersion`. */
  readonly kubeVersion: string;
  /** API versions beyond the built-in ones (`group/version` and `group/version/Kind`) charts see as installed. */
  readonly apiVersions: readonly string[];
  /** Let `helm pull` fill `pullDir` for charts missing from the cache (needs network). */
  readonly pull?: boolean;
  /** Where pulled charts go (default: the user cache). */
  readonly pullDir?: string;
  /** Where templated output is cached across renders (default: the user cache; null: memory only). */
  readonly templateCacheDir?: string | null;
  /** Extra CRD manifests (files or directories) whose scope tells namespaced custom kinds from cluster-scoped ones. */
  readonly crdSources?: readonly string[];
  /**
   * Template a chart whose cache copy lacks enabled subcharts, without them, instead of failing.
   * Only on explicit request: the render then lists the missing subcharts as not covered.
   */
  readonly allowMissingSubcharts?: boolean;
  /**
   * Chart default-values trees (`<chart>/<version>/charts/<subchart>/values.yaml`) that give a
   * missing enabled subchart its defaults, so the parent's templates that read them still render.
   */
  readonly subchartDefaults?: readonly string[];
}

/** A chart whose cache copy lacks subcharts the values enable. */
export class MissingSubchartError extends Error {
  constructor(chart: string, version: string, dir: string, missing: readonly string[]) {
    super(
      `chart ${chart} ${version} in ${dir} lacks the subcharts ${missing.join(", ")} that its values enable (no charts/<name> directory or .tgz). ` +
        `Complete the chart cache (helm dependency build), or render without their objects with --allow-missing-subcharts (the report lists them as not covered).`,
    );
    this.name = "MissingSubchartError";
  }
}

interface ChartDependency {
  readonly name: string;
  readonly version?: string;
  readonly alias?: string;
  readonly condition?: string;
  readonly tags?: readonly string[];
}

const subchartLabel = (d: ChartDependency): string => `${d.alias ?? d.name} ${d.version ?? ""}`.trim();

/** A dotted values path's value, or undefined. */
function valueAt(values: unknown, dotted: string): unknown {
  let cur = values;
  for (const k of dotted.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * Whether a dependency is enabled for these values, as Helm decides (chartutil.ProcessDependencies):
 * the first condition path that resolves to a boolean wins, else any tag set true enables and all
 * tags false disable, else enabled. User values override the chart's defaults.
 */
export function dependencyEnabled(dep: ChartDependency, userValues: unknown, defaults: unknown): boolean {
  const lookup = (p: string) => {
    const u = valueAt(userValues, p);
    return u !== undefined ? u : valueAt(defaults, p);
  };
  for (const c of (dep.condition ?? "").split(",").map((x) => x.trim()).filter(Boolean)) {
    const v = lookup(c);
    if (typeof v === "boolean") return v;
  }
  if (dep.tags?.length) {
    const vals = dep.tags.map((t) => lookup(`tags.${t}`)).filter((v): v is boolean => typeof v === "boolean");
    if (vals.length) return vals.some(Boolean);
  }
  return true;
}

/** The dependencies of a chart directory that have neither `charts/<name>/` nor `charts/<name>-*.tgz`. */
export function missingDependencies(dir: string): ChartDependency[] {
  const meta = yaml.load(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) as { dependencies?: ChartDependency[] };
  const present = fs.existsSync(path.join(dir, "charts")) ? fs.readdirSync(path.join(dir, "charts")) : [];
  return (meta.dependencies ?? []).filter((d) => !present.some((f) => f === d.name || (f.startsWith(`${d.name}-`) && f.endsWith(".tgz"))));
}

/**
 * `helm template` refused a chart's values (its values.schema.json, a required value, a template
 * error): most often a stack's own `platform:charts.values.<chart>`. The render exits non-zero.
 */
export class ChartTemplateError extends Error {
  constructor(
    public readonly chart: string,
    public readonly version: string,
    dir: string,
    helmSays: string,
  ) {
    super(`helm template of chart ${chart} ${version} (${dir}) failed (values the stack sets in platform:charts.values.${chart}, if any, are merged into the platform's): ${helmSays.replace(/\s*\n\s*/g, " ")}`);
  }
}

/** A chart the cache does not hold; the render exits non-zero with this message. */
export class ChartNotFoundError extends Error {
  constructor(
    public readonly chart: string,
    public readonly version: string,
    looked: readonly string[],
  ) {
    super(
      `chart ${chart} ${version} not found: looked in ${looked.length ? looked.join(", ") : "no chart cache"}. ` +
        `Point --chart-cache (or PLATFORM_CHART_CACHE, or platform:charts.path) at a directory holding ${chart}/${version}/, ` +
        `run scripts/install-tools.sh (it puts the charts ../shared/charts-src lacks in .tools/charts), ` +
        `let the render pull it (--pull-charts, needs network), or render without chart objects (--skip-charts).`,
    );
    this.name = "ChartNotFoundError";
  }
}

/** A missing Helm binary: reported as missing, never as a failed check. */
export class HelmNotInstalledError extends Error {
  constructor(detail: string) {
    super(`not installed: helm (${detail}). Run scripts/install-tools.sh, or put Helm >= ${MIN_HELM_VERSION} on PATH, or set PLATFORM_HELM.`);
    this.name = "HelmNotInstalledError";
  }
}

/** The package root (the repository, or the installed package): .tools/, crds/ and ../shared are found from it. */
const ROOT = PACKAGE_ROOT;

/** The user cache directory of this project's tools and charts. */
export function userCacheDir(): string {
  return path.join(process.env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache"), "microservice-platform");
}

/** The Helm binary: $PLATFORM_HELM, then the one scripts/install-tools.sh built (.tools/bin/helm), then PATH. */
export function findHelm(): string {
  const env = process.env["PLATFORM_HELM"];
  if (env && !fs.existsSync(env)) throw new HelmNotInstalledError(`PLATFORM_HELM=${env} does not exist`);
  const helm = findTool("helm", "PLATFORM_HELM");
  if (!helm) throw new HelmNotInstalledError("not in .tools/bin or on PATH");
  return helm;
}

/**
 * The default chart caches: $PLATFORM_CHART_CACHE (path-list), then .tools/charts (the charts
 * scripts/install-tools.sh takes from their projects' Go modules), then ../shared/charts-src, each
 * when present.
 */
export function defaultChartCaches(): string[] {
  const env = process.env["PLATFORM_CHART_CACHE"];
  const dirs = env ? env.split(path.delimiter).filter(Boolean) : [];
  const tools = path.join(ROOT, ".tools", "charts");
  if (fs.existsSync(tools)) dirs.push(tools);
  const shared = path.resolve(ROOT, "..", "shared", "charts-src");
  if (fs.existsSync(shared)) dirs.push(shared);
  return dirs.map((d) => path.resolve(d));
}

/** Kinds of the built-in API groups that are cluster-scoped; every other built-in kind is namespaced. */
const CLUSTER_SCOPED_BUILTIN = new Set([
  "Namespace", "Node", "PersistentVolume", "ComponentStatus",
  "ClusterRole", "ClusterRoleBinding",
  "CustomResourceDefinition", "APIService",
  "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass",
  "PriorityClass", "RuntimeClass", "IngressClass",
  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
  "CertificateSigningRequest", "ClusterTrustBundle", "FlowSchema", "PriorityLevelConfiguration",
  "ServiceCIDR", "IPAddress", "DeviceClass", "StorageVersionMigration",
  "TokenReview", "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview",
]);
const BUILTIN_GROUPS = new Set([
  "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io", "storage.k8s.io",
  "apiextensions.k8s.io", "apiregistration.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io", "node.k8s.io",
  "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "certificates.k8s.io", "flowcontrol.apiserver.k8s.io",
  "authentication.k8s.io", "authorization.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
]);

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
}

type Obj = ChartChild["object"];

/** Parses `helm template` output into objects, expanding `List` kinds as the provider does. */
export function parseManifests(text: string): Obj[] {
  const out: Obj[] = [];
  const push = (o: unknown) => {
    if (!o || typeof o !== "object") return;
    const obj = o as Obj & { items?: unknown[] };
    if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
      obj.items.forEach(push);
      return;
    }
    if (!obj.apiVersion || !obj.kind) throw new Error(`chart output has an object without kind/apiVersion: ${JSON.stringify(o).slice(0, 200)}`);
    if (!obj.metadata?.name) throw new Error(`chart output has a ${obj.kind} without metadata.name`);
    out.push(obj);
  };
  yaml.loadAll(text, push);
  return out;
}

/** Hook events of an object (`helm.sh/hook` annotation), or undefined when it is not a hook. */
export function hookEvents(obj: Obj): string[] | undefined {
  const h = (obj.metadata as { annotations?: Record<string, string> }).annotations?.["helm.sh/hook"];
  return h === undefined ? undefined : h.split(",").map((s) => s.trim()).filter(Boolean);
}

/** Scope of custom kinds (`group/Kind` → namespaced), learned from CRD objects. */
export class CrdScopes {
  private readonly scopes = new Map<string, boolean>();
  learn(obj: Obj): void {
    if (obj.kind !== "CustomResourceDefinition") return;
    const spec = obj["spec"] as { group?: string; names?: { kind?: string }; scope?: string } | undefined;
    if (spec?.group && spec.names?.kind) this.scopes.set(`${spec.group}/${spec.names.kind}`, spec.scope !== "Cluster");
  }
  learnFrom(file: string): void {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(file)) this.learnFrom(path.join(file, f));
      return;
    }
    if (!/\.ya?ml$/.test(file)) return;
    try {
      yaml.loadAll(fs.readFileSync(file, "utf8"), (o) => o && typeof o === "object" && this.learn(o as Obj));
    } catch {
      // Not every YAML file under a CRD folder is a manifest; only CRDs matter here.
    }
  }
  /** true: namespaced; false: cluster-scoped; undefined: unknown. */
  namespaced(apiVersion: string, kind: string): boolean | undefined {
    const group = groupOf(apiVersion);
    if (BUILTIN_GROUPS.has(group)) return !CLUSTER_SCOPED_BUILTIN.has(kind);
    return this.scopes.get(`${group}/${kind}`);
  }
}

/**
 * Applies the release namespace and the provider's naming and ordering to templated objects:
 * `Normalize` and `Register` of pulumi-kubernetes' yaml/v2, which Chart v4 uses.
 */
export function toChildren(objects: readonly Obj[], prefix: string, namespace: string, scopes: CrdScopes): { children: ChartChild[]; unresolved: string[] } {
  for (const o of objects) scopes.learn(o);
  const unresolved = new Set<string>();
  const objs = objects.map((o) => {
    if (o.metadata.namespace) return o;
    const ns = scopes.namespaced(o.apiVersion, o.kind);
    if (ns === undefined) unresolved.add(`${o.apiVersion}/${o.kind}`);
    return ns ? { ...o, metadata: { ...o.metadata, namespace } } : o;
  });
  // The ordering edges cli-utils' DependencyGraph draws inside one chart: an object waits for its
  // Namespace and a custom resource for its CRD.
  const nsIndex = new Map<string, number>();
  const crdIndex = new Map<string, number>();
  objs.forEach((o, i) => {
    if (o.kind === "Namespace" && groupOf(o.apiVersion) === "") nsIndex.set(o.metadata.name, i);
    if (o.kind === "CustomResourceDefinition") {
      const spec = o["spec"] as { group?: string; names?: { kind?: string } };
      crdIndex.set(`${spec.group}/${spec.names?.kind}`, i);
    }
  });
  const children = objs.map((o) => {
    const deps: number[] = [];
    const n = o.metadata.namespace ? nsIndex.get(o.metadata.namespace) : undefined;
    if (n !== undefined) deps.push(n);
    const c = crdIndex.get(`${groupOf(o.apiVersion)}/${o.kind}`);
    if (c !== undefined) deps.push(c);
    const id = o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
    return { name: `${prefix}:${id}`, type: typeToken(o.apiVersion, o.kind), object: o, dependsOn: deps };
  });
  const seen = new Set<string>();
  for (const c of children) {
    const key = `${c.type}::${c.name}`;
    if (seen.has(key)) throw new Error(`chart ${prefix} renders ${c.object.kind} ${c.name} twice; the provider would refuse the duplicate URN`);
    seen.add(key);
  }
  return { children, unresolved: [...unresolved].sort() };
}

/** A JSON text of `v` with object keys sorted, for cache keys. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Runs `helm template` for Chart registrations, with a template cache keyed by chart, version and values. */
export class ChartExpander {
  private readonly memory = new Map<string, Promise<{ text: string; cached: boolean }>>();
  private readonly scopes = new CrdScopes();
  private helmPath?: string;
  private helmVersionText?: Promise<string>;
  /** Concurrent helm processes (the machines have 2 cores). */
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: ChartExpanderOptions) {
    for (const src of opts.crdSources ?? []) this.scopes.learnFrom(src);
  }

  private helm(): string {
    return (this.helmPath ??= this.opts.helm ?? findHelm());
  }

  /** `helm version --short`, checked against MIN_HELM_VERSION once. */
  helmVersion(): Promise<string> {
    return (this.helmVersionText ??= run(this.helm(), ["version", "--short"]).then(({ stdout }) => {
      const v = stdout.trim();
      const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
      const [a, b, c] = MIN_HELM_VERSION.split(".").map(Number) as [number, number, number];
      if (m && (Number(m[1]) < a || (Number(m[1]) === a && (Number(m[2]) < b || (Number(m[2]) === b && Number(m[3]) < c))))) {
        throw new Error(`helm ${v} at ${this.helm()} is older than ${MIN_HELM_VERSION}, the oldest this render supports`);
      }
      return v;
    }));
  }

  /** The directory of a chart: a local path given as `chart`, or `<cache>/<chart>/<version>`. */
  async locate(inp: ChartInputs): Promise<string> {
    const isPath = inp.chart.startsWith("/") || inp.chart.startsWith(".") || (inp.chart.includes("/") && !inp.chart.includes("://"));
    if (isPath) {
      const dir = path.resolve(inp.chart);
      if (fs.existsSync(path.join(dir, "Chart.yaml"))) return dir;
      throw new ChartNotFoundError(inp.chart, inp.version ?? "(unversioned)", [dir]);
    }
    const version = inp.version;
    if (!version) throw new Error(`chart ${inp.chart} has no pinned version; every platform chart is pinned in versions/index.ts`);
    const names = [version, version.startsWith("v") ? version.slice(1) : `v${version}`];
    const looked: string[] = [];
    const dirs = [...this.opts.cacheDirs, ...(this.opts.pull || this.opts.pullDir ? [this.pullDir()] : [])];
    for (const cache of dirs) {
      for (const v of names) {
        const dir = path.join(cache, inp.chart, v);
        if (fs.existsSync(path.join(dir, "Chart.yaml"))) return dir;
      }
      looked.push(path.join(cache, inp.chart, version));
    }
    if (this.opts.pull && inp.repositoryOpts?.repo) return this.pull(inp.chart, version, inp.repositoryOpts.repo);
    throw new ChartNotFoundError(inp.chart, version, looked);
  }

  private pullDir(): string {
    return this.opts.pullDir ?? path.join(userCacheDir(), "charts");
  }

  private async pull(chart: string, version: string, repo: string): Promise<string> {
    const target = path.join(this.pullDir(), chart, version);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chart-pull-"));
    try {
      const ref = repo.startsWith("oci://") ? [`${repo.replace(/\/+$/, "")}/${chart}`] : [chart, "--repo", repo];
      await run(this.helm(), ["pull", ...ref, "--version", version, "--untar", "--untardir", tmp], { maxBuffer: 1 << 26 });
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(path.join(tmp, chart), target);
      return target;
    } catch (e) {
      throw new ChartNotFoundError(chart, version, [`${repo} (helm pull failed: ${(e as Error).message.split("\n")[0]})`]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  private async slot<T>(f: () => Promise<T>): Promise<T> {
    while (this.running >= 2) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await f();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** The arguments of `helm template` for a chart, as the provider sets them (hooks kept: they are split off after). */
  templateArgs(inp: ChartInputs, releaseName: string, dir: string, valuesFile: string): string[] {
    return [
      "template", releaseName, dir,
      "--namespace", inp.namespace || "default",
      "--kube-version", this.opts.kubeVersion,
      ...this.opts.apiVersions.flatMap((a) => ["--api-versions", a]),
      ...(inp.skipCrds ? [] : ["--include-crds"]),
      "--skip-tests",
      "--values", valuesFile,
    ];
  }

  private readonly overlays = new Map<string, string>();

  /**
   * The chart directory to template: the cache copy itself, or, when it lacks subcharts, a
   * temporary copy whose Chart.yaml leaves them out (Helm refuses a chart with a missing
   * dependency even when the values turn it off, and a disabled subchart renders nothing).
   */
  private missingSubcharts(dir: string, inp: ChartInputs): { enabled: ChartDependency[]; disabled: ChartDependency[] } {
    const missing = missingDependencies(dir);
    if (!missing.length) return { enabled: [], disabled: [] };
    const defaults = fs.existsSync(path.join(dir, "values.yaml")) ? yaml.load(fs.readFileSync(path.join(dir, "values.yaml"), "utf8")) : {};
    const enabled = missing.filter((d) => dependencyEnabled(d, inp.values ?? {}, defaults));
    if (enabled.length && !this.opts.allowMissingSubcharts) throw new MissingSubchartError(inp.chart, inp.version ?? "", dir, enabled.map(subchartLabel));
    return { enabled, disabled: missing.filter((d) => !enabled.includes(d)) };
  }

  /** The copy of `dir` to template (built on a template-cache miss only), or `dir` itself when nothing is missing. */
  private overlay(dir: string, inp: ChartInputs, { enabled, disabled }: { enabled: ChartDependency[]; disabled: ChartDependency[] }): string {
    const missing = [...enabled, ...disabled];
    if (!missing.length) return dir;
    // The copy's content depends on which missing subcharts are stubs and which are dropped.
    const key = `${dir}\u0000${enabled.map((d) => d.name).join(",")}\u0000${disabled.map((d) => d.name).join(",")}`;
    let copy = this.overlays.get(key);
    if (!copy) {
      copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "chart-overlay-")), path.basename(path.dirname(dir)));
      fs.cpSync(dir, copy, { recursive: true, dereference: true });
      const meta = yaml.load(fs.readFileSync(path.join(copy, "Chart.yaml"), "utf8")) as { dependencies?: ChartDependency[] };
      // Disabled ones leave Chart.yaml; enabled ones (allowed) become values-only stubs: the
      // parent's templates read their defaults, their own objects are reported as not covered.
      meta.dependencies = (meta.dependencies ?? []).filter((d) => !missing.some((m) => m.name === d.name) || enabled.some((m) => m.name === d.name));
      fs.writeFileSync(path.join(copy, "Chart.yaml"), yaml.dump(meta));
      for (const d of enabled) {
        const stub = path.join(copy, "charts", d.name);
        fs.mkdirSync(stub, { recursive: true });
        fs.writeFileSync(path.join(stub, "Chart.yaml"), yaml.dump({ apiVersion: "v2", name: d.name, version: String(d.version ?? "0.0.0").replace(/[*x]/g, "0") }));
        const defaultsFile = (this.opts.subchartDefaults ?? [])
          .map((root) => path.join(root, inp.chart, inp.version ?? "", "charts", d.name, "values.yaml"))
          .find((f) => fs.existsSync(f));
        if (defaultsFile) fs.copyFileSync(defaultsFile, path.join(stub, "values.yaml"));
      }
      fs.rmSync(path.join(copy, "Chart.lock"), { force: true });
      this.overlays.set(key, copy);
      process.once("exit", () => fs.rmSync(path.dirname(copy!), { recursive: true, force: true }));
    }
    return copy;
  }

  /** Raw `helm template` text of a chart with these values (cached). */
  async template(inp: ChartInputs, releaseName: string): Promise<{ text: string; cached: boolean; dir: string; omitted: string[]; missing: string[] }> {
    const dir = await this.locate(inp);
    const subcharts = this.missingSubcharts(dir, inp);
    const omitted = subcharts.disabled.map(subchartLabel);
    const missing = subcharts.enabled.map(subchartLabel);
    const helmVersion = await this.helmVersion();
    const values = inp.values ?? {};
    const key = createHash("sha256")
      .update(stableJson({ helmVersion, dir, omitted, missing, chart: inp.chart, version: inp.version, releaseName, namespace: inp.namespace, skipCrds: !!inp.skipCrds, kube: this.opts.kubeVersion, api: this.opts.apiVersions, values }))
      .digest("hex");
    let p = this.memory.get(key);
    if (!p) {
      p = this.slot(async () => {
        const cacheDir = this.opts.templateCacheDir === undefined ? path.join(userCacheDir(), "helm-template") : this.opts.templateCacheDir;
        const file = cacheDir ? path.join(cacheDir, `${key}.yaml`) : undefined;
        if (file && fs.existsSync(file)) return { text: fs.readFileSync(file, "utf8"), cached: true };
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chart-values-"));
        try {
          const valuesFile = path.join(tmp, "values.json");
          fs.writeFileSync(valuesFile, JSON.stringify(values), { mode: 0o600 });
          const { stdout } = await run(this.helm(), this.templateArgs(inp, releaseName, this.overlay(dir, inp, subcharts), valuesFile), { maxBuffer: 1 << 28 });
          if (file) {
            fs.mkdirSync(cacheDir!, { recursive: true });
            fs.writeFileSync(`${file}.tmp`, stdout);
            fs.renameSync(`${file}.tmp`, file);
          }
          return { text: stdout, cached: false };
        } catch (e) {
          const err = e as Error & { stderr?: string };
          throw new ChartTemplateError(inp.chart, inp.version ?? "", dir, (err.stderr || err.message).trim());
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      });
      this.memory.set(key, p);
    }
    return { ...(await p), dir, omitted, missing };
  }

  /** Expands one Chart registration (`resourceName` is the Chart's Pulumi name). */
  async expand(resourceName: string, inp: ChartInputs, how: { readonly hooks?: boolean } = {}): Promise<ChartExpansion> {
    const releaseName = inp.name || resourceName;
    const { text, cached, dir, omitted, missing } = await this.template(inp, releaseName);
    const all = parseManifests(text);
    const droppedHooks: string[] = [];
    const objects = all.filter((o) => {
      const events = hookEvents(o);
      if (!events) return true;
      if (how.hooks) return true; // Helm applies them (a Release)
      droppedHooks.push(`${o.kind}/${o.metadata.name} (${events.join(",")})`);
      return false;
    });
    const { children, unresolved } = toChildren(objects, inp.resourcePrefix ?? resourceName, inp.namespace || "default", this.scopes);
    return { chart: inp.chart, version: inp.version ?? "", source: dir, children, droppedHooks, unresolvedScope: unresolved, cached, omittedDisabledSubcharts: omitted, missingSubcharts: missing };
  }
}

/** The subset of stack config the cluster's API surface depends on. */
export interface ClusterShape {
  readonly mesh: { readonly enabled: boolean };
  readonly gateway: { readonly enabled: boolean; readonly implementation: "traefik" | "envoy" };
}

/** Built-in `group/version/Kind` entries a cluster's discovery gives Helm, that pinned charts test for. */
export const BUILTIN_KIND_VERSIONS: readonly string[] = ["policy/v1/PodDisruptionBudget"];

/**
 * API versions beyond the built-in ones that the stack's cluster serves by the time each chart is
 * installed: the CRDs of earlier install stages (Gateway API, prometheus-operator, Istio, Kyverno,
 * Strimzi, the gateway's own). `pulumi up` gets them from the API server's discovery; the offline
 * render passes the same to `helm template --api-versions`, so charts that check
 * `.Capabilities.APIVersions.Has` (ServiceMonitors, PodMonitors, Gateway API objects) render what
 * they render on the cluster. tests/charts.test.ts checks the list against the CRDs the render installs.
 */
export function clusterApiVersions(c: ClusterShape): string[] {
  const gv = (group: string, version: string, kinds: readonly string[]) => [`${group}/${version}`, ...kinds.map((k) => `${group}/${version}/${k}`)];
  return [
    // Built-in kinds as discovery lists them (Helm's defaults carry group/versions only): charts
    // choose policy/v1 over the removed policy/v1beta1 by this one (Traefik, Consul, Flagger).
    ...BUILTIN_KIND_VERSIONS,
    ...(c.gateway.enabled || c.mesh.enabled
      ? [...gv("gateway.networking.k8s.io", "v1", ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ListenerSet", "BackendTLSPolicy", "TLSRoute", "ReferenceGrant"]), ...gv("gateway.networking.k8s.io", "v1beta1", ["ReferenceGrant"])]
      : []),
    ...gv("monitoring.coreos.com", "v1", ["ServiceMonitor", "PodMonitor", "PrometheusRule", "Prometheus", "Alertmanager", "Probe", "ThanosRuler"]),
    ...gv("monitoring.coreos.com", "v1alpha1", ["AlertmanagerConfig", "PrometheusAgent", "ScrapeConfig"]),
    ...(c.mesh.enabled
      ? [
          ...gv("security.istio.io", "v1", ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"]),
          ...gv("networking.istio.io", "v1", ["DestinationRule", "VirtualService", "ServiceEntry", "Sidecar", "Gateway", "WorkloadEntry", "WorkloadGroup"]),
          ...gv("telemetry.istio.io", "v1", ["Telemetry"]),
        ]
      : []),
    ...gv("kyverno.io", "v1", ["ClusterPolicy", "Policy"]),
    ...gv("kyverno.io", "v2", ["PolicyException", "CleanupPolicy", "ClusterCleanupPolicy"]),
    ...gv("kafka.strimzi.io", "v1", ["Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"]),
    ...(c.gateway.enabled && c.gateway.implementation === "envoy" ? gv("gateway.envoyproxy.io", "v1alpha1", ["EnvoyProxy", "BackendTrafficPolicy", "ClientTrafficPolicy", "SecurityPolicy"]) : []),
    ...(c.gateway.enabled && c.gateway.implementation === "traefik" ? gv("traefik.io", "v1alpha1", ["Middleware", "IngressRoute", "ServersTransport", "TLSOption", "TraefikService"]) : []),
  ];
}

/** Chart default-values trees for subcharts a cache lacks: $PLATFORM_CHART_DEFAULTS (path list), then ../shared/charts when present. */
export function defaultSubchartDefaults(): string[] {
  const env = process.env["PLATFORM_CHART_DEFAULTS"];
  const dirs = env ? env.split(path.delimiter).filter(Boolean).map((d) => path.resolve(d)) : [];
  return [...dirs, path.resolve(ROOT, "..", "shared", "charts")].filter((d) => fs.existsSync(d));
}

/** CRD files whose scopes the expander learns before any chart (the vendored ones, and shared/crds when present). */
export function defaultCrdSources(): string[] {
  return [path.join(ROOT, "crds"), path.resolve(ROOT, "..", "shared", "crds")].filter((d) => fs.existsSync(d));
}
