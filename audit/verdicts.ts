/**
 * Runs the policy pack over a stack's recorded registrations or a directory of plain Kubernetes
 * YAML, and shapes the result: one record per resource (file, kind, namespace, name, violations)
 * plus the stack-wide ones. Used by `npm run audit` and by the render's report.md.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import type { Policies } from "@pulumi/policy";
import { policies as packPolicies } from "../policy/policies";
import { HELM_RELEASE_TYPE, isHelmChart, typeToken } from "../policy/k8s";
import { analyzeAll, AnalyzedResource, PackConfig } from "./analyzer";
import { PACKAGE_ROOT } from "../components/shared/package-root";

export interface Violation {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly message: string;
}

export interface ResourceRecord {
  /** Manifest file (relative), or where the render writes the object; null when it writes none. */
  readonly file: string | null;
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly urn: string;
  readonly violations: Violation[];
}

export interface Verdicts {
  readonly records: ResourceRecord[];
  /** Stack-policy findings not tied to one resource. */
  readonly stack: Violation[];
  readonly mandatory: number;
  readonly advisory: number;
}

/** An analyzable resource plus where it lives on disk. */
export interface Located extends AnalyzedResource {
  readonly file: string | null;
}

/** Recorded registrations (render/harness.ts) as the engine would hand them to the analyzer. */
export function fromRegistrations(rs: readonly { urn: string; type: string; name: string; custom: boolean; parent?: string; dependencies: readonly string[]; inputs: Record<string, unknown> }[], fileOf: (urn: string) => string | null = () => null): Located[] {
  return rs.map((r) => {
    const located: { -readonly [K in keyof Located]: Located[K] } = { type: r.type, name: r.name, urn: r.urn, props: r.inputs, dependencies: r.dependencies, file: r.custom ? fileOf(r.urn) : null };
    if (r.parent) located.parent = r.parent; // not a spread: one object per registration, no copy
    return located;
  });
}

/**
 * Every object in the YAML files below `dir` (List kinds expanded), typed as Pulumi would type it;
 * Flux HelmReleases become Helm Releases (fluxReleaseAsHelm).
 */
export function fromManifestDir(dir: string): Located[] {
  const out: Located[] = [];
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) => {
      const p = path.join(d, e.name);
      if (e.isDirectory()) return e.name === ".git" || e.name === "node_modules" ? [] : walk(p);
      return /\.ya?ml$/.test(e.name) ? [p] : [];
    });
  for (const file of walk(dir)) {
    const rel = path.relative(dir, file);
    parseAllDocuments(fs.readFileSync(file, "utf8")).forEach((doc, i) => {
      const o = doc.toJS() as Record<string, any> | null;
      const objs: Record<string, any>[] = o && o["kind"] === "List" && Array.isArray(o["items"]) ? o["items"] : o ? [o] : [];
      objs.forEach((obj, j) => {
        if (!obj || typeof obj !== "object" || typeof obj["kind"] !== "string" || typeof obj["apiVersion"] !== "string") return;
        const type = typeToken(obj["apiVersion"], obj["kind"]);
        const name = String(obj["metadata"]?.["name"] ?? `${obj["kind"]}-${i}`);
        out.push({ type, name, urn: `urn:pulumi:manifests::audit::${type}::${rel}#${i}${objs.length > 1 ? `.${j}` : ""}`, props: obj, file: rel });
      });
    });
  }
  const sources = out.filter((r) => r.type.startsWith("kubernetes:source.toolkit.fluxcd.io/")).map((r) => r.props as Obj);
  return out.map((r) => {
    if (!/^kubernetes:helm\.toolkit\.fluxcd\.io\/[^:]+:HelmRelease$/.test(r.type)) return r;
    const helm = fluxReleaseAsHelm(r.props as Obj, sources);
    return helm ? { ...r, type: HELM_RELEASE_TYPE, props: helm } : r;
  });
}

type Obj = Record<string, any>;

/**
 * A Flux HelmRelease read as the Pulumi Helm Release it stands for (chart, version, repository,
 * target namespace, values), so the Helm policies check a GitOps tree as they check the program:
 * the chart comes from `spec.chart.spec` + its HelmRepository, or from `spec.chartRef` + its
 * OCIRepository (the render writes both forms, render/gitops.ts).
 */
export function fluxReleaseAsHelm(release: Obj, sources: readonly Obj[]): Obj | undefined {
  const spec = (release["spec"] ?? {}) as Obj;
  const ns = release["metadata"]?.["namespace"] ?? "default";
  const source = (kind: string, ref: Obj | undefined) =>
    ref && sources.find((x) => x["kind"] === kind && x["metadata"]?.["name"] === ref["name"] && (x["metadata"]?.["namespace"] ?? "default") === (ref["namespace"] ?? ns));
  let chart: string | undefined;
  let version: unknown;
  let repo: string | undefined;
  if (spec["chart"]?.["spec"]) {
    const c = spec["chart"]["spec"] as Obj;
    chart = c["chart"];
    version = c["version"];
    repo = source(c["sourceRef"]?.["kind"] ?? "HelmRepository", c["sourceRef"])?.["spec"]?.["url"];
  } else if (spec["chartRef"]?.["kind"] === "OCIRepository") {
    const oci = source("OCIRepository", spec["chartRef"]);
    const url = String(oci?.["spec"]?.["url"] ?? "");
    chart = url.split("/").pop();
    version = oci?.["spec"]?.["ref"]?.["tag"] ?? oci?.["spec"]?.["ref"]?.["semver"];
    repo = url ? url.slice(0, url.lastIndexOf("/")) : undefined;
  } else return undefined;
  return {
    name: spec["releaseName"] ?? release["metadata"]?.["name"],
    namespace: spec["targetNamespace"] ?? ns,
    chart,
    version,
    ...(repo ? { repositoryOpts: { repo } } : {}),
    values: spec["values"] ?? {},
  };
}

function describe(r: Located): { kind: string; namespace: string | null; name: string } {
  const p = r.props as Record<string, any>;
  if (isHelmChart(r.type)) return { kind: "HelmRelease", namespace: p["namespace"] ?? null, name: p["name"] ?? r.name };
  return { kind: p["kind"] ?? r.type, namespace: p["metadata"]?.["namespace"] ?? null, name: p["metadata"]?.["name"] ?? r.name };
}

/** Runs every policy over the resources: resource policies one by one, then the stack policies. */
export async function audit(resources: readonly Located[], config: PackConfig = {}, policies: Policies = packPolicies): Promise<Verdicts> {
  const { perResource, stack } = await analyzeAll(policies, resources, config);
  // Violations of the resources that have any (most have none: no array, no map entry for them).
  const byUrn = new Map<string, Violation[]>();
  const violationsOf = (urn: string): Violation[] => {
    let vs = byUrn.get(urn);
    if (!vs) byUrn.set(urn, (vs = []));
    return vs;
  };
  perResource.forEach(({ diagnostics: ds }, urn) => {
    if (ds.length) violationsOf(urn).push(...ds.map((d) => ({ policy: d.policyName, enforcementLevel: d.enforcementLevel, message: d.detail })));
  });
  const stackWide: Violation[] = [];
  for (const d of stack.diagnostics) {
    const v = { policy: d.policyName, enforcementLevel: d.enforcementLevel, message: d.detail };
    if (d.urn && perResource.has(d.urn)) violationsOf(d.urn).push(v);
    else stackWide.push(v);
  }
  const records = resources
    .filter((r) => r.type.startsWith("kubernetes:"))
    .map((r) => {
      // Spelled out: a spread here made every record a dictionary object, ~1 KB each on large stacks.
      const d = describe(r);
      return { file: r.file, kind: d.kind, namespace: d.namespace, name: d.name, urn: r.urn, violations: byUrn.get(r.urn) ?? [] };
    });
  const all = [...records.flatMap((r) => r.violations), ...stackWide];
  return {
    records,
    stack: stackWide,
    mandatory: all.filter((v) => v.enforcementLevel === "mandatory").length,
    advisory: all.filter((v) => v.enforcementLevel === "advisory").length,
  };
}

/** The pack config a stack uses: policy/stacks/<stack>.json if it exists (what CI passes to --policy-pack-config). */
export function stackPolicyConfigFile(stack: string, root = PACKAGE_ROOT): string | undefined {
  const f = path.join(root, "policy", "stacks", `${stack}.json`);
  return fs.existsSync(f) ? f : undefined;
}

export function readPolicyConfig(file: string): PackConfig {
  return JSON.parse(fs.readFileSync(file, "utf8")) as PackConfig;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The "Policy verdicts" section of report.md. */
export function verdictsMarkdown(v: Verdicts, configFile: string | undefined): string {
  const lines: string[] = [];
  lines.push(
    `CrossGuard pack \`policy/\` run over this render (the same policies \`pulumi preview --policy-pack policy\` runs), config ${configFile ? `\`${configFile}\`` : "derived from the stack's config (audit/pack-config.ts; print it with `npm run audit -- --stack-file <file> --print-policy-config`)"}: ` +
      `**${v.mandatory} mandatory**, ${v.advisory} advisory.`,
    "",
  );
  const rows = [
    ...v.records.flatMap((r) => r.violations.map((x) => ({ where: `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`, ...x }))),
    ...v.stack.map((x) => ({ where: "stack", ...x })),
  ].sort((a, b) => (a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === "mandatory" ? -1 : 1) || a.policy.localeCompare(b.policy));
  if (!rows.length) lines.push("No violations.");
  else {
    lines.push("| level | policy | object | finding |", "| --- | --- | --- | --- |");
    for (const r of rows) lines.push(`| ${r.enforcementLevel} | ${r.policy} | ${cell(r.where)} | ${cell(r.message)} |`);
  }
  return lines.join("\n");
}
