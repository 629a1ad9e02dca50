/**
 * Escape hatches (issue 20): what the schema does not model, a stack can still say, and the
 * platform's checks still apply to the result. `services.<name>.pod` (labels, annotations, node
 * selector, tolerations, image pull secrets) on every pod of the service; `charts.values.<chart>`
 * merged over the platform's values as `helm -f` would, the chart then templated and proven like
 * any other. Keys the platform owns are refused by key.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { load } from "js-yaml";
import { parsePlatformConfig, platformKeysOf } from "../config/load";
import { mergeValues } from "../components/core/objects";
import { CONSUL_CLIENT_ENV } from "../components/discovery/consul";
import { ETCD_CLIENT_ENV } from "../components/discovery/etcd-cluster";
import { kafkaClientEnv } from "../components/messaging/strimzi-kafka";
import { NATS_CLIENT_ENV } from "../components/messaging/nats";
import { PLATFORM_ENV_NAMES, PLATFORM_OTLP_ENDPOINT, telemetryEndpoint } from "../config/schema";
import { definePlatform } from "../program";
import { runProgram } from "../render/harness";
import { renderConfig } from "../render/render";
import { PROJECT, readStackConfig } from "../render/stack";
import { configProblems } from "./support/config-problems";

type Raw = Record<string, any>;
const rawOf = (stack: string): Raw => structuredClone(platformKeysOf(readStackConfig(stack))) as Raw;
const run = async (raw: Raw) => {
  const config = parsePlatformConfig(raw);
  return (await runProgram({ project: PROJECT, stack: "hatches", config: {}, program: () => definePlatform(config) })).resources;
};

/** One of each kind of pod extra (services.<name>.pod). */
const pod = {
  labels: { "team.example.com/owner": "payments", cost_center: "cc-17" },
  annotations: { "team.example.com/runbook": "https://runbooks.example.com/order" },
  nodeSelector: { "kubernetes.io/arch": "arm64" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "shop", effect: "NoSchedule" }],
  imagePullSecrets: ["acme-registry"],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "team.example.com/pool", operator: "In", values: ["shop"] }] }] } } },
  volumes: { "tls-bundle": { mountPath: "/etc/order/tls", secret: { name: "order-tls" } }, scratch: { mountPath: "/var/cache/order", emptyDir: { sizeLimit: "1Gi" } } },
  envFrom: [{ configMap: "order-settings" }, { secret: "order-extra", prefix: "EXTRA_" }],
};

describe("services.<name>.pod", () => {
  it("puts them on the stable and the canary pods, beside the platform's own labels and selectors", async () => {
    const raw = rawOf("dev");
    raw.services["order-service"].pod = pod;
    const resources = await run(raw);
    const deployments = resources.filter((r) => (r.inputs as Raw)["kind"] === "Deployment" || r.type === "kubernetes:apps/v1:Deployment").map((r) => r.inputs as Raw).filter((d) => String(d["metadata"]?.name).startsWith("order-service"));
    expect(deployments.map((d) => d["metadata"].name).sort()).toEqual(["order-service", "order-service-canary"]);
    for (const d of deployments) {
      const t = d["spec"].template;
      expect(t.metadata.labels).toMatchObject({ ...pod.labels, "app.kubernetes.io/name": "order-service" });
      expect(t.metadata.annotations).toEqual(pod.annotations);
      expect(t.spec.nodeSelector).toEqual(pod.nodeSelector);
      expect(t.spec.tolerations).toEqual(pod.tolerations);
      expect(t.spec.imagePullSecrets).toEqual([{ name: "acme-registry" }]);
      expect(t.spec.affinity).toEqual(pod.affinity);
      expect(t.spec.volumes).toEqual(expect.arrayContaining([{ name: "tls-bundle", secret: { secretName: "order-tls" } }, { name: "scratch", emptyDir: { sizeLimit: "1Gi" } }]));
      const app = t.spec.containers[0];
      // A team's Secret is mounted read-only; the scratch volume is writable (the root filesystem is not).
      expect(app.volumeMounts).toEqual(expect.arrayContaining([{ name: "tls-bundle", mountPath: "/etc/order/tls", readOnly: true }, { name: "scratch", mountPath: "/var/cache/order", readOnly: false }]));
      expect(app.envFrom).toEqual([{ configMapRef: { name: "order-settings" } }, { secretRef: { name: "order-extra" }, prefix: "EXTRA_" }]);
      // The selector is the platform's alone: a stack label cannot capture or release pods.
      expect(Object.keys(d["spec"].selector.matchLabels).sort()).toEqual(["app.kubernetes.io/name", "platform.io/track"]);
    }
    // Without them, nothing of the kind is rendered.
    const plain = (await run(rawOf("dev"))).map((r) => r.inputs as Raw).find((d) => d["kind"] === "Deployment" && d["metadata"]?.name === "user-service")!;
    expect(plain["spec"].template.spec.nodeSelector).toBeUndefined();
    expect(plain["spec"].template.metadata.annotations).toBeUndefined();
    expect(plain["spec"].template.spec.affinity).toBeUndefined();
    expect(plain["spec"].template.spec.containers[0].envFrom).toBeUndefined();
  });

  it("refuses volumes, envFrom and affinity the API server would refuse, by key", () => {
    const raw = rawOf("dev");
    raw.services["order-service"].writablePaths = ["/tmp"];
    raw.services["order-service"].pod = {
      volumes: { both: { mountPath: "/a", secret: { name: "s" }, configMap: { name: "c" } }, none: { mountPath: "/b" }, "writable-0": { mountPath: "/c", emptyDir: {} }, clash: { mountPath: "/tmp", configMap: { name: "c" } }, ro: { mountPath: "/d", emptyDir: {}, readOnly: true } },
      envFrom: [{ secret: "a", configMap: "b" }, { prefix: "X_" }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In" }, { key: "cpu", operator: "Gt", values: ["many"] }, { key: "gpu", operator: "Exists", values: ["x"] }] }] } } },
    };
    const p = configProblems(raw).map((l) => l.split(" (got")[0]);
    expect(p).toEqual([
      "platform:services.order-service.pod.volumes.both: a volume has exactly one source; this one has secret and configMap",
      "platform:services.order-service.pod.volumes.none: a volume has exactly one source; this one has none",
      "platform:services.order-service.pod.volumes.writable-0: is the name of a writablePaths volume the platform mounts",
      "platform:services.order-service.pod.volumes.clash.mountPath: is also mounted by writablePaths: a pod refuses two mounts at one path",
      "platform:services.order-service.pod.volumes.ro.readOnly: a read-only emptyDir is always empty",
      "platform:services.order-service.pod.envFrom[0]: an envFrom entry names exactly one Secret or ConfigMap",
      "platform:services.order-service.pod.envFrom[1]: an envFrom entry names exactly one Secret or ConfigMap",
      "platform:services.order-service.pod.affinity: operator In on pool takes one or more values (the API server refuses it)",
      "platform:services.order-service.pod.affinity: operator Gt on cpu takes exactly one integer value (the API server refuses it)",
      "platform:services.order-service.pod.affinity: operator Exists on gpu takes no values (the API server refuses it)",
    ]);
  });

  it("refuses keys the platform owns and tolerations the API server refuses, by key", () => {
    const raw = rawOf("dev");
    raw.services["order-service"].pod = {
      labels: { "app.kubernetes.io/name": "other", "platform.io/track": "stable" },
      annotations: { "ambient.istio.io/bypass-inbound-capture": "true", "sidecar.istio.io/inject": "true" },
      tolerations: [{ key: "a", operator: "Exists", value: "x" }, { key: "b", effect: "NoSchedule", tolerationSeconds: 5 }, { operator: "Equal", value: "y" }],
    };
    const p = configProblems(raw);
    expect(p.map((l) => l.split(": ")[0])).toEqual(
      expect.arrayContaining([
        "platform:services.order-service.pod.labels.app.kubernetes.io/name",
        "platform:services.order-service.pod.labels.platform.io/track",
        "platform:services.order-service.pod.annotations.ambient.istio.io/bypass-inbound-capture",
        "platform:services.order-service.pod.annotations.sidecar.istio.io/inject",
        "platform:services.order-service.pod.tolerations[0].value",
        "platform:services.order-service.pod.tolerations[1].tolerationSeconds",
        "platform:services.order-service.pod.tolerations[2].key",
      ]),
    );
    expect(p).toHaveLength(7);
  });
});

describe("services.<name>.secretEnv", () => {
  it("gives a service its own Secrets by reference, never a value", async () => {
    const raw = rawOf("dev");
    raw.services["notification-service"].secretEnv = { SMTP_PASSWORD: { secret: "smtp-credentials", key: "password" } };
    const d = (await run(raw)).map((r) => r.inputs as Raw).find((o) => o["kind"] === "Deployment" && o["metadata"]?.name === "notification-service")!;
    const env: Raw[] = d["spec"].template.spec.containers[0].env;
    expect(env.find((e) => e["name"] === "SMTP_PASSWORD")).toEqual({ name: "SMTP_PASSWORD", valueFrom: { secretKeyRef: { name: "smtp-credentials", key: "password" } } });
    // The secret-looking plain env error points there.
    const bad = rawOf("dev");
    bad.services["notification-service"].env.SMTP_PASSWORD = "hunter2hunter2";
    expect(configProblems(bad)).toEqual([expect.stringMatching(/expected secretEnv\.SMTP_PASSWORD: \{secret: <Secret name>, key: <data key>\} \(a Secret in namespace notifications\)\)$/)]);
  });

  it("refuses names the platform sets, and a name in both env and secretEnv", () => {
    const raw = rawOf("dev");
    raw.services["order-service"].env = { OTEL_SERVICE_NAME: "x", LOG_LEVEL: "debug" };
    raw.services["order-service"].secretEnv = { KAFKA_PASSWORD: { secret: "s", key: "k" }, LOG_LEVEL: { secret: "s", key: "level" } };
    expect(configProblems(raw).map((l) => l.split(" (got")[0])).toEqual([
      "platform:services.order-service.env.OTEL_SERVICE_NAME: is set by the platform (telemetry, or the store's, Kafka's and NATS's connection)",
      "platform:services.order-service.env.LOG_LEVEL: is also in secretEnv: one variable, two values",
      "platform:services.order-service.secretEnv.KAFKA_PASSWORD: is set by the platform (telemetry, or the store's, Kafka's and NATS's connection)",
    ]);
  });

  it("knows every name the platform sets (the list config validation checks against)", () => {
    const set = new Set([...Object.keys(ETCD_CLIENT_ENV), ...Object.keys(CONSUL_CLIENT_ENV), ...Object.keys(kafkaClientEnv({ produces: true, consumes: true })), ...Object.keys(NATS_CLIENT_ENV), "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED"]);
    expect([...PLATFORM_ENV_NAMES].sort()).toEqual([...set].sort());
  });
});

describe("charts.values", () => {
  it("merges like helm -f: maps merge, lists and scalars replace", () => {
    expect(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: true }, d: null })).toEqual({ a: { b: 1, c: [3], e: true }, d: null });
  });

  it("refuses a chart the platform does not install", () => {
    const raw = rawOf("dev");
    raw.charts = { values: { nginx: { replicaCount: 2 } } };
    expect(configProblems(raw)).toEqual([expect.stringMatching(/^platform:charts\.values\.nginx: is not a chart the platform installs .*expected .*istiod .*traefik/)]);
  });

  it("reaches the chart's templates, and the proofs and the pack check what it templates to", async () => {
    // Every escape hatch at once: a chart's values and each kind of pod extra.
    const flat: Record<string, string> = { ...readStackConfig("dev"), "platform:charts": JSON.stringify({ values: { traefik: { log: { format: "json" } } } }) };
    const services = JSON.parse(flat["platform:services"]!);
    services["order-service"].pod = pod;
    services["order-service"].secretEnv = { PAYMENT_API_TOKEN: { secret: "payment-api", key: "token" } };
    flat["platform:services"] = JSON.stringify(services);
    // The nodes the pod's selector and affinity ask for (the placement proof schedules on them).
    flat["platform:cluster"] = JSON.stringify({ ...JSON.parse(flat["platform:cluster"] ?? "{}"), nodeLabels: { "kubernetes.io/arch": "arm64", "team.example.com/pool": "shop" } });
    const r = await renderConfig("dev", flat);
    const traefik = r.running.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "traefik")!;
    const args: string[] = (traefik as Raw)["spec"].template.spec.containers[0].args;
    expect(args).toContain("--log.format=json");
    // The platform's own values survive the merge (the same map, other keys).
    expect(args.some((a) => a.startsWith("--log.level="))).toBe(true);
    // The pod extras are on the pods the proofs admit (Pod Security restricted, Kyverno, the pack).
    const order = r.running.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "order-service") as Raw;
    expect(order["spec"].template.spec.volumes.map((v: Raw) => v["name"])).toEqual(expect.arrayContaining(["tls-bundle", "scratch"]));
    expect(r.running.findings).toEqual([]);
    expect(r.verdicts.mandatory).toBe(0);
    // Every override is listed in the report, in one place.
    expect(r.report).toContain("| `charts.values.traefik` | `log.format` | merged over the platform's values");
    expect(r.report).toMatch(/\| `services\.order-service` \| labels team\.example\.com\/owner, cost_center; annotations team\.example\.com\/runbook; nodeSelector kubernetes\.io\/arch=arm64; 1 toleration\(s\); affinity \(nodeAffinity\); volumes tls-bundle at \/etc\/order\/tls, scratch at \/var\/cache\/order; envFrom ConfigMap order-settings, Secret order-extra; imagePullSecrets acme-registry; secretEnv PAYMENT_API_TOKEN ← payment-api\/token \|/);
  });

  it("a value the chart's schema refuses fails the render in one line naming the chart and the stack key, nothing written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hatch-"));
    const file = path.join(dir, "Pulumi.bad.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8") + "  platform:charts:\n    values:\n      traefik: {logs: {general: {format: json}}}\n");
    const out = path.join(dir, "out");
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "..", "render", "cli.ts"), "--stack-file", file, "--out", out], { encoding: "utf8", env: process.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stack bad: helm template of chart traefik 41\.3\.0 .* failed \(values the stack sets in platform:charts\.values\.traefik, if any, are merged into the platform's\): .*additional properties 'logs' not allowed/);
    expect(r.stderr).toMatch(/nothing written\.\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("areas a dev stack can turn off: admission control, the config store, observability", () => {
  const lean = () => {
    const flat = { ...readStackConfig("dev") };
    flat["platform:security"] = JSON.stringify({ ...JSON.parse(flat["platform:security"]!), admission: { enabled: false } });
    flat["platform:discovery"] = JSON.stringify({ store: "none" });
    flat["platform:observability"] = JSON.stringify({ enabled: false });
    const services = JSON.parse(flat["platform:services"]!);
    for (const svc of Object.values<Raw>(services)) delete svc["configStore"];
    flat["platform:services"] = JSON.stringify(services);
    return flat;
  };

  it("renders neither Kyverno nor a store nor any observability, and the platform still holds every proof with no mandatory finding", async () => {
    // A stack of its own name: its pack config is derived from it (audit/pack-config.ts).
    const r = await renderConfig("lean", lean());
    expect(r.running.objects.filter((o) => o.kind === "ClusterPolicy" || o.metadata.namespace === "kyverno" || o.metadata.namespace === "discovery")).toEqual([]);
    // Observability off: nothing in its namespace, no monitor or rule in any area (their CRDs are not installed).
    expect(r.running.objects.filter((o) => o.metadata.namespace === "observability" || /^(ServiceMonitor|PodMonitor|PrometheusRule)$/.test(o.kind)).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([]);
    // Nothing would receive telemetry: the services' SDKs are off, the mesh and the gateway do not trace.
    const order = r.running.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "order-service") as Raw;
    const env = Object.fromEntries(order["spec"].template.spec.containers[0].env.map((e: Raw) => [e["name"], e["value"]]));
    expect(env["OTEL_SDK_DISABLED"]).toBe("true");
    expect(env["OTEL_EXPORTER_OTLP_ENDPOINT"]).toBeUndefined();
    const mesh = load((r.running.objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "istio") as Raw)["data"].mesh) as Raw;
    expect(mesh["enableTracing"]).toBe(false);
    expect(mesh["extensionProviders"]).toBeUndefined();
    const traefik = r.running.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "traefik") as Raw;
    expect((traefik["spec"].template.spec.containers[0].args as string[]).filter((a) => a.includes("tracing"))).toEqual([]);
    // The report says what the stack lacks.
    expect(r.report).toMatch(/## Areas this stack leaves out\n\n- \*\*Observability\*\* .*`OTEL_SDK_DISABLED=true`.*\n- \*\*Admission control\*\* .*\n- \*\*Config store\*\* /);
    expect(r.running.findings).toEqual([]);
    expect(r.verdicts.mandatory).toBe(0);
    // The gap is still reported, as advisory: nothing verifies the application images' signatures.
    expect(r.verdicts.stack.filter((v) => v.policy === "kyverno-verifies-every-registry").map((v) => v.enforcementLevel)).toEqual(["advisory"]);
  });

  it("with observability off, telemetry goes only to an endpoint of the stack's own", () => {
    const cfg = (observability: Raw) => parsePlatformConfig({ ...rawOf("dev"), observability });
    expect(telemetryEndpoint(cfg({ enabled: false }))).toBeUndefined();
    expect(telemetryEndpoint(cfg({ enabled: false, otlpEndpoint: "http://collector.team-otel.svc:4317" }))).toBe("http://collector.team-otel.svc:4317");
    expect(telemetryEndpoint(cfg({}))).toBe(PLATFORM_OTLP_ENDPOINT);
  });

  it("refuses a service that needs the store when there is none, and admission off in prod", () => {
    const raw = rawOf("dev");
    raw.discovery = { store: "none" };
    expect(configProblems(raw)).toEqual([
      expect.stringMatching(/^platform:services\.user-service\.configStore: the service needs the config store, and discovery\.store is none/),
      expect.stringMatching(/^platform:services\.inventory-service\.configStore: /),
    ]);
    const prod = rawOf("prod");
    prod.security.admission = { enabled: false };
    prod.observability = { ...prod.observability, enabled: false };
    // (Progressive rollouts read Prometheus too: keep them out of this check.)
    for (const svc of Object.values(prod.services as Record<string, any>)) svc.rollout = { strategy: "fixed" };
    expect(configProblems(prod)).toEqual([
      expect.stringMatching(/^platform:observability\.enabled: prod needs observability/),
      expect.stringMatching(/^platform:security\.admission\.enabled: prod needs admission control/),
    ]);
  });
});
