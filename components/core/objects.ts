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
