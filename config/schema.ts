/**
 * The platform's stack configuration: one zod schema for every area, read from the `platform:`
 * config namespace. Defaults live here and nowhere else; they are the production-grade, secure
 * values, and a dev stack relaxes them explicitly in Pulumi.dev.yaml so that the relaxation is
 * visible in review. Every object is strict: an unknown key is an error, never ignored.
 *
 * Two phases: the structural schema (types, ranges, enums, unknown keys) and the cross-field rules
 * in `crossFieldRules` (references, exclusive choices, quorum sizes, numeric relations, prod
 * invariants). Both report every problem they find; see config/load.ts for the message format.
 */
import { CronExpressionParser } from "cron-parser";
import { RE2JS } from "re2js";
import { z } from "zod";
import { charts as pinnedCharts } from "../versions";
import { resilienceRules, sagaTopics } from "./resilience";
import { MASKED, secretLooking } from "./secrets";

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

/** RFC 1123 label: names of namespaces, services, Kubernetes objects. */
export const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (lower-case letters, digits, '-')");

/**
 * A service's name: it names its Service, so a DNS-1035 label (starts with a letter), and at most
 * 56 characters so the names derived from it (`<name>-canary`, its credentials Secrets) fit 63.
 */
export const serviceName = z
  .string()
  .max(56, "at most 56 characters: <name>-canary must fit a 63-character Service name")
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1035 label (a lower-case letter first, then letters, digits, '-'): it names a Service");

/** A Kubernetes label value (versions become `app.kubernetes.io/version`): at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends. */
const labelValue = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a Kubernetes label value (letters, digits, '-', '_', '.'; alphanumeric at both ends; no '+')");

/** The schedule macros a CronJob accepts besides five cron fields (Kubernetes CronJob docs). */
const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/** A CronJob schedule: a macro, or five cron fields a cron parser (cron-parser) accepts. */
const cronSchedule = z.string().superRefine((s, ctx) => {
  if (CRON_MACROS.includes(s)) return;
  const fields = s.trim().split(/\s+/);
  if (fields.length !== 5) {
    ctx.addIssue({ code: "custom", message: `must be five cron fields (minute hour day-of-month month day-of-week) or one of ${CRON_MACROS.join(", ")}; got ${fields.length} field(s)` });
    return;
  }
  try {
    CronExpressionParser.parse(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `is not a cron schedule: ${(e as Error).message}` });
  }
});

/** A DNS host name, optionally a single leading wildcard label. */
const hostname = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z][-a-z0-9]*[a-z0-9]$/,
    "must be a lower-case DNS host name (e.g. shop.example.com or *.example.com)",
  )
  .refine((h) => h.split(".").every((l) => l.length <= 63), "every label of a host name is at most 63 characters");

/** An HTTP path prefix. */
const pathPrefix = z.string().regex(/^\/[A-Za-z0-9._~\-\/]*$/, "must be an absolute URL path such as /api/orders");

/** Kubernetes CPU quantity (e.g. 250m, 1, 1.5); a YAML number (`cpu: 2`) is the same quantity. */
const cpuQuantity = z.preprocess((v) => (typeof v === "number" && Number.isFinite(v) ? String(v) : v), z.string().regex(/^([0-9]+(\.[0-9]+)?|[0-9]+m)$/, "must be a CPU quantity such as 250m or 1"));

/** A CPU quantity in cores. */
export const coresOf = (q: string): number => (q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));

/** Kubernetes memory/storage quantity (e.g. 128Mi, 1Gi). */
const byteQuantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/, "must be a byte quantity such as 128Mi or 20Gi");

/**
 * A container image reference: registry/repository, then a tag, a digest, or both. Whether a
 * digest is required is a cross-field rule (security.requireDigest).
 */
const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "must be an image reference registry/repository[:tag][@sha256:<64 hex>]",
  );

/** Kafka topic / NATS stream names. */
const topicName = z
  .string()
  .max(200)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be lower-case letters, digits, '.' and '-'");

/** Environment variable names (POSIX). */
/**
 * A regular expression the OpenTelemetry Collector can compile: its OTTL `replace_pattern` uses
 * Go's regexp, which is RE2 (no lookaround, no backreferences). Checked with re2js, a port of
 * RE2/J, so a pattern the collector would refuse at start-up is refused here by key.
 */
const re2Pattern = z.string().min(1).superRefine((p, ctx) => {
  try {
    RE2JS.compile(p);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `is not an RE2 pattern the collector can compile (${e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e)}); RE2 has no lookaround or backreferences` });
  }
});

/** A path in the secret store below a service's prefix: lowercase segments, no `..`, no leading or trailing slash. */
const storePath = z.string().regex(/^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/, "must be a relative store path of lowercase segments such as payments/provider");
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a POSIX environment variable name");

/**
 * Ports Istio ambient takes inside every enrolled pod (in-pod redirection: ztunnel's 15001
 * outbound, 15006 inbound plaintext, 15008 HBONE, 15053 DNS) and on waypoints (15020 metrics,
 * 15021 health, 15090 Envoy stats): an application port there collides with the mesh.
 */
export const MESH_RESERVED_PORTS: readonly number[] = [15001, 15006, 15008, 15020, 15021, 15053, 15090];
const port = z
  .number()
  .int()
  .min(1024)
  .max(65535)
  .refine((p) => !MESH_RESERVED_PORTS.includes(p), `is a port Istio ambient reserves (${MESH_RESERVED_PORTS.join(", ")})`);
const httpMethod = z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

// ---------------------------------------------------------------------------------------------
// Services (workloads)
// ---------------------------------------------------------------------------------------------

/**
 * Conditions a retry may be made on (Envoy's `retry_on` names, which Istio and Envoy Gateway take
 * as they are). Only the first three are safe for any method: the request never reached the
 * application (config/resilience.ts RETRY_SAFE). Default: only those.
 */
export const RETRY_ON = ["connect-failure", "refused-stream", "reset-before-request", "reset", "gateway-error", "5xx", "retriable-4xx", "unavailable", "cancelled", "deadline-exceeded", "resource-exhausted"] as const;
const retryOn = z.array(z.enum(RETRY_ON)).min(1).refine((xs) => new Set(xs).size === xs.length, "lists a condition twice");

/** Retry settings; every field optional where they override the stack's (resilience.retries). */
const retryOverrideSchema = z.strictObject({
  attempts: z.number().int().min(0).max(5).optional(),
  perTryTimeoutMs: z.number().int().min(10).optional(),
  backoffMs: z.number().int().min(1).optional(),
  retryOn: retryOn.optional(),
});

/** Connection pool of a destination (Istio DestinationRule connectionPool; Envoy Gateway circuitBreaker). */
const connectionPoolFields = {
  /** TCP connections to the destination, per calling proxy. */
  maxConnections: z.number().int().min(1),
  /** Requests queued waiting for a connection. */
  maxPendingRequests: z.number().int().min(1),
  /** Concurrent requests to the destination (HTTP/2 streams included). */
  maxRequests: z.number().int().min(1),
};
/** Outlier detection of a destination (the circuit breaker). */
const circuitBreakerFields = {
  /** Consecutive 5xx (and connect failures) that eject a host. */
  consecutiveErrors: z.number().int().min(1),
  /** How often hosts are evaluated and ejected ones returned. */
  intervalSeconds: z.number().int().min(1),
  /** Minimum ejection time (grows with each ejection of the same host). */
  baseEjectionSeconds: z.number().int().min(1),
  /** At most this percent of the hosts are ejected at once. */
  maxEjectionPercent: z.number().min(0).max(100),
};
const partial = <T extends Record<string, z.ZodTypeAny>>(fields: T) => z.strictObject(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> });

/** A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const qualifiedKey = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.'")
  .refine((k) => !k.includes("/") || k.indexOf("/") <= 253, "the prefix is at most 253 characters");

/** A node taint the pods tolerate (core/v1 Toleration). */
const tolerationSchema = z.strictObject({
  key: qualifiedKey.optional(),
  operator: z.enum(["Equal", "Exists"]).default("Equal"),
  value: z.string().max(63).optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  /** Only with effect NoExecute: how long the pod stays after the taint appears. */
  tolerationSeconds: z.number().int().min(0).optional(),
});

/** A label selector requirement (matchExpressions, nodeSelectorTerms). */
const selectorRequirement = z.strictObject({
  key: qualifiedKey,
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(labelValue).optional(),
});
/** A node selector requirement: also Gt and Lt over integer label values. */
const nodeSelectorRequirement = selectorRequirement.extend({ operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]) });
const nodeSelectorTerm = z.strictObject({ matchExpressions: z.array(nodeSelectorRequirement).optional(), matchFields: z.array(nodeSelectorRequirement).optional() });
const podAffinityTerm = z.strictObject({
  labelSelector: z.strictObject({ matchLabels: z.record(qualifiedKey, labelValue).optional(), matchExpressions: z.array(selectorRequirement).optional() }).optional(),
  namespaces: z.array(dnsLabel).optional(),
  topologyKey: qualifiedKey,
});
const weight = z.number().int().min(1).max(100);
const podAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, podAffinityTerm })).optional(),
});
/** core/v1 Affinity, as the API server takes it. */
const affinitySchema = z.strictObject({
  nodeAffinity: z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1) }).optional(),
      preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, preference: nodeSelectorTerm })).optional(),
    })
    .optional(),
  podAffinity: podAffinity.optional(),
  podAntiAffinity: podAffinity.optional(),
});

/**
 * An extra volume and where the app container mounts it. Only the volume types Pod Security
 * `restricted` admits that a team brings: its own Secret, ConfigMap, claim, or a scratch emptyDir.
 */
const extraVolumeSchema = z.strictObject({
  /** Where the app container mounts it. */
  mountPath: z.string().regex(/^\/[A-Za-z0-9._~\-\/]*$/, "must be an absolute path"),
  /** Mounted read-only unless set false (emptyDir is always writable). */
  readOnly: z.boolean().optional(),
  /** Mount one entry of the volume instead of its root. */
  subPath: z.string().regex(/^[^/][^\0]*$/).refine((p) => !p.split("/").includes(".."), "must stay inside the volume (no '..')").optional(),
  secret: z.strictObject({ name: dnsLabel, items: z.array(z.strictObject({ key: z.string().min(1), path: z.string().min(1) })).optional() }).optional(),
  configMap: z.strictObject({ name: dnsLabel, items: z.array(z.strictObject({ key: z.string().min(1), path: z.string().min(1) })).optional() }).optional(),
  persistentVolumeClaim: z.strictObject({ claimName: dnsLabel }).optional(),
  emptyDir: z.strictObject({ sizeLimit: byteQuantity.optional(), medium: z.enum(["", "Memory"]).optional() }).optional(),
});
export type ExtraVolume = z.output<typeof extraVolumeSchema>;
/** The source kinds of an extra volume (exactly one per volume). */
export const VOLUME_SOURCES = ["secret", "configMap", "persistentVolumeClaim", "emptyDir"] as const;

/** Keys of the pod's labels and annotations the platform owns (identity, routing, mesh enrollment). */
export const RESERVED_POD_KEY = /^(app\.kubernetes\.io\/(name|instance|version|part-of|managed-by)|platform\.io\/.+|([a-z0-9-]+\.)*istio\.io\/.+|([a-z0-9-]+\.)*kubernetes\.io\/.+|([a-z0-9-]+\.)*k8s\.io\/.+)$/;

/** One declared service-to-service call: the only source of mesh allow rules. */
const callSchema = z.strictObject({
  /** The called service (a key of `services`). */
  service: dnsLabel,
  /** HTTP methods the caller uses; declaring them turns on L7 authorization through a waypoint. */
  methods: z.array(httpMethod).min(1).optional(),
  /** Path prefixes the caller uses (HTTP), or `/package.Service/Method` (gRPC). */
  paths: z.array(pathPrefix).min(1).optional(),
  /**
   * Timeout of the whole call, retries included (the route at the called service's waypoint).
   * Default: resilience.timeoutMs × (1 + the longest call chain below the called service), so a
   * caller always waits longer than what it waits on. Callers of one service share its route, so
   * they must agree.
   */
  timeoutMs: z.number().int().min(1).optional(),
  /**
   * Per-call retries. Refused while the Gateway API CRDs are the standard channel: east-west
   * retries are the mesh-wide resilience.retries (istiod's defaultHttpRetryPolicy), since
   * HTTPRoute `retry` is experimental (GEP-1731). Kept in the schema to say so by key.
   */
  retries: retryOverrideSchema.optional(),
  /** The call may be retried on conditions after which the request may have run (5xx, reset...) although it may use POST/PATCH or gRPC. */
  retryNonIdempotent: z.boolean().default(false),
});

const canarySchema = z.strictObject({
  /** Image of the canary version. */
  image: imageRef,
  /** Version label of the canary (service.version in telemetry). */
  version: labelValue,
  /** Traffic split by weight; must sum to 100. */
  weights: z.strictObject({ stable: z.number().int().min(0).max(100), canary: z.number().int().min(0).max(100) }),
  /** Requests carrying this header always go to the canary. */
  header: z
    .strictObject({ name: z.string().regex(/^[A-Za-z0-9-]+$/), value: z.string().min(1) })
    .prefault({ name: "x-canary", value: "always" }),
  /** Canary replicas (fixed; the canary is not autoscaled). */
  replicas: z.number().int().min(1).default(1),
});

/** Where progressive rollouts read their analysis: Prometheus scrapes the collector every 30s, so rate() needs at least a minute. */
export const MIN_ROLLOUT_INTERVAL_SECONDS = 60;

const rolloutSchema = z.strictObject({
  /**
   * `fixed`: a new version replaces the old by the Deployment's rolling update (and
   * `expose.canary`, when declared, splits by fixed weights). `progressive`: Flagger owns the
   * rollout; it shifts the gateway's traffic to the new version step by step while the canary's own
   * SLO series stay within budget, promotes it, or rolls it back (docs/delivery.md).
   */
  strategy: z.enum(["fixed", "progressive"]).default("fixed"),
  /** Weight (percent) the canary gains at each step that passes its analysis. */
  stepWeight: z.number().int().min(1).max(50).default(10),
  /** Weight at which the canary is promoted after a passing analysis. */
  maxWeight: z.number().int().min(1).max(100).default(50),
  /** Time between steps, and the window each analysis query reads (seconds or minutes: `90s`, `2m`). */
  interval: z
    .string()
    .regex(/^[1-9][0-9]*(s|m)$/, "must be a duration in seconds or minutes, e.g. 1m or 90s")
    .refine((d) => Number(d.slice(0, -1)) * (d.endsWith("m") ? 60 : 1) >= MIN_ROLLOUT_INTERVAL_SECONDS, "must be at least 1m: Prometheus scrapes the collector every 30s, and rate() needs two samples")
    .default("1m"),
  /** Failed analysis checks (one per interval) after which the canary is rolled back. */
  threshold: z.number().int().min(1).max(20).default(5),
  /**
   * The canary fails a check when its error ratio over the interval exceeds this multiple of the
   * error budget (1 - availability objective): at 1 it may fail exactly as often as the SLO
   * allows; the default 2 leaves room for noise on little traffic.
   */
  maxBurnRate: z.number().gt(0).max(14.4).default(2),
  /** Requests carrying this header always reach the canary while it runs (testers), whatever the weights. */
  header: z
    .strictObject({ name: z.string().regex(/^[A-Za-z0-9-]+$/), value: z.string().min(1) })
    .prefault({ name: "x-canary", value: "always" }),
  /**
   * Smoke tests run before the canary gets any traffic (Flagger pre-rollout webhooks, run by its
   * loadtester): a GET of each path on the canary must answer 2xx within 10 s, or the rollout stops.
   */
  smokeTests: z
    .array(z.strictObject({ name: dnsLabel, path: pathPrefix }))
    .default([])
    .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, "names a smoke test twice: each is one webhook, named"),
});

const exposureSchema = z.strictObject({
  /** Host names routed to the service; each must be covered by gateway.hostnames. */
  hosts: z.array(hostname).min(1),
  /** Path prefixes routed to the service (HTTP), or gRPC service names for gRPC services. */
  paths: z.array(pathPrefix).min(1).default(["/"]),
  /** Extra header matches every routed request must carry. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}),
  /** Canary release: a second version behind the same route. */
  canary: canarySchema.optional(),
  /** Sticky sessions by cookie. */
  sticky: z
    .strictObject({ cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default("platform-affinity"), ttlSeconds: z.number().int().min(1).max(31536000).default(3600) })
    .optional(),
  /** Per-route rate limit at the gateway. */
  rateLimit: z.strictObject({ requestsPerSecond: z.number().int().min(1), burst: z.number().int().min(1).optional() }).optional(),
  /** Timeout and retries at the gateway for this route (defaults: resilience.timeoutMs as for calls, resilience.retries). */
  resilience: z
    .strictObject({
      timeoutMs: z.number().int().min(1).optional(),
      retries: retryOverrideSchema.optional(),
      /** Requests may be retried on conditions after which they may have run, whatever their method. */
      retryNonIdempotent: z.boolean().default(false),
    })
    .optional(),
});

const sloSchema = z.strictObject({
  /** Availability objective over the window, in percent. */
  availabilityPercent: z.number().gt(90).lt(100).default(99.95),
  /** SLO window in days. */
  windowDays: z.number().int().min(7).max(90).default(30),
  /** Latency objectives in milliseconds. */
  latencyMs: z
    .strictObject({ p50: z.number().positive().default(20), p95: z.number().positive().default(100), p99: z.number().positive().default(300) })
    .prefault({}),
  /** Error rate objective, in percent of requests. */
  errorRatePercent: z.number().gt(0).max(10).default(0.1),
  /** Consumer lag objective in seconds (consumers only). */
  eventLagSeconds: z.number().int().positive().default(60),
});

/** Per-service SLO overrides: each field optional, the platform-wide `slo` fills the rest. */
const sloOverrideSchema = z.strictObject({
  availabilityPercent: z.number().gt(90).lt(100).optional(),
  latencyMs: z.strictObject({ p50: z.number().positive().optional(), p95: z.number().positive().optional(), p99: z.number().positive().optional() }).optional(),
  errorRatePercent: z.number().gt(0).max(10).optional(),
  eventLagSeconds: z.number().int().positive().optional(),
});

const serviceSchema = z.strictObject({
  /** Namespace the service runs in. Application namespaces are created by the platform. */
  namespace: dnsLabel.default("apps"),
  /** Container image; must be pinned by digest where security.requireDigest is on. */
  image: imageRef,
  /** Version of the stable release (label and service.version). */
  version: labelValue,
  /** Application protocol of the service's port. */
  protocol: z.enum(["http", "grpc"]).default("http"),
  /** Container and Service port. */
  port: port.default(8080),
  /** Replica bounds for the HorizontalPodAutoscaler. */
  replicas: z.strictObject({ min: z.number().int().min(1).default(2), max: z.number().int().min(1).default(6) }).prefault({}),
  /** Target average CPU utilization for the autoscaler, in percent of the request. */
  /** Above 100 is allowed, as Kubernetes allows it: the pods may use more than they request before scaling out. */
  targetCpuUtilizationPercent: z.number().int().min(10).max(1000).default(70),
  /** Requests and limits. A memory limit is always set; a CPU limit only when asked. */
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: cpuQuantity.default("100m"), memory: byteQuantity.default("128Mi") }).prefault({}),
      limits: z.strictObject({ memory: byteQuantity.default("256Mi"), cpu: cpuQuantity.optional() }).prefault({}),
    })
    .prefault({}),
  /** Probe paths (HTTP) ; gRPC services use the gRPC health protocol on their port. */
  probes: z
    .strictObject({
      readinessPath: pathPrefix.default("/readyz"),
      livenessPath: pathPrefix.default("/livez"),
      initialDelaySeconds: z.number().int().min(0).default(5),
    })
    .prefault({}),
  /** Plain (non-secret) environment. Secret-looking names and values are refused: use secretEnv. */
  env: z.record(envName, z.string()).default({}),
  /**
   * Environment from Secrets in the service's namespace (created by the team, or by External
   * Secrets from a store): name → {secret, key}, rendered as `valueFrom.secretKeyRef`, so no value
   * is ever in the config, the render or the state.
   */
  secretEnv: z
    .record(envName, z.strictObject({ secret: dnsLabel, key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret data key (letters, digits, '-', '_', '.')") }))
    .default({}),
  /**
   * Secrets from the platform's store (`secrets.enabled`): name → where it is kept. The store path
   * is relative to the service's own prefix (`services/<service>/` in the KV v2 mount), so a service
   * can only name its own secrets; the store policy, the Kubernetes auth role and the ExternalSecret
   * are derived from these entries (components/secrets). `as: env` sets the variable `<name>`;
   * `as: file` mounts the value read-only at `/var/run/secrets/platform/<name>`.
   */
  secrets: z
    .record(
      envName,
      z.strictObject({
        /** Path below the service's prefix, e.g. `payments/provider` (no leading slash, no `..`). */
        path: storePath,
        /** Field of the secret at that path. */
        key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a secret field name (letters, digits, '-', '_', '.')"),
        /** How the service receives it. */
        as: z.enum(["env", "file"]).default("env"),
      }),
    )
    .default({}),
  /** Paths that need to be writable; each gets an emptyDir since the root filesystem is read-only. */
  writablePaths: z.array(pathPrefix).default([]).refine((ps) => new Set(ps).size === ps.length, "lists a path twice: each path is one volume mount, and a pod refuses two mounts at one path"),
  /** Mount a Kubernetes API token (off unless the service talks to the API server). */
  serviceAccountToken: z.boolean().default(false),
  /** UID the container runs as (never 0). */
  runAsUser: z.number().int().min(1).default(65532),
  /** Services this one calls. */
  calls: z.array(callSchema).default([]),
  /** Kafka topics the service produces to. */
  produces: z.array(topicName).default([]),
  /** Kafka topics the service consumes from. */
  consumes: z.array(topicName).default([]),
  /**
   * NATS use, granted exactly and to this service only (its own client certificate, TLS): subjects
   * it publishes and subscribes to (core or through JetStream consumers on the declared streams),
   * and the KV buckets it reads or writes. Absent: the service gets no NATS credentials at all.
   */
  nats: z
    .strictObject({
      /** Subjects (NATS wildcards allowed) the service publishes to. */
      publish: z.array(z.string().min(1)).default([]),
      /** Subjects the service subscribes to, or consumes from a stream with that filter. */
      subscribe: z.array(z.string().min(1)).default([]),
      /** KV buckets the service reads (get, watch). */
      kvRead: z.array(topicName).default([]),
      /** KV buckets the service writes (put, delete; reading included). */
      kvWrite: z.array(topicName).default([]),
    })
    .optional(),
  /** Kafka consumer group (defaults to the service name). */
  consumerGroup: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).optional(),
  /** The service needs the discovery/config store (etcd or Consul) and gets its endpoint and credentials. */
  configStore: z.boolean().default(false),
  /** How the gateway exposes the service; absent means internal only. */
  expose: exposureSchema.optional(),
  /** SLO overrides. */
  slo: sloOverrideSchema.optional(),
  /** How a new version rolls out: fixed (the Deployment's rolling update) or progressive (Flagger, driven by the SLO). */
  rollout: rolloutSchema.prefault({}),
  /**
   * Escape hatches for the pods (stable and canary alike), for what the schema does not model:
   * scheduling, registry credentials, labels and annotations for the team's own tooling. Keys the
   * platform owns (identity, routing, `*.istio.io`, `*.kubernetes.io`, `*.k8s.io`) are refused.
   */
  pod: z
    .strictObject({
      labels: z.record(qualifiedKey, labelValue).default({}),
      annotations: z.record(qualifiedKey, z.string()).default({}),
      /** Node labels the pods must land on (the placement proof does not model node labels). */
      nodeSelector: z.record(qualifiedKey, labelValue).default({}),
      tolerations: z.array(tolerationSchema).default([]),
      /** Secrets (kubernetes.io/dockerconfigjson) in the service's namespace, for private registries. */
      imagePullSecrets: z.array(dnsLabel).default([]),
      /**
       * Node and pod (anti-)affinity, beside the platform's topology spread constraints (the
       * placement proof does not model it).
       */
      affinity: affinitySchema.optional(),
      /** Extra volumes (name → source and mount) on the app container, e.g. a team's own Secret as files. */
      volumes: z.record(dnsLabel, extraVolumeSchema).default({}),
      /**
       * All keys of a team's own Secrets or ConfigMaps as environment (`envFrom`), optionally
       * prefixed. The platform's env (telemetry, store and Kafka connection) and the service's env
       * and secretEnv win over a key of the same name, as Kubernetes orders them.
       */
      envFrom: z
        .array(z.strictObject({ secret: dnsLabel.optional(), configMap: dnsLabel.optional(), prefix: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env-name prefix").optional() }))
        .default([]),
    })
    .prefault({}),
  /**
   * How this service is protected as a destination: its connection pool and outlier detection, at
   * its waypoint (DestinationRule) and at the gateway (Envoy Gateway) when exposed. Each field
   * overrides resilience.connectionPool / resilience.circuitBreaker.
   */
  resilience: z.strictObject({ connectionPool: partial(connectionPoolFields).optional(), circuitBreaker: partial(circuitBreakerFields).optional() }).optional(),
});

// ---------------------------------------------------------------------------------------------
// Areas
// ---------------------------------------------------------------------------------------------

const clusterSchema = z.strictObject({
  /** Cluster name, used in identities and dashboards. */
  name: dnsLabel.default("platform"),
  /** Cluster DNS domain (SPIFFE trust domain and service DNS). */
  domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).default("cluster.local"),
  /** Distribution; charts that need platform-specific values (Istio CNI) read it. */
  distribution: z.enum(["generic", "kind", "k3d", "gke", "eks", "aks", "openshift"]).default("generic"),
  /** Availability zones of the nodes; empty means unknown (no zone spreading or rack awareness). */
  zones: z.array(z.string().min(1)).default([]),
  /**
   * Schedulable nodes per zone (per cluster when zones is empty), for the placement proof: every pod
   * set must fit under its affinity and spread rules, and draining any one node must keep every
   * PDB and quorum. Default: 2 per zone in prod (3 nodes when no zones are given), 1 in dev.
   */
  nodesPerZone: z.number().int().min(1).max(1000).optional(),
  /**
   * Labels the schedulable nodes carry, for the placement proof (beside hostname, zone, region and
   * `kubernetes.io/os: linux`; `kubernetes.io/arch` is amd64 unless set here). A service's
   * `pod.nodeSelector` or required node affinity must match them, or the proof says it fits no node.
   */
  nodeLabels: z.record(qualifiedKey, labelValue).default({}),
  /** StorageClass for persistent volumes; absent means the cluster default. */
  storageClass: dnsLabel.optional(),
  /**
   * Kubernetes version of the target cluster (`major.minor.patch`). `pulumi up` templates charts
   * against the live API server; the offline render and the audit give charts this version as
   * `.Capabilities.KubeVersion`. 1.30 is the oldest the Gateway API CRDs' ValidatingAdmissionPolicy needs.
   */
  kubernetesVersion: z
    .string()
    .regex(/^1\.(3[0-9]|[4-9][0-9])\.\d+$/, "a Kubernetes version 1.30.0 or later, as major.minor.patch")
    .default("1.34.0"),
});

const chartsSchema = z.strictObject({
  /**
   * A local chart cache laid out `<chart>/<version>/` (chart sources as `helm template <dir>` takes
   * them): every chart is installed from there, for clusters without access to the chart repositories.
   */
  path: z.string().min(1).optional(),
  /** One Helm repository (https://) or OCI registry (oci://) that mirrors every pinned chart under its upstream name. */
  repository: z.string().regex(/^(https:\/\/|oci:\/\/)\S+$/, "an https:// or oci:// URL").optional(),
  /**
   * Values merged over the platform's own for a chart, by chart name (`istiod`, `traefik`,
   * `kube-prometheus-stack`...): maps merge, lists and scalars replace, as with `helm -f`. The
   * escape hatch for what the schema does not model; the render's proofs and the pack still check
   * every object the result templates to.
   */
  values: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

const gatewaySchema = z.strictObject({
  /** Turn the gateway area off (no external entry). */
  enabled: z.boolean().default(true),
  /** Exactly one implementation of the Gateway API. */
  implementation: z.enum(["traefik", "envoy"]),
  /** Host names the Gateway serves (TLS certificate SANs). */
  hostnames: z.array(hostname).min(1),
  /** TLS certificate for the HTTPS listener. */
  tls: z
    .strictObject({
      /** generate: a stack CA and server certificate from @pulumi/tls; existingSecret: a Secret you provide. */
      mode: z.enum(["generate", "existingSecret"]).default("generate"),
      /** Name of the existing kubernetes.io/tls Secret (mode existingSecret). */
      secretName: dnsLabel.optional(),
    })
    .prefault({}),
  /** Controller and data-plane replicas. */
  replicas: z.number().int().min(1).default(2),
  /** Namespace of the controller, the Gateway and its TLS Secret. */
  namespace: dnsLabel.default("gateway-system"),
  /** Traefik-specific settings (only with implementation traefik). */
  traefik: z.strictObject({ logLevel: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO") }).optional(),
  /** Envoy Gateway-specific settings (only with implementation envoy). */
  envoy: z.strictObject({ logLevel: z.enum(["debug", "info", "warn", "error"]).default("info") }).optional(),
});

const meshSchema = z.strictObject({
  /** Turn the mesh off (small dev clusters): then there is no mTLS and no authorization. */
  enabled: z.boolean().default(true),
  /** Mesh-wide mTLS mode. Only STRICT is offered. */
  mtls: z.literal("STRICT").default("STRICT"),
  /** istiod replicas. */
  replicas: z.number().int().min(1).default(2),
  /** Plug-in CA: generate a root and intermediate, or use an existing `cacerts` Secret. */
  ca: z
    .strictObject({ mode: z.enum(["generate", "external"]).default("generate"), secretName: dnsLabel.optional() })
    .prefault({}),
});

/** Requests and a memory limit of a platform component's pods (no CPU limit: throttling hurts quorum systems). */
const platformPodResources = (d: { cpu: string; memory: string; memoryLimit: string }) =>
  z
    .strictObject({
      requests: z.strictObject({ cpu: cpuQuantity.default(d.cpu), memory: byteQuantity.default(d.memory) }).prefault({}),
      limits: z.strictObject({ memory: byteQuantity.default(d.memoryLimit) }).prefault({}),
    })
    .prefault({});

const etcdSchema = z.strictObject({
  /** Members of the etcd cluster; odd. */
  members: z.number().int().min(1).default(3),
  /** Persistent volume size per member. */
  storage: byteQuantity.default("8Gi"),
  /** Snapshot backup schedule (cron); the same CronJob defragments every member first. */
  backupSchedule: cronSchedule.default("0 */6 * * *"),
  /** Snapshots kept on the backup volume (oldest removed first). */
  backupKeep: z.number().int().min(1).max(100).default(8),
  /** Size of the backup volume holding the snapshots. */
  backupStorage: byteQuantity.default("20Gi"),
  /** Requests and limits of each member (etcd is latency-sensitive: a memory limit well above the request). */
  resources: platformPodResources({ cpu: "200m", memory: "512Mi", memoryLimit: "2Gi" }),
});

const consulSchema = z.strictObject({
  /** Consul servers; odd. */
  servers: z.number().int().min(1).default(3),
  /** Persistent volume size per server. */
  storage: byteQuantity.default("10Gi"),
});

const discoverySchema = z.strictObject({
  /** Which store: etcd or Consul, or none (then no service may declare configStore). */
  store: z.enum(["etcd", "consul", "none"]),
  /** etcd settings (only with store etcd). */
  etcd: etcdSchema.optional(),
  /** Consul settings (only with store consul). */
  consul: consulSchema.optional(),
});

const topicSchema = z.strictObject({
  partitions: z.number().int().min(1).optional(),
  replicationFactor: z.number().int().min(1).optional(),
  minInsyncReplicas: z.number().int().min(1).optional(),
  retentionHours: z.number().int().min(1).optional(),
});

const kafkaSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Broker nodes. */
  brokers: z.number().int().min(1).default(3),
  /** KRaft controller nodes; odd. */
  controllers: z.number().int().min(1).default(3),
  /** One node pool whose nodes are both controllers and brokers (dev only); brokers must equal controllers. */
  combinedRoles: z.boolean().default(false),
  /** Persistent volume size per node. */
  storage: byteQuantity.default("20Gi"),
  /** Requests and limits of each Kafka node (brokers and controllers alike). */
  resources: platformPodResources({ cpu: "500m", memory: "2Gi", memoryLimit: "4Gi" }),
  /** Topic defaults; each topic may override. */
  topicDefaults: z
    .strictObject({
      partitions: z.number().int().min(1).default(6),
      replicationFactor: z.number().int().min(1).default(3),
      minInsyncReplicas: z.number().int().min(1).default(2),
      retentionHours: z.number().int().min(1).default(168),
    })
    .prefault({}),
  /** Unclean leader election loses acknowledged data; never on in prod. */
  uncleanLeaderElection: z.boolean().default(false),
  /** Declared topics, keyed by name. Services may only produce/consume these. */
  topics: z.record(topicName, topicSchema).default({}),
});

const natsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Server replicas (JetStream RAFT quorum); odd. */
  replicas: z.number().int().min(1).default(3),
  /** JetStream file storage per server. */
  storage: byteQuantity.default("10Gi"),
  /** Streams, keyed by name. */
  streams: z
    .record(
      topicName,
      z.strictObject({
        subjects: z.array(z.string().min(1)).min(1),
        replicas: z.number().int().min(1).optional(),
        maxAgeHours: z.number().int().min(1).default(24),
      }),
    )
    .default({}),
  /** Key-value buckets, keyed by name (e.g. config hot-reload signals). */
  kvBuckets: z.record(topicName, z.strictObject({ history: z.number().int().min(1).max(64).default(5) })).default({}),
});

const messagingSchema = z.strictObject({
  kafka: kafkaSchema.prefault({}),
  nats: natsSchema.prefault({}),
});

/** The platform's own collector agent (observability area), where workloads export by default. */
export const PLATFORM_OTLP_ENDPOINT = "http://otel-agent.observability.svc.cluster.local:4317";

const observabilitySchema = z.strictObject({
  /**
   * Deploy the observability area (Prometheus, Alertmanager, Grafana, Jaeger, Loki, the collector,
   * the SLO rules and every monitor). Off only in dev: the report then lists what the stack lacks,
   * and telemetry goes only to an otlpEndpoint of your own (with the default endpoint it is off).
   */
  enabled: z.boolean().default(true),
  /** Trace sampling percentage, shared by the collector and the mesh (SLO baseline: at least 5%). */
  tracingSamplingPercent: z.number().min(5).max(100).default(10),
  /** Span/log attribute keys removed before export. */
  redactAttributes: z
    .array(z.string().min(1))
    .default(["user.email", "enduser.id", "http.request.header.authorization", "http.request.header.cookie"]),
  /** Regular expressions masked in log bodies. */
  redactPatterns: z.array(re2Pattern).default(["[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}", "\\b(?:\\d[ -]*?){13,16}\\b"]),
  /** OTLP endpoint workloads export to: the node-local collector agent's Service. */
  otlpEndpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL (a host:port without a scheme is not one)" }).default(PLATFORM_OTLP_ENDPOINT),
  /** Collector gateway replicas (HPA bounds; a PDB when min > 1). */
  collector: z
    .strictObject({ gatewayReplicas: z.strictObject({ min: z.number().int().min(1).default(2), max: z.number().int().min(1).default(6) }).prefault({}) })
    .prefault({}),
  /** Jaeger's Badger volume and how long spans are kept. */
  jaeger: z.strictObject({ storage: byteQuantity.default("20Gi"), retentionHours: z.number().int().min(1).default(168) }).prefault({}),
  /** Loki's volume and how long log lines are kept. */
  loki: z.strictObject({ storage: byteQuantity.default("50Gi"), retentionHours: z.number().int().min(24).default(168) }).prefault({}),
  prometheus: z
    .strictObject({
      replicas: z.number().int().min(1).default(2),
      retention: z.string().regex(/^[0-9]+[dhw]$/).default("30d"),
      storage: byteQuantity.default("50Gi"),
      /** Requests and memory limit of each Prometheus server; memory follows the active series (about 4 KiB each incl. head overhead). */
      resources: platformPodResources({ cpu: "500m", memory: "2Gi", memoryLimit: "4Gi" }),
    })
    .prefault({}),
  alertmanager: z.strictObject({ replicas: z.number().int().min(1).default(3) }).prefault({}),
  grafana: z.strictObject({ replicas: z.number().int().min(1).default(2) }).prefault({}),
});

const securitySchema = z.strictObject({
  /** Kyverno and the admission policies; off only in dev (small clusters), where the pack still checks at preview. */
  admission: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  /** Admission policies enforce (prod) or only audit (dev). */
  enforcement: z.enum(["Enforce", "Audit"]).default("Enforce"),
  /**
   * A default-deny NetworkPolicy in every namespace the platform creates, and allow rules derived
   * from the declarations (docs/security.md). Off only where the CNI enforces no NetworkPolicy.
   */
  networkPolicies: z.boolean().default(true),
  /** Pod Security Standard applied to application namespaces. */
  podSecurity: z.enum(["restricted", "baseline"]).default("restricted"),
  /** Registries workload images may come from (prefixes such as ghcr.io/acme). */
  allowedRegistries: z.array(z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)*$/)).min(1),
  /** Images must be pinned by digest. */
  requireDigest: z.boolean().default(true),
  /** Cosign signature verification for workload images. */
  signing: z
    .strictObject({
      keyless: z.strictObject({ issuer: z.url({ protocol: /^https$/, error: "must be an https:// URL" }), subject: z.string().min(1) }).optional(),
      publicKey: z.string().includes("BEGIN PUBLIC KEY").optional(),
    })
    .optional(),
  /** SLSA provenance: the builder identity attestations must name. */
  slsaBuilderId: z.url({ protocol: /^https$/, error: "must be an https:// URL" }).optional(),
});

/** The secret store (Vault) and the External Secrets Operator that brings its secrets into the cluster. */
const secretsSchema = z.strictObject({
  /** Install the store and the operator; services may declare `secrets` only when on. */
  enabled: z.boolean().default(false),
  /** Vault servers: 1 (integrated storage, no HA) or an odd 3 or 5 (raft quorum, HA); prod needs 3 or more. */
  replicas: z.number().int().refine((n) => n === 1 || n === 3 || n === 5, "must be 1, 3 or 5 (a raft quorum)").default(1),
  /** Size of each server's raft data volume. */
  storageSize: byteQuantity.default("10Gi"),
  /** Size of each server's audit log volume (the file audit device writes there). */
  auditStorageSize: byteQuantity.default("10Gi"),
  /** How often the operator re-reads each ExternalSecret from the store (a rotated secret arrives within it). */
  refreshInterval: z.string().regex(/^[0-9]+(s|m|h)$/, "must be a duration such as 1h or 15m").default("1h"),
  /**
   * The platform's own generated secrets (certificates, etcd/Kafka/NATS/Consul credentials,
   * Grafana's admin, the gateway's certificate) through the store: `pulumi up` writes them there and
   * ExternalSecrets make the Secrets, so the render holds none. Needs a bootstrapped store: turn it
   * on after the first `pulumi up` and the bootstrap (docs/secrets.md); the mesh CA and the store's
   * own TLS stay Secrets (they come before the store can serve).
   */
  platformSecrets: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Where `pulumi up` reaches the store (the default: `kubectl -n vault port-forward svc/vault 8200`); the token is VAULT_TOKEN, the CA VAULT_CACERT. */
      address: z.url({ protocol: /^https$/, error: "must be an https:// URL" }).default("https://127.0.0.1:8200"),
    })
    .prefault({}),
});

/** One step of a saga: a command to a participant service, and how that participant behaves. */
const sagaStepSchema = z.strictObject({
  /** The participant service that runs the step (a key of `services`). */
  service: dnsLabel,
  /** The step has a compensating action. A step without one may only be the last (the pivot); the saga model checks it. */
  compensable: z.boolean().default(true),
  /** The participant deduplicates commands (by saga id and step) and ignores one arriving after its compensation. */
  idempotent: z.boolean().default(true),
});

/**
 * A saga the platform's services run: checked by the saga model (formal/saga.pml); the platform
 * creates its command, reply and dead-letter topics and the ACLs its services need on them.
 */
const sagaSchema = z.strictObject({
  /** The service that orchestrates the saga (a key of `services`); it must declare a call to every step's service. */
  orchestrator: dnsLabel,
  /** The steps, in order; compensation runs in reverse. At most 8 (the model's bound). */
  steps: z.array(sagaStepSchema).min(1).max(8),
});

const resilienceSchema = z.strictObject({
  /**
   * Request timeout of a call or an exposure into a service that calls nothing; each level of
   * declared calls below a service adds this much again to the default (calls[].timeoutMs).
   */
  timeoutMs: z.number().int().min(1).default(2000),
  /**
   * Retries: east-west the mesh-wide policy (istiod meshConfig.defaultHttpRetryPolicy, applied by
   * every waypoint), north-south each exposure's (expose.resilience.retries overrides).
   */
  retries: z
    .strictObject({
      /** Retries after the first try (Traefik counts the first: it gets attempts + 1). */
      attempts: z.number().int().min(0).max(5).default(2),
      perTryTimeoutMs: z.number().int().min(10).default(500),
      /** Base of the exponential backoff between tries (Envoy: up to 10× the base). */
      backoffMs: z.number().int().min(1).default(25),
      /** Conditions retried; the default ones are safe for any method. */
      retryOn: retryOn.default(["connect-failure", "refused-stream", "reset-before-request"]),
      /** Concurrent retries may be at most this percent of the active requests (retry budget). */
      budgetPercent: z.number().int().min(0).max(100).default(20),
      /** Concurrent retries always allowed, whatever the budget (Envoy's default is 3). */
      budgetMinConcurrency: z.number().int().min(0).default(3),
    })
    .prefault({}),
  /** Connection pool of every destination (services.<name>.resilience.connectionPool overrides). */
  connectionPool: z
    .strictObject({
      maxConnections: connectionPoolFields.maxConnections.default(1024),
      maxPendingRequests: connectionPoolFields.maxPendingRequests.default(1024),
      maxRequests: connectionPoolFields.maxRequests.default(1024),
    })
    .prefault({}),
  /** Circuit breaking (outlier detection) of every destination (services.<name>.resilience.circuitBreaker overrides). */
  circuitBreaker: z
    .strictObject({
      consecutiveErrors: circuitBreakerFields.consecutiveErrors.default(5),
      intervalSeconds: circuitBreakerFields.intervalSeconds.default(10),
      baseEjectionSeconds: circuitBreakerFields.baseEjectionSeconds.default(30),
      maxEjectionPercent: circuitBreakerFields.maxEjectionPercent.default(50),
    })
    .prefault({}),
  /** Sagas (multi-service transactions with compensations), keyed by name; the formal saga model checks each. */
  sagas: z.record(dnsLabel, sagaSchema).default({}),
});

// ---------------------------------------------------------------------------------------------
// The platform
// ---------------------------------------------------------------------------------------------

export const structuralSchema = z.strictObject({
  /** dev or prod: prod turns on the invariants in crossFieldRules. */
  environment: z.enum(["dev", "prod"]),
  cluster: clusterSchema.prefault({}),
  /** Where the platform's charts come from; absent: each chart's upstream repository (versions/index.ts). */
  charts: chartsSchema.prefault({}),
  gateway: gatewaySchema,
  mesh: meshSchema.prefault({}),
  discovery: discoverySchema,
  messaging: messagingSchema.prefault({}),
  observability: observabilitySchema.prefault({}),
  security: securitySchema,
  resilience: resilienceSchema.prefault({}),
  /** The secret store and External Secrets (docs/secrets.md). */
  secrets: secretsSchema.prefault({}),
  slo: sloSchema.prefault({}),
  services: z.record(serviceName, serviceSchema),
});

export type PlatformConfig = z.output<typeof structuralSchema>;
/** What a program writes to declare a platform: the schema's input, every defaulted key optional. */
export type PlatformInput = z.input<typeof structuralSchema>;
export type EtcdConfig = z.output<typeof etcdSchema>;
export type ConsulConfig = z.output<typeof consulSchema>;
export type KafkaConfig = z.output<typeof kafkaSchema>;
export type NatsConfig = z.output<typeof natsSchema>;

/** The chosen store's settings, with the schema defaults when the stack gives none. */
export const etcdSettings = (d: PlatformConfig["discovery"]): EtcdConfig => d.etcd ?? etcdSchema.parse({});
export const consulSettings = (d: PlatformConfig["discovery"]): ConsulConfig => d.consul ?? consulSchema.parse({});
export type ServiceConfig = PlatformConfig["services"][string];
export type CallConfig = ServiceConfig["calls"][number];
export type ExposureConfig = NonNullable<ServiceConfig["expose"]>;
export type SloConfig = PlatformConfig["slo"];

/** Namespaces the platform's own components create; services may not use them. */
export const PLATFORM_NAMESPACES = { discovery: "discovery", kafka: "kafka", nats: "nats", mesh: "istio-system", observability: "observability", security: "kyverno", delivery: "flagger", secrets: "vault", externalSecrets: "external-secrets" } as const;

/**
 * Where workloads, the mesh and the gateway send telemetry, or undefined when nothing receives it:
 * with observability off, the platform's own collector is not deployed, so only an endpoint of the
 * stack's own is used.
 */
export function telemetryEndpoint(cfg: Pick<PlatformConfig, "observability">): string | undefined {
  const o = cfg.observability;
  return o.enabled || o.otlpEndpoint !== PLATFORM_OTLP_ENDPOINT ? o.otlpEndpoint : undefined;
}

/** Node labels the placement proof gives each node itself; cluster.nodeLabels may not set them. */
export const NODE_IDENTITY_LABELS: readonly string[] = ["kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region"];

/** The nodes the placement proof schedules on: zones (one unnamed zone when none) × nodes per zone. */
export function clusterProfile(cfg: Pick<PlatformConfig, "cluster" | "environment">): { zones: string[]; nodesPerZone: number; nodeLabels: Record<string, string> } {
  const zones = cfg.cluster.zones.length ? [...cfg.cluster.zones] : ["zone-a"];
  const nodesPerZone = cfg.cluster.nodesPerZone ?? (cfg.environment === "prod" ? (cfg.cluster.zones.length ? 2 : 3) : 1);
  return { zones, nodesPerZone, nodeLabels: { ...cfg.cluster.nodeLabels } };
}

/** NATS subject syntax: non-empty dot-separated tokens, no whitespace, `>` only as the last token. */
export function natsSubjectValid(s: string): boolean {
  const t = s.split(".");
  return t.every((x, i) => x.length > 0 && !/\s/.test(x) && (x !== ">" || i === t.length - 1) && (!/[*>]/.test(x) || x.length === 1));
}

/** Whether every concrete subject `inner` matches is also matched by `outer` (NATS wildcards). */
export function natsSubjectWithin(inner: string, outer: string): boolean {
  const ti = inner.split(".");
  const to = outer.split(".");
  for (let i = 0; ; i++) {
    if (i === to.length) return i === ti.length;
    if (to[i] === ">") return i < ti.length;
    if (i === ti.length) return false;
    if (ti[i] === ">") return false;
    if (to[i] !== "*" && (ti[i] === "*" || ti[i] !== to[i])) return false;
  }
}

/** Whether some concrete subject matches both patterns (NATS wildcards: `*` one token, `>` one or more at the end). */
export function natsSubjectsCollide(a: string, b: string): boolean {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; ; i++) {
    if (i === ta.length || i === tb.length) return ta.length === tb.length;
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === ">" || y === ">") return true;
    if (x !== "*" && y !== "*" && x !== y) return false;
  }
}

/**
 * Env names the platform sets itself: telemetry in every service, and the store's and Kafka's
 * connection in their clients (components/discovery, components/messaging; a test keeps this list
 * equal to what they set). A service's own env or secretEnv may not take them.
 */
export const PLATFORM_ENV_NAMES: readonly string[] = [
  "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED",
  "ETCD_ENDPOINTS", "ETCD_USERNAME", "ETCD_KEY_PREFIX", "ETCD_CA_PEM", "ETCD_CERT_PEM", "ETCD_KEY_PEM",
  "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_KEY_PREFIX", "CONSUL_CACERT_PEM",
  "NATS_URL", "NATS_INBOX_PREFIX", "NATS_CA_PEM", "NATS_CERT_PEM", "NATS_KEY_PEM",
  "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_JAAS_CONFIG", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_CA_PEM", "KAFKA_ACKS", "KAFKA_ENABLE_IDEMPOTENCE", "KAFKA_GROUP_ID",
];

/** A problem found by a cross-field rule. */
export interface ConfigProblem {
  /** Key path below `platform:`, e.g. ["services", "order-service", "calls", 0, "service"]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly got: unknown;
  readonly expected: string;
}


/** Parses a Kubernetes byte quantity into bytes (only the suffixes the schema admits). */
export function bytesOf(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGTP]i|[kMGTP])?$/.exec(q);
  if (!m) throw new Error(`not a byte quantity: ${q}`);
  const unit: Record<string, number> = {
    "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
  };
  return Number(m[1]) * unit[m[2] ?? ""]!;
}

/** Days covered by a Prometheus retention such as 15d, 36h or 4w (the forms the schema admits). */
export function retentionDays(r: string): number {
  const m = /^([0-9]+)([dhw])$/.exec(r);
  if (!m) throw new Error(`not a retention: ${r}`);
  return Number(m[1]) * ({ h: 1 / 24, d: 1, w: 7 } as const)[m[2] as "h" | "d" | "w"];
}

/**
 * Rules across fields. Pure: returns every problem, in a stable order. Runs on a structurally
 * valid, defaulted config.
 */
export function crossFieldRules(c: PlatformConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (path: (string | number)[], message: string, got: unknown, expected: string) =>
    out.push({ path, message, got, expected });
  const prod = c.environment === "prod";
  const serviceNames = Object.keys(c.services);
  const kafkaTopics = Object.keys(c.messaging.kafka.topics);

  // Exclusive choices: settings for the implementation/store not chosen are a mistake, not noise.
  for (const impl of ["traefik", "envoy"] as const) {
    if (c.gateway[impl] !== undefined && c.gateway.implementation !== impl) {
      add(["gateway", impl], `settings for ${impl} given, but gateway.implementation is ${c.gateway.implementation}`, c.gateway[impl], `only gateway.${c.gateway.implementation}`);
    }
  }
  for (const store of ["etcd", "consul"] as const) {
    if (c.discovery[store] !== undefined && c.discovery.store !== store) {
      add(["discovery", store], `settings for ${store} given, but discovery.store is ${c.discovery.store}`, c.discovery[store], `only discovery.${c.discovery.store}`);
    }
  }
  if (c.gateway.tls.mode === "existingSecret" && c.gateway.tls.secretName === undefined) {
    add(["gateway", "tls", "secretName"], "required when gateway.tls.mode is existingSecret", undefined, "the name of a kubernetes.io/tls Secret");
  }
  if (c.mesh.ca.mode === "external" && c.mesh.ca.secretName === undefined) {
    add(["mesh", "ca", "secretName"], "required when mesh.ca.mode is external", undefined, "the name of an existing cacerts Secret");
  }
  // istiod reads its plug-in CA from exactly one place; naming another Secret would silently do nothing.
  if (c.mesh.ca.mode === "external" && c.mesh.ca.secretName !== undefined && c.mesh.ca.secretName !== "cacerts") {
    add(["mesh", "ca", "secretName"], "istiod reads the plug-in CA only from the Secret cacerts in istio-system", c.mesh.ca.secretName, "cacerts");
  }

  // The store is on the path of every secret a pod reads: in prod it must survive losing a server.
  if (prod && c.secrets.enabled && c.secrets.replicas < 3) add(["secrets", "replicas"], "prod runs the secret store highly available (raft quorum)", c.secrets.replicas, "3 or 5");
  if (c.secrets.platformSecrets.enabled && !c.secrets.enabled) add(["secrets", "platformSecrets", "enabled"], "the platform's secrets go through the store, and secrets.enabled is false", true, "secrets.enabled: true, or platformSecrets.enabled: false");
  // Quorum systems need an odd member count.
  const etcdMembers = etcdSettings(c.discovery).members;
  if (c.discovery.store === "etcd" && etcdMembers % 2 === 0) {
    add(["discovery", "etcd", "members"], "etcd needs an odd member count for a quorum", etcdMembers, "1, 3, 5 or 7");
  }
  const consulServers = consulSettings(c.discovery).servers;
  if (c.discovery.store === "consul" && consulServers % 2 === 0) {
    add(["discovery", "consul", "servers"], "Consul needs an odd server count for a quorum", consulServers, "1, 3, 5 or 7");
  }
  const kafka = c.messaging.kafka;
  if (kafka.enabled && kafka.combinedRoles && kafka.brokers !== kafka.controllers) {
    add(["messaging", "kafka", "brokers"], "with combinedRoles every node is a controller and a broker, so the counts must match", kafka.brokers, `${kafka.controllers} (messaging.kafka.controllers)`);
  }
  if (kafka.enabled && kafka.controllers % 2 === 0) {
    add(["messaging", "kafka", "controllers"], "KRaft controllers need an odd count for a quorum", kafka.controllers, "1, 3 or 5");
  }
  if (c.messaging.nats.enabled && c.messaging.nats.replicas % 2 === 0) {
    add(["messaging", "nats", "replicas"], "JetStream needs an odd server count for a quorum", c.messaging.nats.replicas, "1, 3 or 5");
  }

  // Kafka replication relations, per topic with defaults applied.
  if (kafka.enabled) {
    const brokers = kafka.brokers;
    if (prod && kafka.combinedRoles) {
      add(["messaging", "kafka", "combinedRoles"], "combined controller+broker nodes are for dev only", true, "false in prod");
    }
    if (prod && kafka.uncleanLeaderElection) {
      add(["messaging", "kafka", "uncleanLeaderElection"], "unclean leader election can lose acknowledged messages", true, "false in prod");
    }
    const check = (path: (string | number)[], t: { partitions: number; replicationFactor: number; minInsyncReplicas: number }) => {
      if (t.replicationFactor > brokers) {
        add([...path, "replicationFactor"], `replication factor exceeds the ${brokers} broker(s)`, t.replicationFactor, `at most ${brokers}`);
      }
      if (t.minInsyncReplicas >= t.replicationFactor && !(t.replicationFactor === 1 && t.minInsyncReplicas === 1 && !prod)) {
        add([...path, "minInsyncReplicas"], "min.insync.replicas must be below the replication factor, or one broker down stops producers", t.minInsyncReplicas, `at most ${Math.max(1, t.replicationFactor - 1)}`);
      }
      if (prod && t.replicationFactor < 3) {
        add([...path, "replicationFactor"], "prod topics need at least 3 replicas", t.replicationFactor, "at least 3");
      }
      if (prod && t.minInsyncReplicas < 2) {
        add([...path, "minInsyncReplicas"], "prod topics need min.insync.replicas of at least 2 (acks=all is only as strong as it)", t.minInsyncReplicas, "at least 2");
      }
    };
    const before = out.length;
    check(["messaging", "kafka", "topicDefaults"], kafka.topicDefaults);
    // A field the defaults already fail on is reported once, at the defaults' key, not again for
    // every topic that merely inherits it.
    const failingDefaults = new Set(out.slice(before).map((p) => `${String(p.path[p.path.length - 1])}|${p.message}`));
    for (const [name, t] of Object.entries(kafka.topics)) {
      if (Object.keys(t).length === 0) continue;
      const mark = out.length;
      check(["messaging", "kafka", "topics", name], { ...kafka.topicDefaults, ...t });
      const own = out.splice(mark).filter((p) => {
        const field = String(p.path[p.path.length - 1]);
        return field in t || !failingDefaults.has(`${field}|${p.message}`);
      });
      out.push(...own);
    }
  }

  // JetStream: names the server accepts, replica counts the cluster can hold, no subject twice.
  const nats = c.messaging.nats;
  if (nats.enabled) {
    const named: [string, string][] = [...Object.keys(nats.streams).map((n) => ["streams", n] as [string, string]), ...Object.keys(nats.kvBuckets).map((n) => ["kvBuckets", n] as [string, string])];
    for (const [kind, n] of named) {
      if (n.includes(".")) add(["messaging", "nats", kind, n], `JetStream ${kind === "streams" ? "stream" : "bucket"} names cannot contain '.'`, n, "letters, digits, '-' (e.g. " + n.replace(/\./g, "-") + ")");
    }
    const owner = new Map<string, string>();
    const claimed: { subject: string; stream: string }[] = [];
    for (const [n, st] of Object.entries(nats.streams)) {
      const at = ["messaging", "nats", "streams", n];
      if (st.replicas !== undefined && st.replicas > nats.replicas) add([...at, "replicas"], `stream replicas exceed the ${nats.replicas} NATS server(s)`, st.replicas, `at most ${nats.replicas}`);
      if (st.replicas !== undefined && st.replicas > 5) add([...at, "replicas"], "JetStream keeps at most 5 replicas of a stream", st.replicas, "at most 5");
      if (prod && st.replicas !== undefined && st.replicas < 3) add([...at, "replicas"], "prod streams need at least 3 replicas to survive a server loss", st.replicas, "3 or 5 (or leave unset: every server)");
      st.subjects.forEach((subj, i) => {
        if (!natsSubjectValid(subj)) {
          add([...at, "subjects", i], "is not a NATS subject", subj, "dot-separated tokens without spaces, '*' for one token, '>' only as the last token");
          return;
        }
        const other = owner.get(subj) ?? claimed.find((c) => c.stream !== n && natsSubjectsCollide(c.subject, subj))?.stream;
        if (other !== undefined) add([...at, "subjects", i], `subject already captured by stream ${other}; JetStream rejects overlapping streams`, subj, "a subject no other stream's subjects match");
        else {
          owner.set(subj, n);
          claimed.push({ subject: subj, stream: n });
        }
      });
    }
  }

  // Services' NATS use: real subjects inside the declared streams, buckets that exist, and no
  // subscription to what nobody publishes (it would wait forever, or hide a typo).
  const natsUse = Object.entries(c.services).filter(([, s]) => s.nats !== undefined) as [string, ServiceConfig & { nats: NonNullable<ServiceConfig["nats"]> }][];
  const streamSubjects = Object.entries(nats.streams).flatMap(([n, st]) => st.subjects.filter(natsSubjectValid).map((subject) => ({ stream: n, subject })));
  // With a stream subject already refused, the streams are the mistake: services are not judged against them.
  const streamsValid = Object.values(nats.streams).every((st) => st.subjects.every(natsSubjectValid));
  const buckets = Object.keys(nats.kvBuckets);
  for (const [name, s] of natsUse) {
    const at = (...p: (string | number)[]) => ["services", name, "nats", ...p];
    if (!nats.enabled) {
      add(at(), "declares NATS use but messaging.nats.enabled is false", name, "messaging.nats.enabled: true, or no nats block");
      continue;
    }
    for (const field of ["publish", "subscribe"] as const) {
      s.nats[field].forEach((subj, i) => {
        if (!natsSubjectValid(subj)) add(at(field, i), "is not a NATS subject", subj, "dot-separated tokens without spaces, '*' for one token, '>' only as the last token");
        else if (subj.startsWith("$") || subj.startsWith("_INBOX")) add(at(field, i), "is a subject the platform grants itself (JetStream API, KV, replies)", subj, "an application subject inside a declared stream");
        else if (streamsValid && !streamSubjects.some((st) => natsSubjectWithin(subj, st.subject))) {
          const wider = streamSubjects.filter((st) => natsSubjectsCollide(subj, st.subject));
          add(
            at(field, i),
            wider.length ? `is broader than the declared streams (${wider.map((w) => `${w.stream}: ${w.subject}`).join(", ")})` : "is in no declared stream (messaging.nats.streams)",
            subj,
            streamSubjects.length ? `a subject within ${streamSubjects.map((st) => st.subject).join(" | ")}` : "declare a stream for it in messaging.nats.streams",
          );
        }
      });
    }
    s.nats.subscribe.forEach((subj, i) => {
      if (!natsSubjectValid(subj) || !streamsValid) return;
      if (!natsUse.some(([, o]) => o.nats.publish.some((p) => natsSubjectValid(p) && natsSubjectsCollide(p, subj)))) {
        add(at("subscribe", i), "no service publishes to this subject (services.<name>.nats.publish)", subj, "a subject some service publishes, or declare its publisher");
      }
    });
    for (const field of ["kvRead", "kvWrite"] as const) {
      s.nats[field].forEach((b, i) => {
        if (!buckets.includes(b)) add(at(field, i), "uses a KV bucket that is not declared in messaging.nats.kvBuckets", b, buckets.length ? buckets.join(" | ") : "a declared bucket");
      });
    }
  }

  // Prod invariants: HA and supply chain.
  if (prod) {
    if (!c.security.requireDigest) add(["security", "requireDigest"], "prod images must be pinned by digest", false, "true in prod");
    if (c.security.enforcement !== "Enforce") add(["security", "enforcement"], "prod admission policies must enforce", c.security.enforcement, "Enforce in prod");
    if (!c.observability.enabled) add(["observability", "enabled"], "prod needs observability (metrics, SLO burn-rate alerts, traces and logs)", false, "true in prod");
    if (!c.security.admission.enabled) add(["security", "admission", "enabled"], "prod needs admission control (Pod Security, registries, digests, signatures)", false, "true in prod");
    if (!c.security.networkPolicies) add(["security", "networkPolicies"], "prod needs a default deny in every platform namespace (inert where the CNI enforces none)", false, "true in prod");
    if (c.gateway.enabled && c.gateway.replicas < 2) add(["gateway", "replicas"], "prod gateway needs at least 2 replicas", c.gateway.replicas, "at least 2");
    if (c.mesh.enabled && c.mesh.replicas < 2) add(["mesh", "replicas"], "prod istiod needs at least 2 replicas", c.mesh.replicas, "at least 2");
    if (!c.mesh.enabled) add(["mesh", "enabled"], "prod needs the mesh (mTLS and authorization)", false, "true in prod");
    if (c.discovery.store === "etcd" && etcdMembers < 3) add(["discovery", "etcd", "members"], "prod etcd needs at least 3 members", etcdMembers, "3, 5 or 7");
    if (c.discovery.store === "consul" && consulServers < 3) add(["discovery", "consul", "servers"], "prod Consul needs at least 3 servers", consulServers, "3, 5 or 7");
    if (kafka.enabled && kafka.controllers < 3) add(["messaging", "kafka", "controllers"], "prod KRaft needs at least 3 controllers", kafka.controllers, "3 or 5");
    if (c.messaging.nats.enabled && c.messaging.nats.replicas < 3) add(["messaging", "nats", "replicas"], "prod JetStream needs at least 3 servers", c.messaging.nats.replicas, "3 or 5");
    const obs = c.observability;
    if (obs.prometheus.replicas < 2) add(["observability", "prometheus", "replicas"], "prod Prometheus needs 2 replicas to survive a node drain", obs.prometheus.replicas, "at least 2");
    if (obs.alertmanager.replicas < 3) add(["observability", "alertmanager", "replicas"], "prod Alertmanager needs 3 replicas for a gossip quorum", obs.alertmanager.replicas, "at least 3");
    if (obs.collector.gatewayReplicas.min < 2) add(["observability", "collector", "gatewayReplicas", "min"], "prod collector gateway needs at least 2 replicas", obs.collector.gatewayReplicas.min, "at least 2");
    if (retentionDays(obs.prometheus.retention) < c.slo.windowDays) {
      add(["observability", "prometheus", "retention"], "Prometheus retention is shorter than the SLO window, so error budgets would be computed over less data", obs.prometheus.retention, `at least ${c.slo.windowDays}d (slo.windowDays)`);
    }
  }
  const gw = c.observability.collector.gatewayReplicas;
  if (gw.min > gw.max) add(["observability", "collector", "gatewayReplicas", "min"], "min replicas exceed max replicas", gw.min, `at most ${gw.max}`);

  // Latency objectives: a higher percentile cannot be faster than a lower one.
  const inversion = (l: { p50: number; p95: number; p99: number }) => l.p50 > l.p95 || l.p95 > l.p99;
  if (inversion(c.slo.latencyMs)) add(["slo", "latencyMs"], "latency objectives out of percentile order", c.slo.latencyMs, "p50 ≤ p95 ≤ p99");

  // Services: references, exposure, images, environment.
  for (const [name, s] of Object.entries(c.services)) {
    const at = (...p: (string | number)[]) => ["services", name, ...p];
    if (s.replicas.min > s.replicas.max) add(at("replicas", "min"), "min replicas exceed max replicas", s.replicas.min, `at most ${s.replicas.max}`);
    if (prod && s.replicas.min < 2) add(at("replicas", "min"), "prod services need at least 2 replicas to survive a node drain", s.replicas.min, "at least 2");
    if (bytesOf(s.resources.limits.memory) < bytesOf(s.resources.requests.memory)) {
      add(at("resources", "limits", "memory"), "memory limit is below the memory request", s.resources.limits.memory, `at least ${s.resources.requests.memory}`);
    }
    if (s.resources.limits.cpu !== undefined && coresOf(s.resources.limits.cpu) < coresOf(s.resources.requests.cpu)) {
      add(at("resources", "limits", "cpu"), "CPU limit is below the CPU request (the API server refuses the pod)", s.resources.limits.cpu, `at least ${s.resources.requests.cpu}`);
    }
    const images: [(string | number)[], string][] = [[at("image"), s.image]];
    if (s.expose?.canary) images.push([at("expose", "canary", "image"), s.expose.canary.image]);
    for (const [p, image] of images) {
      if ((c.security.requireDigest || prod) && !image.includes("@sha256:")) {
        add(p, prod ? "prod images must be pinned by digest" : "image must be pinned by digest (security.requireDigest)", image, "<registry>/<repository>@sha256:<64 hex>");
      }
      if (!c.security.allowedRegistries.some((r) => image.startsWith(r + "/"))) {
        add(p, "image is not from an allowed registry (security.allowedRegistries)", image, c.security.allowedRegistries.join(" | "));
      }
    }
    s.calls.forEach((call, i) => {
      if (!serviceNames.includes(call.service)) add(at("calls", i, "service"), "calls a service that is not declared", call.service, serviceNames.join(" | "));
      else if (call.service === name) add(at("calls", i, "service"), "a service does not declare calls to itself", call.service, "another service");
    });
    const topicRefs: [string, string[]][] = [["produces", s.produces], ["consumes", s.consumes]];
    for (const [field, topics] of topicRefs) {
      topics.forEach((t, i) => {
        if (!kafka.enabled) add(at(field, i), "uses a Kafka topic but messaging.kafka.enabled is false", t, "messaging.kafka.enabled: true");
        else if (!kafkaTopics.includes(t)) add(at(field, i), "uses a topic that is not declared in messaging.kafka.topics", t, kafkaTopics.length ? kafkaTopics.join(" | ") : "a declared topic");
      });
    }
    // The gateway's namespace is configurable; the others are fixed. A service there would inherit
    // their Pod Security level (privileged in istio-system) and fall outside the default-deny policies.
    const reserved = [...(Object.values(PLATFORM_NAMESPACES) as string[]), c.gateway.namespace];
    if (reserved.includes(s.namespace)) add(at("namespace"), "namespace belongs to a platform component", s.namespace, `any namespace but ${reserved.join(", ")}`);
    // Kubernetes' own: kube-system and kube-public hold the cluster's components and public data,
    // kube-node-lease the node heartbeats; `default` is where unqualified objects land.
    else if (s.namespace.startsWith("kube-") || s.namespace === "default") add(at("namespace"), "namespace is Kubernetes' own", s.namespace, "a namespace of the application's own (not default or kube-*)");
    // A service's latency objectives in percentile order, after the platform's fill what it leaves out.
    if (s.slo?.latencyMs) {
      const lat = { ...c.slo.latencyMs, ...Object.fromEntries(Object.entries(s.slo.latencyMs).filter(([, v]) => v !== undefined)) };
      if (inversion(lat)) add(at("slo", "latencyMs"), "latency objectives out of percentile order", lat, "p50 ≤ p95 ≤ p99");
    }
    if (s.configStore && c.discovery.store === "none") add(at("configStore"), "the service needs the config store, and discovery.store is none", true, "discovery.store etcd or consul, or configStore: false");
    if (s.consumerGroup !== undefined && s.consumes.length === 0) {
      add(at("consumerGroup"), "a consumer group without consumed topics grants nothing", s.consumerGroup, "consumes: [<topic>, ...] or no consumerGroup");
    }
    for (const key of Object.keys(s.env)) {
      const why = secretLooking(key, s.env[key]);
      // The value is never shown: it may be the secret.
      if (why) add(at("env", key), `looks like a secret (${why}); plain env is not for secrets`, MASKED, `secretEnv.${key}: {secret: <Secret name>, key: <data key>} (a Secret in namespace ${s.namespace})`);
      if (PLATFORM_ENV_NAMES.includes(key)) add(at("env", key), "is set by the platform (telemetry, or the store's, Kafka's and NATS's connection)", key, "another name");
      if (key in s.secretEnv) add(at("env", key), "is also in secretEnv: one variable, two values", key, "the name in env or in secretEnv, not both");
    }
    for (const [key, sec] of Object.entries(s.secrets)) {
      if (!c.secrets.enabled) add(at("secrets", key), "the service declares a store secret, and secrets.enabled is false", key, "secrets.enabled: true, or secretEnv from a Secret of the team's own");
      if (PLATFORM_ENV_NAMES.includes(key)) add(at("secrets", key), "is set by the platform (telemetry, or the store's, Kafka's and NATS's connection)", key, "another name");
      if (key in s.env || key in s.secretEnv) add(at("secrets", key), "is also in env or secretEnv: one variable, two values", key, "the name in one of env, secretEnv, secrets");
      if (sec.path.split("/").length > 8) add(at("secrets", key, "path"), "is deeper than 8 segments", sec.path, "a shorter path");
    }
    // File secrets get the volume `store-secrets` at /var/run/secrets/platform: nothing else may take either.
    if (Object.values(s.secrets).some((x) => x.as === "file")) {
      if ("store-secrets" in s.pod.volumes) add(at("pod", "volumes", "store-secrets"), "is the volume of the service's file secrets (secrets.<name>.as: file)", "store-secrets", "another volume name");
      const under = (p: string) => p === "/var/run/secrets/platform" || p.startsWith("/var/run/secrets/platform/") || "/var/run/secrets/platform".startsWith(`${p.replace(/\/+$/, "")}/`);
      for (const [vol, v] of Object.entries(s.pod.volumes)) if (under(v.mountPath)) add(at("pod", "volumes", vol, "mountPath"), "overlaps the mount of the service's file secrets (/var/run/secrets/platform)", v.mountPath, "a path outside /var/run/secrets/platform");
      s.writablePaths.forEach((p, i) => {
        if (under(p)) add(at("writablePaths", i), "overlaps the mount of the service's file secrets (/var/run/secrets/platform)", p, "a path outside /var/run/secrets/platform");
      });
    }
    for (const key of Object.keys(s.secretEnv)) {
      if (PLATFORM_ENV_NAMES.includes(key)) add(at("secretEnv", key), "is set by the platform (telemetry, or the store's, Kafka's and NATS's connection)", key, "another name");
    }
    if (s.expose) {
      if (!c.gateway.enabled) add(at("expose"), "service is exposed but the gateway is disabled", s.expose.hosts, "gateway.enabled: true");
      s.expose.hosts.forEach((h, i) => {
        if (!c.gateway.hostnames.some((g) => hostCovered(g, h))) add(at("expose", "hosts", i), "host is not served by the gateway", h, c.gateway.hostnames.join(" | "));
      });
      const canary = s.expose.canary;
      if (canary && canary.weights.stable + canary.weights.canary !== 100) {
        add(at("expose", "canary", "weights"), "canary weights must sum to 100", canary.weights, "stable + canary = 100");
      }
      // Feature parity: where the chosen implementation cannot do what was asked, say so by key.
      if (c.gateway.implementation === "envoy" && s.expose.rateLimit?.burst !== undefined) {
        add(at("expose", "rateLimit", "burst"), "Envoy Gateway's local rate limit has no separate burst (its bucket holds requestsPerSecond tokens)", s.expose.rateLimit.burst, "no burst with gateway.implementation envoy");
      }
      if (c.gateway.implementation === "envoy" && s.expose.sticky && canary && canary.weights.stable > 0 && canary.weights.canary > 0) {
        add(at("expose", "sticky"), "Envoy Gateway's cookie hashing pins a pod inside one backend but not the stable/canary choice, so a sticky client would flip versions", s.expose.sticky, "no sticky with a split canary on envoy (traefik pins both)");
      }
      if (s.protocol === "grpc" && s.expose.sticky) {
        add(at("expose", "sticky"), "sticky sessions by cookie need HTTP routes; this service is gRPC", s.expose.sticky, "no sticky on gRPC services");
      }
    }
    if (s.rollout.strategy === "progressive") progressiveRules(c, name, s, add);
  }
  // One owner per host, path and header match: two routes claiming the same match leave the
  // choice to the gateway's tie-break (the older route wins in Gateway API), so one service would
  // silently receive the other's traffic.
  const claimedMatch = new Map<string, string>();
  for (const [name, s] of Object.entries(c.services)) {
    if (!s.expose) continue;
    const headers = JSON.stringify(Object.entries(s.expose.headers).sort());
    s.expose.hosts.forEach((h, i) => {
      for (const p of s.expose!.paths) {
        const k = `${h} ${s.protocol === "grpc" ? "grpc" : "http"} ${p} ${headers}`;
        const other = claimedMatch.get(k);
        if (other !== undefined && other !== name) add(["services", name, "expose", "hosts", i], `host ${h} with path ${p} is already routed to ${other}: the gateway would pick one of the two routes by age`, h, `another host or path than services.${other}.expose`);
        else claimedMatch.set(k, name);
      }
    });
  }
  // Sagas: the orchestrator and every participant are declared services, and the orchestrator
  // declares a call to each participant (the mesh only allows declared calls). Their commands,
  // replies and dead letters travel on Kafka topics the platform creates.
  for (const [name, saga] of Object.entries(c.resilience.sagas)) {
    const at = (...p: (string | number)[]) => ["resilience", "sagas", name, ...p];
    if (!kafka.enabled) add(at(), "a saga's commands, replies and dead letters travel on Kafka topics the platform creates, and messaging.kafka.enabled is false", name, "messaging.kafka.enabled: true, or no sagas");
    const t = sagaTopics(name, saga);
    for (const topic of [...Object.values(t.commands), t.replies, t.deadLetter]) {
      if (kafkaTopics.includes(topic)) add(["messaging", "kafka", "topics", topic], `is the topic the platform creates for saga ${name}`, topic, "another topic name (saga topics are created with messaging.kafka.topicDefaults)");
    }
    const orchestrator = c.services[saga.orchestrator];
    if (!orchestrator) add(at("orchestrator"), "orchestrator is not a declared service", saga.orchestrator, serviceNames.join(" | "));
    saga.steps.forEach((step, i) => {
      if (!serviceNames.includes(step.service)) add(at("steps", i, "service"), "step runs on a service that is not declared", step.service, serviceNames.join(" | "));
      else if (orchestrator && step.service !== saga.orchestrator && !orchestrator.calls.some((call) => call.service === step.service)) {
        add(at("steps", i, "service"), `the orchestrator ${saga.orchestrator} does not declare a call to this service`, step.service, `a service in services.${saga.orchestrator}.calls`);
      }
    });
  }
  for (const k of Object.keys(c.cluster.nodeLabels)) {
    if (NODE_IDENTITY_LABELS.includes(k)) add(["cluster", "nodeLabels", k], "is derived per node by the placement proof (from cluster.zones and nodesPerZone)", k, "another label");
  }
  // Escape hatches: nothing that takes over what the platform owns, nothing Kubernetes refuses.
  for (const [name, s] of Object.entries(c.services)) {
    for (const field of ["labels", "annotations"] as const) {
      for (const k of Object.keys(s.pod[field])) {
        if (RESERVED_POD_KEY.test(k)) add(["services", name, "pod", field, k], "is a key the platform owns (identity, routing, mesh enrollment) or Kubernetes reserves", k, "a key of your own prefix, e.g. team.example.com/owner");
      }
    }
    const mounts = new Map<string, string>(s.writablePaths.map((p) => [p, "writablePaths"]));
    for (const [vol, v] of Object.entries(s.pod.volumes)) {
      const at = ["services", name, "pod", "volumes", vol];
      const sources = VOLUME_SOURCES.filter((k) => v[k] !== undefined);
      if (sources.length !== 1) add(at, `a volume has exactly one source; this one has ${sources.length ? sources.join(" and ") : "none"}`, vol, VOLUME_SOURCES.join(" | "));
      if (/^writable-\d+$/.test(vol)) add(at, "is the name of a writablePaths volume the platform mounts", vol, "another name");
      const other = mounts.get(v.mountPath);
      if (other) add([...at, "mountPath"], `is also mounted by ${other}: a pod refuses two mounts at one path`, v.mountPath, "a path of its own");
      mounts.set(v.mountPath, `pod.volumes.${vol}`);
      if (v.emptyDir && v.readOnly) add([...at, "readOnly"], "a read-only emptyDir is always empty", v.readOnly, "false, or another source");
    }
    s.pod.envFrom.forEach((e, i) => {
      if ((e.secret === undefined) === (e.configMap === undefined)) add(["services", name, "pod", "envFrom", i], "an envFrom entry names exactly one Secret or ConfigMap", e, "{secret: <name>} or {configMap: <name>}");
    });
    const reqs = [
      ...(s.pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).flatMap((t) => [...(t.matchExpressions ?? []), ...(t.matchFields ?? [])]),
      ...(s.pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).flatMap((t) => [...(t.preference.matchExpressions ?? []), ...(t.preference.matchFields ?? [])]),
    ];
    for (const r of reqs) {
      const n = r.values?.length ?? 0;
      const ok = r.operator === "In" || r.operator === "NotIn" ? n > 0 : r.operator === "Gt" || r.operator === "Lt" ? n === 1 && /^-?\d+$/.test(r.values![0]!) : n === 0;
      if (!ok) add(["services", name, "pod", "affinity"], `operator ${r.operator} on ${r.key} takes ${r.operator === "In" || r.operator === "NotIn" ? "one or more values" : r.operator === "Gt" || r.operator === "Lt" ? "exactly one integer value" : "no values"} (the API server refuses it)`, r.values ?? [], "values that fit the operator");
    }
    s.pod.tolerations.forEach((t, i) => {
      if (t.operator === "Exists" && t.value !== undefined) add(["services", name, "pod", "tolerations", i, "value"], "a toleration with operator Exists takes no value (the API server refuses it)", t.value, "no value, or operator Equal");
      if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") add(["services", name, "pod", "tolerations", i, "tolerationSeconds"], "only a NoExecute toleration has tolerationSeconds", t.tolerationSeconds, "effect: NoExecute, or no tolerationSeconds");
      if (t.key === undefined && t.operator !== "Exists") add(["services", name, "pod", "tolerations", i, "key"], "a toleration without a key must use operator Exists (it then tolerates every taint)", t, "a key, or operator: Exists");
    });
  }
  const chartNames: string[] = [...new Set(Object.values(pinnedCharts).map((p) => p.chart))].sort();
  for (const chart of Object.keys(c.charts.values)) {
    if (!chartNames.includes(chart)) add(["charts", "values", chart], "is not a chart the platform installs", chart, chartNames.join(" | "));
  }
  // The platform writes Alertmanager's configuration Secret itself (from `config` and `templateFiles`):
  // the chart's templated forms would be read by nothing.
  const alertmanagerOver = (c.charts.values["kube-prometheus-stack"]?.["alertmanager"] ?? {}) as Record<string, unknown>;
  for (const key of ["tplConfig", "stringConfig", "secret"]) {
    if (alertmanagerOver[key] !== undefined) add(["charts", "values", "kube-prometheus-stack", "alertmanager", key], "is not read: the platform writes Alertmanager's configuration Secret from alertmanager.config and alertmanager.templateFiles", alertmanagerOver[key], "alertmanager.config (a map or a string) and alertmanager.templateFiles");
  }

  // Timeouts, retries and breakers: what the mesh and the gateway will do (config/resilience.ts).
  out.push(...resilienceRules(c));
  return out;
}

/** Whether gateway hostname `g` (possibly `*.example.com`) covers route host `h`. */
export function hostCovered(g: string, h: string): boolean {
  if (g === h) return true;
  if (g.startsWith("*.")) {
    const suffix = g.slice(1);
    return h.endsWith(suffix) && !h.slice(0, -suffix.length).includes(".") && !h.startsWith("*");
  }
  return false;
}

/**
 * What a progressive rollout needs (Flagger 1.36.1): the gateway's traffic to shift and Prometheus
 * to read. Flagger owns the weights (Envoy: the HTTPRoute, by its Gateway API router; Traefik: a
 * TraefikService the platform's route sends to, by its Traefik router), so nothing else may split.
 */
function progressiveRules(c: PlatformConfig, name: string, s: ServiceConfig, add: (path: (string | number)[], message: string, value: unknown, allowed: string) => void): void {
  const at = (...p: (string | number)[]) => ["services", name, ...p];
  const r = s.rollout;
  if (!s.expose) add(at("rollout", "strategy"), "progressive delivery shifts the gateway's traffic, and the service is not exposed (east-west canaries are not supported yet)", r.strategy, "expose: {...}, or strategy fixed");
  if (!c.observability.enabled) add(at("rollout", "strategy"), "progressive delivery reads the canary's SLO series from the stack's Prometheus, and observability is off", r.strategy, "observability.enabled: true, or strategy fixed");
  if (s.protocol === "grpc") add(at("rollout", "strategy"), "Flagger's Gateway API router writes HTTPRoutes only, and this service is gRPC (GRPCRoute)", r.strategy, "strategy fixed on gRPC services");
  if (r.stepWeight > r.maxWeight) add(at("rollout", "stepWeight"), "the step is larger than the weight at which the canary is promoted", r.stepWeight, `at most maxWeight (${r.maxWeight})`);
  if (!s.expose) return;
  if (s.expose.canary) add(at("expose", "canary"), "a fixed canary and a progressive rollout would both own the route's weights", "canary", "no expose.canary with rollout.strategy progressive (Flagger makes the canary)");
  if (s.expose.sticky) add(at("expose", "sticky"), "a cookie that pins a pod does not pin the primary/canary choice Flagger shifts, so a sticky client would flip versions", s.expose.sticky, "no sticky with rollout.strategy progressive");
}
