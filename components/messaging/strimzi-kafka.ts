/**
 * Kafka on Strimzi: after the operator (strimzi-operator.ts), KafkaNodePool(s) and a Kafka cluster
 * (`kafka.strimzi.io/v1`, KRaft), a KafkaTopic per declared topic and a KafkaUser per service that
 * produces or consumes, whose ACLs are exactly its declared topics and its consumer group.
 *
 * Clients use one TLS listener with SCRAM-SHA-512. The listener certificate comes from a stack CA
 * (@pulumi/tls) and each user's password is generated here, because Kubernetes Secrets cannot be
 * read across namespaces: the Secrets Strimzi creates (cluster CA, user credentials) live in the
 * Kafka namespace, while the services run in their own. So the platform holds both the CA and the
 * password, gives the KafkaUser its password by Secret reference, and writes a Secret with the
 * same credentials into each service's namespace.
 */
import { kubernetesSecrets, SecretSinks } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { KafkaConfig } from "../../config/schema";
import { PacedComponent } from "../core/pacing";
import type { TopicUse } from "../service-graph";
import { issueCert, selfSignedCa, serviceDnsNames } from "../shared/pki";
import { secretEnv } from "../shared/pod-security";

export const KAFKA_API = "kafka.strimzi.io/v1";
/** Port of the TLS client listener. */
export const KAFKA_TLS_PORT = 9093;
/** The Kafka cluster's name (its pods carry it as strimzi.io/cluster). */
export const KAFKA_CLUSTER = "platform";

/** A KafkaUser ACL rule, in the shape of the v1 CRD. */
export interface KafkaAcl {
  readonly resource: { readonly type: "topic" | "group"; readonly name: string; readonly patternType: "literal" };
  readonly operations: readonly ("Read" | "Write" | "Describe")[];
}

const PRODUCE_OPS = ["Describe", "Write"] as const;
const CONSUME_OPS = ["Describe", "Read"] as const;

/**
 * The ACLs of every service that uses a topic: Write+Describe on each topic it produces to,
 * Read+Describe on each topic it consumes, Read on its consumer group. Nothing else: no prefixes,
 * no wildcards, no cluster operations. Rules on one resource are merged.
 */
export function kafkaAcls(uses: readonly TopicUse[]): Record<string, KafkaAcl[]> {
  const byService = new Map<string, Map<string, { type: "topic" | "group"; name: string; ops: Set<string> }>>();
  const grant = (service: string, type: "topic" | "group", name: string, ops: readonly string[]) => {
    let m = byService.get(service);
    if (!m) byService.set(service, (m = new Map()));
    const key = `${type}\u0000${name}`;
    let r = m.get(key);
    if (!r) m.set(key, (r = { type, name, ops: new Set() }));
    for (const o of ops) r.ops.add(o);
  };
  for (const u of uses) {
    if (u.role === "produce") grant(u.service, "topic", u.topic, PRODUCE_OPS);
    else {
      grant(u.service, "topic", u.topic, CONSUME_OPS);
      grant(u.service, "group", u.group ?? u.service, ["Read"]);
    }
  }
  const out: Record<string, KafkaAcl[]> = {};
  for (const service of [...byService.keys()].sort()) {
    out[service] = [...byService.get(service)!.values()]
      .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
      .map((r) => ({ resource: { type: r.type, name: r.name, patternType: "literal" as const }, operations: [...r.ops].sort() as KafkaAcl["operations"][number][] }));
  }
  return out;
}

/** A topic with the stack's defaults applied. */
export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly retentionHours: number;
}

/** Every declared topic with its effective settings, and the sagas' topics with the topic defaults. */
export function topicSettings(k: KafkaConfig, sagaTopics: readonly string[] = []): Record<string, TopicSettings> {
  return { ...Object.fromEntries(sagaTopics.map((name) => [name, { ...k.topicDefaults }])), ...Object.fromEntries(Object.entries(k.topics).map(([name, t]) => [name, { ...k.topicDefaults, ...t }])) };
}

/** The KafkaTopic spec of one topic. */
export function kafkaTopicSpec(name: string, t: TopicSettings, uncleanLeaderElection: boolean): Record<string, unknown> {
  return {
    topicName: name,
    partitions: t.partitions,
    replicas: t.replicationFactor,
    config: {
      "min.insync.replicas": t.minInsyncReplicas,
      "retention.ms": t.retentionHours * 3_600_000,
      "unclean.leader.election.enable": uncleanLeaderElection,
      "cleanup.policy": "delete",
    },
  };
}

/** One KafkaNodePool: its name, roles and size. */
export interface NodePoolPlan {
  readonly name: string;
  readonly roles: readonly ("controller" | "broker")[];
  readonly replicas: number;
}

/** Combined roles: one `dual` pool (dev). Otherwise a controller pool and a broker pool. */
export function kafkaNodePools(k: Pick<KafkaConfig, "combinedRoles" | "brokers" | "controllers">): NodePoolPlan[] {
  return k.combinedRoles
    ? [{ name: "dual", roles: ["controller", "broker"], replicas: k.controllers }]
    : [
        { name: "controllers", roles: ["controller"], replicas: k.controllers },
        { name: "brokers", roles: ["broker"], replicas: k.brokers },
      ];
}

/** Broker-wide settings: no topic auto-creation, internal topics as durable as the defaults allow. */
export function kafkaBrokerConfig(k: KafkaConfig): Record<string, string | number | boolean> {
  const internalRf = Math.min(3, k.brokers);
  return {
    "auto.create.topics.enable": false,
    "default.replication.factor": k.topicDefaults.replicationFactor,
    "min.insync.replicas": k.topicDefaults.minInsyncReplicas,
    "offsets.topic.replication.factor": internalRf,
    "transaction.state.log.replication.factor": internalRf,
    "transaction.state.log.min.isr": Math.max(1, internalRf - 1),
    "unclean.leader.election.enable": k.uncleanLeaderElection,
  };
}

/** SANs of the TLS listener certificate: the bootstrap Service and every broker's pod name. */
export function kafkaListenerSans(cluster: string, namespace: string, domain: string): string[] {
  const brokers = `${cluster}-kafka-brokers`;
  return [...serviceDnsNames(`${cluster}-kafka-bootstrap`, namespace, domain), `*.${brokers}.${namespace}.svc`, `*.${brokers}.${namespace}.svc.${domain}`];
}

/** Environment of a service, each from a key of its `<service>-kafka` Secret. */
export function kafkaClientEnv(roles: { readonly produces: boolean; readonly consumes: boolean }): Record<string, string> {
  return {
    KAFKA_BOOTSTRAP_SERVERS: "bootstrap.servers",
    KAFKA_SECURITY_PROTOCOL: "security.protocol",
    KAFKA_SASL_MECHANISM: "sasl.mechanism",
    KAFKA_SASL_JAAS_CONFIG: "sasl.jaas.config",
    KAFKA_USERNAME: "username",
    KAFKA_PASSWORD: "password",
    KAFKA_CA_PEM: "ca.crt",
    ...(roles.produces ? { KAFKA_ACKS: "acks", KAFKA_ENABLE_IDEMPOTENCE: "enable.idempotence" } : {}),
    ...(roles.consumes ? { KAFKA_GROUP_ID: "group.id" } : {}),
  };
}

/** Client configuration a service receives (the non-secret part). acks=all for producers. */
export function kafkaClientConfig(bootstrap: string, use: { readonly produces: boolean; readonly group?: string }): Record<string, string> {
  return {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    // A write is acknowledged once min.insync.replicas have it; with acks=1 a leader loss drops it.
    ...(use.produces ? { acks: "all", "enable.idempotence": "true" } : {}),
    ...(use.group !== undefined ? { "group.id": use.group } : {}),
  };
}

/** A service's client identity: where its credentials Secret goes. */
export interface KafkaClient {
  readonly service: string;
  /** The service's namespace (its Namespace's output). */
  readonly namespace: pulumi.Input<string>;
  /** The same namespace by name (the store path of its credentials, with the platform's secrets in the store). */
  readonly namespaceName: string;
}

/** Inputs of the Kafka area. */
export interface StrimziKafkaArgs {
  /** Namespace of the cluster: the operator's (its name, for DNS names). */
  readonly namespace: string;
  /** The operator that reconciles the custom resources, and its namespace. */
  readonly operator: { readonly namespace: pulumi.Output<string>; readonly release: pulumi.Resource };
  /** Pools, storage, replication and topics from `platform:messaging.kafka` (parsed and defaulted). */
  readonly settings: KafkaConfig;
  /** Cluster DNS domain. */
  readonly domain: string;
  /** Turn on rack awareness and zone spreading (the cluster has zones). */
  readonly zones: boolean;
  /** StorageClass for the node volumes; absent: the cluster default. */
  readonly storageClass?: string;
  /** What each service produces and consumes (its own declarations and its sagas'): the only source of topics' users and ACLs. */
  readonly usage: readonly TopicUse[];
  /** The declared sagas' command, reply and dead-letter topics (config/resilience.ts allSagaTopics), created with the topic defaults. */
  readonly sagaTopics?: readonly string[];
  /** Namespaces of the services in `usage`. */
  readonly clients: readonly KafkaClient[];
  /** Where its generated Secrets go (default: Kubernetes Secrets; the store's sink with secrets.platformSecrets). */
  readonly secretSinks?: SecretSinks;
}

/** The Kafka area: operator, node pools, cluster, topics, users. */
export class StrimziKafka extends PacedComponent<{ bootstrap: string; caCertPem: pulumi.Output<string> }> {
  /** Bootstrap address of the TLS listener. */
  public readonly bootstrap: string;
  /** CA certificate (PEM) of the listener. */
  public readonly caCertPem: pulumi.Output<string>;
  /** Service name → environment from its credentials Secret. */
  public readonly clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>;

  constructor(name: string, args: StrimziKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:messaging:StrimziKafka", name, opts);
    const k = args.settings;
    const child = { parent: this };
    const cluster = KAFKA_CLUSTER;
    const labels = { "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" };
    const crLabels = { ...labels, "strimzi.io/cluster": cluster };
    const ns = args.operator.namespace;
    // Custom resources need the operator's CRDs and a running operator: the only reason for this edge.
    const crOpts = { parent: this, dependsOn: [args.operator.release] };
    const sink = (args.secretSinks ?? kubernetesSecrets)(this, name);

    // Listener certificate from a stack CA, so services in other namespaces can trust it.
    const ca = selfSignedCa(`${name}-listener-ca`, "Kafka listener CA", child);
    const listenerCert = issueCert(`${name}-listener`, ca, { commonName: `${cluster}-kafka-bootstrap`, dnsNames: kafkaListenerSans(cluster, args.namespace, args.domain), usage: "server" }, child);
    const listenerSecret = sink.secret(
      `${name}-listener-tls`,
      { name: `${cluster}-listener-tls`, namespace: args.namespace, namespaceRef: ns, labels, type: "kubernetes.io/tls", data: { "tls.crt": pulumi.interpolate`${listenerCert.certPem}${ca.certPem}`, "tls.key": listenerCert.keyPem } },
      child,
    );

    const zoneSpread = (pool: string) =>
      args.zones
        ? { template: { pod: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { "strimzi.io/cluster": cluster, "strimzi.io/pool-name": pool } } }] } } }
        : {};
    for (const pool of kafkaNodePools(k)) {
      new k8s.apiextensions.CustomResource(
        `${name}-pool-${pool.name}`,
        {
          apiVersion: KAFKA_API,
          kind: "KafkaNodePool",
          metadata: { name: pool.name, namespace: ns, labels: crLabels },
          spec: {
            replicas: pool.replicas,
            roles: pool.roles,
            // Controllers keep their KRaft metadata log on the same persistent volume.
            storage: { type: "jbod", volumes: [{ id: 0, type: "persistent-claim", size: k.storage, deleteClaim: false, kraftMetadata: "shared", ...(args.storageClass ? { class: args.storageClass } : {}) }] },
            resources: { requests: { cpu: k.resources.requests.cpu, memory: k.resources.requests.memory }, limits: { memory: k.resources.limits.memory } },
            ...zoneSpread(pool.name),
          },
        },
        crOpts,
      );
    }

    new k8s.apiextensions.CustomResource(
      `${name}-cluster`,
      {
        apiVersion: KAFKA_API,
        kind: "Kafka",
        metadata: { name: cluster, namespace: ns, labels },
        spec: {
          kafka: {
            listeners: [
              {
                name: "tls",
                port: KAFKA_TLS_PORT,
                type: "internal",
                tls: true,
                authentication: { type: "scram-sha-512" },
                configuration: { brokerCertChainAndKey: { secretName: listenerSecret.metadata.name, certificate: "tls.crt", key: "tls.key" } },
              },
            ],
            authorization: { type: "simple" },
            config: kafkaBrokerConfig(k),
            metricsConfig: { type: "strimziMetricsReporter" },
            ...(args.zones ? { rack: { topologyKey: "topology.kubernetes.io/zone" } } : {}),
          },
          entityOperator: {
            topicOperator: { resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } } },
            userOperator: { resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } } },
          },
        },
      },
      crOpts,
    );

    for (const [topic, t] of Object.entries(topicSettings(k, args.sagaTopics))) {
      new k8s.apiextensions.CustomResource(
        `${name}-topic-${topic}`,
        { apiVersion: KAFKA_API, kind: "KafkaTopic", metadata: { name: topic, namespace: ns, labels: crLabels }, spec: kafkaTopicSpec(topic, t, k.uncleanLeaderElection) },
        crOpts,
      );
    }

    this.bootstrap = `${cluster}-kafka-bootstrap.${args.namespace}.svc.${args.domain}:${KAFKA_TLS_PORT}`;
    this.caCertPem = ca.certPem;
    this.clientEnv = {};
    const acls = kafkaAcls(args.usage);
    for (const [service, rules] of Object.entries(acls)) {
      const client = args.clients.find((c) => c.service === service);
      if (!client) throw new pulumi.ResourceError(`platform:services.${service}: uses Kafka topics but no namespace was passed for it`, this);
      const uses = args.usage.filter((u) => u.service === service);
      const produces = uses.some((u) => u.role === "produce");
      const group = uses.find((u) => u.role === "consume")?.group;
      // One client's user and credentials per turn (components/core/pacing.ts).
      const credentials = this.item(() => {
        const password = new random.RandomPassword(`${name}-user-${service}`, { length: 32, special: false }, child);
        const passwordSecret = sink.secret(`${name}-user-${service}-password`, { name: `${service}-kafka-password`, namespace: args.namespace, namespaceRef: ns, labels, data: { password: password.result } }, child);
        new k8s.apiextensions.CustomResource(
          `${name}-user-${service}`,
          {
            apiVersion: KAFKA_API,
            kind: "KafkaUser",
            metadata: { name: service, namespace: ns, labels: crLabels },
            spec: {
              authentication: { type: "scram-sha-512", password: { valueFrom: { secretKeyRef: { name: passwordSecret.metadata.name, key: "password" } } } },
              authorization: { type: "simple", acls: rules },
            },
          },
          crOpts,
        );
        const config = kafkaClientConfig(this.bootstrap, { produces, ...(group !== undefined ? { group } : {}) });
        const creds = sink.secret(
          `${name}-client-${service}`,
          {
            name: `${service}-kafka`,
            namespace: client.namespaceName,
            namespaceRef: client.namespace,
            labels: { ...labels, "app.kubernetes.io/component": "client-credentials" },
            data: pulumi.secret(
              pulumi.all([password.result, ca.certPem]).apply(([pw, caPem]) => ({
                ...config,
                username: service,
                password: pw,
                "sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="${service}" password="${pw}";`,
                "ca.crt": caPem,
              })),
            ),
          },
          child,
        );
        return creds.metadata.name;
      });
      this.clientEnv[service] = secretEnv(pulumi.output(credentials), kafkaClientEnv({ produces, consumes: group !== undefined }));
    }
    this.later(() => ({ bootstrap: this.bootstrap, caCertPem: this.caCertPem }));
  }
}
