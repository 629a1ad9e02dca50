import { kubernetesSecrets, SecretSinks } from "../shared/secret-sink";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { charts } from "../../versions";
import type { PlatformPodMonitor } from "../shared/monitoring";
import { chartRelease, mergeValues, stackValuesOf } from "../core/objects";
import { stringify } from "yaml";

/** Sizes of the stack for this environment (from `platform:observability`). */
export interface MonitoringSizing {
  readonly prometheus: {
    readonly replicas: number;
    readonly retention: string;
    readonly storage: string;
    /** Requests and memory limit of each server (`platform:observability.prometheus.resources`). */
    readonly resources: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly memory: string } };
  };
  readonly alertmanager: { readonly replicas: number };
  readonly grafana: { readonly replicas: number };
}

/** A Grafana datasource beyond the chart's own Prometheus and Alertmanager. */
export interface GrafanaDatasource {
  readonly name: string;
  readonly uid: string;
  readonly type: "jaeger" | "loki";
  readonly url: string;
}

/** Inputs of kube-prometheus-stack. */
export interface KubePrometheusStackArgs {
  /** Namespace (the observability namespace's output, so the stack waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** The same namespace by name (the store path of Grafana's admin Secret). */
  readonly namespaceName: string;
  readonly sizing: MonitoringSizing;
  /**
   * PodMonitors for platform components whose charts have no monitor of their own (Istio's,
   * etcd's): the chart renders them (`prometheus.additionalPodMonitors`) beside its own.
   */
  readonly podMonitors?: readonly PlatformPodMonitor[];
  /** StorageClass of the Prometheus/Alertmanager volumes; absent means the cluster default. */
  readonly storageClass?: string;
  /** Stack name, added to every series and alert as `cluster`. */
  readonly clusterName: string;
  /** Jaeger and Loki datasources (trace links from exemplars and from log lines). */
  readonly datasources: readonly GrafanaDatasource[];
  /** The prometheus-operator CRDs: the operator watches them and the chart renders ServiceMonitors/PrometheusRules. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
  /**
   * Enroll the Prometheus and Grafana pods (only they) in the ambient mesh: targets in STRICT
   * namespaces (the gateway, the data stores) accept only mesh peers, and an enrolled Prometheus is
   * itself STRICT (mesh-wide PeerAuthentication), so Grafana, which queries it, must be a mesh
   * peer too. The namespace stays out (policy/stacks/*.json, mesh-strict-mtls).
   */
  readonly meshEnrolled?: boolean;
  /** Where its generated Secrets go (default: Kubernetes Secrets; the store's sink with secrets.platformSecrets). */
  readonly secretSinks?: SecretSinks;
}

/**
 * Alertmanager's configuration Secret (a name of its own: a Secret of the chart's name would be
 * deleted by the upgrade that removes the chart's). The platform writes it (with the chart's default
 * configuration and the stack's `alertmanager.config` override merged over it) instead of the
 * chart, so that it goes through the sink like every other Secret: receivers hold credentials
 * (webhook URLs, API keys), and with secrets.platformSecrets they then live in the store.
 */
export const ALERTMANAGER_CONFIG_SECRET = "alertmanager-config";

/** The chart's default Alertmanager configuration (kube-prometheus-stack values.yaml, `alertmanager.config`). */
export const DEFAULT_ALERTMANAGER_CONFIG: Readonly<Record<string, unknown>> = {
  global: { resolve_timeout: "5m" },
  inhibit_rules: [
    { source_matchers: ["severity = critical"], target_matchers: ["severity =~ warning|info"], equal: ["namespace", "alertname"] },
    { source_matchers: ["severity = warning"], target_matchers: ["severity = info"], equal: ["namespace", "alertname"] },
    { source_matchers: ["alertname = InfoInhibitor"], target_matchers: ["severity = info"], equal: ["namespace"] },
    { target_matchers: ["alertname = InfoInhibitor"] },
  ],
  route: { group_by: ["namespace"], group_wait: "30s", group_interval: "5m", repeat_interval: "12h", receiver: "null", routes: [{ receiver: "null", matchers: ['alertname = "Watchdog"'] }] },
  receivers: [{ name: "null" }],
  templates: ["/etc/alertmanager/config/*.tmpl"],
};

/**
 * The keys of Alertmanager's configuration Secret from the stack's chart values: `alertmanager.config`
 * (a map merged over the default as Helm merges values, or a string taken as is) and
 * `alertmanager.templateFiles`, what the chart would have put in its own Secret.
 */
export function alertmanagerConfigData(over: Record<string, unknown> | undefined): Record<string, string> {
  const am = (over?.["alertmanager"] ?? {}) as { config?: unknown; templateFiles?: Record<string, string> };
  const config = typeof am.config === "string" ? am.config : stringify(am.config && typeof am.config === "object" ? mergeValues(DEFAULT_ALERTMANAGER_CONFIG, am.config as Record<string, unknown>) : DEFAULT_ALERTMANAGER_CONFIG);
  return { "alertmanager.yaml": config, ...(am.templateFiles ?? {}) };
}

/** Name of the Secret holding Grafana's admin credentials. */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** Label the Grafana dashboard sidecar watches (the chart default). */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/** Ambient enrollment of one pod (the namespace itself is not enrolled). */
const AMBIENT_POD_LABELS = { "istio.io/dataplane-mode": "ambient" } as const;

/** The chart's fullname (fullnameOverride below): its objects are named `kps-*`. */
const FULLNAME = "kps";

/** Prometheus' ServiceAccount (the chart's `<fullname>-prometheus`): its mesh identity, which scrapes and is queried. */
export const PROMETHEUS_SERVICE_ACCOUNT = `${FULLNAME}-prometheus`;

/** Prometheus' in-cluster query URL (the chart's `<fullname>-prometheus` Service, port 9090), for readers such as Flagger. */
export const prometheusUrl = (namespace: string, domain: string): string => `http://${FULLNAME}-prometheus.${namespace}.svc.${domain}:9090`;

/**
 * Requests and a memory limit for every container the chart and its subcharts run, except the
 * Prometheus server, whose size follows retention and series count
 * (`platform:observability.prometheus.resources`). Alertmanager, the operator, kube-state-metrics
 * and node-exporter hold little state.
 */
export const MONITORING_RESOURCES = {
  operator: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  /** prometheus-config-reloader, the operator's sidecar in the Prometheus and Alertmanager pods (the operator's own default size). */
  configReloader: { requests: { cpu: "10m", memory: "50Mi" }, limits: { memory: "50Mi" } },
  alertmanager: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  grafana: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
  /** Grafana's dashboard and datasource sidecars (k8s-sidecar, one container each). */
  grafanaSidecar: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  kubeStateMetrics: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  nodeExporter: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
} as const;

/** The chart's values. No credential appears here: Grafana reads them from GRAFANA_ADMIN_SECRET. */
export function kubePrometheusStackValues(args: Pick<KubePrometheusStackArgs, "sizing" | "storageClass" | "clusterName" | "datasources" | "meshEnrolled" | "podMonitors">): Record<string, unknown> {
  const { prometheus, alertmanager, grafana } = args.sizing;
  const volume = (storage: string) => ({
    volumeClaimTemplate: {
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, ...(args.storageClass ? { storageClassName: args.storageClass } : {}) },
    },
  });
  const jaeger = args.datasources.find((d) => d.type === "jaeger");
  const pdb = (replicas: number) => (replicas > 1 ? { enabled: true, minAvailable: 1 } : { enabled: false });
  return {
    // Installed by PrometheusOperatorCrds, an earlier stage.
    crds: { enabled: false },
    fullnameOverride: FULLNAME,
    prometheusOperator: {
      // The admission webhook's certificate Secret (kps-admission) is made by the chart's
      // pre-install hook Jobs, which a Chart v4 never runs (hooks are not applied): the operator
      // pod would wait forever for its tls-secret volume. Without the webhook the operator needs
      // no certificate (tls off: plain HTTP on :8080 for its metrics and probes); rules are still
      // validated by promtool in the tests and by the operator before it loads them.
      admissionWebhooks: { enabled: false },
      tls: { enabled: false },
      resources: MONITORING_RESOURCES.operator,
      prometheusConfigReloader: { resources: MONITORING_RESOURCES.configReloader },
    },
    prometheus: {
      podDisruptionBudget: pdb(prometheus.replicas),
      ...(args.podMonitors?.length ? { additionalPodMonitors: args.podMonitors.map((m) => ({ ...m, podMetricsEndpoints: [...m.podMetricsEndpoints] })) } : {}),
      prometheusSpec: {
        replicas: prometheus.replicas,
        retention: prometheus.retention,
        resources: prometheus.resources,
        storageSpec: volume(prometheus.storage),
        externalLabels: { cluster: args.clusterName },
        ...(args.meshEnrolled ? { podMetadata: { labels: { ...AMBIENT_POD_LABELS } } } : {}),
        // Pick up every ServiceMonitor/PodMonitor/PrometheusRule in the cluster, not only this release's.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        // Exemplars on latency histograms link to Jaeger traces.
        enableFeatures: ["exemplar-storage"],
        podAntiAffinity: prometheus.replicas > 1 ? "hard" : "soft",
      },
    },
    alertmanager: {
      podDisruptionBudget: pdb(alertmanager.replicas),
      alertmanagerSpec: {
        replicas: alertmanager.replicas,
        storage: volume("2Gi"),
        podAntiAffinity: alertmanager.replicas > 1 ? "hard" : "soft",
        resources: MONITORING_RESOURCES.alertmanager,
        // The chart renders no configuration Secret: the operator reads ALERTMANAGER_CONFIG_SECRET,
        // which the platform writes (templates/alertmanager/alertmanager.yaml reads configSecret).
        useExistingSecret: true,
        configSecret: ALERTMANAGER_CONFIG_SECRET,
      },
    },
    "kube-state-metrics": { resources: MONITORING_RESOURCES.kubeStateMetrics },
    "prometheus-node-exporter": { resources: MONITORING_RESOURCES.nodeExporter },
    grafana: {
      replicas: grafana.replicas,
      resources: MONITORING_RESOURCES.grafana,
      // Grafana queries Prometheus, which is a STRICT mesh member: plaintext from outside the mesh is refused.
      ...(args.meshEnrolled ? { podLabels: { ...AMBIENT_POD_LABELS } } : {}),
      // Each replica keeps its own SQLite database, sessions included: pin a client to one replica
      // (a shared database is the real fix, docs/observability.md).
      ...(grafana.replicas > 1 ? { podDisruptionBudget: { minAvailable: 1 }, service: { sessionAffinity: "ClientIP" } } : {}),
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
      sidecar: {
        resources: MONITORING_RESOURCES.grafanaSidecar,
        dashboards: { enabled: true, label: Object.keys(DASHBOARD_LABEL)[0], labelValue: Object.values(DASHBOARD_LABEL)[0], searchNamespace: "ALL" },
        datasources: {
          ...(jaeger ? { exemplarTraceIdDestinations: { datasourceUid: jaeger.uid, traceIdLabelName: "trace_id" } } : {}),
        },
      },
      additionalDataSources: args.datasources.map((d) => ({
        name: d.name,
        uid: d.uid,
        type: d.type,
        url: d.url,
        access: "proxy",
        editable: false,
        ...(d.type === "loki" && jaeger
          ? { jsonData: { derivedFields: [{ name: "trace_id", matcherType: "label", matcherRegex: "trace_id", url: "$${__value.raw}", datasourceUid: jaeger.uid }] } }
          : {}),
      })),
    },
  };
}

/**
 * kube-prometheus-stack: prometheus-operator, Prometheus (replicated, retention and a volume),
 * Alertmanager, Grafana with the Prometheus, Jaeger and Loki datasources, kube-state-metrics and
 * node-exporter. Grafana's admin password is generated here and handed to Grafana through a
 * Secret (`grafana.admin.existingSecret`), never through chart values.
 */
export class KubePrometheusStack extends pulumi.ComponentResource {
  /** Name of the Secret with Grafana's admin user and password. */
  public readonly grafanaAdminSecret: pulumi.Output<string>;

  constructor(name: string, args: KubePrometheusStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:KubePrometheusStack", name, {}, opts);
    const pin = charts.kubePrometheusStack;
    const password = new random.RandomPassword(`${name}-grafana-admin`, { length: 32, special: false }, { parent: this });
    const sink = (args.secretSinks ?? kubernetesSecrets)(this, name);
    const secret = sink.secret(
      `${name}-grafana-admin`,
      {
        name: GRAFANA_ADMIN_SECRET,
        namespace: args.namespaceName,
        namespaceRef: args.namespace,
        labels: { "app.kubernetes.io/part-of": "platform" },
        data: pulumi.secret(pulumi.all([password.result]).apply(([p]) => ({ "admin-user": "admin", "admin-password": p }))),
      },
      { parent: this },
    );
    const alertmanagerConfig = sink.secret(
      `${name}-alertmanager-config`,
      { name: ALERTMANAGER_CONFIG_SECRET, namespace: args.namespaceName, namespaceRef: args.namespace, labels: { "app.kubernetes.io/part-of": "platform" }, data: pulumi.secret(alertmanagerConfigData(stackValuesOf(pin.chart))) },
      { parent: this },
    );
    chartRelease(
      name,
      { releaseName: name, pin, namespace: args.namespace, values: kubePrometheusStackValues(args) },
      // The operator and the chart's ServiceMonitors/PrometheusRules need the CRDs; Grafana mounts
      // the admin Secret; the operator reads Alertmanager's configuration from its Secret.
      { parent: this, dependsOn: [...args.monitoringCrds, secret, alertmanagerConfig] },
    );
    this.grafanaAdminSecret = secret.metadata.name;
    this.registerOutputs({ grafanaAdminSecret: this.grafanaAdminSecret });
  }
}
