import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts, images } from "../../versions";
import { chartRelease } from "../core/objects";
import { LABEL_SERVICE } from "../shared/labels";

/** Where the collector sends each signal. Plain strings: the backends retry, so no install edge. */
export interface TelemetryBackends {
  /** OTLP/gRPC endpoint of Jaeger (host:port). */
  readonly jaegerOtlpGrpc: string;
  /** OTLP/HTTP base URL of Loki's native OTLP endpoint (…/otlp). */
  readonly lokiOtlpHttp: string;
}

/** What the collector pipelines do with the data (from `platform:observability`). */
export interface CollectorPolicy {
  /** Traces kept by the probabilistic policy, in percent; errors and slow traces are always kept. */
  readonly samplingPercent: number;
  /** A trace at least this slow is always kept (the p99 latency objective). */
  readonly slowTraceMs: number;
  /** Attribute keys deleted from spans, logs and data points before export. */
  readonly redactAttributes: readonly string[];
  /** Regular expressions masked in attribute values and log bodies. */
  readonly redactPatterns: readonly string[];
}

/** Inputs of the OpenTelemetry Collector pair. */
export interface OtelCollectorArgs {
  /** Namespace of both releases (the observability namespace's output, so the releases wait for it). */
  readonly namespace: pulumi.Input<string>;
  /** Plain name of that namespace, for in-cluster DNS names. */
  readonly namespaceName: string;
  /** Cluster DNS domain. */
  readonly clusterDomain: string;
  readonly backends: TelemetryBackends;
  readonly policy: CollectorPolicy;
  /** Gateway replica bounds: HPA between them, PDB when min > 1. */
  readonly gatewayReplicas: { readonly min: number; readonly max: number };
  /** Objects that must exist before the PodMonitor: the prometheus-operator CRDs. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** Release (and Service) names; fullnameOverride pins them, so other areas can name them. */
export const GATEWAY_NAME = "otel-gateway";
export const AGENT_NAME = "otel-agent";
/** Port of the gateway's prometheus exporter (the services' metrics, scraped by Prometheus). */
export const PROM_EXPORTER_PORT = 8889;

/** Processors that remove or mask PII; every pipeline runs them before any exporter sees data. */
export const REDACTION_PROCESSORS = ["attributes/redact", "redaction/mask"] as const;
/** Trims resource attributes before they become metric labels. */
const METRIC_LABELS = "transform/metric-labels";
/**
 * Resource attributes kept on metrics: the service identity (job/instance) and the Kubernetes
 * coordinates that keep pods, containers, volumes and nodes apart.
 */
export const METRIC_RESOURCE_LABELS = [
  "service.name",
  "service.namespace",
  "service.instance.id",
  "service.version",
  "deployment.environment",
  "k8s.namespace.name",
  "k8s.deployment.name",
  "k8s.pod.name",
  "k8s.container.name",
  "k8s.volume.name",
  "k8s.node.name",
];

/** Log-body masking, logs pipelines only. */
export const LOG_BODY_REDACTION = "transform/redact-bodies";

type Config = Record<string, any>;

/** Memory limiter first, batch last: the collector's recommended processor order. */
const memoryLimiter = { check_interval: "1s", limit_percentage: 80, spike_limit_percentage: 25 };
const healthCheck = { health_check: { endpoint: "${env:MY_POD_IP}:13133" } };
const selfTelemetry = {
  metrics: { readers: [{ pull: { exporter: { prometheus: { host: "${env:MY_POD_IP}", port: 8888 } } } }] },
};
const otlpReceiver = {
  otlp: { protocols: { grpc: { endpoint: "${env:MY_POD_IP}:4317" }, http: { endpoint: "${env:MY_POD_IP}:4318" } } },
};

/** The PII processors, shared by the agent and the gateway. */
export function redactionProcessors(p: CollectorPolicy): Config {
  return {
    "attributes/redact": { actions: p.redactAttributes.map((key) => ({ key, action: "delete" })) },
    "redaction/mask": { allow_all_keys: true, blocked_values: [...p.redactPatterns], summary: "silent" },
    [LOG_BODY_REDACTION]: {
      error_mode: "ignore",
      log_statements: [
        {
          context: "log",
          statements: p.redactPatterns.map((re) => `replace_pattern(log.body, ${JSON.stringify(re)}, "****") where IsString(log.body)`),
        },
      ],
    },
  };
}

/** Where the agent puts the connection's pod's platform.io/service label before it becomes service.name. */
const SERVICE_OF_POD = "platform.service";
/** The agent's processors for OTLP, in order: drop the claims, find the pod by connection, stamp its identity. */
export const OTLP_IDENTITY_PROCESSORS = ["resource/claims", "k8s_attributes/otlp", "transform/identity"] as const;

/**
 * service.name from the connection's pod's label; "unattributed" when no pod has the connection's
 * address (its metadata not synced yet, or not a pod at all): never the name the sender claims.
 * Pods without the label (the gateway's proxies, waypoints) keep the name they send.
 */
function identityTransform(): Config {
  const statements = [
    `set(attributes["service.name"], attributes["${SERVICE_OF_POD}"]) where attributes["${SERVICE_OF_POD}"] != nil`,
    `set(attributes["service.name"], "unattributed") where attributes["k8s.pod.uid"] == nil`,
    `delete_key(attributes, "${SERVICE_OF_POD}")`,
  ];
  const ctx = [{ context: "resource", statements }];
  return { error_mode: "ignore", trace_statements: ctx, metric_statements: ctx, log_statements: ctx };
}

/**
 * The node agent: receives the pods' OTLP on the node (its Service has internalTrafficPolicy
 * Local), reads pod logs and kubelet/host metrics, adds Kubernetes attributes, redacts, and
 * forwards to the gateway. Traces are routed by trace ID and metrics by resource, so a trace's
 * spans meet in one gateway replica (tail sampling) and a series always lands on the same
 * replica (the prometheus exporter keeps cumulative state).
 */
export function agentConfig(gatewayHost: string, p: CollectorPolicy): Config {
  const forward = (routing_key: string) => ({
    routing_key,
    protocol: { otlp: { tls: { insecure: true }, sending_queue: { enabled: true }, retry_on_failure: { enabled: true } } },
    resolver: { dns: { hostname: gatewayHost, port: 4317 } },
  });
  // What pods send over OTLP is their claim: the Kubernetes attributes are dropped and re-derived
  // from the connection's pod, and service.name becomes the pod's platform.io/service label.
  // k8s_attributes fills only attributes a resource lacks (processor.go setResourceAttribute), so
  // the label lands in a key of the collector's own and transform/identity moves it over the claim.
  // The collector's own receivers (pod logs, kubelet and host metrics) name their pods themselves
  // and keep the resource-attribute association.
  const processors = (extra: string[], source: "otlp" | "node" = "node") => [
    "memory_limiter",
    ...(source === "otlp" ? [...OTLP_IDENTITY_PROCESSORS] : ["k8s_attributes"]),
    "resource/node",
    ...REDACTION_PROCESSORS,
    ...extra,
    "batch",
  ];
  const k8sAttributes = (podAssociation: Config[], labels: Config[]) => ({
    auth_type: "serviceAccount",
    filter: { node_from_env_var: "OTEL_K8S_NODE_NAME" },
    passthrough: false,
    pod_association: podAssociation,
    extract: {
      metadata: ["k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.deployment.name", "k8s.node.name", "k8s.container.name"],
      labels: [{ tag_name: "service.version", key: "app.kubernetes.io/version", from: "pod" }, ...labels],
    },
  });
  return {
    extensions: healthCheck,
    receivers: {
      ...otlpReceiver,
      kubeletstats: {
        collection_interval: "30s",
        auth_type: "serviceAccount",
        endpoint: "https://${env:OTEL_K8S_NODE_IP}:10250",
        // Kubelet serving certificates are usually self-signed per node.
        insecure_skip_verify: true,
        metric_groups: ["node", "pod", "container", "volume"],
      },
      hostmetrics: {
        root_path: "/hostfs",
        collection_interval: "30s",
        scrapers: { cpu: {}, load: {}, memory: {}, disk: {}, filesystem: {}, network: {} },
      },
      file_log: {
        include: ["/var/log/pods/*/*/*.log"],
        // The agent's own logs would loop back through it.
        exclude: [`/var/log/pods/*_${AGENT_NAME}*_*/*/*.log`],
        start_at: "end",
        include_file_path: true,
        include_file_name: false,
        operators: [{ type: "container", id: "container-parser" }],
      },
    },
    processors: {
      memory_limiter: memoryLimiter,
      k8s_attributes: k8sAttributes(
        [{ sources: [{ from: "resource_attribute", name: "k8s.pod.uid" }] }, { sources: [{ from: "resource_attribute", name: "k8s.pod.ip" }] }, { sources: [{ from: "connection" }] }],
        [],
      ),
      "resource/claims": { attributes: [{ pattern: "^k8s\\.", action: "delete" }, { key: SERVICE_OF_POD, action: "delete" }] },
      "k8s_attributes/otlp": k8sAttributes([{ sources: [{ from: "connection" }] }], [{ tag_name: SERVICE_OF_POD, key: LABEL_SERVICE, from: "pod" }]),
      "transform/identity": identityTransform(),
      // Host metrics carry no resource of their own: name the node, so nodes stay apart.
      "resource/node": { attributes: [{ key: "k8s.node.name", value: "${env:OTEL_K8S_NODE_NAME}", action: "insert" }] },
      ...redactionProcessors(p),
      batch: {},
    },
    exporters: {
      "loadbalancing/traces": forward("traceID"),
      "loadbalancing/metrics": forward("resource"),
      "otlp/gateway": { endpoint: `dns:///${gatewayHost}:4317`, balancer_name: "round_robin", tls: { insecure: true }, sending_queue: { enabled: true } },
    },
    service: {
      extensions: ["health_check"],
      telemetry: selfTelemetry,
      pipelines: {
        traces: { receivers: ["otlp"], processors: processors([], "otlp"), exporters: ["loadbalancing/traces"] },
        metrics: { receivers: ["otlp"], processors: processors([], "otlp"), exporters: ["loadbalancing/metrics"] },
        "metrics/node": { receivers: ["kubeletstats", "hostmetrics"], processors: processors([]), exporters: ["loadbalancing/metrics"] },
        logs: { receivers: ["otlp"], processors: processors([LOG_BODY_REDACTION], "otlp"), exporters: ["otlp/gateway"] },
        "logs/pods": { receivers: ["file_log"], processors: processors([LOG_BODY_REDACTION]), exporters: ["otlp/gateway"] },
      },
    },
  };
}

/**
 * The gateway: tail sampling (errors, slow traces, then the configured percentage), the
 * Prometheus endpoint for metrics, Jaeger for traces, Loki for logs. It redacts again: anything
 * that reaches it without the agent (a pod on a node whose agent is down) is still cleaned.
 */
export function gatewayConfig(backends: TelemetryBackends, p: CollectorPolicy): Config {
  const processors = (extra: string[]) => ["memory_limiter", ...REDACTION_PROCESSORS, ...extra, "batch"];
  return {
    extensions: healthCheck,
    receivers: otlpReceiver,
    processors: {
      memory_limiter: memoryLimiter,
      ...redactionProcessors(p),
      // Resource attributes become labels (below), limited to the ones that identify a series.
      [METRIC_LABELS]: {
        error_mode: "ignore",
        metric_statements: [{ context: "resource", statements: [`keep_keys(attributes, ${JSON.stringify(METRIC_RESOURCE_LABELS)})`] }],
      },
      tail_sampling: {
        decision_wait: "10s",
        num_traces: 100000,
        expected_new_traces_per_sec: 1000,
        // A trace is kept when any policy keeps it.
        policies: [
          { name: "errors", type: "status_code", status_code: { status_codes: ["ERROR"] } },
          { name: "slow", type: "latency", latency: { threshold_ms: p.slowTraceMs } },
          { name: "baseline", type: "probabilistic", probabilistic: { sampling_percentage: p.samplingPercent } },
        ],
      },
      batch: {},
    },
    exporters: {
      "otlp/jaeger": { endpoint: backends.jaegerOtlpGrpc, tls: { insecure: true }, sending_queue: { enabled: true }, retry_on_failure: { enabled: true } },
      prometheus: {
        endpoint: `\${env:MY_POD_IP}:${PROM_EXPORTER_PORT}`,
        // Exemplars link a latency bucket to the trace that produced it.
        enable_open_metrics: true,
        metric_expiration: "5m",
        // Pods that set no service.instance.id, kubelet and host metrics (no service at all) are
        // told apart only by their Kubernetes resource attributes.
        resource_to_telemetry_conversion: { enabled: true },
      },
      "otlphttp/loki": { endpoint: backends.lokiOtlpHttp, sending_queue: { enabled: true }, retry_on_failure: { enabled: true } },
    },
    service: {
      extensions: ["health_check"],
      telemetry: selfTelemetry,
      pipelines: {
        traces: { receivers: ["otlp"], processors: processors(["tail_sampling"]), exporters: ["otlp/jaeger"] },
        metrics: { receivers: ["otlp"], processors: processors([METRIC_LABELS]), exporters: ["prometheus"] },
        logs: { receivers: ["otlp"], processors: processors([LOG_BODY_REDACTION]), exporters: ["otlphttp/loki"] },
      },
    },
  };
}

/**
 * Restricted container settings shared by both releases. The agent's container additionally runs
 * as UID 0 (every capability still dropped) to read the pod log files: see agentValues.
 */
const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Only OTLP (and the self-metrics port); the chart's Jaeger/Zipkin ports are off. */
function ports(agent: boolean): Config {
  const off = { enabled: false };
  return {
    // The agent is reached through its node-local Service, never through a host port.
    otlp: { enabled: true, ...(agent ? { hostPort: 0 } : {}) },
    "otlp-http": { enabled: true, ...(agent ? { hostPort: 0 } : {}) },
    "jaeger-compact": off,
    "jaeger-thrift": off,
    "jaeger-grpc": off,
    zipkin: off,
    metrics: { enabled: true },
    ...(agent ? {} : { "prom-exporter": { enabled: true, containerPort: PROM_EXPORTER_PORT, servicePort: PROM_EXPORTER_PORT, protocol: "TCP" } }),
  };
}

/** Helm values of the gateway release. */
export function gatewayValues(args: Pick<OtelCollectorArgs, "backends" | "policy" | "gatewayReplicas">): Config {
  const ha = args.gatewayReplicas.min > 1;
  return {
    mode: "deployment",
    fullnameOverride: GATEWAY_NAME,
    image: { repository: images.otelCollector.repository, tag: images.otelCollector.tag },
    // alternateConfig replaces the chart's default config instead of merging into it, so the
    // config below is exactly what runs (no default Jaeger/Zipkin/Prometheus receivers).
    alternateConfig: gatewayConfig(args.backends, args.policy),
    ports: ports(false),
    // Headless: the agents resolve every replica and balance by trace ID / resource themselves.
    service: { clusterIP: "None" },
    // With the HPA on, the chart renders no replicas (the HPA owns the scale).
    ...(ha ? {} : { replicaCount: args.gatewayReplicas.min }),
    autoscaling: ha ? { enabled: true, minReplicas: args.gatewayReplicas.min, maxReplicas: args.gatewayReplicas.max, targetCPUUtilizationPercentage: 70 } : { enabled: false },
    ...(ha ? { podDisruptionBudget: { enabled: true, maxUnavailable: 1 } } : {}),
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { "app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": GATEWAY_NAME } },
      },
    ],
    resources: { requests: { cpu: "200m", memory: "512Mi" }, limits: { memory: "1Gi" } },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
    securityContext: containerSecurity,
  };
}

/** Helm values of the agent release. */
export function agentValues(gatewayHost: string, policy: CollectorPolicy): Config {
  return {
    mode: "daemonset",
    fullnameOverride: AGENT_NAME,
    image: { repository: images.otelCollector.repository, tag: images.otelCollector.tag },
    alternateConfig: agentConfig(gatewayHost, policy),
    ports: ports(true),
    // The pods' OTLP endpoint: internalTrafficPolicy Local keeps each pod's telemetry on its node.
    service: { enabled: true, internalTrafficPolicy: "Local" },
    clusterRole: {
      create: true,
      rules: [
        // k8s_attributes: pod metadata; kubeletstats: the kubelet's stats API.
        { apiGroups: [""], resources: ["pods", "namespaces", "nodes"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["nodes/stats", "nodes/proxy"], verbs: ["get"] },
      ],
    },
    // The only host access (exempted from Pod Security in policy/stacks/*.json, each with its
    // reason): file_log reads /var/log/pods, hostmetrics reads the host's /proc, /sys and mounts
    // through root_path /hostfs (the receiver's documented container setup). Both read-only;
    // `type: Directory` refuses to create either path on a node where it is missing.
    extraVolumes: [
      { name: "varlogpods", hostPath: { path: "/var/log/pods", type: "Directory" } },
      { name: "hostfs", hostPath: { path: "/", type: "Directory" } },
    ],
    extraVolumeMounts: [
      { name: "varlogpods", mountPath: "/var/log/pods", readOnly: true },
      { name: "hostfs", mountPath: "/hostfs", readOnly: true, mountPropagation: "HostToContainer" },
    ],
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    // The pod itself sets no user: root is the collector container's alone (a container added
    // later does not inherit it), and only that container is exempted.
    podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
    // UID 0 without any capability: the pod log files are root-owned and not world-readable
    // (containerd 0640, CRI-O 0600), and for a non-root UID added capabilities do not take
    // effect; as the files' owner, root reads them without DAC_OVERRIDE/DAC_READ_SEARCH.
    securityContext: { ...containerSecurity, runAsUser: 0, runAsGroup: 0 },
    tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
  };
}

/**
 * The OpenTelemetry Collector as a node agent (DaemonSet) and a gateway (Deployment, HPA and PDB
 * when it has more than one replica), both from the pinned chart and the contrib image, plus
 * the PodMonitor through which Prometheus scrapes the gateway's metrics endpoint and both
 * releases' own telemetry.
 */
export class OtelCollector extends pulumi.ComponentResource {
  /** OTLP/gRPC endpoint workloads export to (the node-local agent Service). */
  public readonly otlpEndpoint: string;
  /** Headless Service of the gateway replicas. */
  public readonly gatewayHost: string;

  constructor(name: string, args: OtelCollectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:OtelCollector", name, {}, opts);
    const pin = charts.otelCollector;
    const svcHost = (n: string) => `${n}.${args.namespaceName}.svc.${args.clusterDomain}`;
    this.gatewayHost = svcHost(GATEWAY_NAME);
    this.otlpEndpoint = `http://${svcHost(AGENT_NAME)}:4317`;

    const release = (releaseName: string, values: Config) =>
      chartRelease(`${name}-${releaseName.replace(/^otel-/, "")}`, { releaseName, pin, namespace: args.namespace, values }, { parent: this });
    release(GATEWAY_NAME, gatewayValues(args));
    release(AGENT_NAME, agentValues(this.gatewayHost, args.policy));

    new k8s.apiextensions.CustomResource(
      `${name}-podmonitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: "otel-collector", namespace: args.namespace, labels: { "app.kubernetes.io/part-of": "platform" } },
        spec: {
          selector: {
            matchExpressions: [
              { key: "app.kubernetes.io/name", operator: "In", values: ["opentelemetry-collector"] },
              { key: "app.kubernetes.io/instance", operator: "In", values: [GATEWAY_NAME, AGENT_NAME] },
            ],
          },
          podMetricsEndpoints: [
            // honorLabels keeps job/instance as the exporter sets them (service.namespace/service.name).
            { port: "prom-exporter", interval: "30s", honorLabels: true },
            { port: "metrics", interval: "30s" },
          ],
        },
      },
      // A PodMonitor needs its CRD.
      { parent: this, dependsOn: args.monitoringCrds },
    );
    this.registerOutputs({ otlpEndpoint: this.otlpEndpoint, gatewayHost: this.gatewayHost });
  }
}
