/**
 * NATS with JetStream from the pinned chart (clustered, file storage), and the streams and KV
 * buckets declared in config, created by a Job that runs the nats CLI (see
 * docs/discovery-and-events.md for why a Job rather than NACK's controller and CRDs).
 * Clients need TLS and a client certificate from the area's CA; the server maps the certificate's
 * URI SAN (the client's SPIFFE ID) to a user whose permissions are exactly what the client
 * declared (nats-access.ts). No anonymous user exists.
 */
import { kubernetesSecrets, SecretSinks } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NatsConfig } from "../../config/schema";
import { charts, images } from "../../versions";
import { chartRelease } from "../core/objects";
import { issueCert, selfSignedCa, serviceDnsNames, tlsSecretData } from "../shared/pki";
import { platformNamespace, restrictedContainer, restrictedPod, secretEnv } from "../shared/pod-security";
import { contentHash, scriptPod } from "../shared/script-job";
import { natsAuthorization, natsIdentity, natsInboxPrefix, natsJobPermissions, natsServicePermissions, NatsUse, NatsUser } from "./nats-access";

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
  // The Job's replies come under its own inbox prefix, the only one its user may subscribe to.
  const lines = ["set -eu", 'nats() { command nats --inbox-prefix "$NATS_INBOX_PREFIX" "$@"; }'];
  for (const name of Object.keys(n.streams).sort()) {
    const f = `/etc/jetstream/stream-${name}.json`;
    lines.push(`if nats stream info ${name} >/dev/null 2>&1; then nats stream edit ${name} --config ${f} --force; else nats stream add ${name} --config ${f}; fi`);
  }
  for (const [name, b] of Object.entries(n.kvBuckets).sort(([a], [c]) => a.localeCompare(c))) {
    lines.push(`nats kv info ${name} >/dev/null 2>&1 || nats kv add ${name} --history=${b.history} --replicas=${natsReplicas(undefined, n.replicas)} --storage=file`);
  }
  return lines.join("\n");
}

/** The Secret (in the NATS namespace) holding the server certificate, its key and the CA clients are verified with. */
export const natsServerTlsSecret = (release: string): string => `${release}-server-tls`;

/** Chart values for the NATS release. Pure, so the values-key tests can check them. */
export function natsValues(a: {
  readonly release: string;
  readonly settings: NatsConfig;
  readonly zones: boolean;
  readonly storageClass?: string;
  readonly monitoring?: boolean;
  /** Every NATS user (services and the JetStream Job); nobody else may connect. */
  readonly users: readonly NatsUser[];
}): Record<string, unknown> {
  const n = a.settings;
  const spread: Record<string, unknown> = { "kubernetes.io/hostname": { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" } };
  if (a.zones) spread["topology.kubernetes.io/zone"] = { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" };
  const container = { securityContext: restrictedContainer() };
  const tlsSecret = natsServerTlsSecret(a.release);
  return {
    // The CA client certificates must chain to (ca_file of the client TLS block).
    tlsCA: { enabled: true, secretName: tlsSecret },
    config: {
      // Client port: TLS only, a client certificate required and mapped to its user (its URI SAN).
      nats: { tls: { enabled: true, secretName: tlsSecret, merge: { verify_and_map: true } } },
      merge: { authorization: natsAuthorization(a.users) },
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
  /** The mesh trust domain: NATS users are named by the same SPIFFE IDs. */
  readonly trustDomain: string;
  /** Services that declared NATS use (`services.<name>.nats`): each gets a certificate and exactly its permissions. */
  readonly clients: readonly NatsClient[];
  /** Where its generated Secrets go (default: Kubernetes Secrets; the store's sink with secrets.platformSecrets). */
  readonly secretSinks?: SecretSinks;
}

/** A service that uses NATS. */
export interface NatsClient {
  readonly service: string;
  /** Its namespace's name (plain), for its SPIFFE ID. */
  readonly namespaceName: string;
  /** Its namespace (the Namespace's output), where its credentials Secret goes. */
  readonly namespace: pulumi.Input<string>;
  /** What it declared. */
  readonly use: NatsUse;
}

/** Environment a client service receives, each from a key of its `<service>-nats` Secret. */
export const NATS_CLIENT_ENV: Readonly<Record<string, string>> = {
  NATS_URL: "url",
  NATS_INBOX_PREFIX: "inboxPrefix",
  NATS_CA_PEM: "ca.crt",
  NATS_CERT_PEM: "tls.crt",
  NATS_KEY_PEM: "tls.key",
};

/** NATS JetStream and its declared streams and KV buckets. */
export class Nats extends pulumi.ComponentResource {
  /** The namespace (an Output: objects placed in it wait for it). */
  public readonly namespace: pulumi.Output<string>;
  /** Client URL of the NATS servers (TLS). */
  public readonly url: string;
  /** Service name → environment from the Secret holding its URL, inbox prefix and certificate. */
  public readonly clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>;

  constructor(name: string, args: NatsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:messaging:Nats", name, {}, opts);
    const n = args.settings;
    const child = { parent: this };
    const labels = { "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" };
    const ns = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    this.namespace = ns;
    this.url = `tls://${name}.${args.namespace}.svc.${args.domain}:${NATS_CLIENT_PORT}`;
    const sink = (args.secretSinks ?? kubernetesSecrets)(this, name);

    // PKI: one CA; the server certificate for the client Service's names; a client certificate
    // per service and one for the JetStream Job, each naming its SPIFFE ID as URI SAN.
    const ca = selfSignedCa(`${name}-ca`, `${name} NATS CA`, child);
    const server = issueCert(`${name}-server`, ca, { commonName: name, dnsNames: serviceDnsNames(name, args.namespace, args.domain), usage: "server" }, child);
    const serverTls = sink.secret(`${name}-server-tls`, { name: natsServerTlsSecret(name), namespace: args.namespace, namespaceRef: ns, labels, data: tlsSecretData(ca, server) }, child);
    const clientCert = (id: string, uri: string) => issueCert(id, ca, { commonName: uri.split("/").pop()!, uris: [uri], usage: "client" }, child);

    const jobAccount = `${name}-jetstream`;
    const jobIdentity = natsIdentity(args.trustDomain, args.namespace, jobAccount);
    const jobInbox = natsInboxPrefix(jobAccount);
    const users: NatsUser[] = [
      { user: jobIdentity, permissions: natsJobPermissions(n, jobInbox) },
      ...args.clients.map((c) => ({ user: natsIdentity(args.trustDomain, c.namespaceName, c.service), permissions: natsServicePermissions(c.service, c.use, n.streams) })),
    ];

    const pin = charts.nats;
    const release = chartRelease(
      name,
      { releaseName: name, pin, namespace: ns, values: natsValues({ release: name, settings: n, zones: args.zones, users, monitoring: args.monitoringCrds.length > 0, ...(args.storageClass ? { storageClass: args.storageClass } : {}) }) },
      // The servers mount their certificate: it exists before they start.
      { parent: this, dependsOn: [...args.monitoringCrds, serverTls] },
    );

    this.clientEnv = {};
    for (const c of args.clients) {
      const cert = clientCert(`${name}-client-${c.service}`, natsIdentity(args.trustDomain, c.namespaceName, c.service));
      const secret = sink.secret(
        `${name}-client-${c.service}`,
        {
          name: `${c.service}-nats`,
          namespace: c.namespaceName,
          namespaceRef: c.namespace,
          labels: { ...labels, "app.kubernetes.io/component": "client-credentials" },
          data: pulumi.secret(tlsSecretData(ca, cert).apply((tlsKeys) => ({ url: this.url, inboxPrefix: natsInboxPrefix(c.service), ...tlsKeys }))),
        },
        child,
      );
      this.clientEnv[c.service] = secretEnv(secret.metadata.name, NATS_CLIENT_ENV);
    }

    if (Object.keys(n.streams).length + Object.keys(n.kvBuckets).length > 0) {
      const files = Object.fromEntries(Object.entries(n.streams).map(([s, spec]) => [`stream-${s}.json`, JSON.stringify(natsStreamConfig(s, spec, n.replicas), null, 2)]));
      const script = natsJetStreamScript(n);
      const hash = contentHash(script, JSON.stringify(files));
      const config = new k8s.core.v1.ConfigMap(`${name}-jetstream`, { metadata: { name: `${name}-jetstream-${hash}`, namespace: ns, labels }, data: files }, child);
      // The Job's own identity: a ServiceAccount (its mesh principal) and the certificate naming it.
      const account = new k8s.core.v1.ServiceAccount(`${name}-jetstream`, { metadata: { name: jobAccount, namespace: ns, labels }, automountServiceAccountToken: false }, child);
      const jobTls = sink.secret(`${name}-jetstream-client`, { name: `${jobAccount}-client`, namespace: args.namespace, namespaceRef: ns, labels, data: tlsSecretData(ca, clientCert(`${name}-jetstream-client`, jobIdentity)) }, child);
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
              serviceAccountName: account.metadata.name,
              // The nats CLI reads its server and TLS files from these.
              env: [
                { name: "NATS_URL", value: this.url },
                { name: "NATS_CA", value: "/etc/nats-client/ca.crt" },
                { name: "NATS_CERT", value: "/etc/nats-client/tls.crt" },
                { name: "NATS_KEY", value: "/etc/nats-client/tls.key" },
                { name: "NATS_INBOX_PREFIX", value: jobInbox },
              ],
              volumes: [
                { name: "jetstream", configMap: { name: config.metadata.name } },
                { name: "client-tls", secret: { secretName: jobTls.metadata.name } },
              ],
              mounts: [
                { name: "jetstream", mountPath: "/etc/jetstream", readOnly: true },
                { name: "client-tls", mountPath: "/etc/nats-client", readOnly: true },
              ],
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
