/**
 * Progressive delivery (services.<name>.rollout.strategy progressive): Flagger from its pinned
 * chart, a Canary per progressive service whose analysis is the service's SLO, the gates its
 * loadtester runs, and what Flagger makes from the Canary, proven with the rest of the platform.
 * promtool (Debian `prometheus`, scripts/setup.sh) evaluates the analysis queries; the Flagger
 * objects are validated against crds/flagger/1.36.1.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { proveRunning } from "../audit/running";
import { flaggerObjects } from "../audit/running/flagger";
import type { LiveObject } from "../audit/running/pods";
import { canaryObject, preRolloutGates } from "../components/delivery/progressive-rollout";
import { serviceRouteObjects } from "../components/gateway/routing";
import { parsePlatformConfig } from "../config/load";
import { resiliencePlan } from "../config/resilience";
import { FLAGGER_SELECTOR_LABEL, flaggerValues, loadtesterValues } from "../components/delivery/flagger";
import { canaryChecks, canaryTemplates, errorBudget, errorBudgetExhaustedQuery, renderCanaryQuery, ServiceSlo, sloRuleGroups } from "../components/observability/slo";
import { serviceGraph } from "../components/service-graph";
import { isKubernetesObject } from "../render/gitops";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { configProblems } from "./support/config-problems";
import { mutated } from "./support/mutate";
import { findPodSecurity } from "../audit/running/admission";
import { findKyverno } from "../audit/running/kyverno";

const crds = new CrdValidator(CRD_DIR);
const promtool = (args: string[], cwd: string) => spawnSync("promtool", args, { cwd, encoding: "utf8" });

type Inputs = Record<string, any>;
const objectsOf = (r: Rendered): Inputs[] => r.run.resources.filter(isKubernetesObject).map((x) => x.inputs as Inputs);

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["prod"] = await renderStack("prod");
});

/** A stack's config as raw `platform:` values, for edits. */
const rawOf = (stack: string): Record<string, any> => {
  const flat = readStackConfig(stack);
  return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k.replace(/^platform:/, ""), JSON.parse(v.startsWith("{") || v.startsWith("[") ? v : JSON.stringify(v))]));
};
const flatOf = (raw: Record<string, any>): Record<string, string> => Object.fromEntries(Object.entries(raw).map(([k, v]) => [`platform:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));

describe("rollout config: one line per problem, naming the key", () => {
  const progressiveOn = (stack: string, service: string, edit: (s: any, raw: any) => void = () => {}) => {
    const raw = rawOf(stack);
    raw.services[service].rollout = { strategy: "progressive" };
    edit(raw.services[service], raw);
    return configProblems(raw);
  };

  it("accepts the prod stack's progressive service", () => {
    expect(configProblems(rawOf("prod"))).toEqual([]);
  });

  it("refuses a progressive service that is not exposed (east-west is not supported)", () => {
    expect(progressiveOn("prod", "notification-service")).toEqual([expect.stringMatching(/^platform:services\.notification-service\.rollout\.strategy: progressive delivery shifts the gateway's traffic, and the service is not exposed .*\(got "progressive"; expected expose/)]);
  });

  it("refuses gRPC services, a fixed canary beside it, a cookie pin, and observability off", () => {
    expect(progressiveOn("prod", "inventory-service", (s) => delete s.expose.rateLimit)).toEqual([expect.stringMatching(/^platform:services\.inventory-service\.rollout\.strategy: Flagger's Gateway API router writes HTTPRoutes only/)]);
    expect(progressiveOn("dev", "order-service")).toEqual(
      expect.arrayContaining([expect.stringMatching(/^platform:services\.order-service\.expose\.canary: a fixed canary and a progressive rollout would both own the route's weights/)]),
    );
    expect(progressiveOn("prod", "user-service")).toEqual([expect.stringMatching(/^platform:services\.user-service\.expose\.sticky: a cookie that pins a pod does not pin the primary\/canary choice/)]);
    const raw = rawOf("dev");
    raw.observability = { ...raw.observability, enabled: false };
    raw.services["user-service"].rollout = { strategy: "progressive" };
    raw.resilience = { ...(raw.resilience ?? {}), retries: { ...(raw.resilience?.retries ?? {}), attempts: 0 } };
    expect(configProblems(raw)).toEqual(expect.arrayContaining([expect.stringMatching(/^platform:services\.user-service\.rollout\.strategy: progressive delivery reads the canary's SLO series from the stack's Prometheus, and observability is off/)]));
  });

  it("on Traefik keeps the route's Middlewares (rate limit, retries): Flagger's Traefik router owns only a TraefikService", () => {
    expect(
      progressiveOn("dev", "user-service", (s) => {
        delete s.expose.sticky;
        s.expose.rateLimit = { requestsPerSecond: 10 };
      }),
    ).toEqual([]);
    const raw = rawOf("dev");
    const s = raw.services["user-service"];
    delete s.expose.sticky;
    s.rollout = { strategy: "progressive" };
    const graph = serviceGraph(parsePlatformConfig(raw));
    const e = graph.exposures.find((x) => x.service === "user-service")!;
    const cfg = parsePlatformConfig(raw);
    const resilience = { exposure: resiliencePlan(cfg).exposures.find((x) => x.service === "user-service")!, destination: resiliencePlan(cfg).destinations.get("user-service")! };
    const gateway = { namespace: "gateway-system", hostnames: cfg.gateway.hostnames };
    const gates = { loadtesterUrl: "http://l/", prometheusUrl: "http://p:9090", domain: "cluster.local" };
    const slo = { service: "user-service", namespace: "apps", protocol: "http" as const, availabilityPercent: 99.9, windowDays: 30, latencyMs: { p50: 20, p95: 100, p99: 300 }, errorRatePercent: 0.1, eventLagSeconds: 60 };
    const traefik: any = canaryObject({ exposure: e, slo, implementation: "traefik", gateway, resilience, templatesNamespace: "flagger", gates });
    expect(traefik["spec"].provider).toBe("traefik");
    expect(traefik["spec"].service.gatewayRefs).toBeUndefined();
    const envoy: any = canaryObject({ exposure: e, slo, implementation: "envoy", gateway, resilience, templatesNamespace: "flagger", gates });
    expect(envoy["spec"]).toMatchObject({ provider: "gatewayapi:v1", service: { hosts: e.spec.hosts, match: [{ uri: { prefix: "/users" } }] } });
    for (const c of [traefik, envoy]) expect(crds.validate(c as any)).toEqual(expect.objectContaining({ ok: true }));
    // The platform's Traefik route: its Middlewares, the tester header to the canary, the rest to Flagger's TraefikService.
    const objs = serviceRouteObjects("traefik", e, gateway, resilience) as any[];
    const route = objs.find((o) => o.kind === "HTTPRoute");
    expect(route.spec.rules.map((r: any) => r.backendRefs)).toEqual([[{ kind: "Service", name: "user-service-canary", port: 8080 }], [{ group: "traefik.io", kind: "TraefikService", name: "user-service" }]]);
    expect(route.spec.rules[1].filters.map((f: any) => f.extensionRef.name)).toEqual(["user-service-security-headers", "user-service-retry"]);
    expect(objs.filter((o) => o.kind === "TraefikService")).toEqual([]);
  });

  it("refuses steps larger than the promotion weight, intervals shorter than two scrapes, and duplicate smoke tests", () => {
    expect(progressiveOn("prod", "order-service", (s) => Object.assign(s.rollout, { stepWeight: 40, maxWeight: 30 }))).toEqual([
      expect.stringMatching(/^platform:services\.order-service\.rollout\.stepWeight: the step is larger than the weight at which the canary is promoted \(got 40; expected at most maxWeight \(30\)\)/),
    ]);
    expect(progressiveOn("prod", "order-service", (s) => (s.rollout.interval = "30s"))).toEqual([expect.stringMatching(/^platform:services\.order-service\.rollout\.interval: must be at least 1m/)]);
    expect(progressiveOn("prod", "order-service", (s) => (s.rollout.smokeTests = [{ name: "a", path: "/x" }, { name: "a", path: "/y" }]))).toEqual([expect.stringMatching(/^platform:services\.order-service\.rollout\.smokeTests: names a smoke test twice/)]);
  });
});

describe("canary analysis from the SLO, evaluated by promtool", () => {
  const slo: ServiceSlo = {
    service: "checkout",
    namespace: "apps",
    protocol: "http",
    availabilityPercent: 99.9,
    windowDays: 30,
    latencyMs: { p50: 20, p95: 100, p99: 300 },
    errorRatePercent: 0.1,
    eventLagSeconds: 60,
  };
  const rollout = { stepWeight: 10, maxWeight: 50, threshold: 5, interval: "1m", maxBurnRate: 2 };
  const budget = errorBudget(slo); // 0.001
  const checks = canaryChecks(slo, rollout.maxBurnRate);
  const query = (name: string) => renderCanaryQuery(checks.find((c) => c.name === name)!.query, { namespace: "apps", target: "checkout", interval: rollout.interval });

  it("derives the thresholds from the objective: error ratio maxBurnRate × budget, p99 the objective", () => {
    expect(checks.map((c) => [c.name, c.range])).toEqual([
      ["error-ratio", { max: 2 * budget }],
      ["latency-p99", { max: 0.3 }],
    ]);
    expect(canaryChecks({ ...slo, consumer: { group: "checkout", topics: ["orders"] } }, 2).map((c) => c.name)).toContain("event-lag");
  });

  /**
   * Requests of one Deployment's pods, as the collector exports them (30s scrapes): `perStep`
   * requests per 30s, a `ratio` of them failing, latencies all under `le` seconds.
   */
  const deploymentSeries = (deployment: string, perStep: number, ratio: number, le: string, steps: number) => {
    const sel = `job="apps/checkout",k8s_deployment_name="${deployment}"`;
    const bad = perStep * ratio;
    return [
      { series: `http_server_request_duration_seconds_count{${sel},http_response_status_code="200"}`, values: `0+${perStep - bad}x${steps}` },
      { series: `http_server_request_duration_seconds_count{${sel},http_response_status_code="500"}`, values: `0+${bad}x${steps}` },
      { series: `http_server_request_duration_seconds_bucket{${sel},le="${le}"}`, values: `0+${perStep}x${steps}` },
      { series: `http_server_request_duration_seconds_bucket{${sel},le="+Inf"}`, values: `0+${perStep}x${steps}` },
    ];
  };

  /**
   * Flagger's loop over the analysis (pkg/controller/scheduler.go): one check per interval; a
   * failed check counts, `threshold` failures roll back; otherwise the weight grows by stepWeight
   * and the canary is promoted once it has passed at maxWeight.
   */
  const flaggerLoop = (failedAt: (iteration: number) => boolean) => {
    let weight = 0;
    let failures = 0;
    for (let i = 1; i <= 50; i++) {
      if (failedAt(i)) {
        if (++failures >= rollout.threshold) return { outcome: "rolled back", iteration: i, weight };
        continue;
      }
      if (weight >= rollout.maxWeight) return { outcome: "promoted", iteration: i, weight };
      weight = Math.min(rollout.maxWeight, weight + rollout.stepWeight);
    }
    return { outcome: "stuck", iteration: 50, weight };
  };

  /** Runs promtool on `(check) > bool max` at every analysis iteration: 1 = the check failed. */
  const verdicts = (series: object[], iterations: number, expectFailed: boolean[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-"));
    const tests = [
      {
        interval: "30s",
        input_series: series,
        promql_expr_test: Array.from({ length: iterations }, (_, k) => k + 1).flatMap((i) => [
          { expr: `(${query("error-ratio")}) > bool ${checks[0]!.range.max}`, eval_time: `${i * 2 + 1}m`, exp_samples: [{ labels: "{}", value: expectFailed[i - 1] ? 1 : 0 }] },
          { expr: `(${query("latency-p99")}) > bool ${checks[1]!.range.max}`, eval_time: `${i * 2 + 1}m`, exp_samples: [{ labels: "{}", value: 0 }] },
        ]),
      },
    ];
    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: [] }));
    fs.writeFileSync(path.join(dir, "test.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
    const r = promtool(["test", "rules", "test.yaml"], dir);
    return { status: r.status, out: r.stdout + r.stderr };
  };

  it("passes a healthy canary beside a primary that is failing: the queries read the canary's own pods", () => {
    const iterations = 8;
    const series = [...deploymentSeries("checkout", 600, 0.5 * budget, "0.1", 40), ...deploymentSeries("checkout-primary", 6000, 20 * budget, "0.1", 40)];
    expect(verdicts(series, iterations, Array(iterations).fill(false))).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
    expect(flaggerLoop(() => false)).toEqual({ outcome: "promoted", iteration: 6, weight: 50 });
  });

  it("fails a canary burning its budget 10x at every iteration, so Flagger rolls it back before promoting it", () => {
    const iterations = 8;
    const series = [...deploymentSeries("checkout", 600, 10 * budget, "0.1", 40), ...deploymentSeries("checkout-primary", 6000, 0, "0.1", 40)];
    expect(verdicts(series, iterations, Array(iterations).fill(true))).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
    const loop = flaggerLoop(() => true);
    expect(loop).toEqual({ outcome: "rolled back", iteration: rollout.threshold, weight: 0 });
    // Rolled back within the iterations a promotion takes.
    expect(loop.iteration).toBeLessThanOrEqual(rollout.maxWeight / rollout.stepWeight + 1);
  });

  it("the test above can fail: a healthy canary's verdicts are not those of a burning one", () => {
    const series = [...deploymentSeries("checkout", 600, 0.5 * budget, "0.1", 40)];
    expect(verdicts(series, 2, [true, true]).status).not.toBe(0);
  });

  it("the error-budget gate's query is non-empty exactly when the budget is exhausted (no data and NaN pass)", () => {
    const q = errorBudgetExhaustedQuery({ service: "checkout", namespace: "apps" });
    const sel = 'slo:error_budget:remaining_ratio{namespace="apps",service="checkout",slo="availability"}';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-"));
    const tests = [
      {
        interval: "1m",
        input_series: [{ series: sel, values: "0.4x5 NaN NaN NaN NaN NaN -0.2x5" }],
        promql_expr_test: [
          { expr: q, eval_time: "3m", exp_samples: [] },
          { expr: q, eval_time: "8m", exp_samples: [] },
          { expr: q, eval_time: "13m", exp_samples: [{ labels: sel.replace("slo:error_budget:remaining_ratio", "slo:error_budget:remaining_ratio"), value: -0.2 }] },
        ],
      },
      { interval: "1m", input_series: [], promql_expr_test: [{ expr: q, eval_time: "1m", exp_samples: [] }] },
    ];
    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: [] }));
    fs.writeFileSync(path.join(dir, "test.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
    const r = promtool(["test", "rules", "test.yaml"], dir);
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("every MetricTemplate query is valid PromQL once Flagger fills its variables", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-"));
    const rules = canaryTemplates().map((t, i) => ({ record: `canary:check_${i}`, expr: renderCanaryQuery(t.query, { namespace: "apps", target: "checkout", interval: "1m" }) }));
    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: [{ name: "canary", rules }] }));
    const r = promtool(["check", "rules", "rules.yaml"], dir);
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("alerts when Flagger rolls the canary back, labelled like the SLO alerts", () => {
    const groups = sloRuleGroups({ ...slo, progressive: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-"));
    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups }));
    const rule = groups.flatMap((g) => g.rules).find((x) => x.alert === "CanaryRolledBack")!;
    const tests = [
      {
        interval: "1m",
        input_series: [{ series: 'flagger_canary_status{name="checkout",namespace="flagger",exported_namespace="apps"}', values: "0x10 2x10" }],
        alert_rule_test: [
          { eval_time: "5m", alertname: "CanaryRolledBack", exp_alerts: [] },
          { eval_time: "15m", alertname: "CanaryRolledBack", exp_alerts: [{ exp_labels: { ...rule.labels, name: "checkout", exported_namespace: "apps" }, exp_annotations: rule.annotations }] },
        ],
      },
    ];
    fs.writeFileSync(path.join(dir, "test.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
    const r = promtool(["test", "rules", "test.yaml"], dir);
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
    expect(rule.labels).toEqual({ service: "checkout", namespace: "apps", slo: "rollout", severity: "page" });
    expect(sloRuleGroups(slo).flatMap((g) => g.rules).some((x) => x.alert === "CanaryRolledBack")).toBe(false);
  });
});

describe("the prod render: Flagger, the Canary, and who owns what", () => {
  const prodObjects = () => objectsOf(rendered["prod"]!);
  const find = (kind: string, name: string, namespace?: string) => prodObjects().find((o) => o["kind"] === kind && o["metadata"]?.name === name && (namespace === undefined || o["metadata"]?.namespace === namespace));

  it("renders Flagger's chart (its CRDs included) with the Gateway API router, the selector label and restricted pods", () => {
    expect(find("CustomResourceDefinition", "canaries.flagger.app")).toBeDefined();
    const d = find("Deployment", "flagger", "flagger")!;
    const args: string[] = d["spec"].template.spec.containers[0].command;
    expect(args).toEqual(expect.arrayContaining(["-mesh-provider=gatewayapi:v1", `-selector-labels=${FLAGGER_SELECTOR_LABEL}`, "-enable-config-tracking=false", "-enable-leader-election=true"]));
    expect(args.find((a) => a.startsWith("-metrics-server="))).toBe("-metrics-server=http://kps-prometheus.observability.svc.cluster.local:9090");
    expect(d["spec"].replicas).toBe(2);
    expect(flaggerValues({ ha: false, prometheusUrl: "x", monitoring: false, namespace: "flagger" })).toMatchObject({ leaderElection: { enabled: false, replicaCount: 1 } });
    expect(loadtesterValues({ ha: true, canaryNamespaces: ["b", "a"] })).toMatchObject({ cmd: { namespaceRegexp: "^(a|b)$" } });
  });

  it("gives every progressive service a Canary that validates against Flagger's CRD, with the SLO's checks and the gates", () => {
    const canary = find("Canary", "order-service", "apps")!;
    expect(crds.validate(canary as any)).toEqual(expect.objectContaining({ ok: true }));
    expect(canary["spec"].analysis).toMatchObject({ interval: "1m", threshold: 5, stepWeight: 10, maxWeight: 50 });
    expect(canary["spec"].analysis.metrics.map((m: any) => m.name)).toEqual(["error-ratio", "latency-p99", "event-lag"]);
    expect(canary["spec"].analysis.webhooks.map((w: any) => [w.name, w.type])).toEqual([["error-budget", "pre-rollout"], ["smoke-ready", "pre-rollout"]]);
    for (const t of prodObjects().filter((o) => o["kind"] === "MetricTemplate")) expect(crds.validate(t as any)).toEqual(expect.objectContaining({ ok: true }));
    // Exactly the progressive services have one.
    const progressive = Object.entries(rendered["prod"]!.config.services).filter(([, s]) => s.rollout.strategy === "progressive").map(([n]) => n);
    expect(prodObjects().filter((o) => o["kind"] === "Canary").map((o) => o["metadata"].name)).toEqual(progressive);
  });

  it("renders none of what Flagger owns: no Service or HTTPRoute named after the service, one Deployment with Flagger's selector", () => {
    expect(find("Service", "order-service", "apps")).toBeUndefined();
    expect(find("HTTPRoute", "order-service", "apps")).toBeUndefined();
    expect(find("Deployment", "order-service-canary", "apps")).toBeUndefined();
    // The fixed strategy's selector (immutable): switching a service replaces no Deployment. The PDB selects primary and canary.
    expect(find("Deployment", "order-service", "apps")!["spec"].selector).toEqual({ matchLabels: { "app.kubernetes.io/name": "order-service", "platform.io/track": "stable" } });
    expect(find("PodDisruptionBudget", "order-service", "apps")!["spec"].selector).toEqual({ matchLabels: { "app.kubernetes.io/instance": "order-service" } });
    // Testers' header has a route of its own, to Flagger's canary Service.
    const header = find("HTTPRoute", "order-service-canary-header", "apps")!;
    expect(header["spec"].rules[0].backendRefs).toEqual([{ kind: "Service", name: "order-service-canary", port: 8080 }]);
    expect(header["spec"].rules[0].matches[0].headers).toEqual([{ type: "Exact", name: "x-canary", value: "always" }]);
    // Envoy's policy (rate limit, retries) attaches to Flagger's route by name, and to the header route.
    expect(find("BackendTrafficPolicy", "order-service", "apps")!["spec"].targetRefs.map((t: any) => t.name)).toEqual(["order-service", "order-service-canary-header"]);
  });

  it("proves the platform with what Flagger makes: the primary serves, is admitted and spread, and the gates' flows are allowed", () => {
    const r = rendered["prod"]!;
    expect(r.running.findings).toEqual([]);
    const primary = r.running.pods.find((p) => p.id === "Deployment apps/order-service-primary")!;
    expect(primary.source).toMatch(/^flagger:/);
    // Flagger renamed its selector label on the primary; the instance label (the mesh's, the PDB's) is the canary's.
    expect(primary.metadata.labels).toMatchObject({ [FLAGGER_SELECTOR_LABEL]: "order-service-primary", "app.kubernetes.io/instance": "order-service" });
    expect(r.running.admission.ran && r.running.admission.verdicts.find((v) => v.pods.id === primary.id)?.allowed).toBe(true);
    const flows = r.running.flows.filter((f) => f.flow.kind === "rollout");
    expect(flows.map((f) => f.flow.name).sort()).toEqual([
      "Flagger (canary analysis) → Service observability/kps-prometheus",
      "Flagger (webhook error-budget) → Service flagger/flagger-loadtester",
      "flagger-loadtester (gate error-budget) → Service observability/kps-prometheus",
      "flagger-loadtester (gate smoke-ready) → Service apps/order-service-canary",
    ]);
    expect(flows.every((f) => f.allowed)).toBe(true);
    expect(r.running.flows.find((f) => f.flow.name === "gateway → order-service")!.flow.to.id).toBe(primary.id);
  });

  it("the proofs fail when broken on purpose: a smoke test the mesh refuses, a route rendered beside Flagger's", () => {
    const r = rendered["prod"]!;
    const opts = { podSecurity: findPodSecurity()!, kyverno: findKyverno()! };
    // The loadtester's principal dropped from the service's waypoint policy.
    const noLoadtester = mutated(r, (o) => o["kind"] === "AuthorizationPolicy" && o["metadata"].name === "allow-order-service", (o) => {
      o["spec"].rules = o["spec"].rules.filter((x: any) => !JSON.stringify(x).includes("flagger-loadtester"));
    });
    const refused = proveRunning({ resources: noLoadtester }, r.config, opts).flows.find((f) => f.flow.name.includes("gate smoke-ready"))!;
    expect(refused.allowed).toBe(false);
    // The fixed strategy's HTTPRoute left in the render: two owners of the weights.
    const route = r.run.resources.find((x) => isKubernetesObject(x) && (x.inputs as Inputs)["kind"] === "HTTPRoute" && (x.inputs as Inputs)["metadata"].name === "order-service-canary-header")!;
    const twice = [...r.run.resources, { ...route, urn: `${route.urn}-twin`, inputs: { ...(route.inputs as Inputs), metadata: { ...(route.inputs as Inputs)["metadata"], name: "order-service" } } }];
    const findings = proveRunning({ resources: twice }, r.config, opts).findings;
    expect(findings).toEqual(expect.arrayContaining([expect.objectContaining({ proof: "ownership", subject: "HTTPRoute apps/order-service", key: "platform:services.order-service.rollout", message: expect.stringMatching(/^Flagger makes it from Canary apps\/order-service and the render applies it too/) })]));
  });

  it("reconstructs Flagger's objects from its code: Services, primary, HPA and the weighted route", () => {
    const made = flaggerObjects(prodObjects() as LiveObject[]);
    expect(made.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual([
      "Deployment order-service-primary",
      "HTTPRoute order-service",
      "HorizontalPodAutoscaler order-service-primary",
      "Service order-service",
      "Service order-service-canary",
      "Service order-service-primary",
    ]);
    const route = made.find((o) => o.kind === "HTTPRoute")!;
    expect(route["spec"].rules[0].backendRefs.map((b: any) => [b.name, b.weight])).toEqual([["order-service-primary", 100], ["order-service-canary", 0]]);
    expect(route["spec"].parentRefs).toEqual(find("HTTPRoute", "order-service-canary-header", "apps")!["spec"].parentRefs);
    const apex = made.find((o) => o.kind === "Service" && o.metadata.name === "order-service")!;
    expect(apex["spec"].selector).toEqual({ [FLAGGER_SELECTOR_LABEL]: "order-service-primary" });
  });

  it("gates a rollout on the error budget and runs the declared smoke tests against the canary Service", () => {
    const graph = serviceGraph(rendered["prod"]!.config);
    const e = graph.exposures.find((x) => x.service === "order-service")!;
    const gates = preRolloutGates({ exposure: e, gates: { loadtesterUrl: "http://l/", prometheusUrl: "http://p:9090", domain: "cluster.local" } });
    expect(gates).toEqual([
      { name: "error-budget", cmd: `curl -sSf --max-time 10 --get 'http://p:9090/api/v1/query' --data-urlencode 'query=slo:error_budget:remaining_ratio{namespace="apps",service="order-service",slo="availability"} <= 0' | jq -e '.status == "success" and (.data.result | length == 0)'` },
      { name: "smoke-ready", cmd: "curl -sSf --max-time 10 -o /dev/null 'http://order-service-canary.apps.svc.cluster.local:8080/readyz'" },
    ]);
  });
});

describe("switching a service between fixed and progressive", () => {
  it("changes only that service's objects and Flagger's own", async () => {
    const raw = rawOf("prod");
    const order = raw.services["order-service"];
    order.rollout = { strategy: "fixed" };
    order.expose.canary = { image: order.image, version: "4.1.0", weights: { stable: 90, canary: 10 } };
    const fixed = await renderConfig("prod", flatOf(raw));
    const key = (o: Inputs) => `${o["kind"]} ${o["metadata"].namespace ?? ""}/${o["metadata"].name}`;
    const index = (r: Rendered) => new Map(objectsOf(r).map((o) => [key(o), JSON.stringify(o)]));
    const a = index(fixed);
    const b = index(rendered["prod"]!);
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
    const foreign = changed.filter((k) => !k.includes("order-service") && !/ flagger\//.test(k) && !/\.flagger\.app$|\/flagger(-loadtester)?$/.test(k));
    // Besides: the network rules that admit Flagger's namespace (its loadtester through the waypoint, its queries to Prometheus).
    expect(foreign).toEqual(["NetworkPolicy apps/allow-waypoint", "NetworkPolicy observability/allow-flagger-queries"]);
    for (const k of foreign) expect(b.get(k)).toContain('"kubernetes.io/metadata.name":"flagger"');
    expect(changed.length).toBeGreaterThan(0);
    expect(changed).toEqual(expect.arrayContaining(["Canary apps/order-service", "Service apps/order-service", "HTTPRoute apps/order-service", "Deployment apps/order-service-canary"]));
  });

  it("keeps a called service's callers working: declared calls reach Flagger's primary through the waypoint", async () => {
    const raw = rawOf("prod");
    const user = raw.services["user-service"];
    delete user.expose.sticky;
    user.rollout = { strategy: "progressive" };
    const r = await renderConfig("prod", flatOf(raw));
    expect(r.running.findings).toEqual([]);
    const calls = r.running.flows.filter((f) => f.flow.kind === "call" && f.flow.name.endsWith("→ user-service"));
    expect(calls.map((f) => [f.flow.name, f.flow.to.id, f.allowed])).toEqual([
      ["order-service → user-service", "Deployment apps/user-service-primary", true],
      ["payment-service → user-service", "Deployment apps/user-service-primary", true],
    ]);
    expect(calls.every((f) => /via waypoint apps\/waypoint \(ALLOW AuthorizationPolicy apps\/allow-user-service\)/.test(f.reason))).toBe(true);
  });
});
