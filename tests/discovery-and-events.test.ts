/**
 * The discovery and events areas as rendered for the dev and prod stacks (and prod with Consul):
 * custom resources against the Strimzi 1.2.0 CRDs, Helm values against the pinned charts, the etcd
 * StatefulSet's flags against the topology functions, and the wiring of credentials into services.
 */
import { platformSecretRefs } from "./support/generated-secrets";
import Ajv from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { consulServerDnsNames, consulTokenScript } from "../components/discovery/consul";
import { etcdInitialCluster, etcdClusterToken } from "../components/discovery/etcd-cluster";
import { natsJetStreamScript, natsReplicas, natsStreamConfig } from "../components/messaging/nats";
import { kafkaAcls } from "../components/messaging/strimzi-kafka";
import { serviceGraph } from "../components/service-graph";
import { HELM_RELEASE_TYPE, K8sObject } from "../render/gitops";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { ROOT, readStackConfig } from "../render/stack";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { allSagaTopics } from "../config/resilience";
import { unknownValueKeys } from "./support/helm-values";

const crds = new CrdValidator(CRD_DIR);
const r: Record<"dev" | "prod" | "consul", Rendered> = {} as never;

beforeAll(async () => {
  // Sequential: the mock runtime is process-global.
  r.dev = await renderStack("dev");
  r.prod = await renderStack("prod");
  const flat = readStackConfig("prod");
  flat["platform:discovery"] = JSON.stringify({ store: "consul", consul: { servers: 3, storage: "20Gi" } });
  r.consul = await renderConfig("prod-consul", flat);
});

const objects = (x: Rendered, group?: string): K8sObject[] => x.model.groups.filter((g) => !group || g.name === group).flatMap((g) => g.objects);
const find = (x: Rendered, kind: string, name: string, group?: string): any => {
  const o = objects(x, group).find((y) => y.kind === kind && y.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const podSpecs = (x: Rendered, group: string): [string, any][] =>
  objects(x, group).flatMap((o: any): [string, any][] => {
    if (o.kind === "StatefulSet" || o.kind === "Job" || o.kind === "Deployment") return [[`${o.kind}/${o.metadata.name}`, o.spec.template.spec]];
    if (o.kind === "CronJob") return [[`${o.kind}/${o.metadata.name}`, o.spec.jobTemplate.spec.template.spec]];
    return [];
  });

describe("Strimzi custom resources", () => {
  it.each(["dev", "prod"] as const)("validate against the Strimzi 1.2.0 CRDs, all as kafka.strimzi.io/v1 (%s)", (stack) => {
    const crs = objects(r[stack], "kafka").filter((o) => o.apiVersion.startsWith("kafka.strimzi.io/"));
    expect(new Set(crs.map((o) => o.apiVersion))).toEqual(new Set(["kafka.strimzi.io/v1"]));
    expect(crs.map((o) => o.kind).sort()).toEqual(
      // Three declared topics and the place-order saga's four (two command topics, replies, dead letters).
      ["Kafka", ...(stack === "dev" ? ["KafkaNodePool"] : ["KafkaNodePool", "KafkaNodePool"]), ...Array(3 + 4).fill("KafkaTopic"), "KafkaUser", "KafkaUser", "KafkaUser", "KafkaUser"].sort(),
    );
    expect(crs.map((o) => ({ id: `${o.kind}/${o.metadata.name}`, ...crds.validate(o) })).filter((x) => !x.ok)).toEqual([]);
  });

  it("are rejected by the validator when they use the removed v1beta2 API or an unknown field", () => {
    const kafka = find(r.prod, "Kafka", "platform");
    expect(crds.has("kafka.strimzi.io/v1beta2", "Kafka")).toBe(false);
    const bad = { ...kafka, spec: { ...kafka.spec, kafka: { ...kafka.spec.kafka, replicas: 3 } } };
    expect(crds.validate(bad)).toMatchObject({ ok: false, errors: [expect.stringContaining("replicas")] });
  });

  it("run KRaft in prod on 3 controllers and 3 brokers with persistent volumes, rack awareness by zone", () => {
    const pools = objects(r.prod, "kafka").filter((o) => o.kind === "KafkaNodePool") as any[];
    expect(pools.map((p) => [p.metadata.name, p.spec.roles, p.spec.replicas])).toEqual([
      ["controllers", ["controller"], 3],
      ["brokers", ["broker"], 3],
    ]);
    for (const p of pools) {
      expect(p.metadata.labels["strimzi.io/cluster"]).toBe("platform");
      expect(p.spec.storage.volumes).toEqual([expect.objectContaining({ type: "persistent-claim", size: "100Gi", deleteClaim: false, kraftMetadata: "shared" })]);
    }
    const kafka = find(r.prod, "Kafka", "platform").spec;
    expect(kafka.kafka.rack).toEqual({ topologyKey: "topology.kubernetes.io/zone" });
    expect(kafka.kafka.listeners).toEqual([expect.objectContaining({ name: "tls", port: 9093, type: "internal", tls: true, authentication: { type: "scram-sha-512" } })]);
    expect(kafka.kafka.authorization).toEqual({ type: "simple" });
    expect(kafka.kafka.config).toMatchObject({ "unclean.leader.election.enable": false, "auto.create.topics.enable": false });
    expect(Object.keys(kafka.entityOperator).sort()).toEqual(["topicOperator", "userOperator"]);
  });

  it("run one combined node in dev, without rack awareness", () => {
    const pools = objects(r.dev, "kafka").filter((o) => o.kind === "KafkaNodePool") as any[];
    expect(pools.map((p) => [p.metadata.name, p.spec.roles, p.spec.replicas])).toEqual([["dual", ["controller", "broker"], 1]]);
    expect(find(r.dev, "Kafka", "platform").spec.kafka.rack).toBeUndefined();
  });

  it("declare one KafkaTopic per declared topic (and per saga topic) with its partitions, RF, min ISR and retention", () => {
    const topics = objects(r.prod, "kafka").filter((o) => o.kind === "KafkaTopic") as any[];
    expect(topics.map((t) => t.metadata.name).sort()).toEqual([...Object.keys(r.prod.config.messaging.kafka.topics), ...allSagaTopics(r.prod.config.resilience.sagas)].sort());
    const inv = topics.find((t) => t.metadata.name === "inventory.reserved");
    expect(inv.spec).toMatchObject({ partitions: 6, replicas: 3, config: { "min.insync.replicas": 2, "retention.ms": 168 * 3_600_000 } });
  });

  it("give each KafkaUser exactly the ACLs of its declared topic use", () => {
    const users = objects(r.prod, "kafka").filter((o) => o.kind === "KafkaUser") as any[];
    const expected = kafkaAcls(serviceGraph(r.prod.config).topicUse);
    expect(Object.fromEntries(users.map((u) => [u.metadata.name, u.spec.authorization.acls]))).toEqual(expected);
    for (const u of users) expect(u.spec.authentication.password.valueFrom.secretKeyRef).toEqual({ name: `${u.metadata.name}-kafka-password`, key: "password" });
  });

  it("come after the operator: every Kafka custom resource waits for the Strimzi release", () => {
    const release = r.prod.run.resources.find((x) => x.type === HELM_RELEASE_TYPE && (x.inputs as any).chart === "strimzi-kafka-operator")!;
    const crs = r.prod.run.resources.filter((x) => String((x.inputs as any).apiVersion).startsWith("kafka.strimzi.io/"));
    expect(crs.length).toBeGreaterThan(0);
    for (const cr of crs) expect(cr.dependencies).toContain(release.urn);
  });
});

describe("Helm values", () => {
  // This area's releases only; the other areas check theirs in their own tests.
  const AREA_CHARTS = ["consul", "nats", "strimzi-kafka-operator"];
  const releases = (x: Rendered) =>
    x.run.resources
      .filter((res) => res.type === HELM_RELEASE_TYPE && AREA_CHARTS.includes((res.inputs as { chart: string }).chart))
      .map((res) => res.inputs as { chart: string; version: string; values: unknown });

  it.each(["dev", "prod", "consul"] as const)("set only keys the pinned charts define, and pass their schemas where shipped (%s)", (stack) => {
    const rel = releases(r[stack]);
    expect(rel.map((x) => x.chart).sort()).toEqual((stack === "consul" ? ["consul", "nats", "strimzi-kafka-operator"] : ["nats", "strimzi-kafka-operator"]).sort());
    for (const x of rel) {
      const dir = path.join(ROOT, "charts", x.chart, x.version);
      const defaults = parse(fs.readFileSync(path.join(dir, "values.yaml"), "utf8"));
      // server.securityContext is a whole PodSecurityContext the chart passes through toYaml.
      expect({ chart: x.chart, unknown: unknownValueKeys(x.values, defaults, { freeForm: ["server.securityContext"] }) }).toEqual({ chart: x.chart, unknown: [] });
      const schemaFile = path.join(dir, "values.schema.json");
      if (fs.existsSync(schemaFile)) {
        const validate = new Ajv({ strict: false }).compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
        expect(validate(x.values)).toBe(true);
      }
    }
  });

  it("catches a misspelt key (the check bites)", () => {
    const defaults = parse(fs.readFileSync(path.join(ROOT, "charts/nats/2.14.2/values.yaml"), "utf8"));
    expect(unknownValueKeys({ config: { jetstream: { fileStorage: { enabled: true } } } }, defaults)).toEqual(["config.jetstream.fileStorage"]);
  });

  it("run NATS clustered with JetStream file storage in prod, single in dev", () => {
    const nats = (x: Rendered) => releases(x).find((y) => y.chart === "nats")!.values as any;
    expect(nats(r.prod).config).toMatchObject({ cluster: { enabled: true, replicas: 3 }, jetstream: { enabled: true, fileStore: { enabled: true, pvc: { enabled: true, size: "20Gi" } }, memoryStore: { enabled: false } } });
    expect(nats(r.dev).config.cluster.enabled).toBe(false);
    expect(Object.keys(nats(r.prod).podTemplate.topologySpreadConstraints)).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
  });

  it("run Consul with 3 servers, ACLs, TLS, gossip encryption from our Secrets, and connectInject off", () => {
    const v = releases(r.consul).find((y) => y.chart === "consul")!.values as any;
    expect(v.server).toMatchObject({ replicas: 3, bootstrapExpect: 3, storage: "20Gi" });
    expect(v.connectInject.enabled).toBe(false);
    expect(v.global.acls).toMatchObject({ manageSystemACLs: true, bootstrapToken: { secretName: "consul-bootstrap-token", secretKey: "token" } });
    expect(v.global.tls).toMatchObject({ enabled: true, verify: true, httpsOnly: true, caCert: { secretName: "consul-ca" } });
    // No CA key in the cluster: the servers' certificate is issued by the program (the chart's tls-init is a hook a Chart v4 never runs).
    expect(v.global.tls.caKey).toBeUndefined();
    expect(v.server.serverCert).toEqual({ secretName: "consul-server-tls" });
    expect(v.global.gossipEncryption).toEqual({ autoGenerate: false, secretName: "consul-gossip", secretKey: "key" });
    // Clients (and the token Job) use a name the servers' certificate carries.
    expect(consulServerDnsNames("discovery", "cluster.local", "platform")).toEqual(expect.arrayContaining(["server.platform.consul", "consul-server.discovery.svc", "consul-server.discovery.svc.cluster.local", "*.consul-server.discovery.svc"]));
    expect(objects(r.consul, "consul").some((o: any) => o.kind === "Job" && /tls-init/.test(o.metadata.name))).toBe(false);
    const job = objects(r.consul, "consul").find((o) => o.kind === "Job") as any;
    expect(job.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: "CONSUL_HTTP_ADDR", value: "https://consul-server.discovery.svc:8501" }]));
    // The Secrets the chart is pointed at exist, with those keys, in the release's namespace.
    const secrets = platformSecretRefs(r.consul).filter((s) => s.namespace === "discovery");
    expect(secrets.find((s) => s.name === "consul-gossip")!.keys).toEqual(["key"]);
    expect(secrets.find((s) => s.name === "consul-bootstrap-token")!.keys).toEqual(["token"]);
    expect(secrets.find((s) => s.name === "consul-ca")!.keys).toEqual(["tls.crt"]);
    expect(secrets.find((s) => s.name === "consul-server-tls")!.keys).toEqual(["tls.crt", "tls.key"]);
  });
});

describe("the etcd cluster", () => {
  const topo = (x: Rendered) => ({ name: "etcd", headless: "etcd-headless", namespace: "discovery", domain: x.config.cluster.domain, members: x.config.discovery.etcd!.members, clusterName: x.config.cluster.name });

  it.each(["dev", "prod"] as const)("boots from the initial-cluster string and token the topology functions give (%s)", (stack) => {
    const sts = find(r[stack], "StatefulSet", "etcd", "etcd");
    const args: string[] = sts.spec.template.spec.containers[0].args;
    expect(sts.spec.replicas).toBe(r[stack].config.discovery.etcd!.members);
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
    expect(args).toContain(`--initial-cluster=${etcdInitialCluster(topo(r[stack]))}`);
    expect(args).toContain(`--initial-cluster-token=${etcdClusterToken(topo(r[stack]))}`);
    expect(args).toEqual(expect.arrayContaining(["--client-cert-auth=true", "--peer-client-cert-auth=true", "--peer-cert-file=/etc/etcd/peer/$(POD_NAME).crt"]));
    // The peer Secret holds a certificate and key for every member the StatefulSet starts.
    const peer = platformSecretRefs(r[stack]).find((s) => s.name === "etcd-peer-tls")!;
    expect(peer.keys).toEqual(["ca.crt", ...Array.from({ length: sts.spec.replicas }, (_, i) => [`etcd-${i}.crt`, `etcd-${i}.key`]).flat()]);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(r[stack].config.discovery.etcd!.storage);
  });

  it("keeps quorum through drains in prod and spreads members across nodes and zones", () => {
    expect(find(r.prod, "PodDisruptionBudget", "etcd", "etcd").spec.minAvailable).toBe(2);
    expect(objects(r.dev, "etcd").some((o) => o.kind === "PodDisruptionBudget")).toBe(false);
    const pod = find(r.prod, "StatefulSet", "etcd", "etcd").spec.template.spec;
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe("kubernetes.io/hostname");
    expect(pod.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(["topology.kubernetes.io/zone"]);
  });

  it("defragments and backs up on the configured schedule to its own volume", () => {
    const cj = find(r.prod, "CronJob", "etcd-maintenance", "etcd");
    expect(cj.spec.schedule).toBe("0 */6 * * *");
    expect(cj.spec.concurrencyPolicy).toBe("Forbid");
    expect(cj.spec.jobTemplate.spec.template.spec.volumes).toEqual(expect.arrayContaining([{ name: "backup", persistentVolumeClaim: { claimName: "etcd-backup" } }]));
    expect(find(r.prod, "PersistentVolumeClaim", "etcd-backup", "etcd").spec.resources.requests.storage).toBe("20Gi");
  });

  it("exposes metrics and health on a separate port", () => {
    const svc = find(r.prod, "Service", "etcd-headless", "etcd");
    expect(svc.spec.ports.map((p: any) => p.name)).toEqual(["client", "peer", "metrics"]);
    const c = find(r.prod, "StatefulSet", "etcd", "etcd").spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(c.image).toBe("gcr.io/etcd-development/etcd:v3.6.4");
  });
});

describe("Pod Security restricted", () => {
  it.each([
    ["prod", "etcd"],
    ["prod", "nats"],
    ["consul", "consul"],
  ] as const)("holds for every pod the %s render's %s component runs itself", (stack, group) => {
    const pods = podSpecs(r[stack], group);
    expect(pods.length).toBeGreaterThan(0);
    for (const [, spec] of pods) {
      // Pod Security takes the pod's or each container's setting (the effective value).
      const containers = [...(spec.initContainers ?? []), ...spec.containers];
      expect(spec.securityContext?.runAsNonRoot === true || containers.every((c: any) => c.securityContext?.runAsNonRoot === true)).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type === "RuntimeDefault" || containers.every((c: any) => c.securityContext?.seccompProfile?.type === "RuntimeDefault")).toBe(true);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        // Charts may add a fixed non-root user on top (consul's runAsUser 100).
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
        expect(c.securityContext.runAsUser ?? 1).toBeGreaterThan(0);
        // consul 2.0.3's locality-init has no resources key (exempted in policy/stacks/prod.json).
        if (c.name !== "locality-init") expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  it("is enforced on the platform's own namespaces", () => {
    for (const ns of ["discovery", "kafka", "nats"]) {
      expect(find(r.prod, "Namespace", ns).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
    }
  });
});

describe("services receive endpoints and credentials as env from Secret references", () => {
  const env = (x: Rendered, svc: string): Record<string, any> => Object.fromEntries(find(x, "Deployment", svc).spec.template.spec.containers[0].env.map((e: any) => [e.name, e]));

  it.each(["dev", "prod"] as const)("gives store clients their etcd Secret and nothing to the others (%s)", (stack) => {
    const x = r[stack];
    for (const [name, s] of Object.entries(x.config.services)) {
      const e = env(x, name);
      if (s.configStore) {
        expect(e["ETCD_ENDPOINTS"]).toEqual({ name: "ETCD_ENDPOINTS", valueFrom: { secretKeyRef: { name: `${name}-etcd`, key: "endpoints" } } });
        expect(e["ETCD_KEY_PEM"].valueFrom.secretKeyRef).toEqual({ name: `${name}-etcd`, key: "tls.key" });
        const secret = platformSecretRefs(x).find((y) => y.name === `${name}-etcd`)!;
        expect(secret.namespace).toBe(s.namespace);
      } else expect(Object.keys(e).filter((k) => k.startsWith("ETCD_"))).toEqual([]);
    }
  });

  it("tells producers acks=all and consumers their group, from their Kafka Secret", () => {
    const x = r.prod;
    for (const [name, s] of Object.entries(x.config.services)) {
      const e = env(x, name);
      if (s.produces.length + s.consumes.length === 0) {
        expect(Object.keys(e).filter((k) => k.startsWith("KAFKA_"))).toEqual([]);
        continue;
      }
      expect(e["KAFKA_PASSWORD"].valueFrom.secretKeyRef).toEqual({ name: `${name}-kafka`, key: "password" });
      expect(e["KAFKA_BOOTSTRAP_SERVERS"].valueFrom.secretKeyRef).toEqual({ name: `${name}-kafka`, key: "bootstrap.servers" });
      if (s.produces.length) expect(e["KAFKA_ACKS"].valueFrom.secretKeyRef).toEqual({ name: `${name}-kafka`, key: "acks" });
      else expect(e["KAFKA_ACKS"]).toBeUndefined();
      if (s.consumes.length) expect(e["KAFKA_GROUP_ID"].valueFrom.secretKeyRef.key).toBe("group.id");
      const secret = platformSecretRefs(x).find((y) => y.name === `${name}-kafka`)!;
      expect(secret.namespace).toBe(s.namespace);
      if (s.produces.length) expect(secret.keys).toContain("acks");
    }
  });

  it("gives Consul clients the server address and their ACL token", () => {
    const e = env(r.consul, "user-service");
    expect(e["CONSUL_HTTP_TOKEN"].valueFrom.secretKeyRef).toEqual({ name: "user-service-consul", key: "token" });
    expect(e["CONSUL_HTTP_ADDR"].valueFrom.secretKeyRef).toEqual({ name: "user-service-consul", key: "addr" });
    expect(Object.keys(env(r.consul, "order-service")).filter((k) => k.startsWith("CONSUL_"))).toEqual([]);
  });
});

it("tells the stack's user where the store and the brokers listen", () => {
  expect(r.prod.run.outputs["dataServices"]).toEqual({
    store: { kind: "etcd", endpoint: ["etcd-0", "etcd-1", "etcd-2"].map((m) => `https://${m}.etcd-headless.discovery.svc.cluster.local:2379`).join(",") },
    kafkaBootstrap: "platform-kafka-bootstrap.kafka.svc.cluster.local:9093",
    natsUrl: "tls://nats.nats.svc.cluster.local:4222",
  });
  expect((r.consul.run.outputs["dataServices"] as any).store).toEqual({ kind: "consul", endpoint: "https://consul-server.discovery.svc:8501" });
});

describe("NATS streams and KV buckets", () => {
  it("are created by a Job whose ConfigMap holds each declared stream's config", () => {
    const cm = objects(r.prod, "nats").find((o) => o.kind === "ConfigMap") as any;
    const control = JSON.parse(cm.data["stream-control.json"]);
    expect(control).toMatchObject({ name: "control", subjects: ["control.>"], storage: "file", num_replicas: 3, max_age: 24 * 3_600_000_000_000 });
    const job = objects(r.prod, "nats").find((o) => o.kind === "Job") as any;
    expect(job.metadata.name).toBe(cm.metadata.name);
    const script = job.spec.template.spec.containers[0].command[2];
    expect(script).toContain("nats stream add control --config /etc/jetstream/stream-control.json");
    expect(script).toContain("nats kv add config-reload --history=10 --replicas=3 --storage=file");
  });

  it("use every server (up to 5) as replicas unless declared", () => {
    expect(natsReplicas(undefined, 1)).toBe(1);
    expect(natsReplicas(undefined, 7)).toBe(5);
    expect(natsReplicas(2, 3)).toBe(2);
    expect(natsStreamConfig("s", { subjects: ["a"], maxAgeHours: 1 }, 3)).toMatchObject({ num_replicas: 3, max_age: 3_600_000_000_000, discard: "old" });
  });

  it("update an existing stream instead of failing, and leave existing buckets alone", () => {
    const s = natsJetStreamScript({ replicas: 3, streams: { a: { subjects: ["a.>"], maxAgeHours: 1 } }, kvBuckets: { b: { history: 5 } } });
    expect(s).toContain("if nats stream info a >/dev/null 2>&1; then nats stream edit a --config /etc/jetstream/stream-a.json --force; else nats stream add a");
    expect(s).toContain("nats kv info b >/dev/null 2>&1 || nats kv add b");
  });
});

it("creates each Consul client's policy and token only when missing", () => {
  const s = consulTokenScript(["user-service"]);
  expect(s).toContain(`consul acl policy read -name svc-user-service >/dev/null 2>&1 || consul acl policy create -name svc-user-service -rules 'key_prefix "services/user-service/" { policy = "write" }`);
  expect(s).toContain('CONSUL_HTTP_TOKEN="$TOKEN_USER_SERVICE" consul acl token read -self >/dev/null 2>&1 || consul acl token create -secret="$TOKEN_USER_SERVICE" -policy-name=svc-user-service');
});
