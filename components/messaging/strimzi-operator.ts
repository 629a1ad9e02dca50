/**
 * The Strimzi cluster operator from its pinned chart, in the Kafka namespace, as its own install
 * step: the Kafka custom resources need its CRDs and a running operator, and a GitOps apply of a
 * custom resource whose CRD is not installed yet fails, so the two cannot share one step.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease } from "../core/objects";
import { platformNamespace } from "../shared/pod-security";

/** Values of the Strimzi operator chart. Pure, so the values-key tests can check them. */
export function strimziOperatorValues(a: { readonly ha: boolean; readonly domain: string }): Record<string, unknown> {
  return {
    replicas: a.ha ? 2 : 1,
    leaderElection: { enable: true },
    podDisruptionBudget: { enabled: a.ha },
    kubernetesServiceDnsDomain: a.domain,
    // The platform renders its own NetworkPolicies (components/security/network-policies.ts); the
    // operator's would select the Kafka pods without admitting ambient's HBONE port 15008.
    generateNetworkPolicy: false,
    // Every pod the operator creates gets a Pod Security "restricted" context.
    extraEnvs: [{ name: "STRIMZI_POD_SECURITY_PROVIDER_CLASS", value: "restricted" }],
  };
}

/** Inputs of the Strimzi operator. */
export interface StrimziOperatorArgs {
  /** Namespace of the operator and the Kafka cluster it manages (created here, Pod Security restricted). */
  readonly namespace: string;
  /** Extra labels on that namespace (the mesh's ambient enrollment). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Two operator replicas with leader election and a PDB (prod). */
  readonly ha: boolean;
  /** Cluster DNS domain. */
  readonly domain: string;
}

/** Strimzi operator: Namespace and Helm release. */
export class StrimziOperator extends pulumi.ComponentResource {
  /** The namespace (an Output: custom resources placed in it wait for it). */
  public readonly namespace: pulumi.Output<string>;
  /** The release: custom resources depend on it (CRDs and a running operator). */
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: StrimziOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:messaging:StrimziOperator", name, {}, opts);
    const child = { parent: this };
    this.namespace = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    const pin = charts.strimzi;
    this.release = chartRelease(
      name,
      { releaseName: name, pin, namespace: this.namespace, values: strimziOperatorValues({ ha: args.ha, domain: args.domain }) },
      child,
    );
    this.registerOutputs({ namespace: this.namespace });
  }
}
