import * as pulumi from "@pulumi/pulumi";
import { childOptions, customResource, K8sObject } from "../core/objects";
import { chunks, PacedComponent } from "../core/pacing";
import type { ResiliencePlan } from "../../config/resilience";
import type { ServiceGraph } from "../service-graph";
import { authorizationObjects } from "./authorization";
import { meshTrafficObjects } from "./traffic";
import { TRACING_PROVIDER } from "./istio-ambient";
import { PLATFORM_LABELS } from "../shared/labels";

/** Inputs of the mesh-wide and per-namespace policies. */
export interface MeshPoliciesArgs {
  /** istio-system: the root namespace, where mesh-wide policies live. */
  readonly rootNamespace: string;
  /** The declarations everything is derived from. */
  readonly graph: ServiceGraph;
  /** SPIFFE trust domain (cluster.domain). */
  readonly trustDomain: string;
  /** The gateway data plane's principal, allowed to exactly the exposed services. */
  readonly gatewayPrincipal?: string;
  /** Flagger's loadtester principal, allowed to progressive services that declare smoke tests. */
  readonly loadtesterPrincipal?: string;
  /** Tracing sampling percentage (observability.tracingSamplingPercent, ≥ 5); absent: no tracing (nothing receives it). */
  readonly samplingPercent?: number;
  /** Effective timeouts, pools and breakers of the declared calls (config/resilience.ts). */
  readonly resilience: ResiliencePlan;
}

/** Mesh-wide STRICT mTLS and telemetry, in the root namespace. */
export function meshWideObjects(rootNamespace: string, samplingPercent: number | undefined): K8sObject[] {
  const labels = PLATFORM_LABELS;
  return [
    { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "default", namespace: rootNamespace, labels }, spec: { mtls: { mode: "STRICT" } } },
    {
      apiVersion: "telemetry.istio.io/v1",
      kind: "Telemetry",
      metadata: { name: "mesh-default", namespace: rootNamespace, labels },
      spec: {
        ...(samplingPercent !== undefined ? { tracing: [{ providers: [{ name: TRACING_PROVIDER }], randomSamplingPercentage: samplingPercent }] } : {}),
        accessLogging: [{ providers: [{ name: "envoy" }] }],
      },
    },
  ];
}

/** About one service's worth of policies per turn: a turn's registrations stay small. */
const POLICIES_PER_TURN = 4;

/**
 * STRICT mTLS mesh-wide, tracing and access logs, least-privilege authorization derived from the
 * declared calls (default deny per application namespace, an ALLOW per declared caller at the
 * called service's waypoint, the gateway to exposed services only), and each called service's
 * timeout route and DestinationRule (components/mesh/traffic.ts).
 */
export class MeshPolicies extends PacedComponent<{ authorizationPolicies: number }> {
  /** Number of AuthorizationPolicies, for the report. */
  public readonly authorizationPolicies: number;

  constructor(name: string, args: MeshPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:mesh:MeshPolicies", name, opts);
    const objs = [
      ...meshWideObjects(args.rootNamespace, args.samplingPercent),
      ...authorizationObjects(args.graph, { trustDomain: args.trustDomain, ...(args.gatewayPrincipal ? { gatewayPrincipal: args.gatewayPrincipal } : {}), ...(args.loadtesterPrincipal ? { loadtesterPrincipal: args.loadtesterPrincipal } : {}) }),
      ...meshTrafficObjects(args.graph, args.resilience),
    ];
    this.authorizationPolicies = objs.filter((o) => o.kind === "AuthorizationPolicy").length;
    // A few policies per turn (components/core/pacing.ts).
    for (const batch of chunks(objs, POLICIES_PER_TURN)) {
      void this.item(() => batch.forEach((o) => customResource(`${name}-${o.metadata.namespace}-${o.kind.toLowerCase()}-${o.metadata.name}`, o, childOptions(this, opts))));
    }
    this.later(() => ({ authorizationPolicies: this.authorizationPolicies }));
  }
}
