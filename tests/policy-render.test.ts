/**
 * The policy pack on the rendered dev and prod stacks, the per-stack pack config, report.md's
 * "Policy verdicts" section and `npm run audit`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { normalizeConfig } from "../audit/analyzer";
import { main as audit } from "../audit/cli";
import { fluxReleaseAsHelm, readPolicyConfig, stackPolicyConfigFile, Verdicts } from "../audit/verdicts";
import { helmReleaseToFlux } from "../render/gitops";
import { policies } from "../policy/policies";
import { Rendered, renderStack } from "../render/render";
import { listStacks, platformConfigOf, readStackConfig } from "../render/stack";
import { packConfigFor } from "../audit/pack-config";
import { writeRender } from "../render/write";

const ROOT = path.resolve(__dirname, "..");
const mandatory = (v: Verdicts) => [...v.records.flatMap((r) => r.violations.map((x) => ({ ...x, object: `${r.kind} ${r.namespace ?? ""}/${r.name}` }))), ...v.stack.map((x) => ({ ...x, object: "stack" }))].filter((x) => x.enforcementLevel === "mandatory");
const STACK_POLICIES = new Set(policies.filter((p) => "validateStack" in p).map((p) => p.name));

let prod: Rendered;
let dev: Rendered;
beforeAll(async () => {
  prod = await renderStack("prod");
  dev = await renderStack("dev");
});

describe("prod render", () => {
  it("every object passes every resource policy (Pod Security restricted, images, resources, exposure, Helm pins), but for exempted platform images", () => {
    const resourceLevel = prod.verdicts.records.flatMap((r) =>
      r.violations.filter((x) => !STACK_POLICIES.has(x.policy) && !x.message.startsWith("exempted (")).map((x) => `${r.kind} ${r.name}: ${x.message}`),
    );
    expect(resourceLevel).toEqual([]);
    // The exempted findings are the version set's upstream images in platform namespaces, nothing else.
    const exempted = prod.verdicts.records.filter((r) => r.violations.some((x) => x.message.startsWith("exempted (")));
    // Platform namespaces only (the charts' node agents and upstream images); never an application's.
    expect([...new Set(exempted.map((r) => r.namespace))].sort()).toEqual(["discovery", "external-secrets", "flagger", "gateway-system", "istio-system", "kafka", "kyverno", "nats", "observability", "vault"]);
    expect(prod.verdicts.records.filter((r) => r.kind === "Deployment").length).toBeGreaterThanOrEqual(5);
  });
  it("has no PDB, quorum or plain-secret violation", () => {
    expect(mandatory(prod.verdicts).filter((x) => ["pdb-for-multi-replica-workloads", "quorum-members-in-prod", "no-plain-secrets"].includes(x.policy))).toEqual([]);
  });
  it("has zero mandatory violations: the mesh enrolls every namespace with workloads under STRICT mTLS, Kyverno verifies the application registry", () => {
    expect(mandatory(prod.verdicts)).toEqual([]);
    const checked = new Set(prod.verdicts.records.map((r) => r.kind));
    for (const kind of ["Deployment", "StatefulSet", "Job", "CronJob", "Namespace"]) expect({ kind, checked: checked.has(kind) }).toEqual({ kind, checked: true });
  });
});

describe("dev render", () => {
  it("the tag-pinned user-service image is an advisory finding (dev relaxes image-pinned-by-digest), nothing else at resource level", () => {
    const resourceLevel = dev.verdicts.records.flatMap((r) => r.violations.filter((x) => !STACK_POLICIES.has(x.policy)).map((x) => [x.enforcementLevel, x.policy, `${r.kind} ${r.name}`, x.message]));
    const apps = dev.verdicts.records.filter((r) => r.namespace === "apps" || r.namespace === "notifications");
    const appLevel = apps.flatMap((r) => r.violations.filter((x) => !STACK_POLICIES.has(x.policy)).map((x) => [x.enforcementLevel, x.policy, `${r.kind} ${r.name}`, x.message]));
    expect(appLevel.filter(([, , , msg]) => !String(msg).startsWith("exempted ("))).toEqual([["advisory", "image-pinned-by-digest", "Deployment user-service", expect.anything()]]);
    // Chart images in platform namespaces are tag-pinned too: advisory in dev, never mandatory.
    expect(resourceLevel.filter(([level]) => level === "mandatory")).toEqual([]);
  });
  it("the quorum rule does not apply to dev's single-member systems", () => {
    expect(mandatory(dev.verdicts).filter((x) => x.policy === "quorum-members-in-prod")).toEqual([]);
  });
});

describe("per-stack pack config (policy/stacks/<stack>.json, what the preview passes to --policy-pack-config)", () => {
  it.each(listStacks())("%s: exists, validates against the policies' schemas and agrees with the stack's Pulumi.<stack>.yaml", (stack) => {
    const file = stackPolicyConfigFile(stack);
    expect(file).toBeDefined();
    const cfg = readPolicyConfig(file!) as Record<string, any>;
    expect(() => normalizeConfig(policies, cfg)).not.toThrow();
    const stackCfg = (parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, any> }).config;
    const security = stackCfg["platform:security"];
    expect(cfg["image-allowed-registry"].allowedRegistries).toEqual(security.allowedRegistries);
    expect(cfg["quorum-members-in-prod"].environment).toBe(stackCfg["platform:environment"]);
    const digestLevel = typeof cfg["image-pinned-by-digest"] === "string" ? cfg["image-pinned-by-digest"] : cfg["image-pinned-by-digest"]?.enforcementLevel ?? "mandatory";
    expect(digestLevel).toBe(security.requireDigest === false ? "advisory" : "mandatory");
    // The file is what the stack's own config derives (audit/pack-config.ts): regenerate it with
    // `npm run audit -- --stack <stack> --print-policy-config > policy/stacks/<stack>.json`.
    expect(cfg).toEqual(packConfigFor(platformConfigOf(readStackConfig(stack))));
  });

  it("derives a new stack's pack config from its stack file: environment, registries, digest level, gateway namespace", () => {
    const raw = structuredClone(readStackConfig("prod"));
    raw["platform:security"] = JSON.stringify({ ...JSON.parse(raw["platform:security"]!), allowedRegistries: ["ghcr.io/acme-shop", "registry.example.org/team"] });
    raw["platform:gateway"] = JSON.stringify({ ...JSON.parse(raw["platform:gateway"]!), namespace: "edge" });
    const cfg = packConfigFor(platformConfigOf(raw)) as Record<string, any>;
    expect(cfg["image-allowed-registry"].allowedRegistries).toEqual(["ghcr.io/acme-shop", "registry.example.org/team"]);
    expect(cfg["quorum-members-in-prod"]).toEqual({ environment: "prod" });
    expect(cfg["no-external-service"].gatewayServices.every((g: any) => g.namespace === "edge")).toBe(true);
    expect(JSON.stringify(cfg)).not.toContain('"gateway-system"');
    expect(() => normalizeConfig(policies, cfg)).not.toThrow();
  });
  it("every exemption in a stack's config carries a reason, and prod lowers no policy below mandatory", () => {
    for (const stack of listStacks()) {
      const cfg = readPolicyConfig(stackPolicyConfigFile(stack)!) as Record<string, any>;
      for (const [policy, c] of Object.entries(cfg)) {
        for (const e of (typeof c === "object" ? c.exemptions ?? [] : []) as { reason?: string }[]) expect({ stack, policy, reason: (e.reason ?? "").length >= 10 }).toEqual({ stack, policy, reason: true });
        if (stack === "prod") expect({ policy, level: typeof c === "string" ? c : c.enforcementLevel ?? "mandatory" }).toEqual({ policy, level: "mandatory" });
      }
    }
  });
  it("every exempted finding in the renders says why", () => {
    for (const v of [prod.verdicts, dev.verdicts]) {
      for (const x of v.records.flatMap((r) => r.violations)) if (x.message.startsWith("exempted")) expect(x.message).toMatch(/^exempted \(.{10,}\): /);
    }
  });
});

describe("report.md", () => {
  it("has a Policy verdicts section with each violation's level, policy and object", () => {
    expect(prod.report).toContain("## Policy verdicts");
    expect(prod.report).toMatch(/config `policy\/stacks\/prod\.json`: \*\*0 mandatory\*\*, \d+ advisory\./);
    expect(prod.report).toMatch(/\| advisory \| image-allowed-registry \| StatefulSet discovery\/etcd \| exempted \(Upstream release image/);
    expect(dev.report).toMatch(/\| advisory \| image-pinned-by-digest \| Deployment apps\/user-service \| .*ghcr\.io\/acme-shop\/user-service:2\.3\.1 is not pinned by digest \|/);
  });
});

describe("npm run audit", () => {
  const run = async (argv: string[]) => {
    let out = "";
    let err = "";
    const code = await audit(argv, (s) => void (out += s), (s) => void (err += s));
    return { code, out, err };
  };
  const made: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "audit-"));
    made.push(d);
    return d;
  };
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const deployment = (extra: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: web
        image: ghcr.io/acme/web@sha256:${"f".repeat(64)}
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}${extra}}
`;
  const mesh = `apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: verify-images}
spec:
  rules:
  - name: verify
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors: [{entries: [{keyless: {issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/*"}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: team}
spec: {podSelector: {}, policyTypes: [Ingress]}
`;
  const config = (dir: string) => {
    const f = path.join(dir, "..", `${path.basename(dir)}-policy.json`);
    fs.writeFileSync(f, JSON.stringify({ "image-allowed-registry": { allowedRegistries: ["ghcr.io/acme"] } }));
    return f;
  };

  it("--manifests: a clean directory exits 0; a privileged container exits 1 and is printed with its level and file", async () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, "apps"));
    fs.writeFileSync(path.join(dir, "apps", "web.yaml"), deployment(""));
    fs.writeFileSync(path.join(dir, "platform.yaml"), mesh);
    const ok = await run(["--manifests", dir, "--policy-config", config(dir)]);
    expect(ok.err).toBe("");
    expect(ok.out).toContain("resources checked: 0 mandatory, 0 advisory");
    expect(ok.code).toBe(0);
    fs.writeFileSync(path.join(dir, "apps", "web.yaml"), deployment(", privileged: true"));
    const bad = await run(["--manifests", dir, "--policy-config", config(dir)]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("mandatory pss-privileged: Deployment team/web containers[web]: securityContext.privileged is true  [apps/web.yaml]");
  });
  it("--json prints one record per resource with file, kind, namespace, name and violations", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "web.yaml"), deployment(", privileged: true") + "---\n" + mesh);
    const r = await run(["--manifests", dir, "--policy-config", config(dir), "--json"]);
    const records = r.out.trim().split("\n").map((l) => JSON.parse(l));
    expect(records.map((x) => [x.file, x.kind, x.namespace, x.name])).toEqual([
      ["web.yaml", "Deployment", "team", "web"],
      ["web.yaml", "Namespace", null, "team"],
      ["web.yaml", "PeerAuthentication", "istio-system", "default"],
      ["web.yaml", "ClusterPolicy", null, "verify-images"],
      ["web.yaml", "NetworkPolicy", "team", "default-deny-ingress"],
    ]);
    expect(records[0].violations).toEqual([{ policy: "pss-privileged", enforcementLevel: "mandatory", message: "Deployment team/web containers[web]: securityContext.privileged is true" }]);
  });
  it("--policy-config lowers a policy to advisory: exit 0 with the finding still printed", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "web.yaml"), deployment(", privileged: true") + "---\n" + mesh);
    const f = path.join(dir, "cfg.json");
    fs.writeFileSync(f, JSON.stringify({ "image-allowed-registry": { allowedRegistries: ["ghcr.io/acme"] }, "pss-privileged": "advisory" }));
    const r = await run(["--manifests", dir, "--policy-config", f]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("advisory  pss-privileged:");
  });
  it("bad arguments or an invalid pack config exit 2 with the reason", async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(["--stack", "nope"])).err).toContain('unknown stack "nope"');
    const dir = tmp();
    const f = path.join(dir, "cfg.json");
    fs.writeFileSync(f, JSON.stringify({ "pss-privileged": { exemptions: [{ namespace: "team", name: "web" }] } }));
    const r = await run(["--manifests", dir, "--policy-config", f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("pss-privileged.exemptions.0: must have required property 'reason'");
  });
  it("--stack prod exits 0 with no mandatory violation and prints the exempted findings as advisory", async () => {
    const r = await run(["--stack", "prod"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ 0 mandatory, \d+ advisory violation/);
    expect(r.out).toContain("advisory  image-pinned-by-digest: exempted (");
  });
  it("--manifests reads Flux HelmReleases as Helm releases: a chart version range and a 1-member etcd are found", async () => {
    const dir = tmp();
    const flux = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: bitnami, namespace: flux-system}
spec: {url: https://charts.bitnami.com/bitnami, interval: 1h}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: etcd, namespace: flux-system}
spec:
  interval: 30m
  targetNamespace: discovery
  chart: {spec: {chart: etcd, version: "^12.0.0", sourceRef: {kind: HelmRepository, name: bitnami}}}
  values: {replicaCount: 1}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: kyverno, namespace: flux-system}
spec: {url: oci://ghcr.io/kyverno/charts/kyverno, ref: {tag: 3.9.0}, interval: 1h}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: kyverno, namespace: flux-system}
spec: {interval: 30m, targetNamespace: kyverno, chartRef: {kind: OCIRepository, name: kyverno}}
`;
    fs.writeFileSync(path.join(dir, "releases.yaml"), flux);
    const f = path.join(dir, "..", `${path.basename(dir)}-prod.json`);
    fs.writeFileSync(f, JSON.stringify({ "quorum-members-in-prod": { environment: "prod" } }));
    const r = await run(["--manifests", dir, "--policy-config", f, "--json"]);
    const records = r.out.trim().split("\n").map((l) => JSON.parse(l));
    const etcd = records.find((x) => x.kind === "HelmRelease" && x.name === "etcd");
    expect(etcd).toMatchObject({ file: "releases.yaml", namespace: "discovery" });
    expect(etcd.violations.map((v: { policy: string; message: string }) => `${v.policy}: ${v.message}`).sort()).toEqual([
      'helm-release-pinned: Helm release discovery/etcd: chart etcd version "^12.0.0" is not an exact version',
      "quorum-members-in-prod: Helm release of etcd discovery/etcd has 1 member(s); a quorum in prod needs at least 3",
    ]);
    expect(records.find((x) => x.kind === "HelmRelease" && x.name === "kyverno").violations).toEqual([]);
    made.push(f);
  });
  it("--manifests over the rendered prod tree finds what --stack finds", async () => {
    const dir = tmp();
    await writeRender(prod.model, prod.report, dir);
    const r = await run(["--manifests", dir, "--policy-config", path.join(ROOT, "policy", "stacks", "prod.json")]);
    const policiesHit = (s: string) => [...s.matchAll(/^mandatory (\S+):/gm)].map((m) => m[1]).sort();
    expect(policiesHit(r.out)).toEqual(policiesHit((await run(["--stack", "prod"])).out));
  });
});

describe("Flux HelmRelease ↔ Helm release", () => {
  it("reading back what the render writes for a Helm release gives the same chart, version, repository, namespace and values", () => {
    for (const repo of ["https://kyverno.github.io/kyverno", "oci://ghcr.io/kyverno/charts"]) {
      const inputs = { name: "kyverno", chart: "kyverno", version: "3.9.0", namespace: "kyverno", repositoryOpts: { repo }, values: { admissionController: { replicas: 3 } } };
      const { objects } = helmReleaseToFlux({ urn: "urn:r", type: "kubernetes:helm.sh/v3:Release", name: "kyverno", custom: true, dependencies: [], inputs }, []);
      const release = objects.find((o) => o.kind === "HelmRelease")!;
      expect(fluxReleaseAsHelm(release, objects.filter((o) => o !== release))).toEqual(inputs);
    }
  });
});
