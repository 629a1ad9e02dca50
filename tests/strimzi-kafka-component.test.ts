/**
 * The Kafka components on their own under Pulumi's mocks, across the settings the stack files do
 * not cover (storage class, zones on/off, combined roles, extra topics): every custom resource
 * they register validates against the Strimzi 1.2.0 CRDs, and ordering edges are the real ones.
 */
import { parsePlatformConfig } from "../config/load";
import { StrimziKafka } from "../components/messaging/strimzi-kafka";
import { StrimziOperator } from "../components/messaging/strimzi-operator";
import { serviceGraph } from "../components/service-graph";
import { RecordedResource, runProgram } from "../render/harness";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";

const crds = new CrdValidator(CRD_DIR);

function config(variant: { combinedRoles: boolean }) {
  return parsePlatformConfig({
    environment: "dev",
    gateway: { implementation: "traefik", hostnames: ["shop.example.com"] },
    discovery: { store: "etcd", etcd: { members: 1 } },
    messaging: {
      kafka: variant.combinedRoles
        ? { combinedRoles: true, brokers: 3, controllers: 3, topics: { a: {}, "b.events": { partitions: 1, retentionHours: 1 } } }
        : { brokers: 5, controllers: 3, topics: { a: {}, "b.events": { replicationFactor: 5, minInsyncReplicas: 3 } } },
      nats: { replicas: 1 },
    },
    security: { allowedRegistries: ["ghcr.io/acme"], requireDigest: false, enforcement: "Audit" },
    services: {
      p: { image: "ghcr.io/acme/p:1", version: "1", produces: ["a", "b.events"] },
      c: { image: "ghcr.io/acme/c:1", version: "1", namespace: "other", consumes: ["a"], consumerGroup: "group-c" },
      n: { image: "ghcr.io/acme/n:1", version: "1" },
    },
  });
}

async function run(variant: { combinedRoles: boolean; zones: boolean; storageClass?: string }): Promise<readonly RecordedResource[]> {
  const cfg = config(variant);
  const graph = serviceGraph(cfg);
  const { resources } = await runProgram({
    project: "platform",
    stack: "kafka-test",
    config: {},
    program: () => {
      const operator = new StrimziOperator("strimzi", { namespace: "kafka", ha: false, domain: "cluster.local" });
      new StrimziKafka("kafka", {
        namespace: "kafka",
        operator,
        settings: cfg.messaging.kafka,
        domain: "cluster.local",
        zones: variant.zones,
        ...(variant.storageClass ? { storageClass: variant.storageClass } : {}),
        usage: graph.topicUse,
        clients: [
          { service: "p", namespace: "apps", namespaceName: "apps" },
          { service: "c", namespace: "other", namespaceName: "other" },
        ],
      });
    },
  });
  return resources;
}

const customResources = (rs: readonly RecordedResource[]) => rs.filter((r) => String((r.inputs as any).apiVersion).startsWith("kafka.strimzi.io/"));

describe.each([
  { combinedRoles: false, zones: true, storageClass: "fast-ssd" },
  { combinedRoles: true, zones: false },
])("Strimzi resources for %j", (variant) => {
  let rs: readonly RecordedResource[];
  beforeAll(async () => {
    rs = await run(variant);
  });

  it("validate against the Strimzi 1.2.0 CRDs", () => {
    const crs = customResources(rs);
    expect(crs.length).toBe(1 + (variant.combinedRoles ? 1 : 2) + 2 + 2);
    expect(crs.map((r) => ({ name: r.name, ...crds.validate(r.inputs as any) })).filter((x) => !x.ok)).toEqual([]);
  });

  it("wait for the operator release and nothing else of the operator", () => {
    const release = rs.find((r) => r.type === "kubernetes:helm.sh/v4:Chart")!;
    for (const cr of customResources(rs)) expect(cr.dependencies).toContain(release.urn);
  });

  it("use the storage class and zone spreading only when given", () => {
    const pools = customResources(rs).filter((r) => (r.inputs as any).kind === "KafkaNodePool").map((r) => (r.inputs as any).spec);
    for (const p of pools) {
      expect(p.storage.volumes[0].class).toBe(variant.storageClass);
      expect(p.template?.pod?.topologySpreadConstraints?.[0]?.topologyKey).toBe(variant.zones ? "topology.kubernetes.io/zone" : undefined);
    }
    const kafka = customResources(rs).find((r) => (r.inputs as any).kind === "Kafka")!.inputs as any;
    expect(kafka.spec.kafka.rack).toEqual(variant.zones ? { topologyKey: "topology.kubernetes.io/zone" } : undefined);
  });

  it("create a user only for services that use topics, and their credentials in their own namespace", () => {
    const users = customResources(rs).filter((r) => (r.inputs as any).kind === "KafkaUser").map((r) => (r.inputs as any).metadata.name);
    expect(users.sort()).toEqual(["c", "p"]);
    const creds = rs.filter((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs as any).metadata.name.endsWith("-kafka"));
    expect(creds.map((r) => [(r.inputs as any).metadata.name, (r.inputs as any).metadata.namespace]).sort()).toEqual([
      ["c-kafka", "other"],
      ["p-kafka", "apps"],
    ]);
  });
});
