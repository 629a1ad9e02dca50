/**
 * Stack policies of the CrossGuard pack on synthetic stacks: PDBs, mesh enrollment with STRICT
 * mTLS, Kyverno image verification coverage, quorum sizes in prod, secrets in plain config/env.
 * Each has failing and passing cases; the Kyverno and Istio objects have the shapes the security
 * and mesh areas will render (kyverno.io/v1 ClusterPolicy verifyImages, security.istio.io/v1
 * PeerAuthentication).
 */
import fc from "fast-check";
import { BOOTSTRAP_ANNOTATION } from "../components/shared/secret-sink";
import { SECRET_VALUES } from "../policy/secrets";
import { STORE_BOOTSTRAP_ANNOTATION } from "../policy/store-secrets";
import { checkStack, goodContainer, goodPodSpec, Obj, workload } from "./support/policy-fixtures";

const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const peerAuth = (namespace: string, mode: string, name = "default", extra: Obj = {}) => ({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name, namespace }, spec: { mtls: { mode }, ...extra } });
const pdb = (name: string, namespace: string, selector: Obj) => ({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace }, spec: { maxUnavailable: 1, selector } });
const hpa = (name: string, namespace: string, target: string, max: number) => ({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name, namespace }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: 1, maxReplicas: max } });
const details = (r: { diagnostics: { detail: string }[] }) => r.diagnostics.map((d) => d.detail);

describe("pdb-for-multi-replica-workloads", () => {
  const web = workload("Deployment", "web", goodPodSpec(), { replicas: 3, labels: { app: "web", track: "stable" } });
  it("a 3-replica Deployment without a PDB fails", async () => {
    expect(details(await checkStack("pdb-for-multi-replica-workloads", [web]))).toEqual(["Deployment apps/web runs 3 replicas and no PodDisruptionBudget selects its pods"]);
  });
  it("a PDB in the same namespace selecting its pods passes (matchLabels or matchExpressions)", async () => {
    expect(details(await checkStack("pdb-for-multi-replica-workloads", [web, pdb("web", "apps", { matchLabels: { app: "web" } })]))).toEqual([]);
    expect(details(await checkStack("pdb-for-multi-replica-workloads", [web, pdb("web", "apps", { matchExpressions: [{ key: "app", operator: "In", values: ["web", "api"] }] })]))).toEqual([]);
  });
  it("a PDB in another namespace, or selecting other pods, does not count", async () => {
    expect(await checkStack("pdb-for-multi-replica-workloads", [web, pdb("web", "other", { matchLabels: { app: "web" } })])).toMatchObject({ diagnostics: [expect.anything()] });
    expect(await checkStack("pdb-for-multi-replica-workloads", [web, pdb("web", "apps", { matchLabels: { app: "web", track: "canary" } })])).toMatchObject({ diagnostics: [expect.anything()] });
  });
  it("one replica that an autoscaler can take to 4 needs a PDB; one replica without an autoscaler does not", async () => {
    const one = workload("Deployment", "web", goodPodSpec(), { replicas: 1 });
    expect(details(await checkStack("pdb-for-multi-replica-workloads", [one, hpa("web", "apps", "web", 4)]))).toEqual(["Deployment apps/web autoscales to 4 and no PodDisruptionBudget selects its pods"]);
    expect(details(await checkStack("pdb-for-multi-replica-workloads", [one]))).toEqual([]);
  });
  it("StatefulSets are covered too", async () => {
    const sts = workload("StatefulSet", "db", goodPodSpec(), { replicas: 3 });
    expect(await checkStack("pdb-for-multi-replica-workloads", [sts])).toMatchObject({ diagnostics: [expect.anything()] });
  });
});

describe("mesh-strict-mtls", () => {
  const web = workload("Deployment", "web", goodPodSpec());
  const ambient = ns("apps", { "istio.io/dataplane-mode": "ambient" });
  it("an ambient namespace with a mesh-wide STRICT PeerAuthentication in istio-system passes", async () => {
    expect(details(await checkStack("mesh-strict-mtls", [ambient, peerAuth("istio-system", "STRICT"), web]))).toEqual([]);
  });
  it("a namespace-level STRICT PeerAuthentication passes without a mesh-wide one", async () => {
    expect(details(await checkStack("mesh-strict-mtls", [ambient, peerAuth("apps", "STRICT"), web]))).toEqual([]);
  });
  it("a namespace-level PERMISSIVE overrides the mesh-wide STRICT and fails", async () => {
    expect(details(await checkStack("mesh-strict-mtls", [ambient, peerAuth("istio-system", "STRICT"), peerAuth("apps", "PERMISSIVE"), web]))).toEqual([
      "namespace apps: mTLS mode is PERMISSIVE, from PeerAuthentication apps/default; STRICT is required",
    ]);
  });
  it("a workload-level policy relaxing mTLS for a port fails", async () => {
    const relax = peerAuth("apps", "STRICT", "metrics", { selector: { matchLabels: { app: "web" } }, portLevelMtls: { "9090": { mode: "DISABLE" } } });
    expect(details(await checkStack("mesh-strict-mtls", [ambient, peerAuth("istio-system", "STRICT"), relax, web]))).toEqual([
      "PeerAuthentication apps/metrics relaxes mTLS for its workloads (ports 9090)",
    ]);
  });
  it("a namespace without the ambient label, or not declared at all, fails; no PeerAuthentication means PERMISSIVE", async () => {
    expect(details(await checkStack("mesh-strict-mtls", [ns("apps"), peerAuth("istio-system", "STRICT"), web]))).toEqual([
      "namespace apps is not enrolled in the ambient mesh (label istio.io/dataplane-mode is unset)",
    ]);
    expect(details(await checkStack("mesh-strict-mtls", [ambient, web]))).toEqual(["namespace apps: mTLS mode is PERMISSIVE, from Istio's default (no PeerAuthentication applies); STRICT is required"]);
    expect(details(await checkStack("mesh-strict-mtls", [peerAuth("istio-system", "STRICT"), web]))).toEqual(["namespace apps is not enrolled in the ambient mesh (the stack does not declare the Namespace)"]);
  });
  it("infrastructure namespaces (kyverno by default; more from config) are not application namespaces", async () => {
    const kyverno = workload("Deployment", "kyverno-admission", goodPodSpec(), { namespace: "kyverno" });
    expect(await checkStack("mesh-strict-mtls", [kyverno])).toEqual({ diagnostics: [], notApplicable: true });
    const cfg = { "mesh-strict-mtls": { infrastructureNamespaces: [{ namespace: "apps", reason: "a test namespace outside the mesh" }] } };
    expect(await checkStack("mesh-strict-mtls", [web], cfg)).toEqual({ diagnostics: [], notApplicable: true });
  });
});

describe("kyverno-verifies-every-registry", () => {
  const app = (image: string, name = "web", namespace = "apps") => workload("Deployment", name, goodPodSpec({ containers: [goodContainer("app", { image })] }), { namespace });
  const clusterPolicy = (refs: string[], attestors: Obj[] = [{ entries: [{ keyless: { issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/*" } }] }]) => ({
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "verify-images" },
    spec: { rules: [{ name: "verify-signature", match: { any: [{ resources: { kinds: ["Pod"] } }] }, verifyImages: [{ imageReferences: refs, attestors }] }] },
  });
  const digest = "@sha256:" + "e".repeat(64);
  it("a ClusterPolicy verifying ghcr.io/acme/* covers the stack's ghcr.io/acme images", async () => {
    expect(details(await checkStack("kyverno-verifies-every-registry", [clusterPolicy(["ghcr.io/acme/*"]), app(`ghcr.io/acme/web${digest}`)]))).toEqual([]);
  });
  it("an image from a registry no rule covers fails, naming the registry and its users", async () => {
    const r = await checkStack("kyverno-verifies-every-registry", [clusterPolicy(["ghcr.io/acme/*"]), app(`ghcr.io/acme/web${digest}`), app(`quay.io/other/tool${digest}`, "tool")]);
    expect(details(r)).toEqual(["images from quay.io/other (used by apps/tool) are not verified: none of 1 verifying rule(s) matches"]);
  });
  it("no Kyverno policy at all fails", async () => {
    expect(details(await checkStack("kyverno-verifies-every-registry", [app(`ghcr.io/acme/web${digest}`)]))).toEqual([
      "images from ghcr.io/acme (used by apps/web) are not verified: the stack declares no Kyverno verifyImages rule",
    ]);
  });
  it("a verifyImages rule without attestors verifies nothing and does not count", async () => {
    expect(await checkStack("kyverno-verifies-every-registry", [clusterPolicy(["ghcr.io/acme/*"], []), app(`ghcr.io/acme/web${digest}`)])).toMatchObject({ diagnostics: [expect.anything()] });
  });
  it("a namespaced Policy covers only its own namespace", async () => {
    const policy = { ...clusterPolicy(["ghcr.io/acme/*"]), kind: "Policy", metadata: { name: "verify", namespace: "apps" } };
    expect(details(await checkStack("kyverno-verifies-every-registry", [policy, app(`ghcr.io/acme/web${digest}`)]))).toEqual([]);
    expect(await checkStack("kyverno-verifies-every-registry", [policy, app(`ghcr.io/acme/web${digest}`, "web", "other")])).toMatchObject({ diagnostics: [expect.anything()] });
  });
  it("an ImageValidatingPolicy with matchImageReferences globs and attestors covers too", async () => {
    const ivp = { apiVersion: "policies.kyverno.io/v1alpha1", kind: "ImageValidatingPolicy", metadata: { name: "verify" }, spec: { matchImageReferences: [{ glob: "ghcr.io/acme/*" }], attestors: [{ name: "cosign", cosign: { keyless: {} } }] } };
    expect(details(await checkStack("kyverno-verifies-every-registry", [ivp, app(`ghcr.io/acme/web${digest}`)]))).toEqual([]);
  });
  it("an exemption (namespace + workload + container, with a reason) keeps one image visible as advisory", async () => {
    const w = workload("Deployment", "web", goodPodSpec({ containers: [goodContainer("app", { image: `ghcr.io/acme/web${digest}` }), goodContainer("proxy", { image: `quay.io/vendor/proxy${digest}` })] }));
    const cfg = { "kyverno-verifies-every-registry": { exemptions: [{ namespace: "apps", name: "web", container: "proxy", reason: "vendor image, signature checked by the vendor's own policy" }] } };
    const r = await checkStack("kyverno-verifies-every-registry", [clusterPolicy(["ghcr.io/acme/*"]), w], cfg);
    expect(r.diagnostics.map((d) => [d.enforcementLevel, d.detail])).toEqual([
      ["advisory", `exempted (vendor image, signature checked by the vendor's own policy): image quay.io/vendor/proxy${digest} of Deployment apps/web containers[proxy] is not verified: none of 1 verifying rule(s) matches`],
    ]);
  });
  it("init containers' images must be covered too", async () => {
    const w = workload("Deployment", "web", goodPodSpec({ initContainers: [goodContainer("init", { image: `docker.io/library/busybox${digest}` })] }));
    expect(details(await checkStack("kyverno-verifies-every-registry", [clusterPolicy(["ghcr.io/acme/*"]), w]))).toEqual([
      "images from docker.io/library (used by apps/web) are not verified: none of 1 verifying rule(s) matches",
    ]);
  });
});

describe("quorum-members-in-prod", () => {
  const pool = (name: string, replicas: number, roles: string[]) => ({ apiVersion: "kafka.strimzi.io/v1", kind: "KafkaNodePool", metadata: { name, namespace: "kafka", labels: { "strimzi.io/cluster": "events" } }, spec: { replicas, roles, storage: { type: "ephemeral" } } });
  const release = (chart: string, values: Obj) => ({ type: "kubernetes:helm.sh/v3:Release", name: chart, urn: `urn:${chart}`, props: { chart, name: chart, namespace: "discovery", version: "1.0.0", repositoryOpts: { repo: "oci://registry-1.docker.io/bitnamicharts" }, values } });
  it("KRaft controllers summed per cluster: 1 fails, 3 passes", async () => {
    expect(details(await checkStack("quorum-members-in-prod", [pool("dual", 1, ["controller", "broker"])]))).toEqual([
      "KRaft controllers of Kafka cluster kafka/events has 1 member(s); a quorum in prod needs at least 3",
    ]);
    expect(details(await checkStack("quorum-members-in-prod", [pool("controllers", 3, ["controller"]), pool("brokers", 3, ["broker"])]))).toEqual([]);
  });
  it("Helm values, with the chart's default when unset: etcd replicaCount (default 1), NATS cluster", async () => {
    expect(details(await checkStack("quorum-members-in-prod", [release("etcd", {})]))).toEqual(["Helm release of etcd discovery/etcd has 1 member(s); a quorum in prod needs at least 3"]);
    expect(details(await checkStack("quorum-members-in-prod", [release("etcd", { replicaCount: 3 })]))).toEqual([]);
    expect(details(await checkStack("quorum-members-in-prod", [release("nats", { config: { cluster: { enabled: true } } })]))).toEqual([]);
    expect(await checkStack("quorum-members-in-prod", [release("nats", { config: { cluster: { enabled: false } } })])).toMatchObject({ diagnostics: [expect.anything()] });
    expect(await checkStack("quorum-members-in-prod", [release("consul", { server: { replicas: 1 } })])).toMatchObject({ diagnostics: [expect.anything()] });
  });
  it("a StatefulSet running etcd with 1 replica fails", async () => {
    const sts = workload("StatefulSet", "etcd", goodPodSpec({ containers: [goodContainer("etcd", { image: "quay.io/coreos/etcd:v3.6.4" })] }), { namespace: "discovery", replicas: 1 });
    expect(details(await checkStack("quorum-members-in-prod", [sts]))).toEqual(["etcd StatefulSet discovery/etcd has 1 member(s); a quorum in prod needs at least 3"]);
  });
  it("in a dev stack (config environment: dev) the rule is not applicable", async () => {
    expect(await checkStack("quorum-members-in-prod", [pool("dual", 1, ["controller", "broker"])], { "quorum-members-in-prod": { environment: "dev" } })).toEqual({ diagnostics: [], notApplicable: true });
  });
});

describe("no-plain-secrets", () => {
  const withEnv = (env: Obj[], list = "containers") => workload("Deployment", "web", goodPodSpec({ [list]: [goodContainer("app", { env })] }));
  it("a literal DB_PASSWORD in env fails; the same name from a secretKeyRef passes", async () => {
    expect(details(await checkStack("no-plain-secrets", [withEnv([{ name: "DB_PASSWORD", value: "hunter2" }])]))).toEqual(["Deployment apps/web containers[app] env DB_PASSWORD: its name says it is a secret"]);
    expect(details(await checkStack("no-plain-secrets", [withEnv([{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }])]))).toEqual([]);
  });
  it("secret-shaped values fail whatever the name: a URL with a password, a private key, an AWS key, in initContainers too", async () => {
    expect(details(await checkStack("no-plain-secrets", [withEnv([{ name: "DATABASE_URL", value: "postgres://app:pa55@db:5432/app" }], "initContainers")]))).toEqual([
      "Deployment apps/web initContainers[app] env DATABASE_URL: its value looks like a URL with a password",
    ]);
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "apps" }, data: { "tls.key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", region: "eu", AWS_KEY_ID: "AKIAABCDEFGHIJKLMNOP" } };
    expect(details(await checkStack("no-plain-secrets", [cm]))).toEqual([
      "ConfigMap apps/cfg data.tls.key: its value looks like a private key",
      "ConfigMap apps/cfg data.AWS_KEY_ID: its value looks like an AWS access key id",
    ]);
  });
  it("ordinary config passes (hosts, endpoints, a URL without credentials, a secret's name)", async () => {
    const env = [{ name: "SMTP_HOST", value: "smtp.internal.example.com" }, { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "http://otel:4317" }, { name: "SECRET_NAME", value: "db-credentials" }];
    expect(details(await checkStack("no-plain-secrets", [withEnv(env)]))).toEqual([]);
  });
  it("an exemption keeps the finding visible as advisory with its reason", async () => {
    const cfg = { "no-plain-secrets": { exemptions: [{ namespace: "apps", name: "web", container: "app", reason: "test fixture credentials for the local registry mirror" }] } };
    const r = await checkStack("no-plain-secrets", [withEnv([{ name: "API_TOKEN", value: "x" }])], cfg);
    expect(r.diagnostics.map((d) => [d.enforcementLevel, d.detail])).toEqual([["advisory", "exempted (test fixture credentials for the local registry mirror): Deployment apps/web containers[app] env API_TOKEN: its name says it is a secret"]]);
  });
});

describe("secret shapes' pre-checks", () => {
  // Fragments of every shape, pieces of them and noise: values that match, nearly match, or not at all.
  const samples = ["-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "AKIAABCDEFGHIJKLMNOP", "ASIA", "ghp_" + "a".repeat(36), "gho_", "xoxb-1234567890ab", "xox", "eyJhbGciOiJIUzI1NiJ9", ".eyJzdWIiOiIxMjM0NTY3ODkwIn0", ".sig_abcdefgh", "postgres://u:p@db", "HTTPS://", "://", "@", ":", "/", " ", "a", "Z9"];
  it("a value a pattern matches always passes its pre-check (so skipping the pattern changes no verdict)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...samples), fc.string({ maxLength: 6 })), { maxLength: 8 }), (parts) => {
        const v = parts.join("");
        for (const s of SECRET_VALUES) if (s.re.test(v)) expect([s.what, s.maybe(v)]).toEqual([s.what, true]);
      }),
      { numRuns: 5000 },
    );
  });
  it("each pre-check lets its own shape through and screens out a long value without it", () => {
    const hits = ["-----BEGIN EC PRIVATE KEY-----", "id AKIAABCDEFGHIJKLMNOP", "ghs_" + "b".repeat(40), "xoxp-0123456789-abc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk", "amqp://guest:guest@rabbit:5672/"];
    SECRET_VALUES.forEach((s, i) => expect([s.what, s.re.test(hits[i]!), s.maybe(hits[i]!)]).toEqual([s.what, true, true]));
    const dashboard = JSON.stringify({ panels: Array.from({ length: 50 }, (_, i) => ({ title: `panel ${i}`, expr: "sum(rate(http_requests_total[5m]))" })) });
    for (const s of SECRET_VALUES) expect([s.what, s.maybe(dashboard)]).toEqual([s.what, false]);
  });
});

describe("network-default-deny", () => {
  const web = workload("Deployment", "web", goodPodSpec());
  const np = (name: string, spec: Obj, namespace = "apps") => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec });
  const deny = np("default-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] });
  const check = (objs: Obj[], cfg?: Obj) => checkStack("network-default-deny", objs, cfg);
  const open = "namespace apps has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes Ingress, no rules): Deployment apps/web is reachable from every pod and node";
  it("a namespace with workloads and a default deny of ingress passes (policyTypes absent means Ingress, beside Egress when egress rules exist)", async () => {
    expect(details(await check([ns("apps"), deny, web]))).toEqual([]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: {} }), web]))).toEqual([]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [] }), web]))).toEqual([]);
    // Kubernetes' default policyTypes: Ingress always, so egress rules alone still deny all ingress.
    expect(details(await check([ns("apps"), np("deny", { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: "UDP" }] }] }), web]))).toEqual([]);
  });
  it("without one, or with one that selects some pods, is egress-only, has rules or lives elsewhere, the namespace fails", async () => {
    expect(details(await check([ns("apps"), web]))).toEqual([open]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] }), web]))).toEqual([open]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: { matchExpressions: [{ key: "app", operator: "Exists" }] }, policyTypes: ["Ingress"] }), web]))).toEqual([open]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: {}, policyTypes: ["Egress"] }), web]))).toEqual([open]);
    expect(details(await check([ns("apps"), np("deny", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] }), web]))).toEqual([open]);
    expect(details(await check([ns("apps"), np("default-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] }, "other"), web]))).toEqual([open]);
  });
  it("a rule without from and without ports admits everything and fails, even beside a default deny; a rule with either passes", async () => {
    expect(details(await check([ns("apps"), deny, np("allow-all", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 8080 }] }, {}] }), web]))).toEqual([
      "NetworkPolicy apps/allow-all: ingress rule 1 has no from and no ports, so it admits every source on every port",
    ]);
    expect(details(await check([ns("apps"), deny, np("allow-all", { podSelector: {}, ingress: [{ from: [], ports: [] }] }), web]))).toHaveLength(1);
    expect(details(await check([ns("apps"), deny, np("web", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 8080 }] }, { from: [{ namespaceSelector: {} }] }] }), web]))).toEqual([]);
  });
  it("kube-system is exempt by default, and a stack names its own exempt namespaces with a reason", async () => {
    expect(await check([workload("DaemonSet", "cni", goodPodSpec(), { namespace: "kube-system" })])).toEqual({ diagnostics: [], notApplicable: true });
    const cfg = { "network-default-deny": { exemptNamespaces: [{ namespace: "apps", reason: "a test namespace governed elsewhere" }] } };
    expect(await check([web], cfg)).toEqual({ diagnostics: [], notApplicable: true });
  });
});

describe("secrets-from-store", () => {
  const secret = (name: string, namespace: string, fields: Obj, annotations?: Record<string, string>) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, type: "Opaque", ...fields });
  const storeOnly = { "secrets-from-store": { storeOnly: true } };
  const check = (objs: Obj[], cfg: Obj = storeOnly) => checkStack("secrets-from-store", objs, cfg);
  it("with the stack's secrets in the store, a Secret with values fails, whether in data or stringData", async () => {
    expect(details(await check([secret("etcd-root", "discovery", { stringData: { username: "root", password: "x" } }), secret("tls", "apps", { data: { "tls.key": "eA==" } })]))).toEqual([
      "Secret discovery/etcd-root holds values (password, username) outside the store: the render would leave it for a person to supply",
      "Secret apps/tls holds values (tls.key) outside the store: the render would leave it for a person to supply",
    ]);
  });
  it("the store's bootstrap Secrets and Secrets without values (a chart's, for its controller to fill) pass", async () => {
    expect(details(await check([secret("cacerts", "istio-system", { stringData: { "ca-key.pem": "k" } }, { [STORE_BOOTSTRAP_ANNOTATION]: "the mesh CA" }), secret("external-secrets-webhook", "external-secrets", {})]))).toEqual([]);
  });
  it("does not apply to a stack whose secrets do not go through the store (the default)", async () => {
    expect(await check([secret("etcd-root", "discovery", { stringData: { password: "x" } })], {})).toEqual({ diagnostics: [], notApplicable: true });
  });
  it("names the bootstrap by the program's own annotation", () => {
    expect(STORE_BOOTSTRAP_ANNOTATION).toBe(BOOTSTRAP_ANNOTATION);
  });
});
