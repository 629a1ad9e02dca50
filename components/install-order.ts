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
    name: "operators",
    componentTypes: ["platform:messaging:StrimziOperator"],
    contains: "Operators (with their CRDs) whose custom resources later stages create: Strimzi",
    after: [],
    why: "Nothing: each operator creates its own namespace.",
  },
  {
    name: "discovery",
    componentTypes: ["platform:discovery:EtcdCluster", "platform:discovery:Consul"],
    contains: "The config/discovery store (etcd StatefulSet or the Consul chart), its TLS and auth, client credentials Secrets",
    after: ["namespaces"],
    why: "Client credentials Secrets go into the client services' namespaces.",
  },
  {
    name: "messaging",
    componentTypes: ["platform:messaging:StrimziKafka", "platform:messaging:Nats"],
    contains: "Strimzi operator, Kafka node pools, cluster, topics, users; NATS JetStream with its streams and KV buckets",
    after: ["namespaces", "operators"],
    why: "Kafka custom resources need the Strimzi CRDs and operator; Kafka client credentials Secrets go into the services' namespaces (NATS needs nothing earlier).",
  },
  {
    name: "workloads",
    componentTypes: ["platform:workloads:Microservice"],
    contains: "Microservices: ServiceAccount, Deployment, Service, HPA, PDB (and the canary pair)",
    after: ["namespaces", "discovery", "messaging"],
    why: "Namespaced objects need their namespace; a service that declared the store or Kafka topics reads its credentials Secret as env.",
  },
];

/** Areas of the blueprint that this version does not build yet: their config is validated, nothing is rendered. */
export const AREAS_NOT_BUILT: readonly string[] = ["gateway", "mesh", "observability", "security"];

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
