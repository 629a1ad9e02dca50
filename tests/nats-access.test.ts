/**
 * NATS least privilege: TLS with a client certificate per identity, and permissions that equal the
 * declarations (services.<name>.nats), for any declaration set (property test), in the chart's
 * rendered server config, and on the real NATS server (tools/nats-authz, built by
 * scripts/install-tools.sh; the README's test command runs it through scripts/setup.sh), where the
 * proof is also broken on purpose to see it fail.
 */
import { generatedSecret } from "./support/generated-secrets";
import * as fc from "fast-check";
import { proveRunning } from "../audit/running";
import { findNatsAuthz } from "../audit/running/nats";
import { NATS_CLIENT_ENV, natsServerTlsSecret } from "../components/messaging/nats";
import { kvStream, natsIdentity, natsInboxPrefix, natsServicePermissions } from "../components/messaging/nats-access";
import { natsSubjectsCollide, natsSubjectWithin, PLATFORM_NAMESPACES } from "../config/schema";
import { isKubernetesObject } from "../render/gitops";
import type { RecordedResource } from "../render/harness";
import { Rendered, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";
import { platformKeysOf } from "../config/load";
import { configProblems } from "./support/config-problems";

const natsAuthz = findNatsAuthz();
if (!natsAuthz) throw new Error("not installed: nats-authz (run `bash scripts/install-tools.sh`, which builds it with the NATS server from the Go module proxy); the NATS access proof needs it");

type Inputs = Record<string, any>;

describe("NATS permissions equal the declarations (any declaration set)", () => {
  const token = fc.constantFrom("a", "b", "c");
  const subject = fc.tuple(fc.array(token, { minLength: 1, maxLength: 3 }), fc.constantFrom("", "*", ">")).map(([t, w]) => [...t, ...(w ? [w] : [])].join("."));
  const names = fc.uniqueArray(fc.constantFrom("s1", "s2", "s3"), { minLength: 1 });
  const buckets = ["b1", "b2"];
  const decl = fc.record({
    publish: fc.array(subject, { maxLength: 3 }),
    subscribe: fc.array(subject, { maxLength: 3 }),
    kvRead: fc.subarray(buckets),
    kvWrite: fc.subarray(buckets),
  });

  it("grants exactly the declared subjects, consumers only on overlapping streams with the declared filters, buckets as declared, one inbox", () => {
    fc.assert(
      fc.property(names, fc.array(subject, { minLength: 1, maxLength: 3 }), decl, (streamNames, streamSubjects, use) => {
        const streams = Object.fromEntries(streamNames.map((n, i) => [n, { subjects: [streamSubjects[i % streamSubjects.length]!], maxAgeHours: 1 }]));
        const p = natsServicePermissions("svc", use, streams);
        const appPub = p.publish.allow.filter((s) => !s.startsWith("$"));
        expect(appPub).toEqual([...new Set(use.publish)].sort());
        expect(p.subscribe.allow).toEqual([...new Set([...use.subscribe, `${natsInboxPrefix("svc")}.>`])].sort());
        for (const s of p.publish.allow) {
          const create = /^\$JS\.API\.CONSUMER\.CREATE\.([^.]+)\.\*\.(.+)$/.exec(s);
          if (create && !create[1]!.startsWith("KV_")) {
            expect(use.subscribe).toContain(create[2]);
            expect(streams[create[1]!]!.subjects.some((x) => natsSubjectsCollide(x, create[2]!))).toBe(true);
          }
          // Nothing broader than a declaration: no bare wildcard, no other inbox, no stream administration.
          expect(s).not.toMatch(/^[*>]$|^_INBOX|^\$JS\.API\.STREAM\.(CREATE|UPDATE|DELETE|PURGE)/);
        }
        const consumed = Object.keys(streams).filter((n) => use.subscribe.some((f) => streams[n]!.subjects.some((x) => natsSubjectsCollide(x, f))));
        expect(p.publish.allow.filter((s) => /^\$JS\.ACK\./.test(s))).toEqual(consumed.map((n) => `$JS.ACK.${n}.>`).sort());
        for (const b of buckets) {
          expect(p.publish.allow.includes(`$KV.${b}.>`)).toBe(use.kvWrite.includes(b));
          expect(p.publish.allow.includes(`$JS.API.STREAM.INFO.${kvStream(b)}`)).toBe(use.kvRead.includes(b) || use.kvWrite.includes(b));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("reads subject containment as NATS does", () => {
    expect(natsSubjectWithin("a.b", "a.>")).toBe(true);
    expect(natsSubjectWithin("a.>", "a.>")).toBe(true);
    expect(natsSubjectWithin("a.*", "a.>")).toBe(true);
    expect(natsSubjectWithin("a", "a.>")).toBe(false);
    expect(natsSubjectWithin("a.>", "a.*")).toBe(false);
    expect(natsSubjectWithin("a.*", "a.b")).toBe(false);
    expect(natsSubjectWithin("a.b.c", "a.*.c")).toBe(true);
  });
});

/** The nats.conf of the chart's ConfigMap as data (the chart writes JSON with bare sizes and variables). */
function serverConfig(r: Rendered): Inputs {
  const cm = r.run.resources.find((x) => isKubernetesObject(x) && (x.inputs as Inputs)["kind"] === "ConfigMap" && (x.inputs as Inputs)["data"]?.["nats.conf"]);
  const text = String((cm!.inputs as Inputs)["data"]["nats.conf"]);
  return JSON.parse(text.replace(/: (\$?[A-Za-z0-9_]+)(,?)$/gm, (m, v: string, c: string) => (/^(true|false|-?\d+)$/.test(v) ? m : `: "${v}"${c}`)));
}
const objectsOf = (r: Rendered) => r.run.resources.filter(isKubernetesObject).map((x) => x.inputs as Inputs);

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});

describe.each(["dev", "prod"])("NATS in the %s render", (stack) => {
  it("requires TLS with a client certificate mapped to its user, and has exactly one user per declaring service plus the JetStream Job", () => {
    const r = rendered[stack]!;
    const conf = serverConfig(r);
    expect(conf["tls"]).toMatchObject({ verify_and_map: true, ca_file: expect.any(String), cert_file: expect.any(String), key_file: expect.any(String) });
    expect(conf["no_auth_user"]).toBeUndefined();
    const declaring = Object.entries(r.config.services).filter(([, s]) => s.nats);
    expect(declaring.length).toBeGreaterThan(1);
    const users = conf["authorization"]["users"] as { user: string; permissions: Inputs }[];
    const expected = declaring.map(([name, s]) => natsIdentity(r.config.cluster.domain, s.namespace, name));
    expect(users.map((u) => u.user).sort()).toEqual([...expected, natsIdentity(r.config.cluster.domain, PLATFORM_NAMESPACES.nats, "nats-jetstream")].sort());
    for (const [name, s] of declaring) {
      const u = users.find((x) => x.user === natsIdentity(r.config.cluster.domain, s.namespace, name))!;
      expect(u.permissions).toEqual(natsServicePermissions(name, s.nats!, r.config.messaging.nats.streams));
    }
    // The servers mount the certificate Secret the config names.
    const sts = objectsOf(r).find((o) => o["kind"] === "StatefulSet" && o["metadata"]?.namespace === PLATFORM_NAMESPACES.nats)!;
    expect(JSON.stringify(sts["spec"]["template"]["spec"]["volumes"])).toContain(natsServerTlsSecret("nats"));
  });

  it("gives each declaring service, and only those, its credentials as env from its own Secret", () => {
    const r = rendered[stack]!;
    const objects = objectsOf(r);
    for (const [name, s] of Object.entries(r.config.services)) {
      const dep = objects.find((o) => o["kind"] === "Deployment" && o["metadata"]?.name === name)!;
      const env = (dep["spec"]["template"]["spec"]["containers"][0]["env"] as Inputs[]).filter((e) => e["name"].startsWith("NATS_"));
      if (!s.nats) {
        expect(env).toEqual([]);
        continue;
      }
      expect(env.map((e) => [e["name"], e["valueFrom"]?.secretKeyRef?.name, e["valueFrom"]?.secretKeyRef?.key])).toEqual(Object.entries(NATS_CLIENT_ENV).map(([k, key]) => [k, `${name}-nats`, key]));
      // A Secret of the program's, or (secrets.platformSecrets) the one External Secrets makes from the store.
      const secret = generatedSecret(r.run.resources, s.namespace, `${name}-nats`);
      expect(secret).toBeDefined();
      // The certificate names the service's SPIFFE ID, the user the server maps it to.
      const csr = r.run.resources.find((x) => x.type === "tls:index/certRequest:CertRequest" && x.name === `nats-client-${name}-csr`)!;
      expect((csr.inputs as Inputs)["uris"]).toEqual([natsIdentity(r.config.cluster.domain, s.namespace, name)]);
    }
  });

  it("holds on the real NATS server: every identity can do what it declared and nothing else", () => {
    const n = rendered[stack]!.running.nats;
    if (!n.ran) throw new Error(`the NATS access proof did not run: ${"missing" in n ? n.missing : "no NATS in the render"}`);
    expect(n.verdicts.filter((v) => v.expected !== v.allowed)).toEqual([]);
    for (const [name, s] of Object.entries(rendered[stack]!.config.services).filter(([, s]) => s.nats)) {
      const mine = n.verdicts.filter((v) => v.identity === name);
      if (s.nats!.publish.length) expect(mine.some((v) => v.op === "js-publish" && v.allowed)).toBe(true);
      if (s.nats!.subscribe.length) expect(mine.some((v) => v.op === "js-consume" && v.allowed)).toBe(true);
      expect(mine.some((v) => !v.allowed)).toBe(true);
    }
    expect(n.verdicts.find((v) => v.identity === "(no certificate)")?.allowed).toBe(false);
    expect(rendered[stack]!.report).toContain("## NATS access");
  });
});

describe("the NATS access proof fails when the server config grants more, or less, than declared", () => {
  const withConfig = (r: Rendered, edit: (conf: Inputs) => void): RecordedResource[] =>
    r.run.resources.map((res) => {
      const o = res.inputs as Inputs;
      if (!isKubernetesObject(res) || o["kind"] !== "ConfigMap" || !o["data"]?.["nats.conf"]) return res;
      const conf = serverConfig(r);
      edit(conf);
      // Sizes and variables go back bare, as the chart writes them.
      const text = JSON.stringify(conf, null, 2).replace(/: "(\$[A-Z_]+|\d+[KMGT]i?)"/g, ": $1");
      return { ...res, inputs: { ...o, data: { ...o["data"], "nats.conf": text } } };
    });
  const access = (resources: RecordedResource[]) => proveRunning({ resources }, rendered["dev"]!.config, { podSecurity: null, kyverno: null, natsAuthz: natsAuthz! }).findings.filter((f) => f.proof === "access");
  const userOf = (conf: Inputs, service: string) => (conf["authorization"]["users"] as Inputs[]).find((u) => String(u["user"]).endsWith(`/sa/${service}`))!;

  it("a service granted every subject", () => {
    const f = access(withConfig(rendered["dev"]!, (c) => (userOf(c, "notification-service")["permissions"]["publish"]["allow"] = [">"])));
    expect(f.map((x) => x.subject)).toContain("NATS: notification-service js-publish control.orders.paused");
    expect(f.every((x) => x.message.startsWith("not declared, and the server allows it"))).toBe(true);
  });

  it("a declared consumer left out", () => {
    const f = access(withConfig(rendered["dev"]!, (c) => (userOf(c, "order-service")["permissions"]["publish"]["allow"] = userOf(c, "order-service")["permissions"]["publish"]["allow"].filter((s: string) => !s.startsWith("$JS.API.CONSUMER.CREATE.control")))));
    expect(f).toEqual([expect.objectContaining({ subject: "NATS: order-service js-consume control filtered control.inventory.restocked", key: "platform:services.order-service.nats.subscribe" })]);
    expect(f[0]!.message).toMatch(/^declared, and the server refuses it: .*Permissions Violation/);
  });

  it("no TLS and no users: anyone connects", () => {
    const f = access(
      withConfig(rendered["dev"]!, (c) => {
        delete c["tls"];
        delete c["authorization"];
      }),
    );
    expect(f.map((x) => x.subject)).toEqual(expect.arrayContaining(["NATS: (no certificate) connect server", "NATS: user-service js-publish control.orders.paused"]));
  });

  it("certificates no longer mapped to users: nobody gets what they declared", () => {
    const f = access(withConfig(rendered["dev"]!, (c) => (c["tls"]["verify_and_map"] = false)));
    expect(f).toContainEqual(expect.objectContaining({ subject: "NATS: order-service js-publish control.orders.paused", message: expect.stringMatching(/^declared, and the server refuses it/) }));
  });
});

describe("NATS declarations are checked before anything is registered", () => {
  const raw = (services: Inputs): Record<string, unknown> => {
    const dev = platformKeysOf(readStackConfig("dev")) as Inputs;
    return { ...dev, services: { ...dev["services"], ...services } };
  };
  const svc = (nats: Inputs) => ({ "extra-service": { image: "ghcr.io/acme-shop/x:1.0.0", version: "1.0.0", nats } });

  it.each([
    [{ publish: ["orders.created"] }, "platform:services.extra-service.nats.publish[0]: is in no declared stream (messaging.nats.streams) (got \"orders.created\"; expected a subject within control.>)"],
    [{ subscribe: [">"] }, "platform:services.extra-service.nats.subscribe[0]: is broader than the declared streams (control: control.>)"],
    [{ subscribe: ["control.payments.settled"] }, "platform:services.extra-service.nats.subscribe[0]: no service publishes to this subject (services.<name>.nats.publish)"],
    [{ publish: ["$JS.API.STREAM.DELETE.control"] }, "platform:services.extra-service.nats.publish[0]: is a subject the platform grants itself"],
    [{ publish: ["control..x"] }, "platform:services.extra-service.nats.publish[0]: is not a NATS subject"],
    [{ kvRead: ["sessions"] }, "platform:services.extra-service.nats.kvRead[0]: uses a KV bucket that is not declared in messaging.nats.kvBuckets (got \"sessions\"; expected config-reload)"],
  ])("%j", (nats, message) => {
    const problems = configProblems(raw(svc(nats)));
    expect(problems.filter((p) => p.startsWith("platform:services.extra-service.nats"))).toEqual([expect.stringContaining(message)]);
  });
});
