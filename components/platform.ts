import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { PlatformConfig } from "../config/schema";
import { crdBundles } from "../versions";
import { GatewayApiCrds } from "./core/gateway-api-crds";
import { Namespaces } from "./core/namespaces";
import { KubePrometheusStack, DASHBOARD_LABEL } from "./observability/kube-prometheus-stack";
import { Jaeger, jaegerOtlpAddress, jaegerQueryUrl } from "./observability/jaeger";
import { Loki, lokiOtlpUrl, lokiUrl } from "./observability/loki";
import { OtelCollector } from "./observability/otel-collector";
import { PrometheusOperatorCrds } from "./observability/prometheus-operator-crds";
import { ServiceSlos } from "./observability/service-slos";
import { serviceSlos } from "./observability/slo";
import { serviceGraph, ServiceGraph } from "./service-graph";
import { Microservice } from "./workloads/microservice";

/** Namespace of the observability area. */
const OBSERVABILITY_NAMESPACE = "observability";

/** Repository root: vendored data (crds/) is read relative to it. */
const REPO_ROOT = path.resolve(__dirname, "..");

/** Inputs of the Platform. */
export interface PlatformArgs {
  /** The stack's validated config (config/load.ts). */
  readonly config: PlatformConfig;
}

/** What a user of the stack needs from it. */
export interface ServiceEndpoint {
  /** In-cluster DNS name of the stable Service. */
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
}

/**
 * The whole platform for one stack. It composes the areas in the order of INSTALL_ORDER
 * (components/install-order.ts); areas receive what they need from each other as args.
 */
export class Platform extends pulumi.ComponentResource {
  /** The plain-data view of the service declarations every area derives from. */
  public readonly graph: ServiceGraph;
  /** Service name → in-cluster endpoint. */
  public readonly endpoints: Record<string, ServiceEndpoint>;
  /** Application namespaces. */
  public readonly namespaces: pulumi.Output<string[]>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:index:Platform", name, {}, opts);
    const cfg = args.config;
    this.graph = serviceGraph(cfg);

    // Stage "crds": the Gateway API is read by both the gateway and the mesh.
    if (cfg.gateway.enabled || cfg.mesh.enabled) {
      const pin = crdBundles.gatewayApi;
      new GatewayApiCrds("gateway-api-crds", { dir: path.join(REPO_ROOT, pin.path), version: pin.version }, { parent: this });
    }

    // Stage "namespaces".
    const namespaces = new Namespaces("namespaces", { names: this.graph.namespaces, podSecurity: cfg.security.podSecurity }, { parent: this });

    // ---- Observability (docs/observability.md) -----------------------------------------------
    {
      const obs = cfg.observability;
      const domain = cfg.cluster.domain;
      const nsName = OBSERVABILITY_NAMESPACE;
      // Stage "namespaces": the collector agent and node-exporter mount host paths, so this
      // namespace enforces `privileged` (audit and warn stay at baseline to show what needs it).
      const obsNs = new Namespaces(
        "observability-namespace",
        { names: [nsName], podSecurity: "baseline", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
        { parent: this },
      ).names[nsName]!;
      // Stage "monitoring-crds".
      const crds = new PrometheusOperatorCrds("prometheus-operator-crds", { namespace: obsNs }, { parent: this });
      const monitoringCrds = [crds.release];
      // Stage "monitoring".
      new KubePrometheusStack(
        "kube-prometheus-stack",
        {
          namespace: obsNs,
          sizing: { prometheus: obs.prometheus, alertmanager: obs.alertmanager, grafana: obs.grafana },
          ...(cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {}),
          clusterName: cfg.cluster.name,
          datasources: [
            { name: "Jaeger", uid: "jaeger", type: "jaeger", url: jaegerQueryUrl(nsName, domain) },
            { name: "Loki", uid: "loki", type: "loki", url: lokiUrl(nsName, domain) },
          ],
          monitoringCrds,
        },
        { parent: this },
      );
      // Stage "telemetry-backends".
      const storageClass = cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {};
      new Jaeger("jaeger", { namespace: obsNs, storage: obs.jaeger.storage, retentionHours: obs.jaeger.retentionHours, ...storageClass, monitoringCrds }, { parent: this });
      new Loki("loki", { namespace: obsNs, storage: obs.loki.storage, retentionHours: obs.loki.retentionHours, ...storageClass }, { parent: this });
      // Stage "telemetry-pipeline".
      const collector = new OtelCollector(
        "otel-collector",
        {
          namespace: obsNs,
          namespaceName: nsName,
          clusterDomain: domain,
          backends: { jaegerOtlpGrpc: jaegerOtlpAddress(nsName, domain), lokiOtlpHttp: lokiOtlpUrl(nsName, domain) },
          policy: {
            samplingPercent: obs.tracingSamplingPercent,
            slowTraceMs: cfg.slo.latencyMs.p99,
            redactAttributes: obs.redactAttributes,
            redactPatterns: obs.redactPatterns,
          },
          gatewayReplicas: obs.collector.gatewayReplicas,
          monitoringCrds,
        },
        { parent: this },
      );
      if (collector.otlpEndpoint !== obs.otlpEndpoint) {
        pulumi.log.warn(`platform:observability.otlpEndpoint is ${obs.otlpEndpoint}, not the collector agent (${collector.otlpEndpoint}): workloads export elsewhere`, this);
      }
      // Stage "slos".
      new ServiceSlos("slos", { namespace: obsNs, slos: serviceSlos(this.graph, cfg.slo, cfg.services), dashboardLabel: DASHBOARD_LABEL, monitoringCrds }, { parent: this });
    }
    // ---- end observability ----------------------------------------------------------------------

    // Stage "workloads": each service waits only for its own namespace (through the name output).
    for (const [svcName, spec] of Object.entries(cfg.services)) {
      const ns = namespaces.names[spec.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svcName}.namespace: namespace ${spec.namespace} was not created`, this);
      new Microservice(
        svcName,
        {
          namespace: ns,
          spec,
          environment: cfg.environment,
          otlpEndpoint: cfg.observability.otlpEndpoint,
          spreadAcrossZones: cfg.cluster.zones.length > 0,
        },
        { parent: this },
      );
    }

    this.endpoints = Object.fromEntries(this.graph.services.map((s) => [s.name, { host: s.host, port: s.port, protocol: s.protocol }]));
    this.namespaces = pulumi.all(Object.values(namespaces.names));
    this.registerOutputs({ endpoints: this.endpoints, namespaces: this.namespaces });
  }
}
