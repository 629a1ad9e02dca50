import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { ChartPin } from "../../versions";

/** A Kubernetes object as plain data, as the areas' pure functions build them. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/**
 * Registers a plain custom resource object. The areas build objects with pure, typed functions
 * (tested without a runtime) and register them here; `pulumi preview` still shows each object.
 */
export function customResource(name: string, obj: K8sObject, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  const { apiVersion, kind, metadata, ...fields } = obj;
  return new k8s.apiextensions.CustomResource(name, { apiVersion, kind, metadata, ...fields }, opts);
}

/** The resources options' `dependsOn` names, as a list (it may be one resource, a list, or absent). */
export function dependsOnList(opts: pulumi.ResourceOptions | undefined): pulumi.Input<pulumi.Resource>[] {
  return opts?.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? [...(opts.dependsOn as pulumi.Input<pulumi.Resource>[])] : [opts.dependsOn as pulumi.Input<pulumi.Resource>];
}

/**
 * Options for a component's children: `parent`, plus the component's own `dependsOn`. Pulumi does
 * not hold a component's children back for the component's dependencies (pulumi/pulumi#8721), so
 * an install-order edge given to a component must be handed to the resources that do the work.
 */
export function childOptions(parent: pulumi.Resource, opts: pulumi.ComponentResourceOptions | undefined, more: pulumi.Input<pulumi.Resource>[] = []): pulumi.CustomResourceOptions {
  const dependsOn = [...dependsOnList(opts), ...more];
  return { parent, ...(dependsOn.length ? { dependsOn } : {}) };
}

/** Where the platform's charts come from, per stack (`platform:charts`). */
export interface ChartSource {
  /** A local chart cache laid out `<chart>/<version>/`: every chart is templated from there (air-gapped installs). */
  readonly path?: string;
  /** A Helm repository or OCI registry (`oci://...`) that mirrors every pinned chart under its own name. */
  readonly repository?: string;
}

let stackChartSource: ChartSource | undefined;

/**
 * Sets the stack's chart source (`platform:charts`) for every chart the program registers. The
 * Platform calls it once, before any area: a setting of the whole stack, like the provider's own
 * configuration, rather than an argument threaded through every area.
 */
export function useChartSource(source: ChartSource | undefined): void {
  stackChartSource = source;
}

let stackChartValues: Readonly<Record<string, Record<string, unknown>>> = {};

/** Sets the stack's values overrides by chart name (`platform:charts.values`), merged over the platform's in every chart of that name. */
export function useChartValues(values: Readonly<Record<string, Record<string, unknown>>>): void {
  stackChartValues = values;
}

/** The stack's values override for one chart (`platform:charts.values.<chart>`), if any. */
export function stackValuesOf(chart: string): Record<string, unknown> | undefined {
  return stackChartValues[chart];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** `over` merged into `base` as `helm -f` merges values files: maps merge, lists and scalars replace. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeValues(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** A chart's values with the stack's override for that chart, if any (values may hold Outputs: merged once resolved). */
function withStackValues(chart: string, values: ChartReleaseArgs["values"]): ChartReleaseArgs["values"] {
  const over = stackChartValues[chart];
  if (!over) return values;
  return pulumi.output(values ?? {}).apply((v) => mergeValues(v as Record<string, unknown>, over)) as ChartReleaseArgs["values"];
}

/** What differs between the platform's charts; the chart, version and repository come from the pin. */
export interface ChartReleaseArgs {
  /** The Helm release name (what the chart's templates see as `.Release.Name`). */
  readonly releaseName: pulumi.Input<string>;
  /** The chart as pinned in versions/index.ts. */
  readonly pin: Pick<ChartPin, "chart" | "version" | "repo">;
  readonly namespace: pulumi.Input<string>;
  readonly values: k8s.helm.v4.ChartArgs["values"];
  /** Leave the chart's crds/ directory out (its CRDs come from another chart). */
  readonly skipCrds?: boolean;
  /** Where charts come from for this stack; absent: the pin's upstream repository. */
  readonly source?: ChartSource;
  /**
   * The chart's install needs its Helm hooks, which a Chart v4 never runs: keep it a Helm v3
   * Release (Helm runs the hooks). The reason goes at the call site and in docs/render.md.
   */
  readonly needsHooks?: boolean;
}

/**
 * A pinned chart as a Chart v4: the provider runs `helm template` and registers every object as a
 * resource of its own, so `pulumi preview` lists and diffs each one and the policy pack sees each
 * one. Hooks are not applied (docs/render.md lists the hooks each chart has and why dropping them
 * is safe here). One place spells out chart, exact version and repository.
 */
export function chartRelease(name: string, args: ChartReleaseArgs & { needsHooks: true }, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release;
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart;
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart | k8s.helm.v3.Release {
  const { pin } = args;
  const source = args.source ?? stackChartSource;
  const from = source?.path
    ? { chart: path.join(source.path, pin.chart, pin.version) }
    : { chart: pin.chart, repositoryOpts: { repo: source?.repository ?? pin.repo } };
  if (args.needsHooks) {
    return new k8s.helm.v3.Release(
      name,
      { name: args.releaseName, ...from, version: pin.version, namespace: args.namespace, ...(args.skipCrds ? { skipCrds: true } : {}), values: withStackValues(pin.chart, args.values) },
      opts as pulumi.CustomResourceOptions,
    );
  }
  return new k8s.helm.v4.Chart(
    name,
    {
      name: args.releaseName,
      ...from,
      version: pin.version,
      namespace: args.namespace,
      ...(args.skipCrds ? { skipCrds: true } : {}),
      values: withStackValues(pin.chart, args.values),
    },
    opts,
  );
}
