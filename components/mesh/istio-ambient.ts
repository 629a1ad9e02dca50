import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../../config/schema";
import { charts } from "../../versions";
import { chartRelease, childOptions } from "../core/objects";
import { otlpTarget, topologySpread } from "../gateway/routing";

type Distribution = PlatformConfig["cluster"]["distribution"];

/** Inputs of Istio in ambient mode. */
export interface IstioAmbientArgs {
  /** istio-system (created by the Platform, with privileged Pod Security: ztunnel and istio-cni need it). */
  readonly namespace: pulumi.Input<string>;
  /** istiod replicas (mesh.replicas); ≥ 2 turns on the PDB and spreads them. */
  readonly replicas: number;
  /** Cluster distribution (cluster.distribution), for Istio's platform profile. */
  readonly distribution: Distribution;
  /** SPIFFE trust domain (cluster.domain). */
  readonly trustDomain: string;
  /** Whether nodes span zones. */
  readonly spreadAcrossZones: boolean;
  /** OTLP gRPC endpoint of the platform's collector (observability.otlpEndpoint). */
  readonly otlpEndpoint: string;
  /** Production sizing. */
  readonly production: boolean;
  /**
   * What istiod (only istiod) must wait for: the plug-in CA's Secret, which it reads once at
   * start-up, and the Gateway API CRDs it watches. base, cni and ztunnel do not wait for them.
   */
  readonly istiodAfter?: pulumi.Input<pulumi.Resource>[];
}

/** The name of the tracing provider the Telemetry resource selects. */
export const TRACING_PROVIDER = "otel-tracing";

/**
 * Istio's platform profiles (manifests/helm-profiles/platform-*.yaml at 1.30): CNI paths and
 * similar differ there. Other distributions need none.
 */
export function istioPlatform(d: Distribution): string | undefined {
  return ({ k3d: "k3d", gke: "gke", openshift: "openshift" } as Partial<Record<Distribution, string>>)[d];
}

const common = (a: Pick<IstioAmbientArgs, "distribution">) => {
  const platform = istioPlatform(a.distribution);
  return { profile: "ambient", ...(platform ? { platform } : {}) };
};

/** Values of the four charts. Pure, so tests check them against the pinned charts. */
export function istioValues(a: Omit<IstioAmbientArgs, "namespace" | "istiodAfter">): { base: object; istiod: object; cni: object; ztunnel: object } {
  const ha = a.replicas >= 2;
  const otlp = otlpTarget(a.otlpEndpoint);
  return {
    base: { ...common(a) },
    istiod: {
      ...common(a),
      autoscaleEnabled: true,
      autoscaleMin: a.replicas,
      autoscaleMax: Math.max(a.replicas * 2, 2),
      replicaCount: a.replicas,
      resources: a.production ? { requests: { cpu: "500m", memory: "2Gi" } } : { requests: { cpu: "100m", memory: "512Mi" } },
      ...(ha ? { topologySpreadConstraints: topologySpread({ app: "istiod" }, a.spreadAcrossZones) } : {}),
      global: { defaultPodDisruptionBudget: { enabled: ha } },
      meshConfig: {
        trustDomain: a.trustDomain,
        accessLogFile: "/dev/stdout",
        enableTracing: true,
        extensionProviders: [{ name: TRACING_PROVIDER, opentelemetry: { service: otlp.host, port: otlp.port } }],
      },
    },
    cni: { ...common(a) },
    ztunnel: { ...common(a), resources: a.production ? { requests: { cpu: "200m", memory: "512Mi" } } : { requests: { cpu: "50m", memory: "128Mi" } } },
  };
}

/**
 * Istio 1.30 in ambient mode from its four charts, in the order Istio documents: base (CRDs) →
 * istiod → cni → ztunnel. istiod starts only after the plug-in CA's `cacerts` Secret and the
 * Gateway API CRDs exist (the Platform passes both as dependencies of this component).
 */
export class IstioAmbient extends pulumi.ComponentResource {
  /** istiod's release; mesh policies wait on it (CRDs, the istio-waypoint class). */
  public readonly istiod: k8s.helm.v4.Chart;

  constructor(name: string, args: IstioAmbientArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:mesh:IstioAmbient", name, {}, opts);
    const values = istioValues(args);
    const release = (id: string, pin: { chart: string; version: string; repo: string }, v: object, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
      chartRelease(`${name}-${id}`, { releaseName: id === "base" ? "istio-base" : id === "cni" ? "istio-cni" : id, pin, namespace: args.namespace, values: v }, childOptions(this, opts, dependsOn));
    const base = release("base", charts.istioBase, values.base, []);
    // istiod validates and serves the CRDs base installs; it reads cacerts at start-up and watches the Gateway API.
    this.istiod = release("istiod", charts.istiod, values.istiod, [base, ...(args.istiodAfter ?? [])]);
    // cni and ztunnel take their configuration and certificates from istiod.
    release("cni", charts.istioCni, values.cni, [this.istiod]);
    release("ztunnel", charts.ztunnel, values.ztunnel, [this.istiod]);
    this.registerOutputs({ istiod: this.istiod.urn });
  }
}
