/**
 * The render against a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager
 * built by scripts/install-tools.sh): the dev render applies as a whole, and the check refuses what
 * a cluster refuses (each kind of failure made on purpose on the same server).
 */
import { applyRender, E2eRun, groupObjects } from "../e2e/apply";
import { controlPlaneTools, LocalCluster, startCluster } from "../e2e/cluster";
import { e2eProblems } from "../e2e/summary";
import type { LiveObject } from "../audit/running/pods";
import { renderStack } from "../render/render";

const tools = controlPlaneTools();
if ("missing" in tools) throw new Error(`not installed: ${tools.missing.join(", ")} (run \`bash scripts/install-tools.sh\`, which builds them from the Go module proxy); the e2e check needs a real control plane`);

jest.setTimeout(900_000);

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe("the dev render on a real API server", () => {
  let run: E2eRun;
  let rendered: number;
  beforeAll(async () => {
    const r = await renderStack("dev");
    const groups = groupObjects(r.model);
    rendered = groups.reduce((n, g) => n + g.objects.length, 0);
    run = await applyRender(cluster.client, groups, { deleteAfter: true, version: cluster.version });
  });

  it("is accepted whole, stable on a second apply, its pods admitted, and deleted without a trace", () => {
    expect(e2eProblems(run)).toEqual([]);
  });

  it("sent every object of the render (chart objects included) and the server held exactly those", () => {
    expect(run.objects.length).toBe(rendered);
    expect(run.objects.filter((o) => o.outcome === "applied").length).toBeGreaterThan(400);
    expect(run.inventory).toEqual({ missing: [], extra: [], duplicates: [] });
    // Chart objects are among them: istiod's Deployment and Strimzi's operator come from charts.
    expect(run.objects.map((o) => o.id)).toEqual(expect.arrayContaining(["Deployment istio-system/istiod", "Deployment kafka/strimzi-cluster-operator"]));
  });

  it("had the real controllers create the pods of every Deployment, StatefulSet and Job", () => {
    expect(run.controllerPods.length).toBeGreaterThan(15);
    for (const c of run.controllerPods) expect({ id: c.id, ok: c.created >= c.expected && !c.failed }).toEqual({ id: c.id, ok: true });
    // Operators' pods (modelled: Strimzi's brokers, the waypoints) went through admission too.
    expect(run.pods.filter((p) => p.source !== "rendered").length).toBeGreaterThan(0);
  });
});

describe("what the server refuses, the check reports", () => {
  const ns = "e2e-broken";
  const meta = (name: string, extra: object = {}) => ({ name, namespace: ns, ...extra });
  const deployment = (name: string, pod: object): LiveObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name),
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: pod } },
  });
  const restricted = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{ name: "app", image: "registry.example/app@sha256:" + "0".repeat(64), securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsUser: 1000 } }],
  };
  let problems: string[];
  let run: E2eRun;
  beforeAll(async () => {
    const groups = [
      { group: "namespace", objects: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } as LiveObject] },
      {
        group: "app",
        objects: [
          deployment("fine", restricted),
          // Pod Security restricted refuses a privileged container: the Deployment is stored, its pods never are.
          deployment("privileged", { ...restricted, containers: [{ ...restricted.containers[0], securityContext: { privileged: true } }] }),
          // A ServiceAccount nobody renders: the ServiceAccount admission plugin refuses the pods.
          deployment("no-account", { ...restricted, serviceAccountName: "nobody-made-me" }),
          { apiVersion: "v1", kind: "ConfigMap", metadata: meta("typo"), datta: { a: "b" } } as LiveObject,
          { apiVersion: "example.com/v1", kind: "Widget", metadata: meta("w") } as LiveObject,
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "orphan", namespace: "nobody-creates-this" }, data: {} } as LiveObject,
          { apiVersion: "v1", kind: "Service", metadata: meta("twice"), spec: { ports: [{ port: 80 }] } } as LiveObject,
          { apiVersion: "v1", kind: "Service", metadata: meta("twice"), spec: { ports: [{ port: 81 }] } } as LiveObject,
        ],
      },
    ];
    run = await applyRender(cluster.client, groups, { deleteAfter: true, version: cluster.version });
    problems = e2eProblems(run);
  });

  it("refuses an unknown field (strict field validation), a kind nobody serves, and a namespace nobody creates", () => {
    expect(problems).toEqual(
      expect.arrayContaining([
        // Server-side apply builds a typed patch from the schema: an undeclared field fails it.
        expect.stringMatching(/^refused: ConfigMap e2e-broken\/typo \(app\): .*\.datta: field not declared in schema/),
        expect.stringMatching(/^refused: Widget e2e-broken\/w \(app\): the server does not serve example.com\/v1 Widget/),
        expect.stringMatching(/^refused: ConfigMap nobody-creates-this\/orphan \(app\): .*namespaces "nobody-creates-this" not found/),
      ]),
    );
  });

  it("refuses pods Pod Security forbids, at admission and in the real ReplicaSet controller", () => {
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pod refused: Deployment e2e-broken\/privileged \(rendered\): .*violates PodSecurity "restricted:latest": privileged/),
        expect.stringMatching(/^controller could not create pods for Deployment e2e-broken\/privileged: .*violates PodSecurity "restricted:latest"/),
      ]),
    );
  });

  it("refuses pods whose ServiceAccount does not exist", () => {
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^pod refused: Deployment e2e-broken\/no-account \(rendered\): .*serviceaccount "nobody-made-me" not found/)]));
  });

  it("reports an object rendered twice, and passes what is fine", () => {
    expect(problems).toContain("rendered twice (the second apply overwrites the first): Service e2e-broken/twice");
    expect(problems.filter((p) => p.includes("e2e-broken/fine"))).toEqual([]);
    expect(run.controllerPods.find((c) => c.id === "Deployment e2e-broken/fine")).toMatchObject({ created: 1, expected: 1 });
    expect(run.remaining).toEqual([]);
  });
});
