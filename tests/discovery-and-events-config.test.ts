/** Config rules of the discovery and events areas: each error names its key. */
import { parsePlatformConfig } from "../config/load";
import { consulSettings, etcdSettings } from "../config/schema";
import { configProblems } from "./support/config-problems";

const DIGEST = "@sha256:" + "b".repeat(64);

/** A valid prod config; each test breaks one thing. */
function prod(): Record<string, any> {
  return {
    environment: "prod",
    gateway: { implementation: "envoy", hostnames: ["shop.example.com"] },
    discovery: { store: "etcd", etcd: { members: 3 } },
    messaging: {
      kafka: { topics: { orders: {}, payments: { partitions: 3 } } },
      nats: { streams: { control: { subjects: ["control.>"] } }, kvBuckets: { "config-reload": {} } },
    },
    security: { allowedRegistries: ["ghcr.io/acme"] },
    services: {
      a: { image: `ghcr.io/acme/a${DIGEST}`, version: "1", produces: ["orders"], configStore: true },
      b: { image: `ghcr.io/acme/b${DIGEST}`, version: "1", consumes: ["orders"], produces: ["payments"] },
    },
  };
}

const problems = configProblems;

it("accepts the valid prod base", () => {
  expect(problems(prod())).toEqual([]);
});

const cases: [string, (r: Record<string, any>) => void, RegExp][] = [
  ["a prod topic with RF below 3", (r) => (r.messaging.kafka.topics.orders = { replicationFactor: 2, minInsyncReplicas: 1 }), /^platform:messaging\.kafka\.topics\.orders\.replicationFactor: prod topics need at least 3 replicas \(got 2; expected at least 3\)$/],
  ["prod topic defaults with RF below 3", (r) => (r.messaging.kafka.topicDefaults = { replicationFactor: 1, minInsyncReplicas: 1 }), /^platform:messaging\.kafka\.topicDefaults\.replicationFactor: prod topics need at least 3 replicas/],
  ["a prod topic with minISR equal to RF", (r) => (r.messaging.kafka.topics.orders = { replicationFactor: 3, minInsyncReplicas: 3 }), /^platform:messaging\.kafka\.topics\.orders\.minInsyncReplicas: min\.insync\.replicas must be below the replication factor.*\(got 3; expected at most 2\)$/],
  ["a prod topic with minISR above RF", (r) => (r.messaging.kafka.topicDefaults = { minInsyncReplicas: 4 }), /^platform:messaging\.kafka\.topicDefaults\.minInsyncReplicas: min\.insync\.replicas must be below/],
  ["a prod topic with minISR 1", (r) => (r.messaging.kafka.topics.payments = { minInsyncReplicas: 1 }), /^platform:messaging\.kafka\.topics\.payments\.minInsyncReplicas: prod topics need min\.insync\.replicas of at least 2/],
  ["unclean leader election in prod", (r) => (r.messaging.kafka.uncleanLeaderElection = true), /^platform:messaging\.kafka\.uncleanLeaderElection: unclean leader election can lose acknowledged messages \(got true; expected false in prod\)$/],
  ["an even etcd member count", (r) => (r.discovery.etcd.members = 4), /^platform:discovery\.etcd\.members: etcd needs an odd member count for a quorum \(got 4; expected 1, 3, 5 or 7\)$/],
  ["an even Consul server count", (r) => (r.discovery = { store: "consul", consul: { servers: 2 } }), /^platform:discovery\.consul\.servers: Consul needs an odd server count/],
  ["a one-member etcd in prod", (r) => (r.discovery.etcd.members = 1), /^platform:discovery\.etcd\.members: prod etcd needs at least 3 members \(got 1; expected 3, 5 or 7\)$/],
  ["a produced topic that is not declared", (r) => (r.services.a.produces = ["orders", "refunds"]), /^platform:services\.a\.produces\[1\]: uses a topic that is not declared in messaging\.kafka\.topics \(got "refunds"; expected orders \| payments\)$/],
  ["a consumed topic that is not declared", (r) => (r.services.b.consumes = ["audit"]), /^platform:services\.b\.consumes\[0\]: uses a topic that is not declared/],
  ["a topic used while Kafka is off", (r) => (r.messaging.kafka = { enabled: false }), /^platform:services\.a\.produces\[0\]: uses a Kafka topic but messaging\.kafka\.enabled is false/],
  ["both stores configured (etcd chosen, Consul settings given)", (r) => (r.discovery.consul = { servers: 3 }), /^platform:discovery\.consul: settings for consul given, but discovery\.store is etcd/],
  ["both stores configured (Consul chosen, etcd settings given)", (r) => (r.discovery.store = "consul"), /^platform:discovery\.etcd: settings for etcd given, but discovery\.store is consul/],
  ["neither store chosen", (r) => delete r.discovery.store, /^platform:discovery\.store: required \(got nothing; expected "etcd" \| "consul" \| "none"\)$/],
  ["a store that does not exist", (r) => (r.discovery.store = "zookeeper"), /^platform:discovery\.store: .*\(got "zookeeper"; expected "etcd" \| "consul" \| "none"\)$/],
  ["a consumer group on a service that consumes nothing", (r) => (r.services.a.consumerGroup = "grp"), /^platform:services\.a\.consumerGroup: a consumer group without consumed topics grants nothing/],
  ["a service in a platform component's namespace", (r) => (r.services.b.namespace = "kafka"), /^platform:services\.b\.namespace: namespace belongs to a platform component \(got "kafka"; expected any namespace but discovery, kafka, nats, istio-system, observability, kyverno, flagger, vault, external-secrets, gateway-system\)$/],
  ["a NATS stream name with a dot", (r) => (r.messaging.nats.streams = { "control.plane": { subjects: ["cp.>"] } }), /^platform:messaging\.nats\.streams\.control\.plane: JetStream stream names cannot contain '\.'/],
  ["a KV bucket name with a dot", (r) => (r.messaging.nats.kvBuckets = { "config.reload": {} }), /^platform:messaging\.nats\.kvBuckets\.config\.reload: JetStream bucket names cannot contain '\.'/],
  ["stream replicas above the server count", (r) => (r.messaging.nats.streams.control.replicas = 5), /^platform:messaging\.nats\.streams\.control\.replicas: stream replicas exceed the 3 NATS server\(s\) \(got 5; expected at most 3\)$/],
  ["a single-replica stream in prod", (r) => (r.messaging.nats.streams.control.replicas = 1), /^platform:messaging\.nats\.streams\.control\.replicas: prod streams need at least 3 replicas/],
  ["two streams capturing one subject", (r) => (r.messaging.nats.streams.audit = { subjects: ["control.>"] }), /^platform:messaging\.nats\.streams\.audit\.subjects\[0\]: subject already captured by stream control/],
];

it.each(cases)("rejects %s, naming the key", (_what, mutate, expected) => {
  const raw = prod();
  mutate(raw);
  expect(problems(raw)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
});

it("allows RF = minISR = 1 in dev only", () => {
  const raw = prod();
  raw.environment = "dev";
  raw.messaging.kafka = { combinedRoles: true, brokers: 1, controllers: 1, topicDefaults: { replicationFactor: 1, minInsyncReplicas: 1 }, topics: { orders: {}, payments: {} } };
  raw.messaging.nats.replicas = 1;
  expect(problems(raw)).toEqual([]);
  raw.environment = "prod";
  const p = problems(raw);
  expect(p).toEqual(expect.arrayContaining([expect.stringMatching(/^platform:messaging\.kafka\.topicDefaults\.replicationFactor: prod topics need at least 3 replicas/), expect.stringMatching(/^platform:messaging\.kafka\.topicDefaults\.minInsyncReplicas: min\.insync\.replicas must be below/)]));
});

it("fills store and Kafka defaults from the schema, also when the store's block is absent", () => {
  const raw = prod();
  delete raw.discovery.etcd;
  const cfg = parsePlatformConfig(raw);
  expect(etcdSettings(cfg.discovery)).toEqual({
    members: 3,
    storage: "8Gi",
    backupSchedule: "0 */6 * * *",
    backupKeep: 8,
    backupStorage: "20Gi",
    resources: { requests: { cpu: "200m", memory: "512Mi" }, limits: { memory: "2Gi" } },
  });
  expect(consulSettings(cfg.discovery)).toEqual({ servers: 3, storage: "10Gi" });
  expect(cfg.messaging.kafka.resources).toEqual({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } });
});
