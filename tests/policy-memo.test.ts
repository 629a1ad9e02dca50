/**
 * What the policies share instead of recomputing (policy/memo.ts: pod views, parsed configs, the
 * stack's workloads and kinds) and what the analyzer shares with them (props copied only where
 * needed, one props object per resource per run) must never change a verdict:
 * - the pack only reads props (it runs over deep-frozen props unchanged);
 * - every verdict equals the one each policy reaches alone on its own copy of the props, as under
 *   @pulumi/policy's server, where nothing is shared;
 * - the memos live for one run and one config: a registration or config changed between runs is
 *   judged afresh.
 */
import fc from "fast-check";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { analyzeAll, analyzeResource, analyzeStack, AnalysisResult, AnalyzedResource, PackConfig, plainProps } from "../audit/analyzer";
import { readPolicyConfig, stackPolicyConfigFile } from "../audit/verdicts";
import { fromRegistrations } from "../audit/verdicts";
import { configOf, exemptionsOnly } from "../policy/config";
import { holdsUnknowns, typeToken } from "../policy/k8s";
import { pdbForMultiReplicaWorkloads } from "../policy/pdb";
import { policies } from "../policy/policies";
import { podViewOf } from "../policy/workload-policy";
import { renderStack } from "../render/render";
import { asResource, goodContainer, goodPodSpec, Obj, workload } from "./support/policy-fixtures";

// A deep copy in this realm (structuredClone makes objects of Node's own realm, which neither the
// analyzer nor the SDK's proxy take for plain objects under jest).
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
};

/** Objects that fail resource and stack policies, so the comparisons are about findings too. */
const violators = (): AnalyzedResource[] =>
  [
    workload("Deployment", "priv", goodPodSpec({ hostNetwork: true, containers: [goodContainer("app", { image: "nginx:1.27", securityContext: { privileged: true } })], initContainers: [{ name: "init", image: "busybox" }] }), { replicas: 3 }),
    workload("StatefulSet", "etcd", goodPodSpec({ volumes: [{ name: "h", hostPath: { path: "/var" } }], containers: [goodContainer("etcd", { image: "quay.io/coreos/etcd:v3.5.0", env: [{ name: "DB_PASSWORD", value: "hunter2" }] })] }), { namespace: "discovery" }),
    workload("CronJob", "job", goodPodSpec({ securityContext: { runAsUser: 0 }, containers: [goodContainer("c", { resources: {} })] })),
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "apps" }, data: { url: "postgres://u:secret@db:5432/x", API_TOKEN: "abc" } },
    { apiVersion: "v1", kind: "Service", metadata: { name: "lb", namespace: "apps" }, spec: { type: "LoadBalancer" } },
  ].map((o, i) => asResource(o as Obj, 1000 + i));

let resources: AnalyzedResource[];
let config: PackConfig;
beforeAll(async () => {
  const prod = await renderStack("prod");
  resources = [...fromRegistrations(prod.run.resources), ...violators()];
  config = readPolicyConfig(stackPolicyConfigFile("prod")!);
});

const findings = (r: AnalysisResult) => r.diagnostics.map((d) => `${d.policyName} ${d.enforcementLevel} ${d.urn ?? ""} ${d.message}`);

describe("shared state in the analyzer and the pack", () => {
  it("the pack only reads props: over deep-frozen props it reaches the same verdicts", async () => {
    const frozen = resources.map((r) => ({ ...r, props: deepFreeze(clone(r.props)) }));
    const a = await analyzeAll(policies, resources, config);
    const b = await analyzeAll(policies, frozen, config);
    expect([...b.perResource]).toEqual([...a.perResource]);
    expect(b.stack).toEqual(a.stack);
    expect([...a.perResource.values()].flatMap(findings).length).toBeGreaterThan(10);
  });

  it("every verdict is the one each policy reaches alone on its own copy of the props (nothing shared, as in the SDK's server)", async () => {
    const shared = await analyzeAll(policies, resources, config);
    for (const r of resources) {
      const alone: AnalysisResult = { diagnostics: [], notApplicable: [] };
      for (const p of policies) {
        const one = await analyzeResource([p], { ...r, props: clone(r.props) }, config);
        alone.diagnostics.push(...one.diagnostics);
        alone.notApplicable.push(...one.notApplicable);
      }
      expect(alone).toEqual(shared.perResource.get(r.urn));
    }
    const stackAlone: AnalysisResult = { diagnostics: [], notApplicable: [] };
    for (const p of policies) {
      const one = await analyzeStack([p], resources.map((r) => ({ ...r, props: clone(r.props) })), config);
      stackAlone.diagnostics.push(...one.diagnostics);
      stackAlone.notApplicable.push(...one.notApplicable);
    }
    expect(stackAlone).toEqual(shared.stack);
    expect(findings(shared.stack).length).toBeGreaterThan(3);
  });

  it("a registration changed in place between two runs is judged afresh (memos live for one run)", async () => {
    const d = asResource(workload("Deployment", "web", goodPodSpec()));
    const rs = [d];
    const before = await analyzeAll(policies, rs, config);
    expect(findings(before.perResource.get(d.urn)!).filter((f) => f.startsWith("pss-"))).toEqual([]);
    const spec = (d.props as Obj)["spec"]["template"]["spec"];
    spec["containers"][0]["securityContext"]["privileged"] = true;
    spec["hostPID"] = true;
    (d.props as Obj)["metadata"]["name"] = "renamed";
    const after = await analyzeAll(policies, rs, config);
    expect(findings(after.perResource.get(d.urn)!).filter((f) => f.startsWith("pss-"))).toEqual([
      expect.stringContaining("Deployment apps/renamed: hostPID is true"),
      expect.stringContaining("Deployment apps/renamed containers[app]: securityContext.privileged is true"),
    ]);
  });

  it("a config changed between two runs applies (parsed configs live for one config object)", async () => {
    const d = asResource(workload("Deployment", "web", goodPodSpec({ containers: [goodContainer("app", { securityContext: { privileged: true } })] })));
    const exemption = { namespace: "apps", name: "web", reason: "a reason long enough" };
    const cfg: PackConfig = { "pss-privileged": { exemptions: [] } };
    const level = async () => (await analyzeResource(policies, d, cfg)).diagnostics.find((x) => x.policyName === "pss-privileged")!.enforcementLevel;
    expect(await level()).toBe("mandatory");
    (cfg["pss-privileged"] as { exemptions: object[] }).exemptions.push(exemption);
    expect(await level()).toBe("advisory");
    cfg["pss-privileged"] = "disabled";
    expect((await analyzeResource(policies, d, cfg)).diagnostics.filter((x) => x.policyName === "pss-privileged")).toEqual([]);
  });

  it("the analyzer hands every policy of a resource one props object, a new one per run; the pod view is computed once per props object", async () => {
    const seen: object[] = [];
    const probe = (name: string) => ({ name, description: name, enforcementLevel: "advisory" as const, validateResource: (args: { props: object }) => void seen.push(args.props) });
    const d = asResource(workload("Deployment", "web", goodPodSpec()));
    await analyzeResource([probe("a"), probe("b")], d);
    await analyzeResource([probe("a"), probe("b")], d);
    expect(seen).toHaveLength(4);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).toBe(seen[3]);
    expect(seen[2]).not.toBe(seen[0]);
    expect(seen[0]).toEqual(d.props);
    const view = podViewOf(d.type, seen[0] as Obj)!;
    expect(podViewOf(d.type, seen[0] as Obj)).toBe(view);
    expect(podViewOf(d.type, seen[2] as Obj)).not.toBe(view);
    expect(view.containers.map((c) => c.label)).toEqual(["containers[app]"]);
    expect(view.where.label).toBe("Deployment apps/web");
  });

  it("plainProps copies only where it must: secrets unwrapped, undefined dropped, plain subtrees shared, input untouched", () => {
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cr3t" };
    const clean = { spec: { replicas: 2, list: [{ a: 1 }] } };
    const input = { clean, dirty: { keep: [1, 2], password: secret, gone: undefined }, arr: [{ x: 1 }, secret] };
    const out = plainProps(input);
    expect(out).toEqual({ clean, dirty: { keep: [1, 2], password: "s3cr3t" }, arr: [{ x: 1 }, "s3cr3t"] });
    expect(out.clean).toBe(clean);
    expect(out.dirty.keep).toBe(input.dirty.keep);
    expect(out.arr[0]).toBe(input.arr[0]);
    expect("gone" in out.dirty).toBe(false);
    expect(input.dirty.password).toBe(secret);
    expect(plainProps(clean)).toBe(clean);
    // The signature may come after the value; either way only the value remains.
    expect(plainProps({ a: { value: { b: 1 }, "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" } })).toEqual({ a: { b: 1 } });
  });

  it("an unknown value inside a secret still puts the props behind the unknown-checking proxy", async () => {
    const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy proxy.js unknownStringValue
    const secret = { value: unknownString, "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
    const d = asResource(workload("Deployment", "web", goodPodSpec({ containers: [goodContainer("app", { image: secret })] })));
    const r = await analyzeResource(policies.filter((p) => p.name === "image-pinned-by-digest"), d);
    expect(r.diagnostics).toEqual([expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringMatching(/can't run policy 'image-pinned-by-digest' during preview/) })]);
  });

  it("configOf: the schema's defaults under the raw settings, read-only, one parse per raw config", () => {
    const raw = { exemptions: [{ namespace: "a", name: "b", reason: "0123456789" }] };
    const a = configOf<{ exemptions: object[] }>(exemptionsOnly, raw);
    expect(a).toEqual(raw);
    expect(configOf(exemptionsOnly, raw)).toBe(a);
    expect(configOf(exemptionsOnly, { ...raw })).not.toBe(a);
    expect(configOf(exemptionsOnly, {})).toEqual({ exemptions: [] });
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(configOf<{ exemptions: object[] }>(exemptionsOnly, {}).exemptions)).toBe(true);
  });
});

describe("shortcuts taken only on plain props", () => {
  /** A stack policy's reports over resources given as plain props or behind the SDK's unknown-checking proxy (as its server hands them). */
  const reports = (policy: StackValidationPolicy, objs: Obj[], proxied: boolean): string[] => {
    const out: string[] = [];
    const resources = objs.map((o, i) => {
      const props = proxied ? unknownCheckingProxy(clone(o)) : o;
      return { type: typeToken(o["apiVersion"], o["kind"]), name: `r${i}`, urn: `urn:${i}`, props, opts: {}, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined } as unknown as PolicyResource;
    });
    void policy.validateStack({ resources, getConfig: () => ({}) as never, notApplicable: () => undefined as never, stackTags: new Map() } as never, (m: unknown) => void out.push(typeof m === "string" ? m : JSON.stringify(m)));
    return out;
  };

  it("holdsUnknowns tells the SDK's proxy from plain props", () => {
    expect(holdsUnknowns(unknownCheckingProxy({ a: 1 }))).toBe(true);
    expect(holdsUnknowns({ a: 1 })).toBe(false);
  });

  it("the PDB index (plain props) finds exactly the PDBs the full scan (proxied props) finds", () => {
    const label = fc.constantFrom("app", "tier", "track");
    const value = fc.constantFrom("a", "b", "c");
    const labels = fc.dictionary(label, value, { maxKeys: 3 });
    const selector = fc.oneof(
      fc.record({ matchLabels: labels }),
      fc.record({ matchExpressions: fc.array(fc.record({ key: label, operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"), values: fc.array(value, { maxLength: 2 }) }), { maxLength: 2 }) }),
      fc.record({ matchLabels: labels, matchExpressions: fc.constant([{ key: "tier", operator: "Exists" }]) }),
      fc.constant({}),
    );
    const ns = fc.constantFrom("apps", "data");
    const stack = fc.record({
      workloads: fc.array(fc.record({ ns, labels, replicas: fc.constantFrom(1, 2, 3) }), { minLength: 1, maxLength: 5 }),
      pdbs: fc.array(fc.record({ ns, selector }), { maxLength: 6 }),
    });
    let findings = 0;
    let covered = 0;
    fc.assert(
      fc.property(stack, ({ workloads, pdbs }) => {
        const objs: Obj[] = [
          ...workloads.map((w, i) => workload("Deployment", `w${i}`, goodPodSpec(), { namespace: w.ns, labels: w.labels, replicas: w.replicas })),
          ...pdbs.map((p, i) => ({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: `p${i}`, namespace: p.ns }, spec: { maxUnavailable: 1, selector: p.selector } })),
        ];
        const plain = reports(pdbForMultiReplicaWorkloads, objs, false);
        expect(plain).toEqual(reports(pdbForMultiReplicaWorkloads, objs, true));
        findings += plain.length;
        covered += workloads.filter((w) => w.replicas > 1).length - plain.length;
      }),
      { numRuns: 1000 },
    );
    // Not vacuous: workloads both covered and not.
    expect(findings).toBeGreaterThan(50);
    expect(covered).toBeGreaterThan(50);
  });
});
