/**
 * Resource policies of the CrossGuard pack, run through the in-process analyzer exactly as the
 * engine runs them: each policy has a failing and a passing case, including the classic misses
 * (a container overriding the pod's setting, initContainers and ephemeralContainers, CronJob job
 * templates, every workload kind).
 */
import { analyzeResource, configWarnings, normalizeConfig, PolicyConfigError } from "../audit/analyzer";
import { fromAllowedRegistry, parseImage, pinnedByDigest } from "../policy/images";
import { policies } from "../policy/policies";
import { asResource, check, goodContainer, goodPodSpec, Obj, workload, WORKLOAD_KINDS } from "./support/policy-fixtures";

const deploy = (spec: Obj, name = "web") => workload("Deployment", name, spec);
const withContainer = (over: Obj) => goodPodSpec({ containers: [goodContainer("app", over)] });

describe("a compliant workload", () => {
  it.each(WORKLOAD_KINDS)("%s with the restricted baseline passes every resource policy", async (kind) => {
    const r = await analyzeResource(policies, asResource(workload(kind, "web", goodPodSpec())), { "image-allowed-registry": { allowedRegistries: ["ghcr.io/acme"] } });
    expect(r.diagnostics).toEqual([]);
  });
});

describe("every workload kind and every container list is checked", () => {
  const privileged = goodContainer("bad", { securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } });
  it.each(WORKLOAD_KINDS)("a privileged container in a %s fails pss-privileged", async (kind) => {
    const d = await check("pss-privileged", workload(kind, "web", goodPodSpec({ containers: [goodContainer(), privileged] })));
    expect(d).toHaveLength(1);
    expect(d[0]!.enforcementLevel).toBe("mandatory");
    expect(d[0]!.detail).toContain(`${kind} apps/web containers[bad]`);
  });
  it("an initContainer is checked (privileged init container fails)", async () => {
    const d = await check("pss-privileged", deploy(goodPodSpec({ initContainers: [privileged] })));
    expect(d.map((x) => x.detail)).toEqual(["Deployment apps/web initContainers[bad]: securityContext.privileged is true"]);
  });
  it("an ephemeralContainer is checked (missing allowPrivilegeEscalation fails)", async () => {
    const d = await check("pss-privilege-escalation", workload("Pod", "web", goodPodSpec({ ephemeralContainers: [{ name: "debug", image: "busybox" }] })));
    expect(d.map((x) => x.detail)).toEqual(["Pod apps/web ephemeralContainers[debug]: allowPrivilegeEscalation is not false"]);
  });
  it("a CronJob's job template is checked (hostPath volume fails)", async () => {
    const d = await check("pss-host-path", workload("CronJob", "nightly", goodPodSpec({ volumes: [{ name: "h", hostPath: { path: "/var/run" } }] })));
    expect(d.map((x) => x.detail)).toEqual(["CronJob apps/nightly: volume h is a hostPath (/var/run)"]);
  });
  it("objects without a pod template are not applicable", async () => {
    const r = await analyzeResource(policies, asResource({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "apps" }, data: {} }));
    expect(r.diagnostics).toEqual([]);
    expect(r.notApplicable.map((n) => n.policyName)).toContain("pss-privileged");
  });
});

describe("effective values: a container setting overrides the pod's", () => {
  it("pod runAsNonRoot: true overridden by a container's false fails", async () => {
    const d = await check("pss-run-as-non-root", deploy(withContainer({ securityContext: { ...goodContainer().securityContext, runAsNonRoot: false } })));
    expect(d.map((x) => x.detail)).toEqual(["Deployment apps/web containers[app]: effective runAsNonRoot is false"]);
  });
  it("pod without runAsNonRoot passes when every container sets it", async () => {
    const spec = goodPodSpec({ securityContext: { seccompProfile: { type: "RuntimeDefault" } }, containers: [goodContainer("a", { securityContext: { ...goodContainer().securityContext, runAsNonRoot: true } })] });
    expect(await check("pss-run-as-non-root", deploy(spec))).toEqual([]);
  });
  it("pod without runAsNonRoot fails for the container that does not set it", async () => {
    const spec = goodPodSpec({
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      containers: [goodContainer("a", { securityContext: { ...goodContainer().securityContext, runAsNonRoot: true } }), goodContainer("b")],
    });
    expect((await check("pss-run-as-non-root", deploy(spec))).map((x) => x.detail)).toEqual(["Deployment apps/web containers[b]: effective runAsNonRoot is unset"]);
  });
  it("pod seccomp RuntimeDefault overridden by a container's Unconfined fails restricted and baseline", async () => {
    const w = deploy(withContainer({ securityContext: { ...goodContainer().securityContext, seccompProfile: { type: "Unconfined" } } }));
    expect((await check("pss-seccomp-restricted", w)).map((x) => x.detail)).toEqual(["Deployment apps/web containers[app]: effective seccompProfile.type is Unconfined"]);
    expect(await check("pss-seccomp-baseline", w)).toHaveLength(1);
  });
  it("no seccomp at either level fails restricted but passes baseline", async () => {
    const w = deploy(goodPodSpec({ securityContext: { runAsNonRoot: true } }));
    expect(await check("pss-seccomp-restricted", w)).toHaveLength(1);
    expect(await check("pss-seccomp-baseline", w)).toEqual([]);
  });
  it("runAsUser 0 at pod level fails even when the container overrides it (as Pod Security Admission does)", async () => {
    const w = deploy(goodPodSpec({ securityContext: { runAsNonRoot: true, runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } }, containers: [goodContainer("app", { securityContext: { ...goodContainer().securityContext, runAsUser: 1000 } })] }));
    expect((await check("pss-run-as-non-root-user", w)).map((x) => x.detail)).toEqual(["Deployment apps/web: pod runAsUser is 0"]);
  });
});

describe("Pod Security controls, one failing and one passing case each", () => {
  const cases: [string, Obj, Obj][] = [
    ["pss-host-namespaces", goodPodSpec({ hostNetwork: true }), goodPodSpec({ hostNetwork: false })],
    ["pss-capabilities-baseline", withContainer({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } } }), withContainer({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN"] } } })],
    ["pss-host-ports", withContainer({ ports: [{ containerPort: 80, hostPort: 80 }] }), withContainer({ ports: [{ containerPort: 80 }] })],
    ["pss-selinux-type", goodPodSpec({ securityContext: { ...goodPodSpec().securityContext, seLinuxOptions: { type: "spc_t" } } }), goodPodSpec({ securityContext: { ...goodPodSpec().securityContext, seLinuxOptions: { type: "container_t" } } })],
    ["pss-selinux-user-role", withContainer({ securityContext: { ...goodContainer().securityContext, seLinuxOptions: { role: "sysadm_r" } } }), withContainer({ securityContext: { ...goodContainer().securityContext, seLinuxOptions: { level: "s0:c1" } } })],
    ["pss-proc-mount", withContainer({ securityContext: { ...goodContainer().securityContext, procMount: "Unmasked" } }), withContainer({ securityContext: { ...goodContainer().securityContext, procMount: "Default" } })],
    ["pss-sysctls", goodPodSpec({ securityContext: { ...goodPodSpec().securityContext, sysctls: [{ name: "kernel.msgmax", value: "1" }] } }), goodPodSpec({ securityContext: { ...goodPodSpec().securityContext, sysctls: [{ name: "net.ipv4.tcp_syncookies", value: "1" }] } })],
    ["pss-windows-host-process", goodPodSpec({ securityContext: { ...goodPodSpec().securityContext, windowsOptions: { hostProcess: true } } }), goodPodSpec()],
    ["pss-apparmor", withContainer({ securityContext: { ...goodContainer().securityContext, appArmorProfile: { type: "Unconfined" } } }), withContainer({ securityContext: { ...goodContainer().securityContext, appArmorProfile: { type: "RuntimeDefault" } } })],
    ["pss-volume-types", goodPodSpec({ volumes: [{ name: "n", nfs: { server: "x", path: "/" } }] }), goodPodSpec({ volumes: [{ name: "t", emptyDir: {} }, { name: "c", configMap: { name: "c" } }] })],
    ["pss-privilege-escalation", withContainer({ securityContext: { capabilities: { drop: ["ALL"] } } }), goodPodSpec()],
    ["pss-capabilities-drop-all", withContainer({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["NET_RAW"] } } }), goodPodSpec()],
    ["pss-capabilities-restricted-add", withContainer({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN"] } } }), withContainer({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } } })],
  ];
  it.each(cases)("%s", async (policy, bad, good) => {
    expect(await check(policy, deploy(bad))).toHaveLength(1);
    expect(await check(policy, deploy(good))).toEqual([]);
  });
  it("pss-apparmor reads the legacy per-container annotation on the pod template", async () => {
    const bad = workload("Deployment", "web", goodPodSpec(), { annotations: { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" } });
    const good = workload("Deployment", "web", goodPodSpec(), { annotations: { "container.apparmor.security.beta.kubernetes.io/app": "runtime/default" } });
    expect((await check("pss-apparmor", bad)).map((d) => d.detail)).toEqual(["Deployment apps/web container app: annotation container.apparmor.security.beta.kubernetes.io/app is unconfined"]);
    expect(await check("pss-apparmor", good)).toEqual([]);
  });
});

describe("images", () => {
  const cfg = { "image-allowed-registry": { allowedRegistries: ["ghcr.io/acme"] } };
  it("a tag is not a pin; a sha256 digest is", async () => {
    expect((await check("image-pinned-by-digest", deploy(withContainer({ image: "ghcr.io/acme/app:1.2.3" })))).map((d) => d.detail)).toEqual([
      "Deployment apps/web containers[app]: image ghcr.io/acme/app:1.2.3 is not pinned by digest",
    ]);
    expect(await check("image-pinned-by-digest", deploy(goodPodSpec()))).toEqual([]);
    expect(pinnedByDigest("ghcr.io/acme/app:1.2@sha256:" + "b".repeat(64))).toBe(true);
    expect(pinnedByDigest("ghcr.io/acme/app@sha256:short")).toBe(false);
  });
  it("an initContainer image from another registry fails; the allowed prefix ends at a path boundary", async () => {
    const spec = goodPodSpec({ initContainers: [goodContainer("init", { image: "docker.io/library/busybox@sha256:" + "c".repeat(64) })] });
    expect((await check("image-allowed-registry", deploy(spec), cfg)).map((d) => d.detail)).toEqual([
      "Deployment apps/web initContainers[init]: image docker.io/library/busybox@sha256:" + "c".repeat(64) + " is not from an allowed registry (ghcr.io/acme)",
    ]);
    expect(fromAllowedRegistry("ghcr.io/acme-evil/app:1", ["ghcr.io/acme"])).toBe(false);
    expect(fromAllowedRegistry("ghcr.io/acme/app:1", ["ghcr.io/acme/"])).toBe(true);
  });
  it("Docker Hub short names are normalized before matching", () => {
    expect(parseImage("nginx").name).toBe("docker.io/library/nginx");
    expect(parseImage("bitnami/etcd:3.6").name).toBe("docker.io/bitnami/etcd");
    expect(parseImage("localhost:5000/app@sha256:" + "d".repeat(64))).toMatchObject({ registry: "localhost:5000", digest: "sha256:" + "d".repeat(64) });
    expect(fromAllowedRegistry("nginx:1.27", ["docker.io/library"])).toBe(true);
  });
  it("with no allowed registries configured every image fails (secure default)", async () => {
    expect(await check("image-allowed-registry", deploy(goodPodSpec()))).toHaveLength(1);
  });
});

describe("container-resources", () => {
  it("a missing memory limit fails; a missing CPU limit does not", async () => {
    const noMemLimit = withContainer({ resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1" } } });
    expect((await check("container-resources", deploy(noMemLimit))).map((d) => d.detail)).toEqual(["Deployment apps/web containers[app]: resources limits.memory not set"]);
    expect(await check("container-resources", deploy(goodPodSpec()))).toEqual([]);
  });
  it("an initContainer without requests fails", async () => {
    const spec = goodPodSpec({ initContainers: [goodContainer("init", { resources: {} })] });
    expect((await check("container-resources", deploy(spec))).map((d) => d.detail)).toEqual(["Deployment apps/web initContainers[init]: resources requests.cpu, requests.memory, limits.memory not set"]);
  });
});

describe("no-external-service", () => {
  const svc = (type: string, name = "web", namespace = "apps") => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { type, ports: [{ port: 80 }] } });
  it("LoadBalancer and NodePort fail, ClusterIP passes", async () => {
    expect((await check("no-external-service", svc("LoadBalancer"))).map((d) => d.detail)).toEqual(["Service apps/web is of type LoadBalancer; only the gateway's Service may be"]);
    expect(await check("no-external-service", svc("NodePort"))).toHaveLength(1);
    expect(await check("no-external-service", svc("ClusterIP"))).toEqual([]);
  });
  it("the gateway's Service (from config) may be a LoadBalancer", async () => {
    const cfg = { "no-external-service": { gatewayServices: [{ namespace: "gateway", name: "traefik" }] } };
    expect(await check("no-external-service", svc("LoadBalancer", "traefik", "gateway"), cfg)).toEqual([]);
    expect(await check("no-external-service", svc("LoadBalancer", "traefik", "apps"), cfg)).toHaveLength(1);
  });
  it("a Helm release setting service.type LoadBalancer fails unless it is a gateway chart", async () => {
    const release = (chart: string) => ({ type: "kubernetes:helm.sh/v3:Release", name: chart, urn: `urn:${chart}`, props: { chart, name: chart, namespace: "x", version: "1.0.0", repositoryOpts: { repo: "https://charts.example.com" }, values: { service: { type: "LoadBalancer" } } } });
    const d = await analyzeResource(policies, release("grafana"));
    expect(d.diagnostics.filter((x) => x.policyName === "no-external-service").map((x) => x.detail)).toEqual(["Helm release x/grafana (chart grafana) sets service.type LoadBalancer"]);
    const t = await analyzeResource(policies, release("traefik"));
    expect(t.diagnostics.filter((x) => x.policyName === "no-external-service")).toEqual([]);
  });
});

describe("helm-release-pinned", () => {
  const release = (version: unknown, repo: string) => ({ type: "kubernetes:helm.sh/v3:Release", name: "r", urn: "urn:r", props: { chart: "kyverno", name: "kyverno", namespace: "kyverno", version, repositoryOpts: { repo } } });
  const run = async (version: unknown, repo: string) => (await analyzeResource(policies, release(version, repo))).diagnostics.filter((d) => d.policyName === "helm-release-pinned").map((d) => d.detail);
  it("an exact version from https:// or oci:// passes", async () => {
    expect(await run("3.9.0", "https://kyverno.github.io/kyverno")).toEqual([]);
    expect(await run("v1.8.3", "oci://docker.io/envoyproxy")).toEqual([]);
  });
  it("a range, a missing version or a plain-http repository fails", async () => {
    expect(await run("^3.9.0", "https://kyverno.github.io/kyverno")).toEqual(['Helm release kyverno/kyverno: chart kyverno version "^3.9.0" is not an exact version']);
    expect(await run(undefined, "https://kyverno.github.io/kyverno")).toHaveLength(1);
    expect(await run("3.9.0", "http://charts.example.com")).toEqual(['Helm release kyverno/kyverno: repository "http://charts.example.com" is not an https:// or oci:// repository']);
  });
  it("a chart from a local chart cache (platform:charts.path) is pinned by its <chart>/<version> directory", async () => {
    const local = async (chart: string, version: string) =>
      (await analyzeResource(policies, { type: "kubernetes:helm.sh/v4:Chart", name: "r", urn: "urn:r", props: { chart, name: "kyverno", namespace: "kyverno", version } })).diagnostics.filter((d) => d.policyName === "helm-release-pinned").map((d) => d.detail);
    expect(await local("/srv/charts/kyverno/3.9.0", "3.9.0")).toEqual([]);
    expect(await local("/srv/charts/kyverno/latest", "3.9.0")).toEqual(['Helm release kyverno/kyverno: local chart /srv/charts/kyverno/latest is not the directory of version "3.9.0"']);
    expect(await local("kyverno", "3.9.0")).toHaveLength(1);
  });
});

describe("config: enforcement per policy, exemptions with a reason, no self-exemption", () => {
  const priv = deploy(withContainer({ securityContext: { ...goodContainer().securityContext, privileged: true } }));
  it("a policy's enforcement level comes from its config; 'all' sets every policy's", async () => {
    expect((await check("pss-privileged", priv, { "pss-privileged": "advisory" }))[0]!.enforcementLevel).toBe("advisory");
    expect((await check("pss-privileged", priv, { "pss-privileged": { enforcementLevel: "advisory" } }))[0]!.enforcementLevel).toBe("advisory");
    expect(await check("pss-privileged", priv, { "pss-privileged": "disabled" })).toEqual([]);
    expect((await check("pss-privileged", priv, { all: "advisory" }))[0]!.enforcementLevel).toBe("advisory");
    expect((await check("pss-privileged", priv, { all: "advisory", "pss-privileged": "mandatory" }))[0]!.enforcementLevel).toBe("mandatory");
  });
  it("an exemption for the object and container turns the finding into an advisory note carrying its reason", async () => {
    const cfg = { "pss-privileged": { exemptions: [{ namespace: "apps", name: "web", container: "app", reason: "CNI plugin installer needs host access" }] } };
    const d = await check("pss-privileged", priv, cfg);
    expect(d).toHaveLength(1);
    expect(d[0]!.enforcementLevel).toBe("advisory");
    expect(d[0]!.detail).toBe("exempted (CNI plugin installer needs host access): Deployment apps/web containers[app]: securityContext.privileged is true");
  });
  it("an exemption for another container, name or namespace does not apply", async () => {
    for (const e of [{ container: "sidecar" }, { name: "other" }, { namespace: "other" }]) {
      const cfg = { "pss-privileged": { exemptions: [{ namespace: "apps", name: "web", reason: "a long enough reason", ...e }] } };
      expect((await check("pss-privileged", priv, cfg))[0]!.enforcementLevel).toBe("mandatory");
    }
  });
  it("annotations cannot exempt an object", async () => {
    const annotated = { ...priv, metadata: { ...priv["metadata"], annotations: { "policies.kyverno.io/exclude": "true", "platform.io/policy-exempt": "pss-privileged" } } };
    expect((await check("pss-privileged", annotated))[0]!.enforcementLevel).toBe("mandatory");
  });
  it("an exemption without a reason, a bad type or a bad level is rejected, naming the policy and path", () => {
    expect(() => normalizeConfig(policies, { "pss-privileged": { exemptions: [{ namespace: "apps", name: "web" }] } })).toThrow(PolicyConfigError);
    expect(() => normalizeConfig(policies, { "pss-privileged": { exemptions: [{ namespace: "apps", name: "web", reason: "short" }] } })).toThrow(/pss-privileged\.exemptions\.0\.reason/);
    expect(() => normalizeConfig(policies, { "pss-privileged": { exemptions: [{ namespace: "apps", name: "web", reason: "long enough reason", why: "x" }] } })).toThrow(/must NOT have additional properties/);
    expect(() => normalizeConfig(policies, { "image-allowed-registry": { allowedRegistries: "ghcr.io/acme" } })).toThrow(/image-allowed-registry\.allowedRegistries: must be array/);
    expect(() => normalizeConfig(policies, { "pss-privileged": "fatal" })).toThrow(/enforcementLevel "fatal"/);
    expect(() => normalizeConfig(policies, { "pss-privileged": 3 })).toThrow(/must be a string or object/);
  });
  it("like the CLI, an unknown policy or setting is accepted and has no effect; the audit warns about it", () => {
    const cfg = { "no-such-policy": "mandatory", "image-allowed-registry": { allowedRegistry: ["ghcr.io/acme"] } };
    expect(() => normalizeConfig(policies, cfg)).not.toThrow();
    expect(configWarnings(policies, cfg)).toEqual([
      "no-such-policy: no policy of that name in the pack; this entry has no effect",
      "image-allowed-registry.allowedRegistry: not a setting of this policy (settings: allowedRegistries, exemptions); it has no effect",
    ]);
  });
});

describe("the harness is faithful to @pulumi/policy's analyzer", () => {
  const probe = (validate: (args: any, report: any) => void, configSchema?: any) => [{ name: "probe", description: "probe policy", enforcementLevel: "mandatory" as const, ...(configSchema ? { configSchema } : {}), validateResource: validate }];
  it("notApplicable throws: nothing after it runs, and the policy is recorded as not applicable", async () => {
    let after = false;
    const r = await analyzeResource(probe((args, report) => {
      args.notApplicable("not for this");
      after = true;
      report("never");
    }), asResource(deploy(goodPodSpec())));
    expect(after).toBe(false);
    expect(r.diagnostics).toEqual([]);
    expect(r.notApplicable).toEqual([expect.objectContaining({ policyName: "probe", reason: "not for this" })]);
  });
  it("props go through the SDK's unknownCheckingProxy: reading an unknown value is an advisory 'can't run during preview'", async () => {
    const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy proxy.js unknownStringValue
    const o = deploy(withContainer({ image: unknownString }));
    const r = await analyzeResource(policies.filter((p) => p.name === "image-pinned-by-digest"), asResource(o));
    expect(r.diagnostics).toEqual([expect.objectContaining({ policyName: "image-pinned-by-digest", enforcementLevel: "advisory", message: expect.stringMatching(/can't run policy 'image-pinned-by-digest' during preview: .*spec\.template\.spec\.containers\.0\.image/) })]);
  });
  it("getConfig returns the raw config without enforcementLevel and without schema defaults", async () => {
    const seen: object[] = [];
    const schema = { properties: { n: { type: "integer", default: 3 }, s: { type: "string" } } };
    await analyzeResource(probe((args) => void seen.push(args.getConfig()), schema), asResource(deploy(goodPodSpec())), { probe: { enforcementLevel: "advisory", s: "x" } });
    await analyzeResource(probe((args) => void seen.push(args.getConfig()), schema), asResource(deploy(goodPodSpec())));
    expect(seen).toEqual([{ s: "x" }, {}]);
  });
  it("secrets reach policies as plain values, as the SDK deserializes them", async () => {
    let seen: unknown;
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cr3t" };
    await analyzeResource(probe((args) => void (seen = args.props.data.password)), { type: "kubernetes:core/v1:Secret", name: "s", urn: "urn:s", props: { data: { password: secret } } });
    expect(seen).toBe("s3cr3t");
  });
  it("an asynchronous policy is awaited in its place: its reports, rejection and notApplicable count as a synchronous one's", async () => {
    const later = <T>(v: T) => new Promise<T>((res) => setTimeout(() => res(v), 1));
    const policies = [
      ...probe(async (_a, report) => report(await later("first"))),
      { ...probe((_a, report) => report("second"))[0]!, name: "sync" },
      { ...probe(async (args) => args.notApplicable(await later("not now")))[0]!, name: "async-na" },
      { ...probe(async () => Promise.reject(new Error("boom")))[0]!, name: "async-error" },
    ];
    await expect(analyzeResource(policies, asResource(deploy(goodPodSpec())))).rejects.toThrow(/with policy 'async-error': boom/);
    const r = await analyzeResource(policies.slice(0, 3), asResource(deploy(goodPodSpec())));
    expect(r.diagnostics.map((d) => [d.policyName, d.detail])).toEqual([["probe", "first"], ["sync", "second"]]);
    expect(r.notApplicable).toEqual([expect.objectContaining({ policyName: "async-na", reason: "not now" })]);
  });
  it("a string violation's message is the description, a newline and the detail", async () => {
    const r = await analyzeResource(probe((_a, report) => report("detail here")), asResource(deploy(goodPodSpec())));
    expect(r.diagnostics[0]!.message).toBe("probe policy\ndetail here");
  });
});
