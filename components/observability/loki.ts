import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease } from "../core/objects";

/** Inputs of Loki. */
export interface LokiArgs {
  /** Namespace (the observability namespace's output, so Loki waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** Size of the volume holding chunks and the TSDB index. */
  readonly storage: string;
  /** StorageClass of the volume; absent means the cluster default. */
  readonly storageClass?: string;
  /** How long log lines are kept (compactor retention). */
  readonly retentionHours: number;
  /** The prometheus-operator CRDs: the chart's ServiceMonitor needs them. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** Release name = Service name (the chart's fullname when the release is named like the chart). */
export const LOKI_NAME = "loki";

/** Base URL of Loki's HTTP API (Grafana datasource). */
export const lokiUrl = (namespace: string, domain: string): string => `http://${LOKI_NAME}.${namespace}.svc.${domain}:3100`;
/** Loki's native OTLP endpoint: the collector's otlphttp exporter appends /v1/logs. */
export const lokiOtlpUrl = (namespace: string, domain: string): string => `${lokiUrl(namespace, domain)}/otlp`;

/** Helm values: monolithic mode, filesystem storage on a PersistentVolumeClaim, no caches or canaries. */
export function lokiValues(args: Pick<LokiArgs, "storage" | "storageClass" | "retentionHours">): Record<string, unknown> {
  return {
    deploymentMode: "Monolithic",
    loki: {
      // One tenant: the platform's own logs. The collector needs no X-Scope-OrgID header.
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [{ from: "2024-04-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "loki_index_", period: "24h" } }],
      },
      // OTLP resource/log attributes land in structured metadata (the default in Loki 3).
      limits_config: {
        allow_structured_metadata: true,
        retention_period: `${args.retentionHours}h`,
        reject_old_samples: true,
        reject_old_samples_max_age: "168h",
      },
      // The compactor enforces retention_period; without it the volume only grows.
      compactor: { retention_enabled: true, delete_request_store: "filesystem" },
    },
    singleBinary: {
      replicas: 1,
      persistence: { enabled: true, size: args.storage, ...(args.storageClass ? { storageClass: args.storageClass } : {}) },
      resources: { requests: { cpu: "200m", memory: "512Mi" }, limits: { memory: "2Gi" } },
    },
    // Other deployment modes' targets stay off.
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    // Memcached caches, the canary and the Helm test pod are for larger installs and CI.
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    // Grafana and the collector talk to the single binary directly.
    gateway: { enabled: false },
    // The rules sidecar (k8s-sidecar) loads ruler rules from ConfigMaps/Secrets labelled
    // loki_rule; the platform alerts through PrometheusRules and ships no Loki rules. Off, it
    // takes with it a container and the ClusterRole that let Loki's ServiceAccount read every
    // Secret in the cluster (the chart renders that ClusterRole with no rules).
    sidecar: { rules: { enabled: false } },
    // Loki's own metrics (ingestion, retention, compactor) through the chart's ServiceMonitor.
    monitoring: { serviceMonitor: { enabled: true } },
  };
}

/**
 * Loki, the log backend: the collector gateway exports logs over OTLP/HTTP to Loki's native
 * OTLP endpoint; Grafana queries it. Monolithic (single binary) with filesystem storage, which
 * does not replicate: see docs/observability.md for the move to object storage.
 */
export class Loki extends pulumi.ComponentResource {
  constructor(name: string, args: LokiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:Loki", name, {}, opts);
    const pin = charts.loki;
    // The ServiceMonitor needs the prometheus-operator CRDs.
    chartRelease(name, { releaseName: LOKI_NAME, pin, namespace: args.namespace, values: lokiValues(args) }, { parent: this, dependsOn: args.monitoringCrds });
    this.registerOutputs({});
  }
}
