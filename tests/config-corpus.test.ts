/**
 * Config a team can trust (issue 19): realistic stack files with mistakes, each written to disk and
 * read the way the render, the audit and the formal runner read them (render/stack.ts, then
 * config/load.ts), must be refused with one line per mistake in the documented format
 * (`platform:<key>: <what> (got <value>; expected <allowed>)`, or `<file>:<line>:<col>: <what>` for
 * YAML), key named, secrets masked, nothing registered; unusual but valid stacks must be accepted.
 * A few go through the real `npm run render` to see the exit code, the lines and that nothing is written.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ConfigError, parseStackConfig } from "../config/load";
import { readStackFile } from "../render/stack";

const ROOT = path.resolve(__dirname, "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-corpus-"));
type Doc = Record<string, any>;

/** A stack file: the dev or prod file's text, as YAML edited by `edit` or as text edited by `text`. */
interface Case {
  readonly name: string;
  readonly base: "dev" | "prod";
  readonly edit?: (c: Doc) => void;
  readonly text?: (t: string) => string;
  /** One pattern per expected line, in any order; the lines must be exactly these many. */
  readonly lines: readonly RegExp[];
  /** Strings that must not appear in any line (secrets). */
  readonly never?: readonly string[];
}

function writeCase(c: Pick<Case, "name" | "base" | "edit" | "text">): string {
  let t = fs.readFileSync(path.join(ROOT, `Pulumi.${c.base}.yaml`), "utf8");
  if (c.edit) {
    const doc = parseDocument(t, { merge: true });
    const js = doc.toJS() as { config: Doc };
    const cfg: Doc = {};
    for (const [k, v] of Object.entries(js.config)) cfg[k.replace(/^platform:/, "")] = v;
    c.edit(cfg);
    js.config = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.includes(":") ? k : `platform:${k}`, v]));
    t = JSON.stringify(js, null, 2); // JSON is YAML
  }
  if (c.text) t = c.text(t);
  const file = path.join(dir, `Pulumi.${c.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.yaml`);
  fs.writeFileSync(file, t);
  return file;
}

/** The problem lines of a stack file as the CLIs see them (none when valid). */
function linesOf(file: string): string[] {
  try {
    parseStackConfig(readStackFile(file));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e; // a stack trace is a failure of this suite
  }
}

const svc = (c: Doc, name: string) => c["services"][name];
const FORMAT = /^(platform:[A-Za-z0-9._\[\]<>-]+: .+ \(got .*; expected .+\)|[^:]+:\d+:\d+: .+|[a-z]+:[A-Za-z0-9.:_-]*: unknown config namespace \(got .*; expected .+\))$/s;

const BAD: Case[] = [
  // YAML, as the file is written.
  { name: "tab indentation", base: "dev", text: (t) => t.replace("  platform:mesh:\n    replicas: 1", "  platform:mesh:\n\treplicas: 1"), lines: [/:\d+:\d+: Tabs are not allowed as indentation/] },
  { name: "duplicate key", base: "dev", text: (t) => t.replace("  platform:mesh:\n    replicas: 1", "  platform:mesh:\n    replicas: 1\n    replicas: 2"), lines: [/:\d+:\d+: Map keys must be unique/] },
  { name: "unquoted colon space in a value", base: "dev", text: (t) => t.replace("SMTP_HOST: smtp.internal.example.com", "SMTP_HOST: smtp: internal"), lines: [/:\d+:\d+: Nested mappings are not allowed in compact mappings/] },
  { name: "a list instead of a mapping", base: "dev", text: () => "- config\n", lines: [/:1:1: a stack file is a mapping with a config: key \(got a list\)/] },
  { name: "misspelt namespace", base: "dev", text: (t) => t.replace("  platform:mesh:", "  platfrom:mesh:"), lines: [/^platfrom:mesh: unknown config namespace/] },
  // Structure: names, kinds, formats.
  { name: "unknown gateway implementation", base: "dev", edit: (c) => (c["gateway"].implementation = "nginx"), lines: [/^platform:gateway\.implementation: .* \(got "nginx"; expected "traefik" \| "envoy"\)/] },
  { name: "unknown environment", base: "dev", edit: (c) => (c["environment"] = "staging"), lines: [/^platform:environment: .*got "staging"/] },
  { name: "no gateway hostname", base: "dev", edit: (c) => (c["gateway"].hostnames = []), lines: [/^platform:gateway\.hostnames: /] },
  { name: "misspelt service key", base: "dev", edit: (c) => ((svc(c, "user-service").replica = svc(c, "user-service").replicas), delete svc(c, "user-service").replicas), lines: [/^platform:services\.user-service\.replica: unknown key .*expected one of .*replicas/] },
  { name: "service name with capitals", base: "dev", edit: (c) => ((c["services"]["UserService"] = svc(c, "notification-service")), delete c["services"]["notification-service"]), lines: [/^platform:services\.UserService: invalid key/] },
  { name: "service name starting with a digit", base: "dev", edit: (c) => ((c["services"]["1-notifier"] = svc(c, "notification-service")), delete c["services"]["notification-service"]), lines: [/^platform:services\.1-notifier: invalid key/] },
  { name: "version that is not a label value", base: "dev", edit: (c) => (svc(c, "user-service").version = "2.3.1+build.417"), lines: [/^platform:services\.user-service\.version: /] },
  { name: "port Istio ambient reserves", base: "dev", edit: (c) => (svc(c, "payment-service").port = 15008), lines: [/^platform:services\.payment-service\.port: is a port Istio ambient reserves/] },
  { name: "privileged port", base: "dev", edit: (c) => (svc(c, "user-service").port = 80), lines: [/^platform:services\.user-service\.port: .*got 80/] },
  { name: "unknown protocol", base: "dev", edit: (c) => (svc(c, "user-service").protocol = "http2"), lines: [/^platform:services\.user-service\.protocol: .*got "http2"; expected "http" \| "grpc"/] },
  { name: "CPU quantity with a space", base: "dev", edit: (c) => (svc(c, "order-service").resources.requests.cpu = "100 m"), lines: [/^platform:services\.order-service\.resources\.requests\.cpu: must be a CPU quantity/] },
  { name: "memory in MB", base: "dev", edit: (c) => (svc(c, "order-service").resources.limits.memory = "256MB"), lines: [/^platform:services\.order-service\.resources\.limits\.memory: /] },
  { name: "schedule in words", base: "dev", edit: (c) => (c["discovery"].etcd.backupSchedule = "every 6 hours"), lines: [/^platform:discovery\.etcd\.backupSchedule: /] },
  { name: "cron with four fields", base: "dev", edit: (c) => (c["discovery"].etcd.backupSchedule = "0 */6 * *"), lines: [/^platform:discovery\.etcd\.backupSchedule: /] },
  { name: "endpoint without scheme", base: "dev", edit: (c) => (c["observability"].otlpEndpoint = "otel-agent.observability:4317"), lines: [/^platform:observability\.otlpEndpoint: must be an http:\/\/ or https:\/\/ URL/] },
  { name: "signing issuer over http", base: "dev", edit: (c) => (c["security"].signing.keyless.issuer = "http://token.actions.githubusercontent.com"), lines: [/^platform:security\.signing\.keyless\.issuer: must be an https:\/\/ URL/] },
  { name: "sampling below the SLO baseline", base: "dev", edit: (c) => (c["observability"].tracingSamplingPercent = 1), lines: [/^platform:observability\.tracingSamplingPercent: .*got 1/] },
  { name: "one writable path twice", base: "dev", edit: (c) => (svc(c, "notification-service").writablePaths = ["/tmp", "/tmp"]), lines: [/^platform:services\.notification-service\.writablePaths: lists a path twice/] },
  { name: "relative path", base: "dev", edit: (c) => (svc(c, "user-service").expose.paths = ["users"]), lines: [/^platform:services\.user-service\.expose\.paths\[0\]: must be an absolute URL path/] },
  { name: "host label over 63 characters", base: "dev", edit: (c) => (c["gateway"].hostnames = [`${"a".repeat(64)}.example.com`]), lines: [/^platform:gateway\.hostnames\[0\]: /] },
  { name: "lookbehind in a redaction pattern", base: "dev", edit: (c) => (c["observability"].redactPatterns = ["(?<=card )\\d{16}"]), lines: [/^platform:observability\.redactPatterns\[0\]: is not an RE2 pattern the collector can compile/] },
  { name: "backreference in a redaction pattern", base: "prod", edit: (c) => (c["observability"].redactPatterns = ["(\\d)\\1{3}"]), lines: [/^platform:observability\.redactPatterns\[0\]: is not an RE2 pattern/] },
  { name: "NATS subject with a wildcard in the middle", base: "dev", edit: (c) => (c["messaging"].nats.streams.control.subjects = ["control.>.x"]), lines: [/^platform:messaging\.nats\.streams\.control\.subjects\[0\]: is not a NATS subject/] },
  { name: "service publishing outside every stream", base: "prod", edit: (c) => (svc(c, "inventory-service").nats.publish = ["inventory.restocked"]), lines: [/^platform:services\.inventory-service\.nats\.publish\[0\]: is in no declared stream/, /^platform:services\.order-service\.nats\.subscribe\[0\]: no service publishes to this subject/] },
  { name: "overlapping JetStream streams", base: "dev", edit: (c) => (c["messaging"].nats.streams["ops"] = { subjects: ["control.restart"] }), lines: [/^platform:messaging\.nats\.streams\.ops\.subjects\[0\]: subject already captured by stream control/] },
  { name: "stream name with a dot", base: "dev", edit: (c) => (c["messaging"].nats.streams["control.v2"] = { subjects: ["ctl2.>"] }), lines: [/^platform:messaging\.nats\.streams\.control\.v2: JetStream stream names cannot contain '\.'/] },
  { name: "topic name with capitals", base: "dev", edit: (c) => (c["messaging"].kafka.topics["Orders.Created"] = {}), lines: [/^platform:messaging\.kafka\.topics\.Orders\.Created: invalid key/] },
  { name: "too many retries", base: "dev", edit: (c) => (c["resilience"].retries = { attempts: 9 }), lines: [/^platform:resilience\.retries\.attempts: .*got 9/] },
  { name: "unknown retry condition", base: "dev", edit: (c) => (c["resilience"].retries = { retryOn: ["5xx-ish"] }), lines: [/^platform:resilience\.retries\.retryOn\[0\]: .*got "5xx-ish"/] },
  // Namespaces the platform or Kubernetes own.
  { name: "service in kube-system", base: "dev", edit: (c) => (svc(c, "notification-service").namespace = "kube-system"), lines: [/^platform:services\.notification-service\.namespace: namespace is Kubernetes' own/] },
  { name: "service in istio-system", base: "dev", edit: (c) => (svc(c, "notification-service").namespace = "istio-system"), lines: [/^platform:services\.notification-service\.namespace: namespace belongs to a platform component/] },
  { name: "service in default", base: "prod", edit: (c) => (svc(c, "notification-service").namespace = "default"), lines: [/^platform:services\.notification-service\.namespace: namespace is Kubernetes' own/] },
  // References and relations.
  { name: "call to an undeclared service", base: "dev", edit: (c) => svc(c, "order-service").calls.push({ service: "billing-service" }), lines: [/^platform:services\.order-service\.calls\[3\]\.service: /] },
  { name: "undeclared topic", base: "dev", edit: (c) => svc(c, "order-service").produces.push("orders.cancelled"), lines: [/^platform:services\.order-service\.produces\[1\]: uses a topic that is not declared/] },
  { name: "CPU limit below request", base: "dev", edit: (c) => (svc(c, "order-service").resources.limits.cpu = "25m"), lines: [/^platform:services\.order-service\.resources\.limits\.cpu: CPU limit is below the CPU request/] },
  { name: "memory limit below request", base: "dev", edit: (c) => (svc(c, "order-service").resources.limits.memory = "64Mi"), lines: [/^platform:services\.order-service\.resources\.limits\.memory: memory limit is below the memory request/] },
  { name: "min replicas above max", base: "dev", edit: (c) => (svc(c, "user-service").replicas = { min: 3, max: 2 }), lines: [/^platform:services\.user-service\.replicas\.min: min replicas exceed max replicas/] },
  { name: "one replica in prod", base: "prod", edit: (c) => (svc(c, "user-service").replicas = { min: 1, max: 4 }), lines: [/^platform:services\.user-service\.replicas\.min: prod services need at least 2 replicas/] },
  { name: "tags allowed in prod", base: "prod", edit: (c) => (c["security"].requireDigest = false), lines: [/^platform:security\.requireDigest: prod images must be pinned by digest/] },
  { name: "audit-only admission in prod", base: "prod", edit: (c) => (c["security"].enforcement = "Audit"), lines: [/^platform:security\.enforcement: prod admission policies must enforce/] },
  { name: "even etcd members", base: "prod", edit: (c) => (c["discovery"].etcd.members = 4), lines: [/^platform:discovery\.etcd\.members: etcd needs an odd member count/] },
  { name: "replication above brokers", base: "prod", edit: (c) => (c["messaging"].kafka.topics["orders.created"] = { replicationFactor: 4, minInsyncReplicas: 2 }), lines: [/^platform:messaging\.kafka\.topics\.orders\.created\.replicationFactor: replication factor exceeds the 3 broker/] },
  { name: "min ISR equal to RF", base: "prod", edit: (c) => (c["messaging"].kafka.topicDefaults.minInsyncReplicas = 3), lines: [/^platform:messaging\.kafka\.topicDefaults\.minInsyncReplicas: min\.insync\.replicas must be below the replication factor/] },
  { name: "canary weights over 100", base: "dev", edit: (c) => (svc(c, "order-service").expose.canary.weights = { stable: 90, canary: 20 }), lines: [/^platform:services\.order-service\.expose\.canary\.weights: canary weights must sum to 100/] },
  { name: "host the gateway does not serve", base: "prod", edit: (c) => (svc(c, "user-service").expose.hosts = ["api.shop.example.org"]), lines: [/^platform:services\.user-service\.expose\.hosts\[0\]: host is not served by the gateway/] },
  { name: "burst on Envoy's rate limit", base: "prod", edit: (c) => (svc(c, "order-service").expose.rateLimit = { requestsPerSecond: 200, burst: 400 }), lines: [/^platform:services\.order-service\.expose\.rateLimit\.burst: Envoy Gateway's local rate limit has no separate burst/] },
  { name: "sticky cookie on gRPC", base: "dev", edit: (c) => (svc(c, "inventory-service").expose.sticky = {}), lines: [/^platform:services\.inventory-service\.expose\.sticky: sticky sessions by cookie need HTTP routes/] },
  { name: "settings for the other gateway", base: "prod", edit: (c) => (c["gateway"].traefik = { logLevel: "DEBUG" }), lines: [/^platform:gateway\.traefik: settings for traefik given, but gateway\.implementation is envoy/] },
  { name: "consumer group without topics", base: "dev", edit: (c) => (svc(c, "user-service").consumerGroup = "users"), lines: [/^platform:services\.user-service\.consumerGroup: a consumer group without consumed topics/] },
  { name: "latency objectives out of order", base: "dev", edit: (c) => (c["slo"] = { latencyMs: { p50: 200, p95: 100, p99: 300 } }), lines: [/^platform:slo\.latencyMs: latency objectives out of percentile order/] },
  { name: "Prometheus keeps less than the SLO window", base: "prod", edit: (c) => (c["observability"].prometheus.retention = "7d"), lines: [/^platform:observability\.prometheus\.retention: Prometheus retention is shorter than the SLO window/] },
  { name: "external CA under another name", base: "prod", edit: (c) => (c["mesh"].ca = { mode: "external", secretName: "istio-ca" }), lines: [/^platform:mesh\.ca\.secretName: istiod reads the plug-in CA only from the Secret cacerts/] },
  { name: "two services on one host and path", base: "dev", edit: (c) => (svc(c, "order-service").expose.paths = ["/users"]), lines: [/^platform:services\.order-service\.expose\.hosts\[0\]: host api\.shop\.dev\.example\.com with path \/users is already routed to user-service/] },
  // Secrets, never echoed.
  { name: "password by name", base: "dev", edit: (c) => (svc(c, "notification-service").env["SMTP_PASSWORD"] = "hunter2hunter2"), lines: [/^platform:services\.notification-service\.env\.SMTP_PASSWORD: looks like a secret \(its name says it is a secret\).*got "<masked>"/], never: ["hunter2hunter2"] },
  { name: "short password name", base: "dev", edit: (c) => (svc(c, "notification-service").env["SMTP_PASS"] = "correct-horse-battery"), lines: [/^platform:services\.notification-service\.env\.SMTP_PASS: looks like a secret/], never: ["correct-horse-battery"] },
  { name: "URL with a password", base: "dev", edit: (c) => (svc(c, "notification-service").env["DATABASE_URL"] = "postgres://app:Sup3rS3cret@db.internal:5432/app"), lines: [/^platform:services\.notification-service\.env\.DATABASE_URL: looks like a secret \(its value looks like a URL with a password\).*got "<masked>"/], never: ["Sup3rS3cret"] },
  { name: "cloud access key", base: "prod", edit: (c) => (svc(c, "notification-service").env["S3_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE"), lines: [/^platform:services\.notification-service\.env\.S3_KEY_ID: looks like a secret \(its value looks like an AWS access key id\)/], never: ["AKIAIOSFODNN7EXAMPLE"] },
  { name: "secret-named value of the wrong type", base: "dev", edit: (c) => (svc(c, "notification-service").env["DB_PASSWORD"] = 31337), lines: [/^platform:services\.notification-service\.env\.DB_PASSWORD: .*got "<masked>"/], never: ["31337"] },
  // Sagas and resilience.
  { name: "saga step on a service the orchestrator does not call", base: "dev", edit: (c) => c["resilience"].sagas["place-order"].steps.push({ service: "notification-service" }), lines: [/^platform:resilience\.sagas\.place-order\.steps\[2\]\.service: the orchestrator order-service does not declare a call/] },
  { name: "saga orchestrator not declared", base: "prod", edit: (c) => (c["resilience"].sagas["place-order"].orchestrator = "checkout-service"), lines: [/^platform:resilience\.sagas\.place-order\.orchestrator: orchestrator is not a declared service/] },
  { name: "retries longer than the timeout", base: "dev", edit: (c) => (c["resilience"].retries = { perTryTimeoutMs: 900 }), lines: [/^platform:resilience\.retries\.perTryTimeoutMs: 3 tries of 900 ms plus backoff take up to \d+ ms, longer than the timeout of the call order-service → user-service: 2000 ms/] },
  { name: "callee slower than its caller waits", base: "prod", edit: (c) => (svc(c, "payment-service").calls[0].timeoutMs = 4500), // Two mistakes: longer than its caller waits, and unlike order-service's call to the same service.
    lines: [/^platform:services\.payment-service\.calls\[0\]\.timeoutMs: payment-service → user-service may take 4500 ms/, /^platform:services\.order-service\.calls\[0\]\.timeoutMs: calls to user-service share one route at its waypoint/] },
  { name: "retrying POSTs on 5xx", base: "prod", edit: (c) => (c["resilience"].retries = { retryOn: ["connect-failure", "5xx"] }), lines: [/^platform:services\.order-service\.calls\[1\]: the mesh retries on 5xx/, /^platform:services\.order-service\.calls\[2\]: the mesh retries on 5xx/, /^platform:services\.(inventory|order|user)-service\.expose\.resilience\.retryNonIdempotent: /, /^platform:services\.(inventory|order|user)-service\.expose\.resilience\.retryNonIdempotent: /, /^platform:services\.(inventory|order|user)-service\.expose\.resilience\.retryNonIdempotent: /] },
  { name: "one request can eject a host", base: "prod", edit: (c) => (c["resilience"].circuitBreaker = { consecutiveErrors: 2 }), lines: [/^platform:resilience\.circuitBreaker\.consecutiveErrors: a call to user-service, .*the gateway route of order-service.* make up to 3 tries/] },
  { name: "per-call retries", base: "dev", edit: (c) => (svc(c, "order-service").calls[0].retries = { attempts: 4 }), lines: [/^platform:services\.order-service\.calls\[0\]\.retries: east-west retries are mesh-wide/] },
  { name: "route timeout on Traefik", base: "dev", edit: (c) => (svc(c, "order-service").expose.resilience = { timeoutMs: 9000 }), lines: [/^platform:services\.order-service\.expose\.resilience\.timeoutMs: Traefik 3\.7 ignores HTTPRoute timeouts/] },
  { name: "saga without Kafka", base: "dev", edit: (c) => ((c["messaging"].kafka = { enabled: false }), Object.values<Doc>(c["services"]).forEach((s) => (delete s["produces"], delete s["consumes"]))), lines: [/^platform:resilience\.sagas\.place-order: a saga's commands, replies and dead letters travel on Kafka topics/] },
  // Several mistakes at once: every one reported in one run, a structural one included.
  {
    name: "three mistakes at once",
    base: "prod",
    edit: (c) => {
      svc(c, "user-service").replicas.min = "three";
      c["messaging"].kafka.controllers = 4;
      svc(c, "order-service").env = { ORDERS_DB: "mysql://orders:Pa55w0rd@db/orders" };
    },
    lines: [/^platform:services\.user-service\.replicas\.min: .*got "three"/, /^platform:messaging\.kafka\.controllers: KRaft controllers need an odd count/, /^platform:services\.order-service\.env\.ORDERS_DB: looks like a secret/],
    never: ["Pa55w0rd"],
  },
  {
    name: "a misspelt key and three rule mistakes",
    base: "dev",
    edit: (c) => {
      c["gateway"].replicsa = 2;
      svc(c, "user-service").port = 15020;
      svc(c, "order-service").resources.limits.memory = "64Mi";
      c["discovery"].etcd.members = 2;
    },
    lines: [/^platform:gateway\.replicsa: unknown key/, /^platform:services\.user-service\.port: is a port Istio ambient reserves/, /^platform:services\.order-service\.resources\.limits\.memory: memory limit is below the memory request/, /^platform:discovery\.etcd\.members: etcd needs an odd member count/],
  },
];

const GOOD: Pick<Case, "name" | "base" | "edit" | "text">[] = [
  { name: "the platform alone, no services", base: "prod", edit: (c) => ((c["services"] = {}), (c["resilience"].sagas = {})) },
  { name: "CPU as a number", base: "dev", edit: (c) => (svc(c, "order-service").resources = { requests: { cpu: 1, memory: "128Mi" }, limits: { cpu: 2, memory: "256Mi" } }) },
  { name: "cron macro", base: "dev", edit: (c) => (c["discovery"].etcd.backupSchedule = "@daily") },
  { name: "autoscaling above 100 percent", base: "prod", edit: (c) => (svc(c, "user-service").targetCpuUtilizationPercent = 250) },
  { name: "Consul instead of etcd", base: "dev", edit: (c) => (c["discovery"] = { store: "consul", consul: { servers: 1 } }) },
  { name: "no Kafka and no saga", base: "dev", edit: (c) => ((c["messaging"].kafka = { enabled: false }), (c["resilience"].sagas = {}), Object.values<Doc>(c["services"]).forEach((s) => (delete s["produces"], delete s["consumes"]))) },
  { name: "mesh off in dev", base: "dev", edit: (c) => (c["mesh"] = { enabled: false }) },
  { name: "no gateway and nothing exposed", base: "dev", edit: (c) => ((c["gateway"].enabled = false), Object.values<Doc>(c["services"]).forEach((s) => delete s["expose"])) },
  { name: "Traefik in prod", base: "prod", edit: (c) => (c["gateway"].implementation = "traefik") },
  { name: "wildcard gateway host", base: "prod", edit: (c) => ((c["gateway"].hostnames = ["*.example.com", "api.shop.example.com"]), (svc(c, "user-service").expose.hosts = ["users.example.com"])) },
  { name: "YAML merge key", base: "dev", text: (t) => t.replace("  platform:mesh:\n    replicas: 1", "  platform:mesh:\n    <<: {replicas: 1}") },
  { name: "YAML anchors and aliases", base: "dev", text: (t) => t.replace("        requests: {cpu: 50m, memory: 128Mi}\n        limits: {memory: 256Mi}", "        requests: &small {cpu: 50m, memory: 128Mi}\n        limits: {memory: 256Mi}").replace("      replicas: {min: 1, max: 2}\n      calls:", "      replicas: {min: 1, max: 2}\n      calls:") },
  { name: "a call cycle", base: "dev", edit: (c) => (svc(c, "user-service").calls = [{ service: "payment-service", methods: ["GET"] }]) },
  { name: "retries on gateway errors with every opt-in", base: "prod", edit: (c) => {
    c["resilience"].retries = { retryOn: ["connect-failure", "gateway-error"] };
    for (const s of Object.values<Doc>(c["services"])) {
      for (const call of s["calls"] ?? []) call.retryNonIdempotent = true;
      if (s["expose"]) s["expose"].resilience = { retryNonIdempotent: true };
    }
  } },
  { name: "a destination's own breaker", base: "prod", edit: (c) => (svc(c, "user-service").resilience = { circuitBreaker: { consecutiveErrors: 10, baseEjectionSeconds: 60 } }) },
  { name: "unicode in plain env", base: "dev", edit: (c) => (svc(c, "notification-service").env["GREETING"] = "Grüß Gott — 你好") },
  { name: "a service in its own namespace", base: "prod", edit: (c) => (svc(c, "payment-service").namespace = "payments") },
  { name: "a longer explicit call timeout", base: "prod", edit: (c) => (svc(c, "order-service").calls[1].timeoutMs = 5000) },
];

describe("bad stack files: one line per mistake, key named, secrets masked", () => {
  it("has at least 60 realistic cases", () => expect(BAD.length).toBeGreaterThanOrEqual(60));

  it.each(BAD.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const lines = linesOf(writeCase(c));
    expect(lines.length).toBe(c.lines.length);
    for (const re of c.lines) expect(lines.filter((l) => re.test(l))).not.toEqual([]);
    for (const l of lines) expect(l).toMatch(FORMAT);
    for (const s of c.never ?? []) for (const l of lines) expect(l).not.toContain(s);
  });
});

describe("unusual but valid stack files are accepted", () => {
  it("has at least 15", () => expect(GOOD.length).toBeGreaterThanOrEqual(15));
  it.each(GOOD.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    expect(linesOf(writeCase(c))).toEqual([]);
  });
});

describe("npm run render on bad stack files", () => {
  const render = (file: string, out: string) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "render", "cli.ts"), "--stack-file", file, "--out", out], { encoding: "utf8", cwd: ROOT, env: process.env });

  it.each(["three mistakes at once", "URL with a password", "tab indentation"])("refuses %s: exit 1, the lines on stderr, no stack trace, nothing written", (name) => {
    const c = BAD.find((x) => x.name === name)!;
    const file = writeCase(c);
    const out = path.join(dir, `out-${name.replace(/\W+/g, "-")}`);
    const run = render(file, out);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^stack [\w-]+: invalid stack configuration \(\d+ problems?\):$/);
    expect(lines.slice(1).map((l) => l.trim())).toEqual(linesOf(file));
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    for (const s of c.never ?? []) expect(run.stderr + run.stdout).not.toContain(s);
    expect(fs.existsSync(out)).toBe(false);
  });
});
