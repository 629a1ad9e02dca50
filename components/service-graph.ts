/**
 * The service declarations turned into plain data, in one place. Every area derives its objects
 * from this (mesh allow rules from `calls`, Kafka ACLs from `topicUse`, gateway routes from
 * `exposures`) with small pure functions, so each derivation can be tested on its own.
 */
import { sagaTopics } from "../config/resilience";
import type { PlatformConfig, ServiceConfig } from "../config/schema";

/** A workload identity: the Kubernetes ServiceAccount and its SPIFFE principal. */
export interface ServiceNode {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Istio-style principal: `<trust domain>/ns/<namespace>/sa/<service account>`. */
  readonly principal: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
  /** In-cluster DNS name of the stable Service. */
  readonly host: string;
}

/** A declared call from one service to another. */
export interface CallEdge {
  readonly from: string;
  readonly to: string;
  readonly protocol: "http" | "grpc";
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
}

/** One service's use of one Kafka topic. */
export interface TopicUse {
  readonly service: string;
  readonly topic: string;
  readonly role: "produce" | "consume";
  /** Consumer group (consumers only). */
  readonly group?: string;
}

/** A service exposed through the gateway. */
export interface Exposure {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
  readonly spec: NonNullable<ServiceConfig["expose"]>;
  /** Present when Flagger rolls the service out (rollout.strategy progressive): it then owns the route. */
  readonly progressive?: ServiceConfig["rollout"];
}

export interface ServiceGraph {
  readonly services: readonly ServiceNode[];
  readonly calls: readonly CallEdge[];
  readonly topicUse: readonly TopicUse[];
  readonly exposures: readonly Exposure[];
  /** Services that declared they need the discovery/config store. */
  readonly configStoreClients: readonly string[];
  /** Application namespaces, sorted. */
  readonly namespaces: readonly string[];
}

/** Name of the ServiceAccount a service runs as (one per service: one identity per workload). */
export const serviceAccountName = (service: string): string => service;

/**
 * What each declared saga needs on Kafka (config/resilience.ts sagaTopics): the orchestrator
 * produces each participant's commands, consumes the replies and the dead letters; a participant
 * consumes its commands, produces replies; both may park a message in the dead-letter topic.
 * Consumer groups are the services' own.
 */
export function sagaTopicUse(cfg: Pick<PlatformConfig, "services" | "resilience">): TopicUse[] {
  const groupOf = (s: string) => cfg.services[s]?.consumerGroup ?? s;
  return Object.entries(cfg.resilience.sagas).flatMap(([name, saga]) => {
    const t = sagaTopics(name, saga);
    const o = saga.orchestrator;
    return [
      ...Object.values(t.commands).map((topic) => ({ service: o, topic, role: "produce" as const })),
      { service: o, topic: t.replies, role: "consume" as const, group: groupOf(o) },
      { service: o, topic: t.deadLetter, role: "produce" as const },
      { service: o, topic: t.deadLetter, role: "consume" as const, group: groupOf(o) },
      ...Object.entries(t.commands).flatMap(([p, topic]) => [
        { service: p, topic, role: "consume" as const, group: groupOf(p) },
        { service: p, topic: t.replies, role: "produce" as const },
        { service: p, topic: t.deadLetter, role: "produce" as const },
      ]),
    ];
  });
}

export function serviceGraph(cfg: Pick<PlatformConfig, "services" | "cluster"> & Partial<Pick<PlatformConfig, "resilience">>): ServiceGraph {
  const entries = Object.entries(cfg.services).sort(([a], [b]) => a.localeCompare(b));
  const services: ServiceNode[] = entries.map(([name, s]) => ({
    name,
    namespace: s.namespace,
    serviceAccount: serviceAccountName(name),
    principal: `${cfg.cluster.domain}/ns/${s.namespace}/sa/${serviceAccountName(name)}`,
    port: s.port,
    protocol: s.protocol,
    host: `${name}.${s.namespace}.svc.${cfg.cluster.domain}`,
  }));
  const calls: CallEdge[] = entries.flatMap(([from, s]) =>
    s.calls.map((c) => ({
      from,
      to: c.service,
      protocol: cfg.services[c.service]?.protocol ?? "http",
      ...(c.methods ? { methods: c.methods } : {}),
      ...(c.paths ? { paths: c.paths } : {}),
    })),
  );
  const declared: TopicUse[] = entries.flatMap(([service, s]) => [
    ...s.produces.map((topic) => ({ service, topic, role: "produce" as const })),
    ...s.consumes.map((topic) => ({ service, topic, role: "consume" as const, group: s.consumerGroup ?? service })),
  ]);
  const saga = cfg.resilience ? sagaTopicUse({ services: cfg.services, resilience: cfg.resilience }) : [];
  const topicUse = [...new Map([...declared, ...saga].map((u) => [`${u.service}|${u.topic}|${u.role}`, u])).values()];
  const exposures: Exposure[] = entries.flatMap(([service, s]) =>
    s.expose ? [{ service, namespace: s.namespace, port: s.port, protocol: s.protocol, spec: s.expose, ...(s.rollout?.strategy === "progressive" ? { progressive: s.rollout } : {}) }] : [],
  );
  return {
    services,
    calls,
    topicUse,
    exposures,
    configStoreClients: entries.filter(([, s]) => s.configStore).map(([n]) => n),
    namespaces: [...new Set(entries.map(([, s]) => s.namespace))].sort(),
  };
}
