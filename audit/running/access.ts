/**
 * One access matrix: for each service, what it may call (method and path), which Kafka topics it
 * may produce and consume, which NATS subjects and buckets it may use, which config-store prefix
 * it owns, and the objects that enforce each line. The matrix is generated from the declarations;
 * then what the rendered objects grant is read back from them (mesh policies evaluated for every
 * pair of services, KafkaUser ACLs, the NATS server's users, the store's auth script, the secret
 * store's configurator script, the NetworkPolicies evaluated for connections to the shared data
 * services) and every
 * grant the objects give that the matrix does not list, or the reverse, is a finding.
 */
import type { PlatformConfig } from "../../config/schema";
import { PLATFORM_NAMESPACES } from "../../config/schema";
import { kvStream, natsIdentity } from "../../components/messaging/nats-access";
import { serviceGraph } from "../../components/service-graph";
import { CONFIGURATOR, parsePolicyHcl, storeAccess } from "../../components/secrets/store-access";
import type { Obj } from "../../policy/k8s";
import { enrolled, evaluateFlow, MeshView, meshView, networkPolicyAdmits } from "./flows";
import { HBONE_PORT } from "../../components/security/network-grants";
import { WAYPOINT_NAME } from "../../components/mesh/authorization";
import { ETCD_CLIENT_PORT, etcdClientPrefix } from "../../components/discovery/etcd-cluster";
import { CONSUL_HTTPS_PORT, consulClientPrefix } from "../../components/discovery/consul";
import { KAFKA_TLS_PORT } from "../../components/messaging/strimzi-kafka";
import { NATS_CLIENT_PORT } from "../../components/messaging/nats";
import { indexOf, LiveObject, PodSet } from "./pods";

/** The kinds of access the matrix has a column for. */
export type AccessKind = "call" | "kafka-produce" | "kafka-consume" | "nats-publish" | "nats-subscribe" | "kv-read" | "kv-write" | "store" | "secret" | "connect";

/** The shared data services a service may open connections to (the matrix's "connect" column), with their pods and client port. */
function dataServices(config: PlatformConfig, pods: readonly PodSet[] = []): { grant: string; clients: readonly string[]; policy: string; pods: PodSet[]; port: number }[] {
  const graph = serviceGraph(config);
  const inNs = (ns: string, labels: Record<string, string>) => pods.filter((p) => p.namespace === ns && Object.entries(labels).every(([k, v]) => p.metadata.labels[k] === v));
  const out: ReturnType<typeof dataServices> = [];
  if (config.discovery.store === "etcd") out.push({ grant: "config store (etcd)", clients: graph.configStoreClients, policy: `${PLATFORM_NAMESPACES.discovery}/allow-store-clients`, pods: inNs(PLATFORM_NAMESPACES.discovery, { "app.kubernetes.io/name": "etcd" }), port: ETCD_CLIENT_PORT });
  if (config.discovery.store === "consul") out.push({ grant: "config store (consul)", clients: graph.configStoreClients, policy: `${PLATFORM_NAMESPACES.discovery}/allow-store-clients`, pods: inNs(PLATFORM_NAMESPACES.discovery, { app: "consul", component: "server" }), port: CONSUL_HTTPS_PORT });
  if (config.messaging.kafka.enabled) out.push({ grant: "Kafka brokers", clients: [...new Set(graph.topicUse.map((u) => u.service))], policy: `${PLATFORM_NAMESPACES.kafka}/allow-kafka-clients`, pods: inNs(PLATFORM_NAMESPACES.kafka, { "strimzi.io/broker-role": "true" }), port: KAFKA_TLS_PORT });
  if (config.messaging.nats.enabled) out.push({ grant: "NATS servers", clients: Object.entries(config.services).filter(([, s]) => s.nats).map(([n]) => n), policy: `${PLATFORM_NAMESPACES.nats}/allow-nats-clients`, pods: inNs(PLATFORM_NAMESPACES.nats, { "app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats" }), port: NATS_CLIENT_PORT });
  return out;
}

/** One line of the matrix: a service may do `grant` of `kind`. */
export interface AccessGrant {
  readonly service: string;
  readonly kind: AccessKind;
  /** `callee METHOD path` for calls, a topic, subject, bucket or key prefix otherwise. */
  readonly grant: string;
}

/** A matrix line with the objects that enforce it. */
export interface AccessLine extends AccessGrant {
  readonly enforcedBy: string;
}

const key = (g: AccessGrant) => `${g.service}\u0000${g.kind}\u0000${g.grant}`;

/** The matrix, from the declarations alone. */
export function accessMatrix(config: PlatformConfig): AccessLine[] {
  const graph = serviceGraph(config);
  const lines: AccessLine[] = [];
  const ns = new Map(graph.services.map((s) => [s.name, s.namespace]));
  for (const c of graph.calls) {
    const what = `${c.methods?.length ? c.methods.join(",") : "any method"} ${c.paths?.length ? c.paths.join(",") : "any path"}`;
    const mesh = config.mesh.enabled ? [`AuthorizationPolicy ${ns.get(c.to)}/allow-${c.to} (ztunnel and waypoint)`] : [];
    // Under the mesh a call reaches the callee's pods through its namespace's waypoint (network-grants.ts).
    const net = config.security.networkPolicies ? [`NetworkPolicy ${config.mesh.enabled ? `${ns.get(c.to)}/allow-${WAYPOINT_NAME}, ` : ""}${ns.get(c.to)}/allow-${c.to}`] : [];
    // Without the mesh nothing reads methods or paths: the line says what is enforced, not what was asked.
    const narrowed = !config.mesh.enabled && (c.methods?.length || c.paths?.length);
    const enforcedBy = [...mesh, ...net].join("; ") || "nothing (no mesh, no NetworkPolicies)";
    lines.push({ service: c.from, kind: "call", grant: `${c.to} ${config.mesh.enabled ? what : "any method any path"}`, enforcedBy: narrowed ? `${enforcedBy}; declared ${what}, which only the mesh enforces` : enforcedBy });
  }
  if (config.messaging.kafka.enabled) {
    for (const u of graph.topicUse) lines.push({ service: u.service, kind: u.role === "produce" ? "kafka-produce" : "kafka-consume", grant: u.topic, enforcedBy: `KafkaUser ${PLATFORM_NAMESPACES.kafka}/${u.service} ACLs` });
  }
  if (config.messaging.nats.enabled) {
    for (const [service, s] of Object.entries(config.services)) {
      if (!s.nats) continue;
      const by = `NATS user ${natsIdentity(config.cluster.domain, s.namespace, service)} (ConfigMap ${PLATFORM_NAMESPACES.nats}/nats-config)`;
      for (const x of s.nats.publish) lines.push({ service, kind: "nats-publish", grant: x, enforcedBy: by });
      for (const x of s.nats.subscribe) lines.push({ service, kind: "nats-subscribe", grant: x, enforcedBy: by });
      for (const b of s.nats.kvRead.filter((b) => !s.nats!.kvWrite.includes(b))) lines.push({ service, kind: "kv-read", grant: b, enforcedBy: by });
      for (const b of s.nats.kvWrite) lines.push({ service, kind: "kv-write", grant: b, enforcedBy: by });
    }
  }
  if (config.discovery.store !== "none") {
    for (const service of graph.configStoreClients) {
      const etcd = config.discovery.store === "etcd";
      lines.push({ service, kind: "store", grant: etcd ? etcdClientPrefix(service) : consulClientPrefix(service), enforcedBy: etcd ? `etcd role ${service} (the etcd auth Job)` : `Consul ACL policy svc-${service} (the Consul ACL Job)` });
    }
  }
  if (config.security.networkPolicies) {
    for (const d of dataServices(config)) for (const service of d.clients) lines.push({ service, kind: "connect", grant: d.grant, enforcedBy: `NetworkPolicy ${d.policy}` });
  }
  if (config.secrets.enabled) {
    for (const a of storeAccess(config.services)) {
      for (const p of a.readPaths) lines.push({ service: a.service, kind: "secret", grant: p, enforcedBy: `Vault policy and role ${a.name} (Job ${PLATFORM_NAMESPACES.secrets}/${CONFIGURATOR}-*), SecretStore ${a.namespace}/${a.service}-store` });
    }
  }
  return dedupe(lines);
}

/**
 * What the secret store's configurator grants: each role's bound ServiceAccount (a service's,
 * as Microservice names it) gets `read` on the paths of the policies the role issues tokens for.
 * A role bound to `*` grants every service of the namespace.
 */
function secretGrants(script: string, config: PlatformConfig): AccessGrant[] {
  const policies = new Map<string, string[]>();
  for (const m of script.matchAll(/vault policy write (\S+) - <<'EOF'\n([\s\S]*?)EOF/g)) policies.set(m[1]!, parsePolicyHcl(m[2]!).filter((r) => r.capabilities.includes("read")).map((r) => r.path));
  const out: AccessGrant[] = [];
  for (const m of script.matchAll(/vault write auth\/kubernetes\/role\/(\S+) ([^\n]*)/g)) {
    const args = Object.fromEntries(m[2]!.split(/\s+/).map((kv) => kv.split("=") as [string, string]));
    const names = (args["bound_service_account_names"] ?? "").split(",");
    const namespaces = (args["bound_service_account_namespaces"] ?? "").split(",");
    const services = Object.entries(config.services).filter(([n, s]) => (names.includes("*") || names.includes(n)) && (namespaces.includes("*") || namespaces.includes(s.namespace))).map(([n]) => n);
    for (const p of (args["token_policies"] ?? "").split(",")) for (const path of policies.get(p) ?? []) for (const service of services) out.push({ service, kind: "secret", grant: path });
  }
  return out;
}

function dedupe<T extends AccessGrant>(xs: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) if (!seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()].sort((a, b) => a.service.localeCompare(b.service) || a.kind.localeCompare(b.kind) || a.grant.localeCompare(b.grant));
}

/** The stable pods of each declared service. */
function servicePods(pods: readonly PodSet[], config: PlatformConfig): Map<string, PodSet> {
  const out = new Map<string, PodSet>();
  for (const [name, s] of Object.entries(config.services)) {
    const p = pods.find((x) => x.kind === "Deployment" && x.namespace === s.namespace && x.name === name);
    if (p) out.set(name, p);
  }
  return out;
}

/** Whether the mesh lets `from` send `req` to `to`'s Service. */
function meshAllows(m: MeshView, from: PodSet, to: PodSet, service: string, port: number, req?: { method?: string; path?: string }): boolean {
  return evaluateFlow(m, { name: "", kind: "call", from: { pods: from }, to, port, via: { service }, required: false, key: "", ...(req ? { request: req } : {}) }).allowed;
}

/**
 * What the rendered objects grant, read back from them. Calls: for every ordered pair of services,
 * the mesh policies are evaluated (a declared call with its methods and paths, and one request
 * outside them), or without the mesh the NetworkPolicies (L4: any method, any path); Kafka: each
 * KafkaUser's topic ACLs; NATS: each user's application subjects and buckets in the server config;
 * the store: the prefixes the auth Job's script grants; connections: the NetworkPolicies into the
 * shared data services' pods.
 */
export function grantedByObjects(objects: readonly LiveObject[], pods: readonly PodSet[], config: PlatformConfig): AccessGrant[] {
  const out: AccessGrant[] = [];
  const ix = indexOf(objects);
  const graph = serviceGraph(config);
  const byName = servicePods(pods, config);
  const declared = new Map(graph.calls.map((c) => [`${c.from}\u0000${c.to}`, c]));

  if (config.mesh.enabled) {
    const m = meshView(objects, config.cluster.domain, PLATFORM_NAMESPACES.mesh, pods);
    const candidates = callerCandidates(objects, graph.services, config.cluster.domain);
    for (const to of graph.services) {
      for (const from of candidates(to.namespace)) {
        const src = byName.get(from.name);
        const dst = byName.get(to.name);
        if (from.name === to.name || !src || !dst) continue;
        const c = declared.get(`${from.name}\u0000${to.name}`);
        const probe = { ...(c?.methods?.length ? { method: c.methods[0] } : { method: "GET" }), ...(c?.paths?.length ? { path: c.paths[0] } : { path: "/" }) };
        if (!meshAllows(m, src, dst, to.name, to.port, probe)) continue;
        // Allowed with the declared request: is it narrower than "any", as declared?
        const anyMethod = meshAllows(m, src, dst, to.name, to.port, { method: "PATCH", path: probe.path });
        const anyPath = meshAllows(m, src, dst, to.name, to.port, { method: probe.method, path: "/zz-undeclared" });
        const methods = c?.methods?.length && !anyMethod ? c.methods.join(",") : "any method";
        const paths = c?.paths?.length && !anyPath ? c.paths.join(",") : "any path";
        out.push({ service: from.name, kind: "call", grant: `${to.name} ${methods} ${paths}` });
      }
    }
  } else if (config.security.networkPolicies) {
    // No mesh: the NetworkPolicies are the only line, at L4 (no method or path is enforced).
    const m = meshView(objects, config.cluster.domain, PLATFORM_NAMESPACES.mesh, pods);
    for (const to of graph.services) {
      for (const from of graph.services) {
        const src = byName.get(from.name);
        const dst = byName.get(to.name);
        if (from.name !== to.name && src && dst && networkPolicyAdmits(m, { pods: src }, dst, to.port).allowed) out.push({ service: from.name, kind: "call", grant: `${to.name} any method any path` });
      }
    }
  } else {
    for (const c of graph.calls) out.push({ service: c.from, kind: "call", grant: `${c.to} any method any path` });
  }

  for (const u of ix.inNs("KafkaUser", PLATFORM_NAMESPACES.kafka)) {
    for (const acl of (u["spec"]?.authorization?.acls ?? []) as Obj[]) {
      if (acl["resource"]?.type !== "topic") continue;
      const ops: string[] = acl["operations"] ?? [];
      if (ops.includes("Write") || ops.includes("All")) out.push({ service: u.metadata.name, kind: "kafka-produce", grant: String(acl["resource"].name) });
      if (ops.includes("Read") || ops.includes("All")) out.push({ service: u.metadata.name, kind: "kafka-consume", grant: String(acl["resource"].name) });
    }
  }

  const natsConf = ix.inNs("ConfigMap", PLATFORM_NAMESPACES.nats).find((o) => typeof (o["data"] as Obj | undefined)?.["nats.conf"] === "string");
  if (natsConf) {
    const conf = parseNatsConf(String((natsConf["data"] as Obj)["nats.conf"]));
    const ids = new Map(Object.entries(config.services).map(([name, s]) => [natsIdentity(config.cluster.domain, s.namespace, name), name]));
    for (const u of (conf["authorization"]?.users ?? []) as Obj[]) {
      const service = ids.get(String(u["user"]));
      if (!service) continue;
      const pub: string[] = u["permissions"]?.publish?.allow ?? [];
      const sub: string[] = u["permissions"]?.subscribe?.allow ?? [];
      for (const s of pub.filter((x) => !x.startsWith("$") && !x.startsWith("_INBOX"))) out.push({ service, kind: "nats-publish", grant: s });
      for (const s of sub.filter((x) => !x.startsWith("$") && !x.startsWith("_INBOX"))) out.push({ service, kind: "nats-subscribe", grant: s });
      for (const b of Object.keys(config.messaging.nats.kvBuckets)) {
        if (pub.includes(`$KV.${b}.>`)) out.push({ service, kind: "kv-write", grant: b });
        else if (pub.includes(`$JS.API.STREAM.INFO.${kvStream(b)}`)) out.push({ service, kind: "kv-read", grant: b });
      }
    }
  }

  // Connections to the shared data services: the NetworkPolicies evaluated for every service's pods,
  // on the port on the wire (HBONE between mesh pods).
  if (config.security.networkPolicies) {
    const m = meshView(objects, config.cluster.domain, PLATFORM_NAMESPACES.mesh, pods);
    for (const d of dataServices(config, pods)) {
      for (const [service, src] of byName) {
        if (d.pods.some((dst) => networkPolicyAdmits(m, { pods: src }, dst, enrolled(m, src) && enrolled(m, dst) ? HBONE_PORT : d.port).allowed)) out.push({ service, kind: "connect", grant: d.grant });
      }
    }
  }

  // The store's grants are in its auth Job's script (etcdctl role grants, Consul ACL policies).
  for (const job of ix.inNs("Job", PLATFORM_NAMESPACES.discovery)) {
    const script = ((job["spec"]?.template?.spec?.containers ?? []) as Obj[]).flatMap((c) => c["command"] ?? []).join("\n");
    for (const m of script.matchAll(/etcdctl role grant-permission (\S+) readwrite --prefix=true (\S+)/g)) out.push({ service: m[1]!, kind: "store", grant: m[2]! });
    for (const m of script.matchAll(/-name svc-(\S+) -rules 'key_prefix "([^"]+)" \{ policy = "write" \}/g)) out.push({ service: m[1]!, kind: "store", grant: m[2]! });
  }
  // The secret store's grants are in its configurator Job's script (policies and roles).
  for (const job of ix.inNs("Job", PLATFORM_NAMESPACES.secrets)) {
    const script = ((job["spec"]?.template?.spec?.containers ?? []) as Obj[]).flatMap((c) => c["command"] ?? []).join("\n");
    out.push(...secretGrants(script, config));
  }
  return dedupe(out);
}

/**
 * The services that may be allowed to call into a namespace: those whose principal an ALLOW rule
 * there (or in the root namespace) names; every service when a rule admits by namespace, by
 * exclusion or by wildcard, or when no ALLOW policy exists (then nothing restricts). Only these
 * pairs are evaluated, so a stack of N services costs about its declared calls, not N².
 */
function callerCandidates(objects: readonly LiveObject[], services: readonly { name: string; namespace: string }[], trustDomain: string): (namespace: string) => readonly { name: string; namespace: string }[] {
  const ix = indexOf(objects);
  const byPrincipal = new Map(services.map((s) => [`${trustDomain}/ns/${s.namespace}/sa/${s.name}`, s]));
  const root = PLATFORM_NAMESPACES.mesh;
  const memo = new Map<string, readonly { name: string; namespace: string }[]>();
  return (namespace) => {
    const hit = memo.get(namespace);
    if (hit) return hit;
    const allows = [...ix.inNs("AuthorizationPolicy", namespace), ...ix.inNs("AuthorizationPolicy", root)].filter((p) => String(p["spec"]?.action ?? "ALLOW") === "ALLOW");
    let out: readonly { name: string; namespace: string }[] = services;
    if (allows.length) {
      const named = new Set<{ name: string; namespace: string }>();
      let all = false;
      for (const p of allows) {
        for (const rule of (p["spec"]?.rules ?? []) as Obj[]) {
          const from = (rule["from"] ?? []) as Obj[];
          if (!from.length) all = true;
          for (const f of from) {
            const src: Obj = f["source"] ?? {};
            if (src["namespaces"] || src["notNamespaces"] || src["notPrincipals"] || !src["principals"]) all = true;
            for (const pr of (src["principals"] ?? []) as string[]) {
              if (pr.includes("*")) all = true;
              const svc = byPrincipal.get(pr);
              if (svc) named.add(svc);
            }
          }
        }
      }
      out = all ? services : [...named];
    }
    memo.set(namespace, out);
    return out;
  };
}

/** The chart's nats.conf as data (JSON with bare sizes and variables). */
export function parseNatsConf(text: string): Obj {
  return JSON.parse(text.replace(/: (\$?[A-Za-z0-9_]+)(,?)$/gm, (m, v: string, c: string) => (/^(true|false|-?\d+)$/.test(v) ? m : `: "${v}"${c}`)));
}

/** Grants the objects give beyond the matrix, and matrix lines no object grants. */
export function accessDifferences(matrix: readonly AccessGrant[], granted: readonly AccessGrant[]): { extra: AccessGrant[]; missing: AccessGrant[] } {
  const m = new Set(matrix.map(key));
  const g = new Set(granted.map(key));
  return { extra: granted.filter((x) => !m.has(key(x))), missing: matrix.filter((x) => !g.has(key(x))) };
}

/** The matrix, what the objects grant, and where they differ; kinds whose objects are not in the render are not compared. */
export interface AccessProof {
  readonly matrix: readonly AccessLine[];
  readonly extra: readonly AccessGrant[];
  readonly missing: readonly AccessGrant[];
  readonly notCovered: readonly string[];
}

export function accessProof(objects: readonly LiveObject[], pods: readonly PodSet[], config: PlatformConfig): AccessProof {
  const matrix = accessMatrix(config);
  const natsRendered = indexOf(objects).inNs("ConfigMap", PLATFORM_NAMESPACES.nats).some((o) => typeof (o["data"] as Obj | undefined)?.["nats.conf"] === "string");
  const notCovered = config.messaging.nats.enabled && !natsRendered ? ["NATS subjects and buckets: the nats chart's server config is not in the render (charts not expanded)"] : [];
  const compared = notCovered.length ? matrix.filter((l) => !l.kind.startsWith("nats") && !l.kind.startsWith("kv")) : matrix;
  const d = accessDifferences(compared, grantedByObjects(objects, pods, config));
  return { matrix, ...d, notCovered };
}
