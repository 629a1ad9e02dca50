/**
 * NATS with JetStream from the pinned chart (clustered, file storage), and the streams and KV
 * buckets declared in config, created by a Job that runs the nats CLI (see
 * docs/discovery-and-events.md for why a Job rather than NACK's controller and CRDs).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NatsConfig } from "../../config/schema";
import { charts, images } from "../../versions";
import { chartRelease } from "../core/objects";
import { platformNamespace, restrictedContainer, restrictedPod } from "../shared/pod-security";
import { contentHash, scriptPod } from "../shared/script-job";

export const NATS_CLIENT_PORT = 4222;
/** JetStream allows at most 5 replicas of a stream. */
export const JETSTREAM_MAX_REPLICAS = 5;
const NATS_UID = 1000;
const NANOS_PER_HOUR = 3_600_000_000_000;

/** Replicas of a stream or bucket: as declared, else every server up to JetStream's maximum. */
export function natsReplicas(declared: number | undefined, servers: number): number {
  return declared ?? Math.min(servers, JETSTREAM_MAX_REPLICAS);
}

/** The JetStream StreamConfig (the server's JSON form) of a declared stream. */
export function natsStreamConfig(name: string, s: NatsConfig["streams"][string], servers: number): Record<string, unknown> {
  return {
    name,
    subjects: [...s.subjects],
    retention: "limits",
    storage: "file",
    discard: "old",
    num_replicas: natsReplicas(s.replicas, servers),
    max_age: s.maxAgeHours * NANOS_PER_HOUR,
    max_msgs: -1,
    max_bytes: -1,
    max_msg_size: -1,
    max_consumers: -1,
    duplicate_window: 2 * 60 * 1_000_000_000,
  };
}

/**
 * The script of the JetStream Job: create each stream, or update it to the declared config; create
 * each KV bucket. Idempotent. Streams and buckets removed from config are left in place (deleting
 * data is a human decision).
 */
export function natsJetStreamScript(n: Pick<NatsConfig, "streams" | "kvBuckets" | "replicas">): string {
  const lines = ["set -eu"];
  for (const name of Object.keys(n.streams).sort()) {
    const f = `/etc/jetstream/stream-${name}.json`;
    lines.push(`if nats stream info ${name} >/dev/null 2>&1; then nats stream edit ${name} --config ${f} --force; else nats stream add ${name} --config ${f}; fi`);
  }
  for (const [name, b] of Object.entries(n.kvBuckets).sort(([a], [c]) => a.localeCompare(c))) {
    lines.push(`nats kv info ${name} >/dev/null 2>&1 || nats kv add ${name} --history=${b.history} --replicas=${natsReplicas(undefined, n.replicas)} --storage=file`);
  }
  return lines.join("\n");
}

/** Chart values for the NATS release. Pure, so the values-key tests can check them. */
export function natsValues(a: { readonly settings: NatsConfig; readonly zones: boolean; readonly storageClass?: string; readonly monitoring?: boolean }): Record<string, unknown> {
  const n = a.settings;
  const spread: Record<string, unknown> = { "kubernetes.io/hostname": { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" } };
  if (a.zones) spread["topology.kubernetes.io/zone"] = { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" };
  const container = { securityContext: restrictedContainer() };
  return {
    config: {
      // Routes use the headless Service's short names (the chart's default; resolved through the pod's DNS search path).
      cluster: n.replicas > 1 ? { enabled: true, replicas: n.replicas } : { enabled: false },
      jetstream: {
        enabled: true,
        fileStore: { enabled: true, pvc: { enabled: true, size: n.storage, ...(a.storageClass ? { storageClassName: a.storageClass } : {}) } },
        memoryStore: { enabled: false },
      },
      monitor: { enabled: true },
    },
    container: { merge: container, resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } } },
    // The sidecars get their own small requests and a memory limit: the chart sets none.
    reloader: { merge: { ...container, resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } } } },
    // Prometheus metrics from the monitoring endpoint.
    // The exporter sidecar and the chart's PodMonitor for it (the stack's Prometheus selects every PodMonitor).
    promExporter: { enabled: true, merge: { ...container, resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } } }, podMonitor: { enabled: a.monitoring ?? true } },
    podTemplate: { topologySpreadConstraints: spread, merge: { spec: { securityContext: restrictedPod(NATS_UID) } } },
    podDisruptionBudget: { enabled: true },
    // The Job below carries the CLI; no standing nats-box Deployment.
    natsBox: { enabled: false },
  };
}

/** Inputs of the NATS area. */
export interface NatsArgs {
  /** Namespace NATS runs in (created here, Pod Security restricted). */
  readonly namespace: string;
  /** Extra labels on that namespace (the mesh's ambient enrollment). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Servers, storage, streams and buckets from `platform:messaging.nats`. */
  readonly settings: NatsConfig;
  /** Cluster DNS domain. */
  readonly domain: string;
  /** Spread servers across zones as well as nodes. */
  readonly zones: boolean;
  /** StorageClass for JetStream volumes; absent: the cluster default. */
  readonly storageClass?: string;
  /** The prometheus-operator CRDs: the exporter's PodMonitor needs them (none: observability is off, no PodMonitor). */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** NATS JetStream and its declared streams and KV buckets. */
export class Nats extends pulumi.ComponentResource {
  /** Client URL of the NATS servers. */
  public readonly url: string;

  constructor(name: string, args: NatsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:messaging:Nats", name, {}, opts);
    const n = args.settings;
    const child = { parent: this };
    const labels = { "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" };
    const ns = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    const pin = charts.nats;
    const release = chartRelease(
      name,
      { releaseName: name, pin, namespace: ns, values: natsValues({ settings: n, zones: args.zones, monitoring: args.monitoringCrds.length > 0, ...(args.storageClass ? { storageClass: args.storageClass } : {}) }) },
      { parent: this, dependsOn: args.monitoringCrds },
    );
    this.url = `nats://${name}.${args.namespace}.svc.${args.domain}:${NATS_CLIENT_PORT}`;

    if (Object.keys(n.streams).length + Object.keys(n.kvBuckets).length > 0) {
      const files = Object.fromEntries(Object.entries(n.streams).map(([s, spec]) => [`stream-${s}.json`, JSON.stringify(natsStreamConfig(s, spec, n.replicas), null, 2)]));
      const script = natsJetStreamScript(n);
      const hash = contentHash(script, JSON.stringify(files));
      const config = new k8s.core.v1.ConfigMap(`${name}-jetstream`, { metadata: { name: `${name}-jetstream-${hash}`, namespace: ns, labels }, data: files }, child);
      new k8s.batch.v1.Job(
        `${name}-jetstream`,
        {
          metadata: { name: `${name}-jetstream-${hash}`, namespace: ns, labels },
          spec: {
            backoffLimit: 10,
            template: scriptPod({
              name: "nats",
              image: `${images.natsBox.repository}:${images.natsBox.tag}`,
              script,
              uid: NATS_UID,
              labels,
              env: [{ name: "NATS_URL", value: this.url }],
              volumes: [{ name: "jetstream", configMap: { name: config.metadata.name } }],
              mounts: [{ name: "jetstream", mountPath: "/etc/jetstream", readOnly: true }],
            }),
          },
        },
        // Streams are created through the servers: the release (and JetStream quorum) must be up.
        { parent: this, dependsOn: [release] },
      );
    }
    this.registerOutputs({ url: this.url });
  }
}
