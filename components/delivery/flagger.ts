/**
 * Flagger, the progressive delivery operator (chart pinned in versions/index.ts), with its Gateway
 * API router: for each Canary it copies the service's Deployment to `<name>-primary`, makes the
 * `<name>`, `<name>-primary` and `<name>-canary` Services and owns the service's HTTPRoute, whose
 * backend weights it moves while the canary's SLO series stay in range (components/delivery/
 * progressive-rollout.ts). The analysis queries are MetricTemplates here, one set for the stack:
 * thresholds are per service, queries are not.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { canaryTemplates } from "../observability/slo";
import { chartRelease, childOptions, customResource, K8sObject } from "../core/objects";
import { PLATFORM_LABELS } from "../shared/labels";
import { platformNamespace } from "../shared/pod-security";

export const FLAGGER_API = "flagger.app/v1beta1";

/**
 * The label Flagger renames on the primary (`<name>` → `<name>-primary`) and selects with (its
 * -selector-labels): the one the Microservice's Deployment selector already has, so switching a
 * service to progressive leaves its (immutable) selector alone and its pods running. What must
 * select primary and canary alike (the mesh's policies, the PDB, the spread constraints) selects
 * `app.kubernetes.io/instance`, which Flagger copies unchanged.
 */
export const FLAGGER_SELECTOR_LABEL = "app.kubernetes.io/name";

/** Flagger's provider for Canaries: HTTPRoute weights through the Gateway API (v1). */
export const FLAGGER_PROVIDER = "gatewayapi:v1";

/** The loadtester's name (its Deployment, Service and ServiceAccount: the mesh identity the services admit for smoke tests). */
export const LOADTESTER_NAME = "flagger-loadtester";

/** Where Canaries send their pre-rollout webhooks (the loadtester's Service, port 80). */
export const loadtesterUrl = (namespace: string, domain: string): string => `http://${LOADTESTER_NAME}.${namespace}.svc.${domain}/`;

/** The loadtester's SPIFFE principal (its ServiceAccount). */
export const loadtesterPrincipal = (trustDomain: string, namespace: string): string => `${trustDomain}/ns/${namespace}/sa/${LOADTESTER_NAME}`;

const RESTRICTED = { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

/**
 * Values of the loadtester chart: it runs the Canaries' pre-rollout gates as blocking bash tasks
 * (curl and jq are in its image), only for Canaries in `canaryNamespaces` (its authorizer).
 */
export function loadtesterValues(a: { readonly ha: boolean; readonly canaryNamespaces: readonly string[] }): Record<string, unknown> {
  return {
    fullnameOverride: LOADTESTER_NAME,
    replicaCount: a.ha ? 2 : 1,
    podDisruptionBudget: { enabled: a.ha, minAvailable: 1 },
    // Its own ServiceAccount (a Role without rules): a mesh identity of its own, not the namespace's default.
    rbac: { create: true, rules: [] },
    cmd: { timeout: "1h", namespaceRegexp: `^(${[...a.canaryNamespaces].sort().join("|")})$` },
    securityContext: { enabled: true, context: { readOnlyRootFilesystem: true, runAsUser: 100, runAsGroup: 101, ...RESTRICTED } },
    // bash writes here-documents to /tmp; the root filesystem stays read-only.
    volumes: [{ name: "tmp", emptyDir: {} }],
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    podAnnotations: {},
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  };
}

/** Who may reach Flagger's namespace once it is in the mesh (principals of Flagger itself and of the stack's Prometheus). */
export interface FlaggerMeshInput {
  readonly trustDomain: string;
  /** Prometheus' principal: it scrapes Flagger and the loadtester. */
  readonly prometheusPrincipal?: string;
}


/**
 * Default deny in Flagger's namespace, then: the loadtester runs whatever bash a webhook sends, so
 * only Flagger may call it (and Prometheus scrape it, same port); Flagger only takes scrapes. At
 * ztunnel (L4): the namespace has no waypoint.
 */
export function flaggerAuthorizationObjects(namespace: string, m: FlaggerMeshInput): K8sObject[] {
  const flagger = `${m.trustDomain}/ns/${namespace}/sa/flagger`;
  const policy = (name: string, app: string, principals: string[]): K8sObject => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace, labels: PLATFORM_LABELS },
    spec: { selector: { matchLabels: { "app.kubernetes.io/name": app } }, action: "ALLOW", rules: [{ from: [{ source: { principals } }] }] },
  });
  const scrapers = m.prometheusPrincipal ? [m.prometheusPrincipal] : [];
  return [
    { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "allow-nothing", namespace, labels: PLATFORM_LABELS }, spec: {} },
    policy("allow-loadtester", "loadtester", [flagger, ...scrapers]),
    ...(scrapers.length ? [policy("allow-flagger", "flagger", scrapers)] : []),
  ];
}

/** The loadtester's PodMonitor (its chart has none; it serves Go runtime metrics on its only port). */
export function loadtesterPodMonitor(namespace: string): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: LOADTESTER_NAME, namespace, labels: PLATFORM_LABELS },
    spec: { namespaceSelector: { matchNames: [namespace] }, selector: { matchLabels: { "app.kubernetes.io/name": "loadtester" } }, podMetricsEndpoints: [{ port: "http", path: "/metrics", interval: "30s" }] },
  };
}

/** Values of the Flagger chart. Pure, so the values-key tests can check them. */
export function flaggerValues(a: { readonly ha: boolean; readonly prometheusUrl: string; readonly monitoring: boolean; readonly namespace: string }): Record<string, unknown> {
  return {
    meshProvider: FLAGGER_PROVIDER,
    metricsServer: a.prometheusUrl,
    selectorLabels: FLAGGER_SELECTOR_LABEL,
    // The primary reads the same Secrets and ConfigMaps as the canary: the platform's credentials
    // (store, Kafka, NATS) are rotated by the platform, not released with a version.
    configTracking: { enabled: false },
    leaderElection: { enabled: a.ha, replicaCount: a.ha ? 2 : 1 },
    podDisruptionBudget: { enabled: a.ha, minAvailable: 1 },
    // Pod Security "restricted" (the chart sets only the first two).
    securityContext: {
      enabled: true,
      context: { readOnlyRootFilesystem: true, runAsUser: 10001, ...RESTRICTED },
    },
    // The chart's defaults are Linkerd's and App Mesh's injection and prometheus.io scraping; the
    // stack's Prometheus scrapes through the PodMonitor.
    podAnnotations: {},
    podMonitor: { enabled: a.monitoring, namespace: a.namespace, interval: "30s" },
  };
}

/** Inputs of Flagger. */
export interface FlaggerArgs {
  /** Its namespace (created here, Pod Security restricted). */
  readonly namespace: string;
  /** Extra labels on that namespace (the mesh's ambient enrollment: it queries Prometheus, a STRICT mTLS workload). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Two replicas with leader election and a PDB (prod). */
  readonly ha: boolean;
  /** The stack's Prometheus query URL. */
  readonly prometheusUrl: string;
  /** The prometheus-operator CRDs (its PodMonitor); empty: no monitor. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
  /** Namespaces whose Canaries may run gates on the loadtester. */
  readonly canaryNamespaces: readonly string[];
  /** The mesh, when on: the namespace's policies and istiod (Istio's CRDs) they wait for. */
  readonly mesh?: FlaggerMeshInput & { readonly istiod: pulumi.Input<pulumi.Resource> };
}

/** The analysis MetricTemplates (components/observability/slo.ts canaryTemplates). */
export function metricTemplateObjects(namespace: string, prometheusUrl: string): K8sObject[] {
  return canaryTemplates().map((t) => ({
    apiVersion: FLAGGER_API,
    kind: "MetricTemplate",
    metadata: { name: t.name, namespace, labels: PLATFORM_LABELS },
    spec: { provider: { type: "prometheus", address: prometheusUrl }, query: t.query },
  }));
}

/** Flagger: its namespace, the chart (CRDs included), its loadtester and the analysis MetricTemplates. */
export class Flagger extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** The release: Canaries need its CRDs and a running operator. */
  public readonly release: k8s.helm.v4.Chart;
  /** The MetricTemplates; Canaries reference them. */
  public readonly templates: k8s.apiextensions.CustomResource[];
  /** The loadtester release: Canaries' gates call it. */
  public readonly loadtester: k8s.helm.v4.Chart;

  constructor(name: string, args: FlaggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:delivery:Flagger", name, {}, opts);
    const child = { parent: this };
    this.namespace = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    this.release = chartRelease(
      name,
      {
        releaseName: name,
        pin: charts.flagger,
        namespace: this.namespace,
        values: flaggerValues({ ha: args.ha, prometheusUrl: args.prometheusUrl, monitoring: args.monitoringCrds.length > 0, namespace: args.namespace }),
      },
      childOptions(this, opts, args.monitoringCrds),
    );
    this.loadtester = chartRelease(
      `${name}-loadtester`,
      { releaseName: LOADTESTER_NAME, pin: charts.flaggerLoadtester, namespace: this.namespace, values: loadtesterValues({ ha: args.ha, canaryNamespaces: args.canaryNamespaces }) },
      childOptions(this, opts),
    );
    if (args.monitoringCrds.length) customResource(`${name}-loadtester-podmonitor`, loadtesterPodMonitor(args.namespace), childOptions(this, opts, args.monitoringCrds));
    if (args.mesh) {
      for (const o of flaggerAuthorizationObjects(args.namespace, args.mesh)) customResource(`${name}-${o.metadata.name}`, o, childOptions(this, opts, [args.mesh.istiod]));
    }
    // The templates are Flagger's CRD: they wait for the chart.
    this.templates = metricTemplateObjects(args.namespace, args.prometheusUrl).map((o) => customResource(`${name}-${o.metadata.name}`, o, childOptions(this, opts, [this.release])));
    this.registerOutputs({ namespace: this.namespace });
  }
}
