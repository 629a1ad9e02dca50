import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease } from "../core/objects";

/** Inputs of Jaeger. */
export interface JaegerArgs {
  /** Namespace (the observability namespace's output, so Jaeger waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** Size of the Badger volume. */
  readonly storage: string;
  /** StorageClass of the volume; absent means the cluster default. */
  readonly storageClass?: string;
  /** How long spans are kept. */
  readonly retentionHours: number;
  /** Objects that must exist before the ServiceMonitor: the prometheus-operator CRDs. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** Release name = Service name (the chart's fullname when the release is named like the chart). */
export const JAEGER_NAME = "jaeger";
const DATA_CLAIM = "jaeger-badger";

/** OTLP/gRPC address the collector exports traces to (host:port). */
export const jaegerOtlpAddress = (namespace: string, domain: string): string => `${JAEGER_NAME}.${namespace}.svc.${domain}:4317`;
/** Query UI/API base URL (Grafana's Jaeger datasource). */
export const jaegerQueryUrl = (namespace: string, domain: string): string => `http://${JAEGER_NAME}.${namespace}.svc.${domain}:16686`;

/**
 * Jaeger v2's own configuration (an OpenTelemetry Collector build): OTLP in, Badger storage on a
 * persistent volume, the query UI/API, health on :13133 (the chart's probes) and its own metrics
 * on :8888 (the chart's `internal-metrics` Service port).
 */
export function jaegerConfig(retentionHours: number): Record<string, unknown> {
  return {
    service: {
      extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
      pipelines: { traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] } },
      telemetry: {
        resource: { "service.name": "jaeger" },
        metrics: { level: "detailed", readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: 8888 } } } }] },
      },
    },
    extensions: {
      healthcheckv2: { use_v2: true, http: { endpoint: "0.0.0.0:13133" } },
      jaeger_query: { storage: { traces: "primary_store" } },
      jaeger_storage: {
        backends: {
          primary_store: {
            badger: { directories: { keys: "/badger/keys", values: "/badger/values" }, ephemeral: false, ttl: { spans: `${retentionHours}h` } },
          },
        },
      },
    },
    receivers: { otlp: { protocols: { grpc: { endpoint: "0.0.0.0:4317" }, http: { endpoint: "0.0.0.0:4318" } } } },
    processors: { batch: {} },
    exporters: { jaeger_storage_exporter: { trace_storage: "primary_store" } },
  };
}

/** Helm values of the Jaeger release. */
export function jaegerValues(retentionHours: number): Record<string, unknown> {
  return {
    userconfig: jaegerConfig(retentionHours),
    jaeger: {
      // Badger is an embedded single-writer store: one replica, replaced (Recreate) not rolled.
      replicas: 1,
      podSecurityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
      // Jaeger does not call the Kubernetes API.
      serviceAccount: { automountServiceAccountToken: false },
      extraVolumes: [{ name: "badger", persistentVolumeClaim: { claimName: DATA_CLAIM } }],
      extraVolumeMounts: [{ name: "badger", mountPath: "/badger" }],
      resources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "2Gi" } },
    },
  };
}

/**
 * Jaeger v2 (the tracing UI of the blueprint) from the pinned jaegertracing chart: one
 * all-in-one Deployment receiving OTLP from the collector gateway, Badger storage on a
 * PersistentVolumeClaim, and a ServiceMonitor for its own metrics.
 */
export class Jaeger extends pulumi.ComponentResource {
  constructor(name: string, args: JaegerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:Jaeger", name, {}, opts);
    const pin = charts.jaeger;
    const labels = { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/part-of": "platform" };
    const claim = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-badger`,
      {
        metadata: { name: DATA_CLAIM, namespace: args.namespace, labels },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: args.storage } },
          ...(args.storageClass ? { storageClassName: args.storageClass } : {}),
        },
      },
      { parent: this },
    );
    chartRelease(
      name,
      { releaseName: JAEGER_NAME, pin, namespace: args.namespace, values: jaegerValues(args.retentionHours) },
      // The pod mounts the claim; without it the pod stays Pending.
      { parent: this, dependsOn: [claim] },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-servicemonitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: JAEGER_NAME, namespace: args.namespace, labels },
        spec: {
          selector: { matchLabels: { "app.kubernetes.io/instance": JAEGER_NAME, "app.kubernetes.io/component": "all-in-one" } },
          endpoints: [{ port: "internal-metrics", interval: "30s" }],
        },
      },
      // A ServiceMonitor needs its CRD.
      { parent: this, dependsOn: args.monitoringCrds },
    );
    this.registerOutputs({});
  }
}
