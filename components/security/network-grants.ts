/**
 * Which pods may open connections to which, as Kubernetes NetworkPolicy ingress rules: derived
 * from the same declarations the mesh's authorization comes from (calls, exposures, topic, store,
 * NATS and secret use) plus what each platform component needs (webhooks, scrapes, xDS, OTLP).
 *
 * Pure: the NetworkPolicies component renders it, the running-platform proof evaluates the result,
 * and the property tests compare it with the declarations.
 *
 * Ambient mesh semantics (istio.io/latest/docs/ambient/usage/networkpolicy): between two mesh pods
 * the connection reaches the destination pod on HBONE port 15008, not on the application port;
 * waypoints receive on 15008 and forward on 15008; kubelet probes into a mesh pod come from
 * 169.254.7.127 (istio-cni's SNAT). NetworkPolicy is enforced at the pod's host interface, so a rule
 * names the port on the wire.
 */
import type { PlatformConfig } from "../../config/schema";
import { PLATFORM_NAMESPACES, PLATFORM_OTLP_ENDPOINT } from "../../config/schema";
import { CONSUL_HTTPS_PORT } from "../discovery/consul";
import { ETCD_CLIENT_PORT } from "../discovery/etcd-cluster";
import { NATS_CLIENT_PORT } from "../messaging/nats";
import { KAFKA_CLUSTER, KAFKA_TLS_PORT } from "../messaging/strimzi-kafka";
import { EXTERNAL_SECRETS_NAME } from "../secrets/external-secrets";
import { VAULT_PORT } from "../secrets/vault";
import { IMPLEMENTATIONS } from "../gateway/routing";
import { waypointNamespaces, WAYPOINT_NAME } from "../mesh/authorization";
import type { ServiceGraph } from "../service-graph";

/** HBONE: the port mesh traffic arrives on at a mesh pod (and at a waypoint). */
export const HBONE_PORT = 15008;
/** Where kubelet probes into a mesh pod come from (istio-cni rewrites them), and as a rule's range. */
export const PROBE_SNAT_ADDRESS = "169.254.7.127";
export const PROBE_SNAT_CIDR = `${PROBE_SNAT_ADDRESS}/32`;
/** istiod's xDS and CA port, and its webhook port. */
export const ISTIOD_XDS_PORT = 15012;
export const ISTIOD_WEBHOOK_PORT = 15017;
/** Kyverno's admission and cleanup webhooks, External Secrets' webhook (container ports). */
export const KYVERNO_WEBHOOK_PORT = 9443;
export const EXTERNAL_SECRETS_WEBHOOK_PORT = 10250;
/** Envoy Gateway's topology-injector webhook (container port). */
export const ENVOY_GATEWAY_WEBHOOK_PORT = 9443;
/** The collector agent's OTLP ports (gRPC, HTTP). */
export const OTLP_PORTS: readonly number[] = [4317, 4318];
/** The pod label a service's pods carry under both its own Deployment and Flagger's primary copy. */
export const SERVICE_POD_LABEL = "app.kubernetes.io/instance";
/** Waypoint pods: the label istiod's waypoint template sets. */
export const WAYPOINT_POD_LABELS = { "gateway.istio.io/managed": "istio.io-mesh-controller" } as const;
/** Prometheus' pods (prometheus-operator's labels). */
export const PROMETHEUS_POD_LABELS = { "app.kubernetes.io/name": "prometheus" } as const;

/** A source a rule admits. */
export type Peer =
  /** Pods in one namespace (every pod there when `pods` is absent). */
  | { readonly namespace: string; readonly pods?: Readonly<Record<string, string>> }
  /** Pods with these labels in any namespace. */
  | { readonly anyNamespace: true; readonly pods: Readonly<Record<string, string>> }
  /** An address range outside every pod (kubelet probes' SNAT). */
  | { readonly cidr: string }
  /** Any source: the API server and the load balancer have no address the platform can know. */
  | { readonly anywhere: true };

/** One allow rule: these sources may reach these pods on these ports. */
export interface IngressGrant {
  /** NetworkPolicy name (unique in its namespace). */
  readonly name: string;
  readonly namespace: string;
  /** Destination pods by label; every pod of the namespace when absent. */
  readonly pods?: Readonly<Record<string, string>>;
  readonly from: readonly Peer[];
  /** TCP ports on the wire; every port when absent. */
  readonly ports?: readonly number[];
  /** What needs it, for people (an annotation on the object). */
  readonly why: string;
}

/** One namespace the platform creates. */
export interface PlatformNamespace {
  readonly name: string;
  /** Enrolled in ambient as a namespace (pods then speak HBONE). */
  readonly meshEnrolled: boolean;
  /** Holds the pods of platform components only: they may reach each other (raft, peers, operator → operand). */
  readonly platformOwned: boolean;
}

/** Everything the NetworkPolicies component renders. */
export interface NetworkPlan {
  readonly namespaces: readonly PlatformNamespace[];
  readonly grants: readonly IngressGrant[];
}

type Cfg = Pick<PlatformConfig, "mesh" | "gateway" | "observability" | "discovery" | "messaging" | "secrets" | "security" | "services">;

/** The namespaces the platform creates for this config, with their mesh enrollment. */
export function platformNamespaces(cfg: Cfg, graph: ServiceGraph): PlatformNamespace[] {
  const mesh = cfg.mesh.enabled;
  const out: PlatformNamespace[] = [];
  const add = (name: string, meshEnrolled: boolean, platformOwned = true) => out.push({ name, meshEnrolled: mesh && meshEnrolled, platformOwned });
  if (mesh) add(PLATFORM_NAMESPACES.mesh, false);
  if (cfg.observability.enabled) add(PLATFORM_NAMESPACES.observability, false);
  if (cfg.gateway.enabled) add(cfg.gateway.namespace, true);
  if (cfg.gateway.enabled && graph.exposures.some((e) => e.progressive)) add(PLATFORM_NAMESPACES.delivery, true);
  if (cfg.discovery.store !== "none") add(PLATFORM_NAMESPACES.discovery, true);
  if (cfg.messaging.kafka.enabled) add(PLATFORM_NAMESPACES.kafka, true);
  if (cfg.messaging.nats.enabled) add(PLATFORM_NAMESPACES.nats, true);
  if (cfg.secrets.enabled) {
    add(PLATFORM_NAMESPACES.secrets, true);
    // Only the controller joins the mesh (by pod label): the webhook is the API server's.
    add(PLATFORM_NAMESPACES.externalSecrets, false);
  }
  if (cfg.security.admission.enabled) add(PLATFORM_NAMESPACES.security, false);
  for (const ns of graph.namespaces) add(ns, true, false);
  return out;
}

/** The pods that run the gateway's data plane. */
export function gatewayProxyPods(implementation: "traefik" | "envoy"): Record<string, string> {
  return implementation === "traefik" ? { "app.kubernetes.io/name": "traefik" } : { "app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy" };
}

/** The gateway proxies' listener container ports (Envoy Gateway maps 80/443 to 10080/10443). */
export function gatewayListenerPorts(implementation: "traefik" | "envoy"): number[] {
  const i = IMPLEMENTATIONS[implementation];
  return implementation === "traefik" ? [i.httpPort, i.httpsPort] : [i.httpPort + 10000, i.httpsPort + 10000];
}

/** Every allow rule the platform needs, beside a default deny in each namespace it creates. */
export function networkPlan(cfg: Cfg, graph: ServiceGraph): NetworkPlan {
  const namespaces = platformNamespaces(cfg, graph);
  const enrolledNs = new Set(namespaces.filter((n) => n.meshEnrolled).map((n) => n.name));
  const mesh = cfg.mesh.enabled;
  // The port on the wire: HBONE between two mesh pods, the application's port otherwise.
  const wire = (srcInMesh: boolean, dstInMesh: boolean, ports: readonly number[]): number[] => (mesh && srcInMesh && dstInMesh ? [HBONE_PORT] : [...ports]);
  const grants: IngressGrant[] = [];
  const svcNs = new Map(graph.services.map((s) => [s.name, s.namespace]));
  const servicePeer = (service: string): Peer => ({ namespace: svcNs.get(service)!, pods: { [SERVICE_POD_LABEL]: service } });
  const uniq = <T>(xs: T[]): T[] => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
  const gatewayPeer: Peer | undefined = cfg.gateway.enabled ? { namespace: cfg.gateway.namespace, pods: gatewayProxyPods(cfg.gateway.implementation) } : undefined;
  const progressive = cfg.gateway.enabled && graph.exposures.some((e) => e.progressive);
  // Flagger and its loadtester (the error-budget gate, the smoke tests) share the delivery namespace.
  const deliveryPeer: Peer = { namespace: PLATFORM_NAMESPACES.delivery };

  for (const ns of namespaces) {
    if (ns.platformOwned) grants.push({ name: "allow-same-namespace", namespace: ns.name, from: [{ namespace: ns.name }], why: "The components of this namespace talk among themselves (raft, peers, operator to operand, Jobs to their server)." });
    if (cfg.observability.enabled && ns.name !== PLATFORM_NAMESPACES.observability) {
      grants.push({ name: "allow-prometheus", namespace: ns.name, from: [{ namespace: PLATFORM_NAMESPACES.observability, pods: PROMETHEUS_POD_LABELS }], why: "Prometheus scrapes the metrics endpoints its monitors name (any port: HBONE for mesh pods)." });
    }
    if (ns.meshEnrolled || (mesh && (ns.name === PLATFORM_NAMESPACES.observability || ns.name === PLATFORM_NAMESPACES.externalSecrets))) {
      // Mesh pods (namespace or pod label) get kubelet's probes from istio-cni's SNAT address.
      grants.push({ name: "allow-kubelet-probes", namespace: ns.name, from: [{ cidr: PROBE_SNAT_CIDR }], why: "Kubelet probes into mesh pods arrive from 169.254.7.127 (istio-cni's SNAT)." });
    }
  }

  // The mesh: waypoints fetch config and certificates from istiod; the API server calls its webhook.
  if (mesh) {
    const ns = PLATFORM_NAMESPACES.mesh;
    if (waypointNamespaces(graph).length) grants.push({ name: "allow-waypoints-xds", namespace: ns, pods: { app: "istiod" }, from: [{ anyNamespace: true, pods: WAYPOINT_POD_LABELS }], ports: [ISTIOD_XDS_PORT], why: "Waypoints get their configuration and certificates from istiod." });
    grants.push({ name: "allow-api-server-webhook", namespace: ns, pods: { app: "istiod" }, from: [{ anywhere: true }], ports: [ISTIOD_WEBHOOK_PORT], why: "The API server calls istiod's validating webhook." });
  }

  // Observability: OTLP into the collector agent, PromQL from Flagger and its gates.
  if (cfg.observability.enabled) {
    const ns = PLATFORM_NAMESPACES.observability;
    if (cfg.observability.otlpEndpoint === PLATFORM_OTLP_ENDPOINT) {
      const senders: Peer[] = [
        ...graph.services.map((s) => servicePeer(s.name)),
        ...(gatewayPeer ? [gatewayPeer] : []),
        ...(mesh && waypointNamespaces(graph).length ? [{ anyNamespace: true as const, pods: WAYPOINT_POD_LABELS }] : []),
      ];
      if (senders.length) grants.push({ name: "allow-otlp", namespace: ns, pods: { "app.kubernetes.io/instance": "otel-agent" }, from: senders, ports: OTLP_PORTS, why: "Services, the gateway's proxies and waypoints send traces, metrics and logs to the collector agent." });
    }
    if (progressive) grants.push({ name: "allow-flagger-queries", namespace: ns, pods: PROMETHEUS_POD_LABELS, from: [deliveryPeer], ports: wire(true, mesh, [9090]), why: "Flagger's analysis and the loadtester's error-budget gate query Prometheus." });
  }

  // The gateway: the load balancer reaches the proxies' listeners.
  if (cfg.gateway.enabled) {
    if (cfg.gateway.implementation === "envoy") grants.push({ name: "allow-api-server-webhook", namespace: cfg.gateway.namespace, pods: { "control-plane": "envoy-gateway" }, from: [{ anywhere: true }], ports: [ENVOY_GATEWAY_WEBHOOK_PORT], why: "The API server calls Envoy Gateway's topology-injector webhook." });
    grants.push({ name: "allow-load-balancer", namespace: cfg.gateway.namespace, pods: gatewayProxyPods(cfg.gateway.implementation), from: [{ anywhere: true }], ports: gatewayListenerPorts(cfg.gateway.implementation), why: "Clients reach the gateway's listeners through the load balancer." });
  }

  // Data services: exactly the services that declared their use.
  const dataGrant = (name: string, namespace: string, pods: Record<string, string>, clients: readonly string[], port: number, why: string) => {
    const from = uniq(clients.map(servicePeer));
    if (from.length) grants.push({ name, namespace, pods, from, ports: wire(true, enrolledNs.has(namespace), [port]), why });
  };
  if (cfg.discovery.store === "etcd") dataGrant("allow-store-clients", PLATFORM_NAMESPACES.discovery, { "app.kubernetes.io/name": "etcd" }, graph.configStoreClients, ETCD_CLIENT_PORT, "Services that declared configStore read and write their prefix.");
  if (cfg.discovery.store === "consul") dataGrant("allow-store-clients", PLATFORM_NAMESPACES.discovery, { app: "consul", component: "server" }, graph.configStoreClients, CONSUL_HTTPS_PORT, "Services that declared configStore read and write their prefix.");
  if (cfg.messaging.kafka.enabled) dataGrant("allow-kafka-clients", PLATFORM_NAMESPACES.kafka, { "strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/broker-role": "true" }, graph.topicUse.map((u) => u.service), KAFKA_TLS_PORT, "Services that declared topics produce and consume through the TLS listener.");
  if (cfg.messaging.nats.enabled) dataGrant("allow-nats-clients", PLATFORM_NAMESPACES.nats, { "app.kubernetes.io/name": "nats" }, Object.entries(cfg.services).filter(([, s]) => s.nats).map(([n]) => n), NATS_CLIENT_PORT, "Services that declared NATS use connect to the servers.");
  if (cfg.secrets.enabled) {
    grants.push({ name: "allow-store-readers", namespace: PLATFORM_NAMESPACES.secrets, pods: { "app.kubernetes.io/name": "vault", component: "server" }, from: [{ namespace: PLATFORM_NAMESPACES.externalSecrets, pods: { "app.kubernetes.io/name": EXTERNAL_SECRETS_NAME } }], ports: wire(true, true, [VAULT_PORT]), why: "External Secrets' controller reads the services' secrets from the store." });
    grants.push({ name: "allow-api-server-webhook", namespace: PLATFORM_NAMESPACES.externalSecrets, pods: { "app.kubernetes.io/name": `${EXTERNAL_SECRETS_NAME}-webhook` }, from: [{ anywhere: true }], ports: [EXTERNAL_SECRETS_WEBHOOK_PORT], why: "The API server calls External Secrets' validating webhook." });
  }
  if (cfg.security.admission.enabled) {
    grants.push({ name: "allow-api-server-webhooks", namespace: PLATFORM_NAMESPACES.security, pods: { "app.kubernetes.io/part-of": "kyverno" }, from: [{ anywhere: true }], ports: [KYVERNO_WEBHOOK_PORT], why: "The API server calls Kyverno's admission and cleanup webhooks (Kyverno registers them at start-up)." });
  }

  // Services: through their namespace's waypoint when the mesh runs one, else from each declared caller.
  const waypoints = new Set(mesh ? waypointNamespaces(graph) : []);
  const exposed = new Map(graph.exposures.map((e) => [e.service, e]));
  for (const s of graph.services) {
    const callers = graph.calls.filter((c) => c.to === s.name).map((c) => c.from);
    const e = exposed.get(s.name);
    const viaWaypoint = waypoints.has(s.namespace);
    const from: Peer[] = uniq([
      ...(viaWaypoint ? [{ namespace: s.namespace, pods: { "gateway.networking.k8s.io/gateway-name": WAYPOINT_NAME } }] : callers.map(servicePeer)),
      // The gateway sends to the pods behind the route, not to the Service address.
      ...(e && gatewayPeer ? [gatewayPeer] : []),
      // The loadtester's smoke tests call the canary Service (through the waypoint when there is one).
      ...(e?.progressive && !viaWaypoint ? [deliveryPeer] : []),
    ]);
    if (from.length) grants.push({ name: `allow-${s.name}`, namespace: s.namespace, pods: { [SERVICE_POD_LABEL]: s.name }, from, ports: wire(true, true, [s.port]), why: `What may call ${s.name}: ${viaWaypoint ? "its namespace's waypoint" : "its declared callers"}${e ? ", the gateway" : ""}.` });
  }
  for (const ns of waypoints) {
    const inNs = graph.services.filter((s) => s.namespace === ns);
    const callers = graph.calls.filter((c) => svcNs.get(c.to) === ns).map((c) => c.from);
    const from = uniq([...callers.map(servicePeer), ...(progressive && graph.exposures.some((x) => x.progressive && x.namespace === ns) ? [deliveryPeer] : [])]);
    if (from.length) grants.push({ name: `allow-${WAYPOINT_NAME}`, namespace: ns, pods: { "gateway.networking.k8s.io/gateway-name": WAYPOINT_NAME }, from, ports: [HBONE_PORT], why: `The declared callers of ${inNs.map((s) => s.name).join(", ")} reach them through the waypoint.` });
  }
  return { namespaces, grants };
}

/** A Peer as a NetworkPolicy `from` entry (undefined: any source, the rule has no `from`). */
function peerEntry(p: Peer, here: string): Record<string, unknown> | undefined {
  if ("anywhere" in p) return undefined;
  if ("cidr" in p) return { ipBlock: { cidr: p.cidr } };
  if ("anyNamespace" in p) return { namespaceSelector: {}, podSelector: { matchLabels: { ...p.pods } } };
  const pods = p.pods ? { podSelector: { matchLabels: { ...p.pods } } } : { podSelector: {} };
  return p.namespace === here ? pods : { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } }, ...pods };
}

/** The NetworkPolicy objects of a plan: a default deny per namespace, then one object per grant. */
export function networkPolicyManifests(plan: NetworkPlan): Record<string, any>[] {
  const meta = (name: string, namespace: string, why: string) => ({ name, namespace, labels: { "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" }, annotations: { "platform.io/why": why } });
  const out: Record<string, any>[] = [];
  for (const ns of plan.namespaces) {
    out.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta("default-deny-ingress", ns.name, "Nothing reaches a pod here unless a rule below admits it."), spec: { podSelector: {}, policyTypes: ["Ingress"] } });
  }
  for (const g of plan.grants) {
    const from = g.from.map((p) => peerEntry(p, g.namespace));
    const rule: Record<string, unknown> = {
      ...(from.some((f) => f === undefined) ? {} : { from }),
      ...(g.ports ? { ports: g.ports.map((port) => ({ protocol: "TCP", port })) } : {}),
    };
    out.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta(g.name, g.namespace, g.why), spec: { podSelector: g.pods ? { matchLabels: { ...g.pods } } : {}, policyTypes: ["Ingress"], ingress: [rule] } });
  }
  return out;
}
