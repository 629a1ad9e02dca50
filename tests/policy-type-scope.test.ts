/**
 * Type-scoped policies (policy/type-scope.ts): the analyzer skips a policy whose
 * `notApplicableToType` rules a resource's type out. The verdicts must be exactly those of calling
 * the policy, on every registration of the prod render and on hand-made objects of other kinds.
 */
import { analyzeAll, AnalyzedResource } from "../audit/analyzer";
import { fromRegistrations } from "../audit/verdicts";
import { policies } from "../policy/policies";
import { notApplicableToType } from "../policy/type-scope";
import { renderStack } from "../render/render";

/** The same policies without the hint: the analyzer must call each of them. */
const unscoped = policies.map((p) => {
  const { notApplicableToType: _hint, ...rest } = p as typeof p & { notApplicableToType?: unknown };
  return rest as typeof p;
});

const extra: AnalyzedResource[] = [
  { type: "kubernetes:core/v1:Service", name: "lb", urn: "urn:lb", props: { apiVersion: "v1", kind: "Service", metadata: { name: "lb", namespace: "apps" }, spec: { type: "LoadBalancer" } } },
  { type: "kubernetes:apps/v1:DaemonSet", name: "ds", urn: "urn:ds", props: { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "ds" }, spec: { template: { spec: { hostNetwork: true, containers: [{ name: "c", image: "x" }] } } } } },
  { type: "kubernetes:apps/v1:Deployment", name: "empty", urn: "urn:empty", props: { metadata: { name: "empty" } } },
  { type: "kubernetes:batch/v1:CronJob", name: "cj", urn: "urn:cj", props: { metadata: { name: "cj" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "c", image: "x" }] } } } } } } },
  { type: "random:index/randomPassword:RandomPassword", name: "pw", urn: "urn:pw", props: { length: 24 } },
];

describe("type-scoped policies", () => {
  it("the pod policies, helm-release-pinned and no-external-service carry the hint", () => {
    const scoped = policies.filter((p) => notApplicableToType(p, "kubernetes:core/v1:ConfigMap") !== undefined).map((p) => p.name);
    expect(scoped).toEqual(expect.arrayContaining(["pss-privileged", "pss-run-as-non-root", "image-pinned-by-digest", "container-resources", "helm-release-pinned", "no-external-service"]));
    expect(notApplicableToType(policies.find((p) => p.name === "no-external-service")!, "kubernetes:core/v1:Service")).toBeUndefined();
    expect(notApplicableToType(policies.find((p) => p.name === "pss-privileged")!, "kubernetes:batch/v1:CronJob")).toBeUndefined();
  });

  it("skipping by the hint gives the same verdicts as calling every policy (prod render + other kinds)", async () => {
    const prod = await renderStack("prod");
    const resources = [...fromRegistrations(prod.run.resources), ...extra];
    const fast = await analyzeAll(policies, resources);
    const slow = await analyzeAll(unscoped, resources);
    expect(fast.stack).toEqual(slow.stack);
    expect([...fast.perResource]).toEqual([...slow.perResource]);
    // Not vacuous: the hint skipped policies that then reported not applicable, and real findings remain.
    expect([...fast.perResource.values()].some((r) => r.notApplicable.length > 0)).toBe(true);
    expect(fast.perResource.get("urn:lb")!.diagnostics.map((d) => d.policyName)).toContain("no-external-service");
  });
});
