import { decodeConfigValue, parsePlatformConfig } from "../config/load";
import { hostCovered, retentionDays } from "../config/schema";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../config/load";
import { cliArg, platformConfigOf, readStackConfig, readStackFile, ROOT } from "../render/stack";
import { configProblems } from "./support/config-problems";

/** A small valid dev config; tests break one thing at a time. */
function base(): Record<string, any> {
  return {
    environment: "dev",
    gateway: { implementation: "traefik", hostnames: ["shop.example.com"] },
    discovery: { store: "etcd", etcd: { members: 1 } },
    messaging: {
      kafka: { combinedRoles: true, brokers: 1, controllers: 1, topicDefaults: { replicationFactor: 1, minInsyncReplicas: 1 }, topics: { orders: {} } },
      nats: { replicas: 1 },
    },
    security: { allowedRegistries: ["ghcr.io/acme"], requireDigest: false, enforcement: "Audit" },
    services: {
      a: { image: "ghcr.io/acme/a:1.0.0", version: "1.0.0", replicas: { min: 1, max: 2 }, calls: [{ service: "b" }], produces: ["orders"] },
      b: { image: "ghcr.io/acme/b:1.0.0", version: "1.0.0", replicas: { min: 1, max: 2 }, consumes: ["orders"] },
    },
  };
}

const problems = configProblems;

const DIGEST = "@sha256:" + "a".repeat(64);

describe("stack files as YAML", () => {
  const write = (text: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    const file = path.join(dir, "Pulumi.t.yaml");
    fs.writeFileSync(file, text);
    return file;
  };
  const problemsOf = (file: string): readonly string[] => {
    try {
      platformConfigOf(readStackFile(file));
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it.each([
    ["a tab in the indentation", "config:\n  platform:environment: dev\n\tplatform:cluster: {}\n", /:3:1: /],
    ["a duplicate key", "config:\n  platform:environment: dev\n  platform:environment: prod\n", /:3:3: .*[Uu]nique|duplicate/],
    ["an unquoted colon in a plain scalar", "config:\n  platform:environment: dev: prod\n", /:2:\d+: /],
  ])("%s is one line with file, line and column, not a stack trace", (_what, text, pattern) => {
    const file = write(text);
    const p = problemsOf(file);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(file);
    expect(p[0]).toMatch(pattern);
  });

  it("honours merge keys (<<) as Pulumi's go-yaml v3 does", () => {
    const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const merged = prod.replace("  platform:cluster:\n", "  platform:cluster:\n    <<: {storageClass: fast-ssd}\n");
    expect(merged).not.toBe(prod);
    expect(platformConfigOf(readStackFile(write(merged))).cluster.storageClass).toBe("fast-ssd");
  });

  it("reports a key in a namespace nothing reads, with every other problem of the stack", () => {
    const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const file = write(prod.replace("  platform:environment: prod\n", "  platform:environment: prod\n  platfrom:tracing: on\n  kubernetes:context: kind-prod\n").replace("replicas: 3\n", "replicas: -1\n"));
    const p = problemsOf(file);
    expect(p).toEqual([expect.stringMatching(/^platfrom:tracing: unknown config namespace \(got "platfrom"; expected platform:, kubernetes:/), expect.stringMatching(/^platform:gateway.replicas: /)]);
  });
});

describe("names and values the API server or the mesh would refuse", () => {
  it("a service name that is not a DNS-1035 label, or too long for its canary Service", () => {
    const raw = base();
    raw.services["9lives"] = raw.services.b;
    raw.services["x".repeat(57)] = raw.services.b;
    const p = problems(raw);
    expect(p).toEqual([
      expect.stringMatching(/^platform:services\.9lives: invalid key: must be a DNS-1035 label/),
      expect.stringMatching(/^platform:services\.x{57}: invalid key: at most 56 characters/),
    ]);
  });

  it("a version that is not a label value", () => {
    const raw = base();
    raw.services.a.version = "2.3.1+build.417";
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:services\.a\.version: must be a Kubernetes label value .* \(got "2\.3\.1\+build\.417"; expected/)]);
  });

  it("a host name label longer than 63 characters", () => {
    const raw = base();
    raw.gateway.hostnames = [`${"a".repeat(64)}.example.com`];
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:gateway\.hostnames\[0\]: every label of a host name is at most 63 characters/)]);
  });

  it("a CPU limit below the request; a CPU quantity written as a number is accepted", () => {
    const raw = base();
    raw.services.a.resources = { requests: { cpu: "500m" }, limits: { cpu: "250m" } };
    expect(problems(raw)).toEqual(['platform:services.a.resources.limits.cpu: CPU limit is below the CPU request (the API server refuses the pod) (got "250m"; expected at least 500m)']);
    raw.services.a.resources = { requests: { cpu: 1 }, limits: { cpu: 2 } };
    expect(problems(raw)).toEqual([]);
    expect(parsePlatformConfig(raw).services["a"]!.resources.requests.cpu).toBe("1");
  });

  it.each([15001, 15006, 15008, 15020, 15021, 15053, 15090])("a service port Istio ambient reserves (%i)", (port) => {
    const raw = base();
    raw.services.a.port = port;
    expect(problems(raw)).toEqual([expect.stringMatching(new RegExp(`^platform:services\\.a\\.port: is a port Istio ambient reserves .* \\(got ${port};`))]);
  });
});

describe("schedules, namespaces, objectives and targets", () => {
  it.each([["61 * * * *", /is not a cron schedule: .*0-59/], ["0 0 * * * *", /must be five cron fields/], ["every day", /must be five cron fields/], ["0 0 31 2 *", /is not a cron schedule/]])("refuses the etcd backup schedule %j", (schedule, why) => {
    const raw = base();
    raw.discovery.etcd.backupSchedule = schedule;
    expect(problems(raw)).toEqual([expect.stringMatching(new RegExp(`^platform:discovery\\.etcd\\.backupSchedule: ${why.source}`))]);
  });

  it.each(["@daily", "@hourly", "30 2 * * 1-5", "*/15 * * * *"])("accepts the CronJob schedule %j", (schedule) => {
    const raw = base();
    raw.discovery.etcd.backupSchedule = schedule;
    expect(problems(raw)).toEqual([]);
  });

  it.each(["kube-system", "kube-public", "default"])("refuses a service in Kubernetes' own namespace %s", (ns) => {
    const raw = base();
    raw.services.a.namespace = ns;
    expect(problems(raw)).toEqual([expect.stringMatching(new RegExp(`^platform:services\\.a\\.namespace: namespace is Kubernetes' own \\(got "${ns}"`))]);
  });

  it("refuses latency objectives out of percentile order, platform-wide and per service", () => {
    const raw = base();
    raw.slo = { latencyMs: { p50: 200, p95: 100, p99: 300 } };
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:slo\.latencyMs: latency objectives out of percentile order/)]);
    const svc = base();
    svc.services.a.slo = { latencyMs: { p99: 50 } };
    expect(problems(svc)).toEqual([expect.stringMatching(/^platform:services\.a\.slo\.latencyMs: latency objectives out of percentile order .*"p99":50/)]);
  });

  it("accepts a CPU utilisation target above 100% (Kubernetes does)", () => {
    const raw = base();
    raw.services.a.targetCpuUtilizationPercent = 150;
    expect(problems(raw)).toEqual([]);
  });
});

describe("URLs, mounts and stream subjects", () => {
  it.each(["otel-agent.observability:4317", "localhost:4317", "grpc://otel:4317"])("refuses an OTLP endpoint without an http(s) scheme: %s", (url) => {
    const raw = base();
    raw.observability = { otlpEndpoint: url };
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:observability\.otlpEndpoint: must be an http:\/\/ or https:\/\/ URL/)]);
  });

  it("refuses a writable path listed twice", () => {
    const raw = base();
    raw.services.a.writablePaths = ["/tmp", "/tmp"];
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:services\.a\.writablePaths: lists a path twice/)]);
  });

  /** The problems of a config whose two streams capture `a` and `b`. */
  const twoStreams = (a: string[], b: string[]) => {
    const raw = base();
    raw.messaging.nats.streams = { one: { subjects: a }, two: { subjects: b } };
    return problems(raw);
  };
  it.each([
    [["orders.>"], ["orders.created"]],
    [["orders.*"], ["orders.created"]],
    [["*.created"], ["orders.*"]],
    [[">"], ["anything"]],
  ])("refuses streams whose subjects overlap: %j and %j", (a, b) => {
    expect(twoStreams(a, b)).toEqual([expect.stringMatching(/^platform:messaging\.nats\.streams\.two\.subjects\[0\]: subject already captured by stream one/)]);
  });
  it.each([
    [["orders.created"], ["orders.created.v2"]],
    [["orders.*"], ["orders.created.v2"]],
    [["orders"], ["orders.>"]],
  ])("accepts streams whose subjects cannot both match: %j and %j", (a, b) => {
    expect(twoStreams(a, b)).toEqual([]);
  });

  it.each(["orders..created", "orders.>.x", "orders created", "ord*rs"])("refuses %j as a NATS subject", (subject) => {
    const raw = base();
    raw.messaging.nats.streams = { one: { subjects: [subject] } };
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:messaging\.nats\.streams\.one\.subjects\[0\]: is not a NATS subject/)]);
  });
});

describe("command lines", () => {
  it("read --name value and --name=value alike", () => {
    expect(cliArg("stack", ["--stack", "prod"])).toBe("prod");
    expect(cliArg("stack", ["--stack=prod"])).toBe("prod");
    expect(cliArg("stack", ["--out", "x"])).toBeUndefined();
  });
});

describe("stack files", () => {
  it.each(["dev", "prod"])("the %s stack parses with no problems", (stack) => {
    const cfg = platformConfigOf(readStackConfig(stack));
    expect(cfg.environment).toBe(stack);
    expect(Object.keys(cfg.services)).toEqual(expect.arrayContaining(["user-service", "order-service", "payment-service"]));
  });

  it("dev and prod differ where teams differ: replicas, storage, enforcement, digests", () => {
    const dev = platformConfigOf(readStackConfig("dev"));
    const prod = platformConfigOf(readStackConfig("prod"));
    expect(dev.services["order-service"]!.replicas.min).toBe(1);
    expect(prod.services["order-service"]!.replicas.min).toBeGreaterThanOrEqual(2);
    expect(dev.security.enforcement).toBe("Audit");
    expect(prod.security.enforcement).toBe("Enforce");
    expect(prod.security.requireDigest).toBe(true);
    expect(dev.discovery.etcd!.members).toBe(1);
    expect(prod.discovery.etcd!.members).toBe(3);
    expect(prod.messaging.kafka.combinedRoles).toBe(false);
  });
});

describe("defaults live in the schema", () => {
  it("fills secure defaults for a minimal service", () => {
    const cfg = parsePlatformConfig(base());
    const a = cfg.services["a"]!;
    expect(a.namespace).toBe("apps");
    expect(a.port).toBe(8080);
    expect(a.protocol).toBe("http");
    expect(a.serviceAccountToken).toBe(false);
    expect(a.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } });
    expect(a.probes).toEqual({ readinessPath: "/readyz", livenessPath: "/livez", initialDelaySeconds: 5 });
    expect(cfg.mesh.mtls).toBe("STRICT");
    expect(cfg.observability.tracingSamplingPercent).toBe(10);
    expect(cfg.slo).toEqual({ availabilityPercent: 99.95, windowDays: 30, latencyMs: { p50: 20, p95: 100, p99: 300 }, errorRatePercent: 0.1, eventLagSeconds: 60 });
    expect(cfg.messaging.kafka.uncleanLeaderElection).toBe(false);
  });

  it("defaults a canary's header to x-canary: always", () => {
    const raw = base();
    raw.services.a.expose = { hosts: ["shop.example.com"], canary: { image: "ghcr.io/acme/a:1.1.0", version: "1.1.0", weights: { stable: 80, canary: 20 } } };
    expect(parsePlatformConfig(raw).services["a"]!.expose!.canary!.header).toEqual({ name: "x-canary", value: "always" });
  });
});

describe("structural errors", () => {
  it("reports an unknown top-level key with the allowed keys", () => {
    const raw = { ...base(), gatway: {} };
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:gatway: unknown key \(got "gatway"; expected one of environment, cluster, charts, gateway, .*services\)$/)]);
  });

  it("reports an unknown nested key at its full path", () => {
    const raw = base();
    raw.services.a.replicas.maximum = 3;
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:services\.a\.replicas\.maximum: unknown key \(got "maximum"; expected one of min, max\)$/)]);
  });

  it("names key, value and allowed values for a bad enum", () => {
    const raw = base();
    raw.gateway.implementation = "nginx";
    expect(problems(raw)).toEqual(['platform:gateway.implementation: Invalid option: expected one of "traefik"|"envoy" (got "nginx"; expected "traefik" | "envoy")']);
  });

  it("reports a missing required key", () => {
    const raw = base();
    delete raw.discovery.store;
    expect(problems(raw)).toEqual(["platform:discovery.store: required (got nothing; expected \"etcd\" | \"consul\" | \"none\")"]);
  });

  it("reports three mistakes as three messages, each naming its key", () => {
    const raw = base();
    raw.environment = "staging";
    raw.services.a.port = 80;
    raw.observability = { tracingSamplingPercent: 1 };
    const p = problems(raw);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^platform:environment: .*\(got "staging"; expected "dev" \| "prod"\)$/);
    expect(p.some((l) => /^platform:services\.a\.port: .*\(got 80; expected >= 1024\)$/.test(l))).toBe(true);
    expect(p.some((l) => /^platform:observability\.tracingSamplingPercent: .*\(got 1; expected >= 5\)$/.test(l))).toBe(true);
  });

  it("rejects a bad record key (service name) with the pattern", () => {
    const raw = base();
    raw.services["Bad_Name"] = raw.services.b;
    expect(problems(raw)).toEqual([expect.stringMatching(/^platform:services\.Bad_Name: invalid key: .*DNS-1035.*\(got "Bad_Name"; expected a value matching/)]);
  });
});

describe("cross-field rules", () => {
  const cases: [string, (r: Record<string, any>) => void, RegExp][] = [
    ["settings for the implementation not chosen", (r) => (r.gateway.envoy = {}), /^platform:gateway\.envoy: settings for envoy given, but gateway\.implementation is traefik/],
    ["settings for the store not chosen", (r) => (r.discovery.consul = { servers: 3 }), /^platform:discovery\.consul: settings for consul given, but discovery\.store is etcd/],
    ["a call to a service that does not exist", (r) => (r.services.a.calls = [{ service: "ghost" }]), /^platform:services\.a\.calls\[0\]\.service: calls a service that is not declared \(got "ghost"; expected a \| b\)$/],
    ["a topic that is not declared", (r) => (r.services.b.consumes = ["payments"]), /^platform:services\.b\.consumes\[0\]: uses a topic that is not declared in messaging\.kafka\.topics \(got "payments"; expected orders\)$/],
    ["an even etcd member count", (r) => (r.discovery.etcd.members = 2), /^platform:discovery\.etcd\.members: etcd needs an odd member count.*\(got 2; expected 1, 3, 5 or 7\)$/],
    ["combined roles with different broker and controller counts", (r) => (r.messaging.kafka.brokers = 3), /^platform:messaging\.kafka\.brokers: with combinedRoles every node is a controller and a broker.*\(got 3; expected 1 \(messaging\.kafka\.controllers\)\)$/],
    ["an even NATS server count", (r) => (r.messaging.nats.replicas = 2), /^platform:messaging\.nats\.replicas: .*odd/],
    ["min.insync.replicas not below the replication factor", (r) => Object.assign(r.messaging.kafka, { combinedRoles: false, brokers: 3, controllers: 3, topics: { orders: { replicationFactor: 2, minInsyncReplicas: 2 } } }), /^platform:messaging\.kafka\.topics\.orders\.minInsyncReplicas: min\.insync\.replicas must be below the replication factor/],
    ["a replication factor above the broker count", (r) => (r.messaging.kafka.topics = { orders: { replicationFactor: 3 } }), /^platform:messaging\.kafka\.topics\.orders\.replicationFactor: replication factor exceeds the 1 broker/],
    ["canary weights not summing to 100", (r) => (r.services.a.expose = { hosts: ["shop.example.com"], canary: { image: "ghcr.io/acme/a:2", version: "2", weights: { stable: 80, canary: 10 } } }), /^platform:services\.a\.expose\.canary\.weights: canary weights must sum to 100 \(got \{"stable":80,"canary":10\}; expected stable \+ canary = 100\)$/],
    ["an exposed host the gateway does not serve", (r) => (r.services.a.expose = { hosts: ["other.example.org"] }), /^platform:services\.a\.expose\.hosts\[0\]: host is not served by the gateway \(got "other\.example\.org"; expected shop\.example\.com\)$/],
    ["an image from a registry that is not allowed", (r) => (r.services.a.image = "docker.io/library/nginx:1.27"), /^platform:services\.a\.image: image is not from an allowed registry/],
    ["a secret-looking env var", (r) => (r.services.a.env = { DB_PASSWORD: "hunter2" }), /^platform:services\.a\.env\.DB_PASSWORD: looks like a secret/],
    ["min replicas above max", (r) => (r.services.a.replicas = { min: 3, max: 2 }), /^platform:services\.a\.replicas\.min: min replicas exceed max replicas \(got 3; expected at most 2\)$/],
    ["a memory limit below the request", (r) => (r.services.a.resources = { requests: { memory: "1Gi" }, limits: { memory: "512Mi" } }), /^platform:services\.a\.resources\.limits\.memory: memory limit is below the memory request/],
    ["sticky sessions on a gRPC service", (r) => Object.assign(r.services.a, { protocol: "grpc", expose: { hosts: ["shop.example.com"], sticky: {} } }), /^platform:services\.a\.expose\.sticky: sticky sessions by cookie need HTTP routes/],
    ["an existing-secret TLS mode without a secret name", (r) => (r.gateway.tls = { mode: "existingSecret" }), /^platform:gateway\.tls\.secretName: required when gateway\.tls\.mode is existingSecret/],
    ["collector gateway min replicas above max", (r) => (r.observability = { collector: { gatewayReplicas: { min: 4, max: 3 } } }), /^platform:observability\.collector\.gatewayReplicas\.min: min replicas exceed max replicas \(got 4; expected at most 3\)$/],
  ];
  it.each(cases)("rejects %s", (_what, mutate, expected) => {
    const raw = base();
    mutate(raw);
    const p = problems(raw);
    expect(p).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it("enforces prod invariants all at once", () => {
    const raw = base();
    raw.environment = "prod";
    raw.observability = { prometheus: { replicas: 1, retention: "2w" }, alertmanager: { replicas: 1 }, collector: { gatewayReplicas: { min: 1 } } };
    const p = problems(raw);
    const keys = p.map((l) => l.split(":")[1]!.split(" ")[0]);
    expect(keys).toEqual(
      expect.arrayContaining([
        "security.requireDigest",
        "security.enforcement",
        "discovery.etcd.members",
        "messaging.kafka.combinedRoles",
        "messaging.kafka.topicDefaults.replicationFactor",
        "messaging.kafka.topicDefaults.minInsyncReplicas",
        "messaging.nats.replicas",
        "services.a.replicas.min",
        "services.a.image",
        "observability.prometheus.replicas",
        "observability.prometheus.retention",
        "observability.alertmanager.replicas",
        "observability.collector.gatewayReplicas.min",
      ]),
    );
  });

  it("accepts a prod config that meets every invariant", () => {
    const raw = base();
    raw.environment = "prod";
    raw.discovery.etcd.members = 3;
    raw.messaging = { kafka: { topics: { orders: {} } } };
    raw.security = { allowedRegistries: ["ghcr.io/acme"] };
    for (const s of Object.values<any>(raw.services)) {
      s.image = s.image.replace(/:[^:]+$/, DIGEST);
      s.replicas = { min: 2, max: 4 };
    }
    expect(problems(raw)).toEqual([]);
  });
});

describe("helpers", () => {
  it("decodes Pulumi config values: JSON for structures and scalars, text otherwise", () => {
    expect(decodeConfigValue('{"a":1}')).toEqual({ a: 1 });
    expect(decodeConfigValue("3")).toBe(3);
    expect(decodeConfigValue("true")).toBe(true);
    expect(decodeConfigValue("prod")).toBe("prod");
  });

  it("reads Prometheus retentions in hours, days and weeks", () => {
    expect([retentionDays("36h"), retentionDays("15d"), retentionDays("5w")]).toEqual([1.5, 15, 35]);
  });

  it("matches wildcard hostnames one label deep", () => {
    expect(hostCovered("*.example.com", "api.example.com")).toBe(true);
    expect(hostCovered("*.example.com", "a.b.example.com")).toBe(false);
    expect(hostCovered("example.com", "example.com")).toBe(true);
    expect(hostCovered("example.com", "api.example.com")).toBe(false);
  });
});
