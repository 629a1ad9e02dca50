/** The etcd cluster's derivations: names, URLs, certificates and bootstrap flags agree for every size. */
import { spawnSync } from "child_process";
import fc from "fast-check";
import {
  etcdAuthScript,
  etcdClientUrls,
  etcdClusterToken,
  etcdInitialCluster,
  etcdMaintenanceScript,
  etcdMemberHost,
  etcdMemberNames,
  etcdPeerUrls,
  etcdQuorum,
  etcdQuotaBytes,
  EtcdTopology,
  memberSans,
  serverSans,
} from "../components/discovery/etcd-cluster";

const topo = (members: number): EtcdTopology => ({ name: "etcd", headless: "etcd-headless", namespace: "discovery", domain: "cluster.local", members, clusterName: "shop-prod" });

describe.each([1, 3, 5])("an etcd cluster of %i member(s)", (n) => {
  const t = topo(n);

  it("has n members named by ordinal, each with one peer and one client URL", () => {
    expect(etcdMemberNames(t)).toEqual(Array.from({ length: n }, (_, i) => `etcd-${i}`));
    expect(etcdPeerUrls(t)).toHaveLength(n);
    expect(etcdClientUrls(t)).toHaveLength(n);
    expect(new Set(etcdPeerUrls(t)).size).toBe(n);
  });

  it("puts every member's peer URL, at its headless-Service name, into --initial-cluster", () => {
    const pairs = etcdInitialCluster(t).split(",").map((p) => p.split("="));
    expect(pairs.map(([m]) => m)).toEqual(etcdMemberNames(t));
    expect(pairs.map(([, u]) => u)).toEqual(etcdPeerUrls(t));
    pairs.forEach(([m, u], i) => {
      expect(u).toBe(`https://${m}.etcd-headless.discovery.svc.cluster.local:2380`);
      expect(etcdMemberHost(t, i)).toBe(`${m}.etcd-headless.discovery.svc.cluster.local`);
    });
  });

  it("issues each member a peer certificate whose SANs cover the host in its peer URL, with and without the cluster domain", () => {
    etcdPeerUrls(t).forEach((url, i) => {
      const host = new URL(url).hostname;
      const sans = memberSans(t, i);
      expect(sans).toContain(host);
      expect(sans).toContain(`etcd-${i}.etcd-headless.discovery.svc`);
      // A member's certificate names no other member.
      for (let j = 0; j < n; j++) if (j !== i) expect(sans.some((s) => s.startsWith(`etcd-${j}.`) || s === `etcd-${j}`)).toBe(false);
    });
  });

  it("issues a server certificate covering every client URL and the client Service", () => {
    const sans = serverSans(t);
    for (const url of etcdClientUrls(t)) expect(sans).toContain(new URL(url).hostname);
    expect(sans).toEqual(expect.arrayContaining(["etcd", "etcd.discovery.svc", "etcd.discovery.svc.cluster.local", "localhost"]));
  });

  it("uses one cluster token naming the Kubernetes cluster, namespace and StatefulSet", () => {
    expect(etcdClusterToken(t)).toBe("shop-prod-discovery-etcd");
    expect(etcdClusterToken({ ...t, clusterName: "shop-dev" })).not.toBe(etcdClusterToken(t));
  });

  it("keeps a majority as quorum", () => {
    expect(etcdQuorum(n)).toBe({ 1: 1, 3: 2, 5: 3 }[n]);
    expect(2 * etcdQuorum(n)).toBeGreaterThan(n);
  });
});

it("reads the initial-cluster string exactly for three members", () => {
  expect(etcdInitialCluster(topo(3))).toBe(
    "etcd-0=https://etcd-0.etcd-headless.discovery.svc.cluster.local:2380," +
      "etcd-1=https://etcd-1.etcd-headless.discovery.svc.cluster.local:2380," +
      "etcd-2=https://etcd-2.etcd-headless.discovery.svc.cluster.local:2380",
  );
});

it("sets the backend quota to 80% of the volume, capped at 8 GiB", () => {
  expect(etcdQuotaBytes("1Gi")).toBe(Math.floor(2 ** 30 * 0.8));
  expect(etcdQuotaBytes("100Gi")).toBe(8 * 2 ** 30);
});

describe("the auth bootstrap script", () => {
  const script = etcdAuthScript(["order-service", "user-service"]);
  it("creates root, a role and a certificate-only user per client limited to its prefix, then turns auth on last", () => {
    expect(script).toMatch(/etcdctl user add root --new-user-password="\$ROOT_PASSWORD"/);
    for (const c of ["order-service", "user-service"]) {
      expect(script).toContain(`etcdctl role grant-permission ${c} readwrite --prefix=true /services/${c}/`);
      expect(script).toContain(`etcdctl user add ${c} --no-password`);
    }
    expect(script).toContain("etcdctl role grant-permission reader read --prefix=true /config/");
    expect(script.trim().split("\n").at(-1)).toBe("etcdctl auth enable");
  });
  it("grants a role only when the user's JSON role list lacks it", () => {
    const grant = script.split("\n").find((l) => l.endsWith("user grant-role user-service reader"))!;
    const pattern = /grep -q '(.*)' \|\|/.exec(grant)![1]!;
    // A POSIX basic regular expression, as the Job's grep reads it (not JavaScript's dialect).
    const matches = (input: string) => spawnSync("grep", ["-q", pattern], { input }).status === 0;
    expect(matches('{"header":{"revision":"4"},"roles":["user-service","reader"]}')).toBe(true);
    expect(matches('{"header":{"revision":"4"},"roles":["user-service"]}')).toBe(false);
    expect(matches('{"header":{"revision":"4"}}')).toBe(false);
  });
  it("is idempotent: every creation is guarded by an existence check", () => {
    for (const line of script.split("\n").filter((l) => / (user|role) add /.test(l))) expect(line).toMatch(/\|\| etcdctl (user|role) add/);
  });
});

it("defragments members one by one, then writes a snapshot under a temporary name and prunes to the kept count", () => {
  const s = etcdMaintenanceScript(8).split("\n");
  const defrag = s.findIndex((l) => l.includes("defrag"));
  const save = s.findIndex((l) => l.includes("snapshot save"));
  expect(defrag).toBeGreaterThan(-1);
  expect(save).toBeGreaterThan(defrag);
  expect(s[save]).toContain(".db.part");
  // etcdctl refuses a snapshot from several endpoints: it must name one (by environment: a flag
  // that shadows the Job's ETCDCTL_ENDPOINTS is an error).
  expect(s[save]).toContain('ETCDCTL_ENDPOINTS="$SNAPSHOT_ENDPOINT" etcdctl snapshot save');
  expect(s.join("\n")).not.toContain("--endpoints");
  expect(s.at(-1)).toContain("tail -n +9");
});

/** The host of an `https://host:port` URL, as etcd reads it. */
const hostOf = (url: string): string => /^https?:\/\/([^:/]+)/.exec(url)![1]!;

it("keeps URLs, SANs and --initial-cluster in agreement for any odd size, name, namespace and domain", () => {
  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), label, label, fc.constantFrom("cluster.local", "corp.internal"), (k, name, namespace, domain) => {
      const t: EtcdTopology = { name, headless: `${name}-headless`, namespace, domain, members: 2 * k + 1, clusterName: "c" };
      const entries = etcdInitialCluster(t).split(",");
      expect(entries).toHaveLength(t.members);
      entries.forEach((entry, i) => {
        const [member, url] = entry.split("=") as [string, string];
        expect(member).toBe(`${name}-${i}`);
        expect(url).toBe(etcdPeerUrls(t)[i]);
        // Not `new URL()`: WHATWG URL parsing applies IDNA, and refuses a valid DNS label such as
        // the namespace "xn--a" (an invalid punycode label), which Kubernetes and etcd accept.
        expect(memberSans(t, i)).toContain(hostOf(url));
        expect(serverSans(t)).toContain(hostOf(etcdClientUrls(t)[i]!));
      });
    }),
  );
});
