import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { INSTALL_ORDER, mayFollow } from "../components/install-order";
import { ConfigError } from "../config/load";
import { definePlatform } from "../program";
import { SECRET_SIG, SECRET_SIG_KEY, RecordedResource, runProgram } from "../render/harness";
import { helmReleaseToFlux, toManifest } from "../render/gitops";
import { groupLevels } from "../render/model";
import { Rendered, renderStack } from "../render/render";
import { ROOT } from "../render/stack";
import { fileNameOf, writeRender } from "../render/write";
import { CRD_DIR, CrdDoc, CrdValidator } from "./support/crd-schema";
import { apiServerProblems, quantity } from "./support/apiserver-checks";
import { validateBuiltIn } from "./support/k8s-schema";


const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  // Sequential: the mock runtime is process-global.
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});

/** The gateway controller's component name for the stack's implementation. */
const controllerOf = (r: Rendered) => (r.config.gateway.implementation === "traefik" ? "traefik" : "envoy-gateway");
/** One route component per exposed service. */
const routesOf = (r: Rendered) => Object.entries(r.config.services).filter(([, s]) => s.expose).map(([n]) => `${n}-route`).sort();
const objectsOf = (r: Rendered) => r.model.groups.flatMap((g) => g.objects);
/** Progressive services' Canaries, and Flagger once there is one (docs/delivery.md). */
const rolloutsOf = (r: Rendered) => Object.entries(r.config.services).filter(([, s]) => s.rollout.strategy === "progressive").map(([n]) => `${n}-rollout`).sort();
/** Services that declare store secrets (their SecretStore and ExternalSecret are a component of their own). */
const storeUsersOf = (r: Rendered) => Object.entries(r.config.services).filter(([, s]) => Object.keys(s.secrets).length > 0).map(([n]) => n).sort();
const deliveryOf = (r: Rendered) => (rolloutsOf(r).length ? ["flagger", ...rolloutsOf(r)] : []);
const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

describe.each(["dev", "prod"])("the %s render", (stack) => {
  it("renders a namespace per application namespace and a component per service", () => {
    const r = rendered[stack]!;
    expect(r.model.groups.map((g) => g.name)).toEqual([
      "gateway-namespace",
      "mesh-namespace",
      "namespaces",
      "observability-namespace",
      "security-namespace",
      "gateway-api-crds",
      "mesh-ca",
      "istio",
      "mesh-policies",
      controllerOf(r),
      "gateway",
      ...routesOf(r),
      ...deliveryOf(r),
      "prometheus-operator-crds",
      "kube-prometheus-stack",
      "jaeger",
      "loki",
      "otel-collector",
      "slos",
      "strimzi",
      "etcd",
      "kafka",
      "nats",
      ...(r.config.secrets.enabled ? ["external-secrets", "vault"] : []),
      ...storeUsersOf(r).map((s) => `${s}-secrets`),
      "kyverno",
      "admission-policies",
      "network-policies",
      ...Object.keys(r.config.services).sort(),
    ]);
    const appNs = r.model.groups.find((g) => g.name === "namespaces")!.objects.map((o) => o.metadata.name);
    expect(appNs.sort()).toEqual(["apps", "notifications"]);
    // Platform components bring their own namespaces.
    const nsNames = objectsOf(r).filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
    expect(nsNames.sort()).toEqual(["apps", "discovery", ...(r.config.secrets.enabled ? ["external-secrets"] : []), ...(rolloutsOf(r).length ? ["flagger"] : []), "gateway-system", "istio-system", "kafka", "kyverno", "nats", "notifications", "observability", ...(r.config.secrets.enabled ? ["vault"] : [])]);
  });

  it("passes the API server's checks beyond the schema on every object, chart objects included (names, labels, ports, requests ≤ limits)", () => {
    const problems = objectsOf(rendered[stack]!).flatMap((o) => apiServerProblems(o).map((p) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it("labels every namespace for Pod Security Admission: restricted, except where node agents run (istio-system, observability)", () => {
    const nss = objectsOf(rendered[stack]!).filter((o) => o.kind === "Namespace");
    const exempt = ["istio-system", "observability"];
    expect(nss.filter((n) => n.metadata.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted").map((n) => n.metadata.name).sort()).toEqual(exempt);
    for (const ns of nss.filter((n) => !exempt.includes(n.metadata.name))) {
      expect(ns.metadata.labels).toMatchObject({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      });
    }
  });

  it("validates every rendered object, chart objects included, against the Kubernetes and Flux schemas, or the CRD that installs it", () => {
    const r = rendered[stack]!;
    const all = [...objectsOf(r), ...r.model.kustomizations].map((object, i) => ({ id: `${i}:${object.kind}/${object.metadata.name}`, object }));
    // Custom resources go to the CRDs the render itself installs (the charts'), then the vendored
    // upstream ones; everything else to the built-in models.
    const crds = new CrdValidator(CRD_DIR);
    for (const o of objectsOf(r)) if (o.kind === "CustomResourceDefinition") crds.learn(o as unknown as CrdDoc);
    const custom = all.filter((x) => crds.has(x.object.apiVersion, x.object.kind));
    const builtIn = all.filter((x) => !crds.has(x.object.apiVersion, x.object.kind));
    expect(all.length).toBeGreaterThan(300);
    const results = validateBuiltIn(builtIn);
    expect(results).toHaveLength(builtIn.length);
    expect(results.filter((x) => !x.ok)).toEqual([]);
    const verdicts = custom.map((x) => ({ id: x.id, ...crds.validate(x.object) }));
    expect(verdicts.filter((x) => !x.ok)).toEqual([]);
    // Every CEL rule on these objects was evaluated (none needed a function the evaluator lacks).
    expect(verdicts.flatMap((x) => x.celNotEvaluated.map((n) => `${x.id} ${n}`))).toEqual([]);
  });

  it("makes each service wait only for its own namespace", () => {
    const r = rendered[stack]!;
    const nsUrn = (name: string) => r.run.resources.find((x) => x.type === "kubernetes:core/v1:Namespace" && (x.inputs as any).metadata.name === name)!.urn;
    for (const [name, svc] of Object.entries(r.config.services)) {
      const dep = r.run.resources.find((x) => x.type === "kubernetes:apps/v1:Deployment" && (x.inputs as any).metadata.name === name)!;
      expect(dep.dependencies).toContain(nsUrn(svc.namespace));
      const otherNs = r.config.services[name]!.namespace === "apps" ? "notifications" : "apps";
      expect(dep.dependencies).not.toContain(nsUrn(otherNs));
    }
  });

  it("has no ordering edge the install-order table does not allow, and none between services", () => {
    const r = rendered[stack]!;
    const stageOf = new Map(r.model.groups.map((g) => [g.name, g.stage]));
    expect(r.model.edges.length).toBeGreaterThan(0);
    for (const [from, to] of r.model.edges) {
      expect(mayFollow(stageOf.get(from)!, stageOf.get(to)!)).toBe(true);
      expect(stageOf.get(from)).not.toBe(stageOf.get(to));
    }
    // Services deploy beside the controllers; the Gateway and the routes wait only for the gateway controller.
    if (r.config.secrets.platformSecrets.enabled) {
      // The platform's generated Secrets come from the store: the areas that hold them (etcd, Kafka,
      // NATS, the gateway's certificate, Grafana's and Alertmanager's) wait for the store and the operator.
      expect(groupLevels(r.model)).toEqual([
        ["gateway-api-crds", "gateway-namespace", "mesh-namespace", "namespaces", "observability-namespace", "security-namespace", "strimzi"],
        [controllerOf(r), "mesh-ca", "prometheus-operator-crds"].sort(),
        ["external-secrets", "istio", "jaeger", "kyverno", "loki", "otel-collector", "slos", ...routesOf(r)].sort(),
        ["admission-policies", ...(rolloutsOf(r).length ? ["flagger"] : []), "mesh-policies", "vault"],
        ["etcd", "gateway", "kafka", "kube-prometheus-stack", "nats", ...rolloutsOf(r), ...storeUsersOf(r).map((s) => `${s}-secrets`)].sort(),
        // Every service of these stacks reads a credential of etcd, Kafka or NATS.
        [...Object.keys(r.config.services), "network-policies"].sort(),
      ]);
      return;
    }
    expect(groupLevels(r.model)).toEqual([
      // Operators bring their own namespaces and need nothing earlier.
      ["gateway-api-crds", "gateway-namespace", "mesh-namespace", "namespaces", "observability-namespace", "security-namespace", "strimzi"],
      [controllerOf(r), "etcd", "kafka", "mesh-ca", "prometheus-operator-crds"].sort(),
      // Kyverno, Loki and NATS render ServiceMonitors/PodMonitors: after the prometheus-operator CRDs.
      ["gateway", "istio", "jaeger", "kube-prometheus-stack", "kyverno", "loki", "nats", "otel-collector", "slos", ...routesOf(r), ...(r.config.secrets.enabled ? ["external-secrets"] : [])].sort(),
      // Flagger's and the secret store's namespace policies wait for istiod, as the mesh's do.
      ["admission-policies", ...(rolloutsOf(r).length ? ["flagger"] : []), "mesh-policies", ...(r.config.secrets.enabled ? ["vault"] : [])],
      // Services wait for the store's and Kafka's credentials and the admission policies, not for the mesh or the gateway; Canaries for Flagger;
      // a service's SecretStore for the store's CA.
      // The network policies wait for every namespace, the store's and Flagger's included.
      [...Object.keys(r.config.services).filter((s) => !storeUsersOf(r).includes(s)), ...rolloutsOf(r), ...storeUsersOf(r).map((s) => `${s}-secrets`), "network-policies"].sort(),
      // A service that declares store secrets waits for its ExternalSecret.
      ...(storeUsersOf(r).length ? [storeUsersOf(r)] : []),
    ]);
  });

  it("installs the prometheus-operator CRDs before every component that renders a monitoring.coreos.com object", () => {
    const r = rendered[stack]!;
    const monitoring = r.model.groups.filter((g) => g.objects.some((o) => o.apiVersion.startsWith("monitoring.coreos.com/")));
    expect(monitoring.map((g) => g.name).sort()).toEqual([...(r.config.secrets.enabled ? ["external-secrets"] : []), ...(rolloutsOf(r).length ? ["flagger"] : []), "gateway", "jaeger", "kube-prometheus-stack", "kyverno", "loki", "nats", "otel-collector", "slos", ...(r.config.secrets.enabled ? ["vault"] : [])]);
    for (const g of [...monitoring, r.model.groups.find((x) => x.name === "kube-prometheus-stack")!]) {
      expect(g.dependsOn).toContain("prometheus-operator-crds");
      expect(mayFollow(g.stage, "monitoring-crds")).toBe(true);
    }
    // kube-prometheus-stack leaves the CRDs to that stage, and its HelmRelease waits for the CRDs' release.
    const kps = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "kube-prometheus-stack")!;
    const crdChart = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "prometheus-operator-crds")!;
    expect((kps.inputs as any).values.crds).toEqual({ enabled: false });
    expect(kps.dependencies).toContain(crdChart.urn);
    expect(r.model.groups.find((g) => g.name === "kube-prometheus-stack")!.objects.filter((o) => o.kind === "CustomResourceDefinition")).toEqual([]);
  });

  it("carries the order into Flux: each service's Kustomization depends on the namespaces and on the components holding its credentials", () => {
    const r = rendered[stack]!;
    const k = r.model.kustomizations.find((x) => x.metadata.name === "platform-order-service")!;
    expect((k as any).spec.dependsOn).toEqual([{ name: "platform-admission-policies" }, { name: "platform-kafka" }, { name: "platform-namespaces" }, { name: "platform-nats" }]);
    const user = r.model.kustomizations.find((x) => x.metadata.name === "platform-user-service")!;
    expect((user as any).spec.dependsOn).toEqual([{ name: "platform-admission-policies" }, { name: "platform-etcd" }, { name: "platform-namespaces" }, { name: "platform-nats" }]);
    const kafka = r.model.kustomizations.find((x) => x.metadata.name === "platform-kafka")!;
    // With the platform's secrets in the store, Kafka's Secrets are ExternalSecrets: the operator's CRDs and the store come first.
    const viaStore = r.config.secrets.platformSecrets.enabled ? [{ name: "platform-external-secrets" }] : [];
    expect((kafka as any).spec.dependsOn).toEqual([...viaStore, { name: "platform-namespaces" }, { name: "platform-strimzi" }, ...(viaStore.length ? [{ name: "platform-vault" }] : [])]);
    expect((k as any).spec.path).toBe("./manifests/workloads-order-service");
    expect((r.model.kustomizations.find((x) => x.metadata.name === "platform-namespaces") as any).spec.dependsOn).toBeUndefined();
  });

  it("writes manifests, Flux objects, the report and the graph", async () => {
    const r = rendered[stack]!;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `render-${stack}-`));
    const { files } = await writeRender(r.model, r.report, out);
    expect(files).toEqual(expect.arrayContaining(["report.md", "graph.mmd", "graph.dot", "flux/kustomizations.yaml", "manifests/namespaces/namespace-apps.yaml"]));
    const dep = parse(fs.readFileSync(path.join(out, "manifests/workloads-order-service/deployment-apps-order-service.yaml"), "utf8"));
    expect(dep).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "order-service", namespace: "apps" } });
    expect(parseAllDocuments(fs.readFileSync(path.join(out, "flux/kustomizations.yaml"), "utf8"))).toHaveLength(r.model.groups.length);
    const mmd = fs.readFileSync(path.join(out, "graph.mmd"), "utf8");
    expect(mmd).toContain("order_service --> namespaces");
    const report = fs.readFileSync(path.join(out, "report.md"), "utf8");
    for (const s of INSTALL_ORDER) expect(report).toContain(`| ${s.name} |`);
    // The stable Deployment, and the fixed canary's where one is declared (Flagger makes its own copy).
    expect(report).toContain(`| order-service | workloads | Deployment | ${r.config.services["order-service"]!.expose?.canary ? 2 : 1} |`);
    expect(report).toContain("| cluster.local/ns/apps/sa/order-service | apps/user-service | GET | /users | waypoint |");
    expect(report).not.toMatch(/no mTLS/);
  });

  it("writes every object so that a YAML 1.1 reader (Kubernetes') reads back exactly the object", async () => {
    const r = rendered[stack]!;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `render-yaml-${stack}-`));
    await writeRender(r.model, r.report, out);
    let n = 0;
    for (const g of r.model.groups) {
      for (const o of g.objects) {
        const text = fs.readFileSync(path.join(out, "manifests", g.dir, fileNameOf(o)), "utf8");
        expect(parse(text, { version: "1.1" })).toEqual(JSON.parse(JSON.stringify(o)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
    // Strings a YAML 1.1 reader would take for booleans or numbers stay strings.
    const tricky = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "tricky" }, data: { a: "on", b: "yes", c: "0755", d: "1.10", e: "~", f: "multi\nline" } };
    const dir = path.join(out, "tricky");
    await writeRender({ ...r.model, groups: [{ ...r.model.groups[0]!, dir: "tricky", objects: [tricky] }] }, r.report, dir);
    expect(parse(fs.readFileSync(path.join(dir, "manifests", "tricky", fileNameOf(tricky)), "utf8"), { version: "1.1" })).toEqual(tricky);
  });
});

describe("the API server's checks beyond the schema", () => {
  const deployment = (patch: (d: any) => void) => {
    const d: any = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" } },
      spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "i", ports: [{ name: "http", containerPort: 8080 }], resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } } }] } } },
    };
    patch(d);
    return apiServerProblems(d);
  };
  it("accepts a valid object and refuses each kind of mistake", () => {
    expect(deployment(() => undefined)).toEqual([]);
    expect(deployment((d) => (d.metadata.labels.version = "2.3.1+build.417"))).toEqual([expect.stringMatching(/not a valid label value/)]);
    expect(deployment((d) => (d.spec.template.spec.containers[0].resources.requests.memory = "1Gi"))).toEqual([expect.stringMatching(/requests.memory 1Gi is above limits.memory 256Mi/)]);
    expect(deployment((d) => (d.spec.template.spec.containers[0].ports[0].name = "http-metrics-port"))).toEqual([expect.stringMatching(/not an IANA service name/)]);
    expect(deployment((d) => (d.metadata.name = "Web"))).toEqual([expect.stringMatching(/not a valid Deployment name/)]);
    expect(apiServerProblems({ kind: "Service", metadata: { name: "1web" }, spec: { ports: [{ port: 80 }] } })).toEqual([expect.stringMatching(/not a valid Service name/)]);
    expect(quantity("1.5Gi")).toBe(1.5 * 2 ** 30);
    expect(quantity("250m")).toBe(0.25);
  });
});

describe("the prod render", () => {
  it("pins every application workload image by digest and sizes for HA", () => {
    // The services' own Deployments; platform chart images are pinned by tag (docs/security.md).
    const apps = rendered["prod"]!.model.groups.filter((g) => g.type === "platform:workloads:Microservice");
    expect(apps.length).toBeGreaterThan(0);
    const objects = apps.flatMap((g) => g.objects) as any[];
    const deps = objects.filter((o) => o.kind === "Deployment");
    for (const d of deps) {
      for (const c of d.spec.template.spec.containers) expect(c.image).toMatch(/@sha256:[a-f0-9]{64}$/);
      if (!d.metadata.name.endsWith("-canary")) {
        // The HPA owns the stable scale: no replicas field, a floor of 2.
        expect(d.spec.replicas).toBeUndefined();
        const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" && o.spec.scaleTargetRef.name === d.metadata.name);
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      }
      expect(d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toContain("topology.kubernetes.io/zone");
    }
  });
});

describe("bad config registers nothing", () => {
  it("throws ConfigError from the program before the Platform registers anything", async () => {
    const recorded: RecordedResource[] = [];
    const config = { "platform:environment": "qa", "platform:gatway": "{}" };
    await expect(
      runProgram({ project: "platform", stack: "bad", config, program: () => definePlatform(), onRegister: (r) => recorded.push(r) }),
    ).rejects.toThrow(ConfigError);
    // Only the engine's own root resource; nothing of the platform.
    expect(recorded.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  it("makes the render CLI exit 1 with one line per mistake and write nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "badstack-"));
    const stackFile = path.join(dir, "Pulumi.broken.yaml");
    const good = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    good.config["platform:environment"] = "staging"; // mistake 1
    good.config["platform:gateway"].implementation = "haproxy"; // mistake 2
    good.config["platform:services"]["user-service"].replicas.maxx = 3; // mistake 3
    fs.writeFileSync(stackFile, JSON.stringify(good));
    const out = path.join(dir, "out");
    const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "render/cli.ts"), "--stack-file", stackFile, "--out", out], {
      encoding: "utf8",
      cwd: ROOT,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.trim().startsWith("platform:"));
    expect(lines).toHaveLength(3);
    expect(lines.join("\n")).toMatch(/platform:environment: /);
    expect(lines.join("\n")).toMatch(/platform:gateway\.implementation: /);
    expect(lines.join("\n")).toMatch(/platform:services\.user-service\.replicas\.maxx: unknown key/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.broken.yaml"]); // no staging folder either
  });

  it("renders a stack through the CLI, with an SVG graph when Graphviz is installed", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "cli-dev-"));
    const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "render/cli.ts"), "--stack", "dev", "--out", out, "--allow-missing-subcharts"], {
      encoding: "utf8",
      cwd: ROOT,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rendered stack dev: \d+ objects in 35 components/);
    const hasDot = spawnSync("dot", ["-V"]).status === 0;
    expect(fs.existsSync(path.join(out, "graph.svg"))).toBe(hasDot);
    if (hasDot) expect(fs.readFileSync(path.join(out, "graph.svg"), "utf8")).toContain("<svg");
    // The CLI checks the formal models (CI installs spin) and reports them in report.md.
    const report = fs.readFileSync(path.join(out, "report.md"), "utf8");
    expect(report).toContain("## Formal models");
    expect(report).toContain("**3 passed, 0 failed**");
  });
});

describe("secrets never reach the manifests", () => {
  const rec = (type: string, inputs: Record<string, unknown>): RecordedResource => ({
    urn: `urn:pulumi:t::platform::${type}::x`,
    type,
    name: "x",
    custom: true,
    dependencies: [],
    inputs,
  });

  it("turns a Secret into a reference listing its keys, without its values", () => {
    const r = toManifest(rec("kubernetes:core/v1:Secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "grafana-admin", namespace: "observability" }, stringData: secret({ user: "admin", password: "hunter2" }) }));
    expect(r.object).toBeUndefined();
    expect(r.secret).toMatchObject({ name: "grafana-admin", namespace: "observability", keys: ["user", "password"] });
    expect(JSON.stringify(r)).not.toContain("hunter2");
  });

  it("refuses to write a secret value that sits outside a Secret", () => {
    const dep = rec("kubernetes:apps/v1:Deployment", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { template: { spec: { containers: [{ env: secret([{ name: "A", value: "s3cret" }]) }] } } } });
    expect(() => toManifest(dep)).toThrow(/secret value at spec\.template\.spec\.containers\[0\]\.env in a Deployment/);
  });
});

describe("Helm releases become Flux objects", () => {
  const release = (inputs: Record<string, unknown>): RecordedResource => ({
    urn: "urn:pulumi:t::platform::kubernetes:helm.sh/v3:Release::r",
    type: "kubernetes:helm.sh/v3:Release",
    name: "r",
    custom: true,
    dependencies: [],
    inputs,
  });

  it("maps an HTTPS chart repository to a HelmRepository and a HelmRelease with the same chart, version and values", () => {
    const { objects } = helmReleaseToFlux(
      release({ name: "traefik", chart: "traefik", version: "41.3.0", namespace: "gateway", repositoryOpts: { repo: "https://traefik.github.io/charts" }, values: { deployment: { replicas: 2 } } }),
      ["gateway-api-crds"],
    );
    const [source, hr] = objects as any[];
    expect(source).toMatchObject({ kind: "HelmRepository", spec: { url: "https://traefik.github.io/charts" } });
    expect(hr.spec.chart.spec).toEqual({ chart: "traefik", version: "41.3.0", sourceRef: { kind: "HelmRepository", name: source.metadata.name, namespace: "flux-system" } });
    expect(hr.spec.values).toEqual({ deployment: { replicas: 2 } });
    expect(hr.spec.targetNamespace).toBe("gateway");
    expect(hr.spec.dependsOn).toEqual([{ name: "gateway-api-crds", namespace: "flux-system" }]);
    expect(validateBuiltIn(objects.map((object, i) => ({ id: String(i), object })))).toEqual([{ id: "0", ok: true }, { id: "1", ok: true }]);
  });

  it("maps an OCI repository to an OCIRepository tagged with the version, and moves secret values to valuesFrom", () => {
    const { objects, secret: ref } = helmReleaseToFlux(
      release({ name: "kps", chart: "kube-prometheus-stack", version: "88.5.3", namespace: "observability", repositoryOpts: { repo: "oci://ghcr.io/prometheus-community/charts" }, values: { grafana: secret({ adminPassword: "hunter2" }), prometheus: { enabled: true } } }),
      [],
    );
    const [source, hr] = objects as any[];
    expect(source).toMatchObject({ kind: "OCIRepository", spec: { url: "oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack", ref: { tag: "88.5.3" } } });
    expect(hr.spec.chartRef).toEqual({ kind: "OCIRepository", name: source.metadata.name, namespace: "flux-system" });
    expect(hr.spec.values).toEqual({ prometheus: { enabled: true } });
    expect(hr.spec.valuesFrom).toEqual([{ kind: "Secret", name: "kps-values", valuesKey: "values.yaml" }]);
    expect(ref).toMatchObject({ name: "kps-values", keys: ["grafana"] });
    expect(JSON.stringify(objects)).not.toContain("hunter2");
    expect(validateBuiltIn(objects.map((object, i) => ({ id: String(i), object }))).every((x) => x.ok)).toBe(true);
  });

  it("refuses a release without a pinned version", () => {
    expect(() => helmReleaseToFlux(release({ chart: "x", repositoryOpts: { repo: "https://e.example" } }), [])).toThrow(/without a pinned version/);
  });
});

describe("the schema validator itself", () => {
  it("rejects a wrongly typed field and a Flux object missing a required field", () => {
    const results = validateBuiltIn([
      { id: "bad-deploy", object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { replicas: "three", selector: {}, template: {} } } },
      { id: "bad-kustomization", object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "x" }, spec: { interval: "1m", prune: true } } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(results[0]!.error).toMatch(/replicas must be integer/);
    expect(results[1]!.error).toMatch(/sourceRef/);
  });
});
