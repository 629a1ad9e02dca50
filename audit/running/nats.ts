/**
 * NATS access, proven on the real server: the render's NATS server config (the chart's ConfigMap,
 * as the pods read it) runs in the NATS server itself (nats-server at the chart's version, inside
 * tools/nats-authz, built by scripts/install-tools.sh), and every identity tries what its
 * declarations allow and what they do not: the JetStream Job creates the declared streams and
 * buckets, each service publishes, consumes, gets, watches and puts in buckets as declared, and is refused on other
 * services' subjects, filters, buckets and replies; a client without a certificate, or with one
 * from another CA, cannot connect. Expected verdicts come from the declarations alone, so a server
 * config that grants more, or less, than declared is a finding.
 */
import { spawnSync } from "child_process";
import type { PlatformConfig } from "../../config/schema";
import { natsSubjectWithin, PLATFORM_NAMESPACES } from "../../config/schema";
import { natsIdentity, natsInboxPrefix } from "../../components/messaging/nats-access";
import { findTool } from "../../render/tools";
import type { Obj } from "../../policy/k8s";
import { indexOf, LiveObject } from "./pods";

/** The nats-authz binary: $PLATFORM_NATS_AUTHZ, .tools/bin/nats-authz, else PATH; undefined when none. */
export const findNatsAuthz = (): string | undefined => findTool("nats-authz", "PLATFORM_NATS_AUTHZ");

/** One attempt by one identity, what the declarations say of it, and what the server did. */
export interface NatsAccessVerdict {
  readonly identity: string;
  readonly op: "connect" | "stream-add" | "kv-add" | "js-publish" | "js-consume" | "kv-get" | "kv-watch" | "kv-put" | "sub";
  /** Subject, stream or bucket. */
  readonly target: string;
  readonly expected: boolean;
  readonly allowed: boolean;
  readonly detail: string;
  /** The config key that decides it. */
  readonly key: string;
}

export type NatsAccessResult =
  | { readonly ran: true; readonly verdicts: readonly NatsAccessVerdict[] }
  | { readonly ran: false; readonly missing: string }
  /** NATS is off, or nothing of it is rendered: nothing to prove. */
  | { readonly ran: false; readonly absent: true };

/** A concrete subject a pattern matches (wildcards become a token). */
const concrete = (pattern: string): string => pattern.replace(/(^|\.)[*>](?=\.|$)/g, "$1x");

interface Check {
  as: string;
  op: NatsAccessVerdict["op"];
  subject?: string;
  stream?: string;
  bucket?: string;
  key?: string;
  config?: unknown;
  expected: boolean;
  target: string;
  why: string;
}

/** The checks the declarations imply, in the order the server must see them (streams before use). */
export function natsAccessChecks(config: PlatformConfig, streamConfigs: Readonly<Record<string, unknown>>, jobAccount: string): { identities: Record<string, { uri?: string; inboxPrefix?: string; foreignCa?: boolean }>; checks: Check[] } {
  const n = config.messaging.nats;
  const td = config.cluster.domain;
  const services = Object.entries(config.services).filter(([, s]) => s.nats !== undefined).sort(([a], [b]) => a.localeCompare(b));
  const identities: Record<string, { uri?: string; inboxPrefix?: string; foreignCa?: boolean }> = {
    [jobAccount]: { uri: natsIdentity(td, PLATFORM_NAMESPACES.nats, jobAccount), inboxPrefix: natsInboxPrefix(jobAccount) },
    "(no certificate)": {},
  };
  for (const [name, s] of services) identities[name] = { uri: natsIdentity(td, s.namespace, name), inboxPrefix: natsInboxPrefix(name) };
  const checks: Check[] = [{ as: "(no certificate)", op: "connect", target: "server", expected: false, why: "messaging.nats (TLS with client certificates)" }];
  if (services.length) {
    const [first, s] = services[0]!;
    identities["(foreign CA)"] = { uri: natsIdentity(td, s.namespace, first), inboxPrefix: natsInboxPrefix(first), foreignCa: true };
    checks.push({ as: "(foreign CA)", op: "connect", target: `server, as ${first} with a certificate of another CA`, expected: false, why: "messaging.nats (TLS with client certificates)" });
  }
  for (const [name, cfg] of Object.entries(streamConfigs).sort(([a], [b]) => a.localeCompare(b))) checks.push({ as: jobAccount, op: "stream-add", config: cfg, target: name, expected: true, why: `messaging.nats.streams.${name}` });
  for (const [b, spec] of Object.entries(n.kvBuckets).sort(([a], [c]) => a.localeCompare(c))) checks.push({ as: jobAccount, op: "kv-add", config: { bucket: b, history: spec.history }, target: b, expected: true, why: `messaging.nats.kvBuckets.${b}` });

  const allPublish = services.flatMap(([, s]) => s.nats!.publish);
  const allSubscribe = services.flatMap(([, s]) => s.nats!.subscribe);
  const streamOf = (subject: string) => Object.entries(n.streams).find(([, st]) => st.subjects.some((x) => natsSubjectWithin(subject, x)))?.[0];
  for (const [name, s] of services) {
    const use = s.nats!;
    const key = `services.${name}.nats`;
    const firstStream = Object.keys(streamConfigs).sort()[0];
    if (firstStream) checks.push({ as: name, op: "stream-add", config: streamConfigs[firstStream], target: firstStream, expected: false, why: `${key} (streams are the platform's)` });
    // Publishing: its own subjects are stored; every other declared subject it does not cover is refused.
    const pubs = [...new Set([...use.publish, ...allPublish].map(concrete))].sort();
    for (const subject of pubs) checks.push({ as: name, op: "js-publish", subject, target: subject, expected: use.publish.some((p) => natsSubjectWithin(subject, p)), why: `${key}.publish` });
  }
  for (const [name, s] of services) {
    const use = s.nats!;
    const key = `services.${name}.nats`;
    // Consuming: a consumer filtered to a subject within its subscriptions; any other declared filter is refused.
    for (const subject of [...new Set([...use.subscribe, ...allSubscribe])].sort()) {
      const stream = streamOf(subject);
      if (stream) checks.push({ as: name, op: "js-consume", stream, subject, target: `${stream} filtered ${subject}`, expected: use.subscribe.some((f) => natsSubjectWithin(subject, f)), why: `${key}.subscribe` });
    }
    for (const b of Object.keys(n.kvBuckets).sort()) {
      checks.push({ as: name, op: "kv-get", bucket: b, key: "probe", target: b, expected: use.kvRead.includes(b) || use.kvWrite.includes(b), why: `${key}.kvRead` });
      checks.push({ as: name, op: "kv-watch", bucket: b, target: b, expected: use.kvRead.includes(b) || use.kvWrite.includes(b), why: `${key}.kvRead` });
      checks.push({ as: name, op: "kv-put", bucket: b, key: "probe", target: b, expected: use.kvWrite.includes(b), why: `${key}.kvWrite` });
    }
    // Replies: another service's inbox is not readable.
    const other = services.find(([o]) => o !== name)?.[0];
    if (other) checks.push({ as: name, op: "sub", subject: `${natsInboxPrefix(other)}.x`, target: `${natsInboxPrefix(other)}.x`, expected: false, why: `${key} (replies under its own inbox prefix)` });
  }
  return { identities, checks };
}

/** Runs the render's NATS server config in the real server with the checks the declarations imply. */
export function natsAccess(objects: readonly LiveObject[], config: PlatformConfig, bin = findNatsAuthz()): NatsAccessResult {
  const ix = indexOf(objects);
  const ns = PLATFORM_NAMESPACES.nats;
  const serverConfig = ix.inNs("ConfigMap", ns).find((o) => typeof (o["data"] as Obj | undefined)?.["nats.conf"] === "string");
  if (!config.messaging.nats.enabled || !serverConfig) return { ran: false, absent: true };
  if (!bin) return { ran: false, missing: "nats-authz (scripts/install-tools.sh builds it with the NATS server from the Go module proxy)" };
  // The stream configs the Job applies, from its ConfigMap (the files it reads).
  const streamConfigs: Record<string, unknown> = {};
  for (const cm of ix.inNs("ConfigMap", ns)) {
    for (const [file, text] of Object.entries((cm["data"] ?? {}) as Record<string, string>)) {
      const m = /^stream-(.+)\.json$/.exec(file);
      if (m) streamConfigs[m[1]!] = JSON.parse(text);
    }
  }
  const job = ix.inNs("Job", ns).find((j) => j.metadata.name.includes("jetstream"));
  const jobAccount = String(job?.["spec"]?.template?.spec?.serviceAccountName ?? "default");
  const { identities, checks } = natsAccessChecks(config, streamConfigs, jobAccount);
  const input = {
    config: (serverConfig["data"] as Record<string, string>)["nats.conf"],
    env: { SERVER_NAME: `${serverConfig.metadata.name}-0` },
    identities,
    checks: checks.map(({ as, op, subject, stream, bucket, key, config: c }) => ({ as, op, subject, stream, bucket, key, config: c })),
  };
  const r = spawnSync(bin, [], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`nats-authz failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  const out = JSON.parse(r.stdout) as { allowed: boolean; detail: string }[];
  return {
    ran: true,
    verdicts: checks.map((c, i) => ({ identity: c.as, op: c.op, target: c.target, expected: c.expected, allowed: out[i]!.allowed, detail: out[i]!.detail, key: `platform:${c.why}` })),
  };
}
