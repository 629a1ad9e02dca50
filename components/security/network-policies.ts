/**
 * Kubernetes NetworkPolicies in every namespace the platform creates: a default deny of ingress,
 * then exactly the rules of the network plan (network-grants.ts). The mesh's authorization is the
 * first line for mesh pods; these are the second, and the only one for pods outside the mesh and
 * for traffic the mesh never sees (host network, API server, load balancer).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NetworkPlan, networkPolicyManifests } from "./network-grants";

/** Inputs of the NetworkPolicies component. */
export interface NetworkPoliciesArgs {
  /** The default denies and allow rules to render (networkPlan(config, graph)). */
  readonly plan: NetworkPlan;
  /**
   * Namespace name → the created namespace's name output, for every namespace of the plan: each
   * policy waits for its namespace, whichever area created it.
   */
  readonly namespaces: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The NetworkPolicy objects of the plan. */
export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:security:NetworkPolicies", name, {}, opts);
    const missing = args.plan.namespaces.map((n) => n.name).filter((n) => args.namespaces[n] === undefined);
    if (missing.length) throw new pulumi.ResourceError(`network policies: namespace(s) ${missing.join(", ")} not created by any area`, this);
    for (const m of networkPolicyManifests(args.plan)) {
      const ns: string = m["metadata"].namespace;
      new k8s.networking.v1.NetworkPolicy(`${name}-${ns}-${m["metadata"].name}`, { metadata: { ...m["metadata"], namespace: args.namespaces[ns]! }, spec: m["spec"] }, { parent: this });
    }
    this.registerOutputs({});
  }
}
