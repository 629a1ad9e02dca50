/** Kafka derivations: ACLs from declared topic use, node pools, topics, client config. */
import fc from "fast-check";
import { parsePlatformConfig } from "../config/load";
import { kafkaAcls, kafkaBrokerConfig, kafkaClientConfig, kafkaClientEnv, kafkaListenerSans, kafkaNodePools, kafkaTopicSpec, topicSettings } from "../components/messaging/strimzi-kafka";
import { serviceGraph, TopicUse } from "../components/service-graph";

type Grant = string; // "<service>|<type>|<name>|<operation>"

/** What a declaration entitles each service to, stated independently of kafkaAcls. */
function declaredGrants(uses: readonly TopicUse[]): Set<Grant> {
  const out = new Set<Grant>();
  for (const u of uses) {
    const ops = u.role === "produce" ? ["Write", "Describe"] : ["Read", "Describe"];
    for (const op of ops) out.add(`${u.service}|topic|${u.topic}|${op}`);
    if (u.role === "consume") out.add(`${u.service}|group|${u.group ?? u.service}|Read`);
  }
  return out;
}

function grantedBy(acls: ReturnType<typeof kafkaAcls>): Set<Grant> {
  const out = new Set<Grant>();
  for (const [service, rules] of Object.entries(acls)) {
    for (const r of rules) for (const op of r.operations) out.add(`${service}|${r.resource.type}|${r.resource.name}|${op}`);
  }
  return out;
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
const topic = fc.stringMatching(/^[a-z][a-z0-9.]{0,6}$/);
interface Decl {
  service: string;
  produces: string[];
  consumes: string[];
  group: string | undefined;
}
const declaration: fc.Arbitrary<Decl[]> = fc.uniqueArray(
  fc.record({ service: name, produces: fc.uniqueArray(topic, { maxLength: 4 }), consumes: fc.uniqueArray(topic, { maxLength: 4 }), group: fc.option(name, { nil: undefined }) }),
  { maxLength: 6, selector: (d: Decl) => d.service },
);
const usesOf = (decl: Decl[]): TopicUse[] =>
  decl.flatMap((d) => [
    ...d.produces.map((t) => ({ service: d.service, topic: t, role: "produce" as const })),
    ...d.consumes.map((t) => ({ service: d.service, topic: t, role: "consume" as const, group: d.group ?? d.service })),
  ]);

describe("KafkaUser ACLs", () => {
  it("equal exactly the declared produce/consume sets and consumer group, for random declarations", () => {
    fc.assert(
      fc.property(declaration, (decl) => {
        const uses = usesOf(decl);
        const acls = kafkaAcls(uses);
        expect(grantedBy(acls)).toEqual(declaredGrants(uses));
        // A user exactly for each service that uses a topic, none for the others.
        expect(Object.keys(acls).sort()).toEqual([...new Set(uses.map((u) => u.service))].sort());
        // Literal names only: never a prefix or wildcard that would reach undeclared topics.
        for (const rules of Object.values(acls)) for (const r of rules) expect(r.resource.patternType).toBe("literal");
      }),
      { numRuns: 300 },
    );
  });

  it("merges produce and consume of one topic into one rule", () => {
    const acls = kafkaAcls([
      { service: "a", topic: "t", role: "produce" },
      { service: "a", topic: "t", role: "consume", group: "g" },
    ]);
    expect(acls["a"]).toEqual([
      { resource: { type: "group", name: "g", patternType: "literal" }, operations: ["Read"] },
      { resource: { type: "topic", name: "t", patternType: "literal" }, operations: ["Describe", "Read", "Write"] },
    ]);
  });

  it("gives a pure producer no group and no Read", () => {
    const acls = kafkaAcls([{ service: "p", topic: "orders", role: "produce" }]);
    expect(acls["p"]).toEqual([{ resource: { type: "topic", name: "orders", patternType: "literal" }, operations: ["Describe", "Write"] }]);
  });

  it("derives the same ACLs from a stack's service declarations (consumerGroup override honoured)", () => {
    const cfg = parsePlatformConfig({
      environment: "dev",
      gateway: { implementation: "traefik", hostnames: ["shop.example.com"] },
      discovery: { store: "etcd", etcd: { members: 1 } },
      messaging: { kafka: { combinedRoles: true, brokers: 1, controllers: 1, topicDefaults: { replicationFactor: 1, minInsyncReplicas: 1 }, topics: { orders: {} } }, nats: { replicas: 1 } },
      security: { allowedRegistries: ["ghcr.io/acme"], requireDigest: false, enforcement: "Audit" },
      services: { a: { image: "ghcr.io/acme/a:1", version: "1", produces: ["orders"] }, b: { image: "ghcr.io/acme/b:1", version: "1", consumes: ["orders"], consumerGroup: "billing" } },
    });
    expect(grantedBy(kafkaAcls(serviceGraph(cfg).topicUse))).toEqual(new Set(["a|topic|orders|Write", "a|topic|orders|Describe", "b|topic|orders|Read", "b|topic|orders|Describe", "b|group|billing|Read"]));
  });
});

describe("node pools", () => {
  it("uses separate controller and broker pools unless roles are combined", () => {
    expect(kafkaNodePools({ combinedRoles: false, brokers: 3, controllers: 3 })).toEqual([
      { name: "controllers", roles: ["controller"], replicas: 3 },
      { name: "brokers", roles: ["broker"], replicas: 3 },
    ]);
    expect(kafkaNodePools({ combinedRoles: true, brokers: 1, controllers: 1 })).toEqual([{ name: "dual", roles: ["controller", "broker"], replicas: 1 }]);
  });
});

describe("topics and broker settings", () => {
  const cfg = parsePlatformConfig({
    environment: "prod",
    gateway: { implementation: "envoy", hostnames: ["shop.example.com"] },
    discovery: { store: "etcd" },
    messaging: { kafka: { topicDefaults: { retentionHours: 24 }, topics: { orders: {}, audit: { partitions: 1, replicationFactor: 3, minInsyncReplicas: 2, retentionHours: 720 } } } },
    security: { allowedRegistries: ["ghcr.io/acme"] },
    services: { a: { image: "ghcr.io/acme/a@sha256:" + "c".repeat(64), version: "1", produces: ["orders"] } },
  }).messaging.kafka;

  it("applies the defaults to each topic and overrides field by field", () => {
    expect(topicSettings(cfg)).toEqual({
      orders: { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2, retentionHours: 24 },
      audit: { partitions: 1, replicationFactor: 3, minInsyncReplicas: 2, retentionHours: 720 },
    });
  });

  it("writes partitions, replicas, min.insync.replicas, retention and unclean election into the KafkaTopic", () => {
    expect(kafkaTopicSpec("audit", topicSettings(cfg)["audit"]!, false)).toEqual({
      topicName: "audit",
      partitions: 1,
      replicas: 3,
      config: { "min.insync.replicas": 2, "retention.ms": 720 * 3_600_000, "unclean.leader.election.enable": false, "cleanup.policy": "delete" },
    });
  });

  it("turns off topic auto-creation and unclean election, and replicates internal topics three ways", () => {
    expect(kafkaBrokerConfig(cfg)).toMatchObject({ "auto.create.topics.enable": false, "unclean.leader.election.enable": false, "offsets.topic.replication.factor": 3, "transaction.state.log.min.isr": 2, "min.insync.replicas": 2 });
  });
});

describe("client configuration", () => {
  it("tells producers acks=all and gives consumers their group", () => {
    expect(kafkaClientConfig("b:9093", { produces: true })).toMatchObject({ acks: "all", "enable.idempotence": "true", "security.protocol": "SASL_SSL" });
    expect(kafkaClientConfig("b:9093", { produces: false, group: "g" })).toEqual({ "bootstrap.servers": "b:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "group.id": "g" });
  });

  it("maps every env variable to a key the credentials Secret has", () => {
    const keys = new Set([...Object.keys(kafkaClientConfig("b", { produces: true, group: "g" })), "username", "password", "sasl.jaas.config", "ca.crt"]);
    for (const key of Object.values(kafkaClientEnv({ produces: true, consumes: true }))) expect(keys).toContain(key);
    expect(kafkaClientEnv({ produces: false, consumes: true })).not.toHaveProperty("KAFKA_ACKS");
  });

  it("names the bootstrap Service and every broker in the listener certificate", () => {
    expect(kafkaListenerSans("platform", "kafka", "cluster.local")).toEqual(
      expect.arrayContaining(["platform-kafka-bootstrap.kafka.svc", "platform-kafka-bootstrap.kafka.svc.cluster.local", "*.platform-kafka-brokers.kafka.svc", "*.platform-kafka-brokers.kafka.svc.cluster.local"]),
    );
  });
});
