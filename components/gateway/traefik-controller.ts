import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease, childOptions } from "../core/objects";
import { DataPlaneSettings, GATEWAY_POD_ANNOTATIONS, GATEWAY_SERVICE_ACCOUNT, IMPLEMENTATIONS, otlpTarget, topologySpread } from "./routing";

/** Inputs of the Traefik controller. */
export interface TraefikControllerArgs {
  /** Namespace of the controller (created by the Platform, so the release waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** Replicas, zone spread and tracing, from the gateway and observability config. */
  readonly dataPlane: DataPlaneSettings;
  /** Traefik's own log level (gateway.traefik.logLevel). */
  readonly logLevel: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/** The chart's release name; the chart names its ServiceAccount and pods after it. */
export const TRAEFIK_RELEASE = "traefik";

/**
 * Chart values for Traefik as a Gateway API implementation only. Pure, so tests check the keys
 * against the pinned chart's values and schema.
 */
export function traefikValues(args: Pick<TraefikControllerArgs, "dataPlane" | "logLevel">): Record<string, unknown> {
  const dp = args.dataPlane;
  const ha = dp.replicas >= 2;
  const otlp = dp.otlpEndpoint ? otlpTarget(dp.otlpEndpoint) : undefined;
  return {
    // With the HPA on, the chart renders no replicas field (the HPA owns the scale).
    deployment: { ...(ha ? {} : { replicas: dp.replicas }), podAnnotations: { ...GATEWAY_POD_ANNOTATIONS } },
    // The identity the mesh allows to reach exposed services (same name under Envoy Gateway);
    // the account itself is created beside the release.
    serviceAccount: { name: GATEWAY_SERVICE_ACCOUNT },
    // HA: scale on CPU from the configured floor, as the Envoy data plane does.
    autoscaling: ha
      ? { enabled: true, minReplicas: dp.replicas, maxReplicas: dp.replicas * 3, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }] }
      : { enabled: false },
    // Gateway API only: no Ingress provider, no IngressClass, and no chart-made Gateway or class:
    // the platform owns its GatewayClass and Gateway so both implementations render the same ones.
    providers: {
      kubernetesGateway: { enabled: true, experimentalChannel: false },
      kubernetesIngress: { enabled: false },
      // Middlewares and TraefikServices (ExtensionRef filters, sticky backends) come from the CRD provider.
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
    },
    ingressClass: { enabled: false },
    gateway: { enabled: false },
    gatewayClass: { enabled: false },
    ingressRoute: { dashboard: { enabled: false } },
    // Entrypoint container ports are what the Gateway's listener ports must equal.
    ports: {
      web: { port: IMPLEMENTATIONS.traefik.httpPort, exposedPort: 80 },
      websecure: { port: IMPLEMENTATIONS.traefik.httpsPort, exposedPort: 443 },
    },
    tlsOptions: { default: { minVersion: "VersionTLS12" } },
    podDisruptionBudget: ha ? { enabled: true, minAvailable: Math.max(1, dp.replicas - 1) } : { enabled: false },
    // The namespace is the gateway's own, so the chart's name label selects exactly these pods.
    topologySpreadConstraints: topologySpread({ "app.kubernetes.io/name": "traefik" }, dp.spreadAcrossZones),
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    log: { level: args.logLevel },
    // Tracing only where a collector receives it.
    ...(otlp ? { tracing: { sampleRate: dp.samplingPercent / 100, otlp: { enabled: true, grpc: { enabled: true, endpoint: `${otlp.host}:${otlp.port}`, insecure: true } } } } : {}),
    // Local keeps client source addresses (rate limits, logs) and avoids a second hop.
    service: { spec: { type: "LoadBalancer", externalTrafficPolicy: "Local" } },
  };
}

/**
 * Traefik (chart pinned in versions/index.ts) as the Gateway API controller. The chart no longer
 * ships Gateway API CRDs; it does install Traefik's own CRDs (Middleware, TraefikService), which
 * the route policies need, so routes follow this component.
 */
export class TraefikController extends pulumi.ComponentResource {
  /** The Helm release; later stages wait on it. */
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: TraefikControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:gateway:TraefikController", name, {}, opts);
    const pin = charts.traefik;
    // With serviceAccount.name set the chart uses, and does not create, the account; the chart's RBAC binds to it.
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: GATEWAY_SERVICE_ACCOUNT, namespace: args.namespace, labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "platform" } } },
      childOptions(this, opts),
    );
    this.release = chartRelease(name, { releaseName: TRAEFIK_RELEASE, pin, namespace: args.namespace, values: traefikValues(args) }, childOptions(this, opts, [sa]));
    this.registerOutputs({ release: this.release.urn });
  }
}
