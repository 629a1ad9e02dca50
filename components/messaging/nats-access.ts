/**
 * Who may do what on NATS, derived from the declarations (like the Kafka ACLs and the etcd roles):
 * one user per service, named by its SPIFFE ID, which the server takes from the URI SAN of the
 * service's client certificate (`verify_and_map`). Everything not granted is denied: the server
 * has no anonymous user, and a user's permissions are allow lists.
 *
 * JetStream rights (docs.nats.io, "JetStream wire API"): a consumer of stream S with filter F may
 * create consumers only with that filter (`$JS.API.CONSUMER.CREATE.S.<name>.F`, the form current
 * clients use when one filter is given), pull and acknowledge on S; a KV reader reads bucket B's
 * stream `KV_B` directly or through an ordered consumer; a writer also publishes `$KV.B.>`. Replies
 * reach each service under its own inbox prefix, so no service can read another's replies.
 */
import type { NatsConfig, ServiceConfig } from "../../config/schema";
import { natsSubjectsCollide } from "../../config/schema";

/** Allow lists of one NATS user. */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
}

/** One NATS user: the identity its certificate carries, and its permissions. */
export interface NatsUser {
  /** The URI SAN of its client certificate (`verify_and_map`): spiffe://<trust domain>/ns/<ns>/sa/<name>. */
  readonly user: string;
  readonly permissions: NatsPermissions;
}

/** What a service declares under `services.<name>.nats`. */
export type NatsUse = NonNullable<ServiceConfig["nats"]>;

/** The identity of a service (or platform component) on NATS, the same SPIFFE ID the mesh uses. */
export const natsIdentity = (trustDomain: string, namespace: string, serviceAccount: string): string => `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;

/** A service's reply subjects: its own prefix under _INBOX (clients set it as their inbox prefix). */
export const natsInboxPrefix = (service: string): string => `_INBOX.${service}`;

/** The JetStream stream behind a KV bucket. */
export const kvStream = (bucket: string): string => `KV_${bucket}`;

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** The streams whose subjects a subscription overlaps: the ones it may consume from. */
export function streamsFor(subject: string, streams: NatsConfig["streams"]): string[] {
  return Object.entries(streams)
    .filter(([, st]) => st.subjects.some((s) => natsSubjectsCollide(s, subject)))
    .map(([n]) => n)
    .sort();
}

/** A service's permissions: exactly its declarations, plus its own inbox and the JetStream calls they need. */
export function natsServicePermissions(service: string, use: NatsUse, streams: NatsConfig["streams"]): NatsPermissions {
  const pub = new Set<string>(use.publish);
  const sub = new Set<string>(use.subscribe);
  sub.add(`${natsInboxPrefix(service)}.>`);
  const consumed = new Set<string>();
  for (const subject of use.subscribe) {
    for (const s of streamsFor(subject, streams)) {
      consumed.add(s);
      pub.add(`$JS.API.CONSUMER.CREATE.${s}.*.${subject}`);
    }
  }
  for (const s of consumed) {
    pub.add(`$JS.API.STREAM.INFO.${s}`);
    pub.add(`$JS.API.CONSUMER.INFO.${s}.*`);
    pub.add(`$JS.API.CONSUMER.MSG.NEXT.${s}.*`);
    pub.add(`$JS.ACK.${s}.>`);
  }
  const read = sorted([...use.kvRead, ...use.kvWrite]);
  for (const b of read) {
    const s = kvStream(b);
    pub.add(`$JS.API.STREAM.INFO.${s}`);
    pub.add(`$JS.API.DIRECT.GET.${s}.$KV.${b}.>`);
    pub.add(`$JS.API.STREAM.MSG.GET.${s}`);
    // Watches are ordered consumers on the bucket's stream, filtered to its keys.
    pub.add(`$JS.API.CONSUMER.CREATE.${s}.*.$KV.${b}.>`);
    pub.add(`$JS.API.CONSUMER.DELETE.${s}.*`);
    pub.add(`$JS.FC.${s}.>`);
  }
  for (const b of use.kvWrite) pub.add(`$KV.${b}.>`);
  if (consumed.size || read.length) pub.add("$JS.API.INFO");
  return { publish: { allow: sorted(pub) }, subscribe: { allow: sorted(sub) } };
}

/**
 * The JetStream Job's permissions: create, update and inspect the declared streams and buckets,
 * nothing else. Its replies come under its own inbox prefix too.
 */
export function natsJobPermissions(settings: Pick<NatsConfig, "streams" | "kvBuckets">, inboxPrefix: string): NatsPermissions {
  const streams = [...Object.keys(settings.streams), ...Object.keys(settings.kvBuckets).map(kvStream)];
  const pub = ["$JS.API.INFO", ...streams.flatMap((s) => [`$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.UPDATE.${s}`, `$JS.API.STREAM.INFO.${s}`])];
  return { publish: { allow: sorted(pub) }, subscribe: { allow: [`${inboxPrefix}.>`] } };
}

/** The server's `authorization` block: these users only; with TLS verify_and_map, no anonymous access. */
export function natsAuthorization(users: readonly NatsUser[]): Record<string, unknown> {
  return { users: [...users].sort((a, b) => a.user.localeCompare(b.user)).map((u) => ({ user: u.user, permissions: u.permissions })) };
}
