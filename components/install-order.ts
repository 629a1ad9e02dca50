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
    name: "mesh-ca",
    componentTypes: ["platform:mesh:MeshCa"],
    contains: "Istio plug-in CA: root and cluster intermediate from @pulumi/tls as the cacerts Secret",
    after: ["namespaces"],
    why: "The Secret lives in istio-system.",
  },
  {
    name: "mesh-control-plane",
    componentTypes: ["platform:mesh:IstioAmbient"],
    contains: "Istio ambient: base (CRDs) → istiod → istio-cni and ztunnel",
    after: ["crds", "mesh-ca", "namespaces"],
    why: "istiod reads cacerts only at start-up and watches the Gateway API CRDs.",
  },
  {
    name: "mesh-policy",
    componentTypes: ["platform:mesh:MeshPolicies"],
    contains: "PeerAuthentication STRICT, Telemetry, default-deny and per-caller AuthorizationPolicies, waypoints",
    after: ["mesh-control-plane", "namespaces"],
    why: "Istio's CRDs and the istio-waypoint GatewayClass come with istiod; policies live in the application namespaces.",
  },
  {
    name: "gateway-controller",
    componentTypes: ["platform:gateway:TraefikController", "platform:gateway:EnvoyGatewayController"],
    contains: "The chosen Gateway API implementation: Traefik, or Envoy Gateway's CRD chart then its controller",
    after: ["crds", "namespaces"],
    why: "Controllers watch the Gateway API CRDs and install into the gateway namespace.",
  },
  {
    name: "gateway",
    componentTypes: ["platform:gateway:EntryGateway"],
    contains: "GatewayClass, Gateway (HTTP → HTTPS redirect, TLS termination), TLS Secret, PodMonitors; Envoy: EnvoyProxy and ClientTrafficPolicy",
    after: ["gateway-controller", "monitoring-crds", "secrets-operator", "secrets"],
    why: "The class needs its controller; EnvoyProxy and ClientTrafficPolicy are the controller's CRDs; PodMonitor is a prometheus-operator CRD. With secrets.platformSecrets the TLS Secret comes from the store (its write needs the store, its ExternalSecret the operator).",
  },
  {
    name: "routes",
    componentTypes: ["platform:gateway:ServiceRoute"],
    contains: "Per exposed service: HTTPRoute/GRPCRoute with canary split and header override; Traefik Middlewares/TraefikService or Envoy BackendTrafficPolicy",
    after: ["gateway-controller", "namespaces"],
    why: "Middleware, TraefikService and BackendTrafficPolicy are the controller's CRDs; routes live in the service's namespace. They need neither the Gateway nor the Services to exist first (status converges).",
  },
  {
    name: "delivery",
    componentTypes: ["platform:delivery:Flagger"],
    contains: "Flagger (progressive delivery; Gateway API router on Envoy Gateway, Traefik router on Traefik) with its CRDs, its loadtester (pre-rollout gates), the SLO analysis MetricTemplates and the namespace's default-deny policies; only when a service is progressive",
    after: ["crds", "monitoring-crds", "mesh-control-plane"],
    why: "Flagger watches HTTPRoutes (the Gateway API CRDs); its PodMonitors are a prometheus-operator CRD; its namespace's AuthorizationPolicies are Istio's (with the mesh).",
  },
  {
    name: "rollouts",
    componentTypes: ["platform:delivery:ProgressiveRollout"],
    contains: "Per progressive service: the Flagger Canary (Flagger then makes its Services, primary Deployment and HPA, and the HTTPRoute or TraefikService with the weights)",
    after: ["delivery", "namespaces"],
    why: "Canary is Flagger's CRD and reads its MetricTemplates; it lives in the service's namespace. Flagger waits for the target Deployment itself (status converges).",
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
    after: ["monitoring-crds", "secrets-operator", "secrets"],
    why: "The operator watches the monitoring CRDs and the chart renders ServiceMonitors and PrometheusRules. With secrets.platformSecrets, Grafana's admin and Alertmanager's config Secrets come from the store.",
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
    name: "operators",
    componentTypes: ["platform:messaging:StrimziOperator"],
    contains: "Operators (with their CRDs) whose custom resources later stages create: Strimzi",
    after: [],
    why: "Nothing: each operator creates its own namespace.",
  },
  {
    name: "discovery",
    componentTypes: ["platform:discovery:EtcdCluster", "platform:discovery:Consul"],
    contains: "The config/discovery store (etcd StatefulSet or the Consul chart), its TLS and auth, client credentials Secrets; Consul's servers' PodMonitor",
    after: ["namespaces", "monitoring-crds", "secrets-operator", "secrets"],
    why: "Client credentials Secrets go into the client services' namespaces; Consul's PodMonitor is a prometheus-operator CRD (etcd's is rendered by the monitoring stage). With secrets.platformSecrets its Secrets come from the store through ExternalSecrets.",
  },
  {
    name: "messaging",
    componentTypes: ["platform:messaging:StrimziKafka", "platform:messaging:Nats"],
    contains: "Strimzi operator, Kafka node pools, cluster, topics, users; NATS JetStream with its streams and KV buckets, its TLS and a client certificate per declaring service",
    after: ["namespaces", "operators", "monitoring-crds", "secrets-operator", "secrets"],
    why: "Kafka custom resources need the Strimzi CRDs and operator; Kafka and NATS client credentials Secrets go into the services' namespaces; the NATS exporter's PodMonitor is a prometheus-operator CRD. With secrets.platformSecrets their Secrets come from the store through ExternalSecrets.",
  },
  {
    name: "secrets-operator",
    componentTypes: ["platform:secrets:ExternalSecrets"],
    contains: "External Secrets Operator (controller, webhook, cert controller) with its namespaced CRDs (SecretStore, ExternalSecret), outside the mesh but its controller; only with secrets.enabled",
    after: ["monitoring-crds"],
    why: "Its ServiceMonitors are a prometheus-operator CRD; it creates its own namespace.",
  },
  {
    name: "secrets",
    componentTypes: ["platform:secrets:Vault"],
    contains: "Vault (raft, TLS from its own CA, Kubernetes auth, file audit device), its namespace's default-deny policies, and the configurator Job that writes the per-service and per-component reader policies and roles once the store is bootstrapped",
    after: ["monitoring-crds", "mesh-control-plane"],
    why: "Its ServiceMonitor is a prometheus-operator CRD; its AuthorizationPolicies are Istio's (with the mesh). The configurator Job waits for the chart; it retries until the bootstrap unseals the store.",
  },
  {
    name: "service-secrets",
    componentTypes: ["platform:secrets:ServiceSecrets"],
    contains: "Per declaring service: a SecretStore (Kubernetes auth with the service's ServiceAccount) and an ExternalSecret writing `<service>-store`",
    after: ["secrets-operator", "secrets", "namespaces"],
    why: "SecretStore and ExternalSecret are External Secrets' CRDs, validated by its webhook; they live in the service's namespace; the SecretStore carries the store's CA (made with the store). Nothing waits for the store to be unsealed: the operator retries until it answers.",
  },
  {
    name: "admission-controller",
    componentTypes: ["platform:security:Kyverno"],
    contains: "Kyverno (admission, background, cleanup and reports controllers) in its own namespace, outside the mesh",
    after: ["namespaces", "monitoring-crds"],
    why: "It installs into the kyverno namespace; its controllers' ServiceMonitors are a prometheus-operator CRD.",
  },
  {
    name: "admission-policies",
    componentTypes: ["platform:security:AdmissionPolicies"],
    contains: "Kyverno ClusterPolicies: Pod Security, allowed registries and digests, signatures with SLSA provenance and SBOM attestations",
    after: ["admission-controller"],
    why: "ClusterPolicy is Kyverno's CRD, validated by its webhook.",
  },
  {
    name: "network-policies",
    componentTypes: ["platform:security:NetworkPolicies"],
    contains: "Per namespace the platform creates: default-deny ingress, then the allow rules derived from the declarations",
    after: ["namespaces", "operators", "discovery", "messaging", "delivery", "secrets", "secrets-operator"],
    why: "Each policy lives in its namespace, and those areas create their own namespaces.",
  },
  {
    name: "workloads",
    componentTypes: ["platform:workloads:Microservice"],
    contains: "Microservices: ServiceAccount, Deployment, Service, HPA, PDB (and the canary pair)",
    after: ["namespaces", "discovery", "messaging", "service-secrets", "admission-policies"],
    why: "Namespaced objects need their namespace; a service that declared the store, Kafka topics, NATS use or store secrets reads its credentials Secret as env (or files); pods admitted before the admission policies exist would skip them.",
  },
];

/** Areas of the blueprint that this version does not build yet: their config is validated, nothing is rendered. */
export const AREAS_NOT_BUILT: readonly string[] = [];

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
