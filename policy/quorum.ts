/**
 * Quorum systems have at least 3 members in prod: with fewer, losing one member loses the quorum
 * (etcd, Consul servers, NATS JetStream, KRaft controllers). Members are counted where the pack
 * can see them: Strimzi KafkaNodePools with the controller role (summed per cluster), etcd
 * operator clusters, StatefulSets of a quorum system, and the replica values of the pinned Helm
 * charts, with the chart's own default when the values leave it out (defaults read from the
 * vendored charts/<chart>/<version>/values.yaml).
 */
import type { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsProperty, reportOrExempt } from "./config";
import { isHelmChart, metadataOf, Obj, parseType } from "./k8s";
import { parseImage } from "./images";
import { workloadsOf } from "./stack-helpers";

/** One quorum system and its member count. */
export interface Quorum {
  readonly what: string;
  readonly namespace: string;
  readonly name: string;
  readonly members: number;
  readonly urn: string;
}

const QUORUM_IMAGES = ["etcd", "consul", "nats", "zookeeper"];

/** Member counts of Helm charts that run a quorum, from their values (chart defaults when unset). */
const HELM_QUORUM: Record<string, (values: Obj) => number> = {
  // bitnami etcd 12.x: replicaCount, default 1.
  etcd: (v) => Number(v["replicaCount"] ?? 1),
  // hashicorp consul 2.x: server.replicas, default 1.
  consul: (v) => Number(v["server"]?.["replicas"] ?? 1),
  // nats 2.x: a cluster only with config.cluster.enabled (default false); then config.cluster.replicas (default 3).
  nats: (v) => (v["config"]?.["cluster"]?.["enabled"] === true ? Number(v["config"]?.["cluster"]?.["replicas"] ?? 3) : 1),
};

export function quorumsOf(resources: readonly PolicyResource[]): Quorum[] {
  const out: Quorum[] = [];
  const kraft = new Map<string, { members: number; namespace: string; urn: string }>();
  for (const r of resources) {
    const t = parseType(r.type);
    // Only the kinds below are read: reading props deserializes them (audit/analyzer.ts).
    if (!isHelmChart(r.type) && !(t?.kind === "KafkaNodePool" || t?.kind === "EtcdCluster")) continue;
    const m = metadataOf(r.props);
    const ns = m.namespace ?? "default";
    if (isHelmChart(r.type)) {
      const chart = String(r.props["chart"] ?? "");
      const count = HELM_QUORUM[chart];
      if (count) out.push({ what: `Helm release of ${chart}`, namespace: String(r.props["namespace"] ?? "default"), name: String(r.props["name"] ?? r.name), members: count((r.props["values"] ?? {}) as Obj), urn: r.urn });
    } else if (t?.group === "kafka.strimzi.io" && t.kind === "KafkaNodePool" && ((r.props["spec"]?.["roles"] ?? []) as string[]).includes("controller")) {
      const cluster = m.labels["strimzi.io/cluster"] ?? "?";
      const k = `${ns}/${cluster}`;
      const prev = kraft.get(k);
      kraft.set(k, { members: (prev?.members ?? 0) + Number(r.props["spec"]?.["replicas"] ?? 0), namespace: ns, urn: prev?.urn ?? r.urn });
    } else if (t && /etcd/.test(t.group) && t.kind === "EtcdCluster") {
      out.push({ what: "EtcdCluster", namespace: ns, name: m.name ?? r.name, members: Number(r.props["spec"]?.["size"] ?? 1), urn: r.urn });
    }
  }
  for (const [k, v] of kraft) out.push({ what: "KRaft controllers of Kafka cluster", namespace: v.namespace, name: k.split("/")[1]!, members: v.members, urn: v.urn });
  for (const w of workloadsOf(resources).filter((w) => w.kind === "StatefulSet")) {
    const system = QUORUM_IMAGES.find((q) => w.images.some((i) => parseImage(i).name.split("/").pop() === q));
    if (system) out.push({ what: `${system} StatefulSet`, namespace: w.namespace, name: w.name, members: Number(w.resource.props["spec"]?.["replicas"] ?? 1), urn: w.resource.urn });
  }
  return out;
}

const schema: PolicyConfigSchema = {
  properties: {
    environment: { type: "string", enum: ["dev", "prod"], default: "prod", description: "The stack's environment; the rule applies to prod." },
    minimumMembers: { type: "integer", minimum: 3, default: 3 },
    exemptions: exemptionsProperty as any,
  },
};

export const quorumMembersInProd: StackValidationPolicy = {
  name: "quorum-members-in-prod",
  description: "Quorum systems (etcd, Consul, NATS JetStream, KRaft controllers) have at least 3 members in prod.",
  severity: "high",
  remediationSteps: "Run 3 (or 5) members: etcd members, Consul servers, JetStream servers, KRaft controllers.",
  configSchema: schema,
  validateStack: (args, report) => {
    const cfg = configOf<{ environment: string; minimumMembers: number; exemptions: Exemption[] }>(schema, args.getConfig());
    if (cfg.environment !== "prod") args.notApplicable(`environment ${cfg.environment}: the quorum rule applies to prod`);
    for (const q of quorumsOf(args.resources)) {
      if (q.members >= cfg.minimumMembers) continue;
      reportOrExempt(report, `${q.what} ${q.namespace}/${q.name} has ${q.members} member(s); a quorum in prod needs at least ${cfg.minimumMembers}`, exemptionFor(cfg.exemptions, q.namespace, q.name), q.urn);
    }
  },
};
