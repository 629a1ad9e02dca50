import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RetryPolicy } from "../../config/resilience";
import { meshRetryPolicy } from "./traffic";
import type { PlatformConfig } from "../../config/schema";
import { charts } from "../../versions";
import { chartRelease, childOptions } from "../core/objects";
import { otlpTarget, topologySpread } from "../gateway/routing";
import type { PlatformPodMonitor } from "../shared/monitoring";

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
  /** OTLP gRPC endpoint of the collector (observability.otlpEndpoint); absent: no tracing provider. */
  readonly otlpEndpoint?: string;
  /** Production sizing. */
  readonly production: boolean;
  /** East-west retries, applied by every waypoint (resilience.retries → meshConfig.defaultHttpRetryPolicy). */
  readonly retries: RetryPolicy;
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

/**
 * The runtime's default seccomp filter, through the key each chart has for it (istiod
 * `seccompProfile`, cni `seccompProfile`; both documented "Set to `type: RuntimeDefault` to use the
 * default profile"). The ztunnel chart (1.30.3) has no such key: docs/mesh.md.
 */
const RUNTIME_DEFAULT_SECCOMP = { seccompProfile: { type: "RuntimeDefault" } };

/**
 * Requests and a memory limit per container (policy `container-resources`). No CPU limit on
 * purpose (throttling; istiod, install-cni and ztunnel size their thread pools from limits.cpu and
 * fall back to the node's CPUs without one). install-cni sets GOMEMLIMIT from limits.memory.
 */
export const ISTIO_RESOURCES = {
  /** istiod (container discovery): memory grows with the cluster's services and endpoints; upstream requests 2Gi. */
  istiod: {
    production: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
    dev: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  },
  /** istio-cni (container install-cni), one per node; upstream requests 100m / 100Mi. */
  cni: {
    production: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    dev: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  },
  /** ztunnel (container istio-proxy), one per node; upstream requests 200m / 512Mi ("enough for ~200k pod cluster"). */
  ztunnel: {
    production: { requests: { cpu: "200m", memory: "512Mi" }, limits: { memory: "1Gi" } },
    dev: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
  },
} as const;

/**
 * PodMonitors for Istio's components (the charts ship none; Istio's docs scrape the same ports):
 * istiod's monitoring port (15014, declared by no container port), ztunnel's and istio-cni's
 * metrics ports, and every waypoint istiod creates (merged Envoy and agent stats on 15020).
 */
export function istioPodMonitors(namespace: string): PlatformPodMonitor[] {
  return [
    { name: "istiod", namespaceSelector: { matchNames: [namespace] }, selector: { matchLabels: { app: "istiod" } }, podMetricsEndpoints: [{ portNumber: 15014 }] },
    { name: "ztunnel", namespaceSelector: { matchNames: [namespace] }, selector: { matchLabels: { app: "ztunnel" } }, podMetricsEndpoints: [{ port: "ztunnel-stats", path: "/stats/prometheus" }] },
    { name: "istio-cni", namespaceSelector: { matchNames: [namespace] }, selector: { matchLabels: { "k8s-app": "istio-cni-node" } }, podMetricsEndpoints: [{ port: "metrics" }] },
    { name: "istio-waypoints", namespaceSelector: { any: true }, selector: { matchLabels: { "gateway.istio.io/managed": "istio.io-mesh-controller" } }, podMetricsEndpoints: [{ port: "metrics", path: "/stats/prometheus" }] },
  ];
}

/** Values of the four charts. Pure, so tests check them against the pinned charts. */
export function istioValues(a: Omit<IstioAmbientArgs, "namespace" | "istiodAfter">): { base: object; istiod: object; cni: object; ztunnel: object } {
  const ha = a.replicas >= 2;
  const otlp = a.otlpEndpoint ? otlpTarget(a.otlpEndpoint) : undefined;
  return {
    base: { ...common(a) },
    istiod: {
      ...common(a),
      // Autoscaling only when HA: a single istiod cannot have a PodDisruptionBudget (the chart
      // renders one only for autoscaleMin > 1, kubernetes/kubernetes#93476), so it must not scale
      // to replicas that no PDB protects (policy pdb-for-multi-replica-workloads).
      ...(ha ? { autoscaleEnabled: true, autoscaleMin: a.replicas, autoscaleMax: a.replicas * 2 } : { autoscaleEnabled: false }),
      replicaCount: a.replicas,
      resources: a.production ? ISTIO_RESOURCES.istiod.production : ISTIO_RESOURCES.istiod.dev,
      ...RUNTIME_DEFAULT_SECCOMP,
      ...(ha ? { topologySpreadConstraints: topologySpread({ app: "istiod" }, a.spreadAcrossZones) } : {}),
      global: {
        defaultPodDisruptionBudget: { enabled: ha },
        // Waypoints istiod creates in application namespaces (files/waypoint.yaml): spread like istiod.
        ...(ha ? { waypoint: { topologySpreadConstraints: topologySpread({ "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint" }, a.spreadAcrossZones) } } : {}),
      },
      // The waypoint template sets a seccomp profile only from this key (istio/istio#56383); without
      // it Pod Security "restricted" in the application namespaces refuses every waypoint pod.
      gateways: { ...RUNTIME_DEFAULT_SECCOMP },
      // HA waypoints: replicas and a PDB through the class defaults istiod applies as overlays
      // (chart templates/gateway-class-configmap.yaml); without them a waypoint is one pod, no PDB.
      ...(ha ? { gatewayClasses: { "istio-waypoint": { deployment: { spec: { replicas: a.replicas } }, podDisruptionBudget: { spec: { minAvailable: 1 } } } } } : {}),
      meshConfig: {
        trustDomain: a.trustDomain,
        accessLogFile: "/dev/stdout",
        enableTracing: otlp !== undefined,
        ...(otlp ? { extensionProviders: [{ name: TRACING_PROVIDER, opentelemetry: { service: otlp.host, port: otlp.port } }] } : {}),
        // East-west retries: every waypoint route without its own retry (all of them: HTTPRoute
        // `retry` is experimental-channel only) takes this policy (components/mesh/traffic.ts).
        defaultHttpRetryPolicy: meshRetryPolicy(a.retries),
      },
    },
    cni: {
      ...common(a),
      resources: a.production ? ISTIO_RESOURCES.cni.production : ISTIO_RESOURCES.cni.dev,
      ...RUNTIME_DEFAULT_SECCOMP,
      // Kubernetes >= 1.30 (cluster.kubernetesVersion): the securityContext field instead of the
      // annotation deprecated since 1.30 (the chart keeps the annotation only for 1.29 and older).
      // install-cni's AppArmor profile stays Unconfined either way (exempted: docs/mesh.md).
      useAppArmorAnnotation: false,
    },
    ztunnel: { ...common(a), resources: a.production ? ISTIO_RESOURCES.ztunnel.production : ISTIO_RESOURCES.ztunnel.dev },
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
