/**
 * The install order, as one table a person can read. Each stage names the component types that
 * make it up and the stages it must follow, with the real dependency that forces the edge.
 * Independent stages have no edge between them and deploy in parallel.
 *
 * The Platform realizes these edges; tests check that the rendered dependency graph has no edge
 * between components that this table does not allow, and the render prints it in report.md.
 * Only areas that are built appear here; an area joins the table in the change that builds it.
 */

export interface InstallStage {
  /** Stage name, also the GitOps group prefix. */
  readonly name: string;
  /** Component type tokens whose resources belong to this stage. */
  readonly componentTypes: readonly string[];
  /** What the stage installs. */
  readonly contains: string;
  /** Stages that must be ready first. */
  readonly after: readonly string[];
  /** The real dependency behind each `after` edge. */
  readonly why: string;
}

export const INSTALL_ORDER: readonly InstallStage[] = [
  {
    name: "namespaces",
    componentTypes: ["platform:core:Namespaces"],
    contains: "Application namespaces with Pod Security Admission labels",
    after: [],
    why: "Nothing: namespaces are the first objects.",
  },
  {
    name: "crds",
    componentTypes: ["platform:crds:GatewayApiCrds"],
    contains: "Gateway API CRDs (standard channel) and their safe-upgrades ValidatingAdmissionPolicy",
    after: [],
    why: "Nothing: cluster-scoped. Gateway controllers and istiod watch these CRDs, so they follow this stage.",
  },
  {
    name: "monitoring-crds",
    componentTypes: ["platform:observability:PrometheusOperatorCrds"],
    contains: "prometheus-operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule, Prometheus, Alertmanager, ...)",
    after: ["namespaces"],
    why: "Its Helm release record lives in the observability namespace.",
  },
  {
    name: "monitoring",
    componentTypes: ["platform:observability:KubePrometheusStack"],
    contains: "kube-prometheus-stack: prometheus-operator, Prometheus, Alertmanager, Grafana (admin Secret), exporters",
    after: ["monitoring-crds"],
    why: "The operator watches the monitoring CRDs and the chart renders ServiceMonitors and PrometheusRules.",
  },
  {
    name: "telemetry-backends",
    componentTypes: ["platform:observability:Jaeger", "platform:observability:Loki"],
    contains: "Jaeger v2 (traces, Badger volume) and Loki (logs, filesystem volume)",
    after: ["monitoring-crds"],
    why: "Jaeger's ServiceMonitor needs the monitoring CRDs; both need the observability namespace (through it).",
  },
  {
    name: "telemetry-pipeline",
    componentTypes: ["platform:observability:OtelCollector"],
    contains: "OpenTelemetry Collector gateway (Deployment, HPA, PDB) and node agent (DaemonSet), their PodMonitor",
    after: ["monitoring-crds"],
    why: "The PodMonitor needs the monitoring CRDs. No edge to the backends: the exporters queue and retry until they answer.",
  },
  {
    name: "slos",
    componentTypes: ["platform:observability:ServiceSlos"],
    contains: "Per service: PrometheusRule (SLO recording rules, burn-rate alerts) and a Grafana dashboard ConfigMap",
    after: ["monitoring-crds"],
    why: "PrometheusRule needs the monitoring CRDs.",
  },
  {
    name: "workloads",
    componentTypes: ["platform:workloads:Microservice"],
    contains: "Microservices: ServiceAccount, Deployment, Service, HPA, PDB (and the canary pair)",
    after: ["namespaces"],
    why: "Namespaced objects need their namespace; each Microservice waits only for its own.",
  },
];

/** Areas of the blueprint that this version does not build yet: their config is validated, nothing is rendered. */
export const AREAS_NOT_BUILT: readonly string[] = ["gateway", "mesh", "discovery", "messaging", "security"];

/** The stage a component type belongs to, if any. */
export function stageOf(componentType: string): InstallStage | undefined {
  return INSTALL_ORDER.find((s) => s.componentTypes.includes(componentType));
}

/** Whether the table lets stage `from` wait for stage `to` (transitively). */
export function mayFollow(from: string, to: string): boolean {
  const seen = new Set<string>();
  const walk = (s: string): boolean => {
    if (seen.has(s)) return false;
    seen.add(s);
    const stage = INSTALL_ORDER.find((x) => x.name === s);
    return (stage?.after ?? []).some((a) => a === to || walk(a));
  };
  return from === to || walk(from);
}
