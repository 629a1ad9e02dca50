import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

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
