import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
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

/**
 * Options for a component's children: `parent`, plus the component's own `dependsOn`. Pulumi does
 * not hold a component's children back for the component's dependencies (pulumi/pulumi#8721), so
 * an install-order edge given to a component must be handed to the resources that do the work.
 */
export function childOptions(parent: pulumi.Resource, opts: pulumi.ComponentResourceOptions | undefined, more: pulumi.Input<pulumi.Resource>[] = []): pulumi.CustomResourceOptions {
  const inherited = opts?.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? (opts.dependsOn as pulumi.Input<pulumi.Resource>[]) : [opts.dependsOn as pulumi.Input<pulumi.Resource>];
  const dependsOn = [...inherited, ...more];
  return { parent, ...(dependsOn.length ? { dependsOn } : {}) };
}

/** What differs between the platform's Helm releases; the chart, version and repository come from the pin. */
export interface ChartReleaseArgs {
  /** The Helm release name (what `helm list` shows). */
  readonly releaseName: pulumi.Input<string>;
  /** The chart as pinned in versions/index.ts. */
  readonly pin: Pick<ChartPin, "chart" | "version" | "repo">;
  readonly namespace: pulumi.Input<string>;
  readonly values: k8s.helm.v3.ReleaseArgs["values"];
  /** Leave the chart's crds/ directory out (its CRDs come from another release). */
  readonly skipCrds?: boolean;
}

/** A Helm release of a pinned chart: one place spells out chart, exact version and repository. */
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      name: args.releaseName,
      chart: args.pin.chart,
      version: args.pin.version,
      repositoryOpts: { repo: args.pin.repo },
      namespace: args.namespace,
      ...(args.skipCrds ? { skipCrds: true } : {}),
      values: args.values,
    },
    opts,
  );
}
