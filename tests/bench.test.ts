/**
 * The pure parts of the benchmarks (bench/, docs/benchmarks.md): the generated stacks are valid
 * configs that grow every area with N, the critical-path analysis on small hand-made graphs, and
 * the verdicts results.md draws from measurements (made up here). No timings here: numbers go to
 * bench/results.md only.
 */
import { criticalPath, classify, GraphResource } from "../bench/critical-path";
import { kubernetesClass } from "../bench/floor";
import type { Measurement } from "../bench/measure";
import { report, Result } from "../bench/run";
import { generatedStack, workloads } from "../bench/stacks";
import { serviceGraph } from "../components/service-graph";
import * as k8s from "@pulumi/kubernetes";
import { RENDER_NODE_FLAGS } from "../render/harness";
import { platformConfigOf, readStackConfig } from "../render/stack";

const prod = readStackConfig("prod");

describe("generated stacks", () => {
  it.each([1, 3, 5, 10, 12, 100, 1000])("N = %i: exactly N services, valid config (every cross-field rule passes)", (n) => {
    const cfg = platformConfigOf(generatedStack(prod, n));
    expect(Object.keys(cfg.services)).toHaveLength(n);
  });

  it("cell 0 is prod's own services; clones keep their calls, topics and routes inside their cell", () => {
    const cfg = platformConfigOf(generatedStack(prod, 10));
    const base = platformConfigOf(prod);
    for (const [name, s] of Object.entries(base.services)) expect(cfg.services[name]).toEqual(s);
    const clone = cfg.services["order-service-1"]!;
    expect(clone.calls.map((c) => c.service).sort()).toEqual(["inventory-service-1", "payment-service-1", "user-service-1"]);
    expect(clone.produces).toEqual(["orders.created.1"]);
    expect(cfg.messaging.kafka.topics["inventory.reserved.1"]).toEqual(base.messaging.kafka.topics["inventory.reserved"]);
    expect(clone.expose!.paths).toEqual(["/c1/orders"]);
    expect(cfg.services["inventory-service-1"]!.expose!.paths).toEqual(["/acme.inventory.v1.StockQueryC1"]);
  });

  it("every area grows with N: calls, topic use and exposures scale with the cells", () => {
    const g = (n: number) => serviceGraph(platformConfigOf(generatedStack(prod, n)));
    const one = g(5);
    const twenty = g(100);
    expect(twenty.calls).toHaveLength(one.calls.length * 20);
    // Sagas stay on cell 0 (bench/stacks.ts): their topics' use does not grow.
    const declared = (x: typeof one) => x.topicUse.filter((u) => !u.topic.startsWith("saga."));
    expect(declared(twenty)).toHaveLength(declared(one).length * 20);
    expect(twenty.topicUse.length - declared(twenty).length).toBe(one.topicUse.length - declared(one).length);
    expect(twenty.exposures).toHaveLength(one.exposures.length * 20);
  });

  it("a partial cell drops calls to services outside it, and sagas whose services are missing", () => {
    const cfg = platformConfigOf(generatedStack(prod, 3));
    for (const s of Object.values(cfg.services)) for (const c of s.calls) expect(cfg.services[c.service]).toBeDefined();
    expect(cfg.resilience.sagas).toEqual({});
  });

  it("workloads: prod as configured, then one per size", () => {
    expect(workloads(prod, [10, 100]).map((w) => [w.name, w.services])).toEqual([["prod", 5], ["N=10", 10], ["N=100", 100]]);
  });

  it("rejects a size that is not a positive integer", () => {
    expect(() => generatedStack(prod, 0)).toThrow(/positive integer/);
  });
});

describe("SDK floor", () => {
  it("replays built-in kinds through their @pulumi/kubernetes class, custom resources as CustomResource", () => {
    expect(kubernetesClass("kubernetes:apps/v1:Deployment")).toBe(k8s.apps.v1.Deployment);
    expect(kubernetesClass("kubernetes:core/v1:Namespace")).toBe(k8s.core.v1.Namespace);
    expect(kubernetesClass("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")).toBe(k8s.apiextensions.v1.CustomResourceDefinition);
    expect(kubernetesClass("kubernetes:helm.sh/v3:Release")).toBe(k8s.helm.v3.Release);
    expect(kubernetesClass("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")).toBe(k8s.apiextensions.CustomResource);
    expect(kubernetesClass("tls:index/privateKey:PrivateKey")).toBeUndefined();
  });
});

describe("critical path", () => {
  const res = (urn: string, type: string, inputs: Record<string, unknown>, dependencies: string[] = [], data: string[] = [], parent?: string): GraphResource => ({
    urn, type, name: urn, custom: true, dependencies, inputs, ...(data.length ? { propertyDependencies: { x: data } } : {}), ...(parent ? { parent } : {}),
  });
  const ns = res("ns", "kubernetes:core/v1:Namespace", { metadata: { name: "apps" } });
  const other = res("ns2", "kubernetes:core/v1:Namespace", { metadata: { name: "other" } });
  const crd = res("crd", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", { spec: { group: "kafka.strimzi.io" } });
  const operator = res("op", "kubernetes:helm.sh/v3:Release", { chart: "strimzi-kafka-operator", namespace: "apps" }, ["ns"]);
  const unrelated = res("loki", "kubernetes:helm.sh/v3:Release", { chart: "loki", namespace: "apps" }, ["ns"]);

  it("classifies each edge by the real dependency behind it", () => {
    const topic = res("topic", "kubernetes:kafka.strimzi.io/v1:KafkaTopic", { metadata: { namespace: "apps" } });
    const secret = res("sec", "kubernetes:core/v1:Secret", { metadata: { name: "creds", namespace: "apps" } });
    const deploy = res("dep", "kubernetes:apps/v1:Deployment", { metadata: { namespace: "apps" }, spec: { env: [{ secretKeyRef: { name: "creds" } }] } }, [], ["x"]);
    expect(classify(topic, crd)).toBe("api");
    expect(classify(topic, operator)).toBe("api");
    expect(classify(topic, ns)).toBe("namespace");
    expect(classify(topic, other)).toBe("none");
    expect(classify(topic, unrelated)).toBe("none");
    expect(classify(deploy, secret)).toBe("reference");
    expect(classify(res("d2", "kubernetes:apps/v1:Deployment", {}, ["x"], ["x"]), res("x", "kubernetes:core/v1:ConfigMap", {}))).toBe("data");
  });

  it("a dependsOn on an unrelated area lengthens the actual path, not the minimum, and is listed", () => {
    const topic = res("topic", "kubernetes:kafka.strimzi.io/v1:KafkaTopic", { metadata: { namespace: "apps" } }, ["crd", "op", "ns", "loki"]);
    const cp = criticalPath([ns, crd, operator, unrelated, topic]);
    expect(cp.actualSteps).toBe(3); // ns → op → topic, or ns → loki → topic
    expect(cp.minimumSteps).toBe(3); // ns → operator → topic: loki adds no step here
    expect(cp.unexplained).toEqual([{ from: "topic", to: "loki", reason: "none" }]);
    const late = res("late", "kubernetes:core/v1:ConfigMap", { metadata: { namespace: "apps" } }, ["topic"]);
    const slow = criticalPath([ns, crd, operator, unrelated, topic, late]);
    expect(slow.actualSteps).toBe(4);
    expect(slow.minimumSteps).toBe(3); // the ConfigMap needs only its namespace
    expect(slow.actual[0]).toBe("ns");
    expect(slow.actual.slice(2)).toEqual(["topic", "late"]);
    expect(slow.minimum).toEqual(["ns", "op", "topic"]);
  });

  it("tls/random resources count zero steps", () => {
    const key = { ...res("key", "tls:index/privateKey:PrivateKey", {}), custom: true };
    const secret = res("sec", "kubernetes:core/v1:Secret", { metadata: { name: "ca", namespace: "apps" } }, ["key", "ns"], ["key"]);
    expect(criticalPath([ns, key, secret]).actualSteps).toBe(2);
  });

  it("a cycle is an error", () => {
    expect(() => criticalPath([res("a", "kubernetes:core/v1:ConfigMap", {}, ["b"]), res("b", "kubernetes:core/v1:ConfigMap", {}, ["a"])])).toThrow(/cycle/);
  });
});

describe("render processes", () => {
  it("npm run render and npm run audit start node with the flags the benchmarks measure (render/harness.ts RENDER_NODE_FLAGS)", () => {
    const scripts = require("../package.json").scripts as Record<string, string>;
    for (const s of ["render", "audit"]) expect(scripts[s]).toBe(`node ${RENDER_NODE_FLAGS.join(" ")} -r ts-node/register/transpile-only ${s}/cli.ts`);
  });
});

describe("results.md", () => {
  /** One workload's runs: every measurement kind with the given wall time; the render with its steps. */
  const result = (name: string, services: number, resources: number, policy: { first: number[]; second: number; steady: number[] }): Result => {
    const m = (kind: Measurement["kind"], wallMs: number, phases?: Record<string, number>): Measurement => ({ kind, wallMs, resources, objects: resources, maxRssBytes: 2 ** 28, ...(phases ? { phases } : {}) });
    const render = policy.first.map((first, i) => m("render", 1000 + first, { program: 800, policy: first, policyWarm: policy.second, policySteady: policy.steady[i]!, write: 100 }));
    return { workload: { name, services, config: {} }, runs: render.length, render, renderRam: render, floor: render.map(() => m("floor", 900)), floorAtOnce: render.map(() => m("floorAtOnce", 1000)), grouped: render.map(() => m("grouped", 900)), peer: render.map(() => m("peer", 2000)) };
  };
  const policyRow = (md: string) => md.split("\n").find((l) => l.startsWith("| policy ≤ 20 µs per resource"))!;

  it("judges the policy target on the steady pass and on the first pass, naming the first pass's worst stack and its first-use cost", () => {
    const md = report(
      [
        // prod: 200 resources, first pass 10 ms (50 µs each), steady 2 ms (10 µs): 8 ms of first use.
        result("prod", 5, 200, { first: [9, 10, 12], second: 5, steady: [2, 2, 3] }),
        result("N=1000", 1000, 10000, { first: [150, 160, 170], second: 140, steady: [120, 130, 140] }),
      ],
      new Date(0),
      1000,
    );
    expect(md).toContain("| prod | 200 | 10.0 (9.0–12.0) | 50.0 (45.0–60.0) | 25.0 (25.0–25.0) | 10.0 (10.0–15.0) | 8.0 |");
    expect(policyRow(md)).toBe("| policy ≤ 20 µs per resource | once compiled (steady): worst 13.0 µs; the render's first pass: worst 50.0 µs (prod: 8.0 ms of its 10.0 ms are first use) | steady: met; first pass: **missed** |");
  });

  it("misses the steady verdict when a stack costs more than 20 µs per resource once compiled", () => {
    const md = report([result("prod", 5, 100, { first: [5], second: 4, steady: [2.5] })], new Date(0), 1000);
    expect(policyRow(md)).toContain("once compiled (steady): worst 25.0 µs");
    expect(policyRow(md)).toMatch(/\| steady: \*\*missed\*\*; first pass: \*\*missed\*\* \|$/);
  });
});
