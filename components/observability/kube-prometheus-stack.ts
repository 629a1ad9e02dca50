import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { charts } from "../../versions";
import { chartRelease } from "../core/objects";

/** Sizes of the stack for this environment (from `platform:observability`). */
export interface MonitoringSizing {
  readonly prometheus: { readonly replicas: number; readonly retention: string; readonly storage: string };
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
  readonly sizing: MonitoringSizing;
  /** StorageClass of the Prometheus/Alertmanager volumes; absent means the cluster default. */
  readonly storageClass?: string;
  /** Stack name, added to every series and alert as `cluster`. */
  readonly clusterName: string;
  /** Jaeger and Loki datasources (trace links from exemplars and from log lines). */
  readonly datasources: readonly GrafanaDatasource[];
  /** The prometheus-operator CRDs: the operator watches them and the chart renders ServiceMonitors/PrometheusRules. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
  /**
   * Enroll the Prometheus pods (only they) in the ambient mesh: targets in STRICT namespaces (the
   * gateway, the data stores) accept only mesh peers. The namespace stays out: node agents there
   * mount host paths.
   */
  readonly meshEnrolled?: boolean;
}

/** Name of the Secret holding Grafana's admin credentials. */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** Label the Grafana dashboard sidecar watches (the chart default). */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/** The chart's values. No credential appears here: Grafana reads them from GRAFANA_ADMIN_SECRET. */
export function kubePrometheusStackValues(args: Pick<KubePrometheusStackArgs, "sizing" | "storageClass" | "clusterName" | "datasources" | "meshEnrolled">): Record<string, unknown> {
  const { prometheus, alertmanager, grafana } = args.sizing;
  const volume = (storage: string) => ({
    volumeClaimTemplate: {
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, ...(args.storageClass ? { storageClassName: args.storageClass } : {}) },
    },
  });
  const jaeger = args.datasources.find((d) => d.type === "jaeger");
  const pdb = (replicas: number) => ({ enabled: replicas > 1, minAvailable: 1 });
  return {
    // Installed by PrometheusOperatorCrds, an earlier stage.
    crds: { enabled: false },
    fullnameOverride: "kps",
    prometheus: {
      podDisruptionBudget: pdb(prometheus.replicas),
      prometheusSpec: {
        replicas: prometheus.replicas,
        retention: prometheus.retention,
        storageSpec: volume(prometheus.storage),
        externalLabels: { cluster: args.clusterName },
        ...(args.meshEnrolled ? { podMetadata: { labels: { "istio.io/dataplane-mode": "ambient" } } } : {}),
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
      },
    },
    grafana: {
      replicas: grafana.replicas,
      // Each replica keeps its own SQLite database, sessions included: pin a client to one replica
      // (a shared database is the real fix, docs/observability.md).
      ...(grafana.replicas > 1 ? { podDisruptionBudget: { minAvailable: 1 }, service: { sessionAffinity: "ClientIP" } } : {}),
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
      sidecar: {
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
    const secret = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_ADMIN_SECRET, namespace: args.namespace, labels: { "app.kubernetes.io/part-of": "platform" } },
        type: "Opaque",
        stringData: pulumi.secret(pulumi.all([password.result]).apply(([p]) => ({ "admin-user": "admin", "admin-password": p }))),
      },
      { parent: this },
    );
    chartRelease(
      name,
      { releaseName: name, pin, namespace: args.namespace, values: kubePrometheusStackValues(args) },
      // The operator and the chart's ServiceMonitors/PrometheusRules need the CRDs; Grafana mounts the admin Secret.
      { parent: this, dependsOn: [...args.monitoringCrds, secret] },
    );
    this.grafanaAdminSecret = secret.metadata.name;
    this.registerOutputs({ grafanaAdminSecret: this.grafanaAdminSecret });
  }
}
