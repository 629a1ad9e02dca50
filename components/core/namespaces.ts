import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Inputs of the Namespaces component. */
export interface NamespacesArgs {
  /** Application namespaces to create (sorted, unique). */
  readonly names: readonly string[];
  /** Pod Security Standard enforced, audited and warned in these namespaces (privileged only for node agents such as ztunnel). */
  readonly podSecurity: "restricted" | "baseline" | "privileged";
  /** Extra labels on every namespace (e.g. mesh enrollment). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Extra labels on one namespace (e.g. the mesh's use-waypoint label where a waypoint serves). */
  readonly labelsFor?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * Application namespaces with Pod Security Admission labels. PSA is the cluster's own last line:
 * even an object that bypasses the policy pack and Kyverno cannot run privileged pods here.
 */
export class Namespaces extends pulumi.ComponentResource {
  /** Namespace name → the created namespace's name (an Output, so dependents wait for it). */
  public readonly names: Record<string, pulumi.Output<string>>;
  /** Namespace name → the Namespace, for a dependsOn on exactly one of them. */
  public readonly objects: Record<string, k8s.core.v1.Namespace>;

  constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:core:Namespaces", name, {}, opts);
    this.names = {};
    this.objects = {};
    for (const ns of args.names) {
      const created = new k8s.core.v1.Namespace(
        `${name}-${ns}`,
        {
          metadata: {
            name: ns,
            labels: {
              "app.kubernetes.io/managed-by": "pulumi",
              "app.kubernetes.io/part-of": "platform",
              "pod-security.kubernetes.io/enforce": args.podSecurity,
              "pod-security.kubernetes.io/enforce-version": "latest",
              "pod-security.kubernetes.io/audit": args.podSecurity,
              "pod-security.kubernetes.io/warn": args.podSecurity,
              ...(args.labels ?? {}),
              ...(args.labelsFor?.[ns] ?? {}),
            },
          },
        },
        { parent: this },
      );
      this.names[ns] = created.metadata.name;
      this.objects[ns] = created;
    }
    this.registerOutputs({ names: this.names });
  }
}
