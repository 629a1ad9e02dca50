/**
 * Resilience is deployed (issue 18): every resilience key changes the rendered objects that carry
 * it, in the mesh and on both gateway implementations; bad combinations are refused before
 * anything is registered, one line each, key named. The program runs under Pulumi's mocks with
 * charts left unexpanded (istiod's retry policy is read from its chart's values; tests/formal.test.ts
 * reads the same policy from the expanded chart's ConfigMap).
 */
import * as fc from "fast-check";
import { parsePlatformConfig, platformKeysOf } from "../config/load";
import { resiliencePlan, worstRetryMs } from "../config/resilience";
import type { PlatformConfig } from "../config/schema";
import { apiDuration, durationMs } from "../components/shared/duration";
import { runProgram } from "../render/harness";
import { resilienceSection } from "../render/report";
import { definePlatform } from "../program";
import { PROJECT, readStackConfig } from "../render/stack";
import { configProblems } from "./support/config-problems";

type Raw = Record<string, any>;
const rawOf = (stack: string): Raw => structuredClone(platformKeysOf(readStackConfig(stack))) as Raw;
/** dev on Envoy Gateway instead of Traefik (dev's Envoy-incompatible rate-limit burst dropped). */
function envoyDev(): Raw {
  const raw = rawOf("dev");
  raw.gateway.implementation = "envoy";
  delete raw.services["order-service"].expose.rateLimit.burst;
  return raw;
}
const variants: Record<string, () => Raw> = { traefik: () => rawOf("dev"), envoy: envoyDev };

/** The objects that carry resilience, by `Kind ns/name`, and istiod's mesh-wide retry policy. */
async function carriers(raw: Raw): Promise<Record<string, unknown>> {
  const config = parsePlatformConfig(raw);
  const run = await runProgram({ project: PROJECT, stack: "resilience", config: {}, program: () => definePlatform(config) });
  const out: Record<string, unknown> = {};
  for (const r of run.resources) {
    const o = r.inputs as Raw;
    if (r.type === "kubernetes:helm.sh/v4:Chart" && String(o["chart"]).includes("istiod")) out["istiod meshConfig.defaultHttpRetryPolicy"] = o["values"]?.meshConfig?.defaultHttpRetryPolicy;
    if (!["DestinationRule", "HTTPRoute", "GRPCRoute", "BackendTrafficPolicy", "Middleware"].includes(o["kind"])) continue;
    if (o["kind"] === "Middleware" && !o["spec"]?.retry) continue;
    out[`${o["kind"]} ${o["metadata"].namespace}/${o["metadata"].name}`] = o["spec"];
  }
  return out;
}
const changed = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();

const baseline: Record<string, Record<string, unknown>> = {};
beforeAll(async () => {
  for (const [v, raw] of Object.entries(variants)) baseline[v] = await carriers(raw());
}, 120_000);

describe("what is deployed for the dev declarations", () => {
  it("gives each called service a mesh route with its calls' timeout and a DestinationRule with pool, breaker and budget", () => {
    const b = baseline["traefik"]!;
    // order-service calls payment-service, which calls user-service: order → payment waits two levels (2 × 2000 ms).
    expect(b["HTTPRoute apps/payment-service-mesh"]).toEqual({
      parentRefs: [{ group: "", kind: "Service", name: "payment-service", port: 9090 }],
      rules: [{ backendRefs: [{ name: "payment-service", port: 9090 }], timeouts: { request: "4s" } }],
    });
    expect((b["HTTPRoute apps/user-service-mesh"] as Raw)["rules"][0].timeouts).toEqual({ request: "2s" });
    expect((b["DestinationRule apps/user-service"] as Raw)["trafficPolicy"]).toEqual({
      connectionPool: { tcp: { maxConnections: 1024 }, http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024 } },
      outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
      retryBudget: { percent: 20, minRetryConcurrency: 3 },
    });
    expect(b["istiod meshConfig.defaultHttpRetryPolicy"]).toEqual({ attempts: 2, perTryTimeout: "500ms", retryOn: "connect-failure,refused-stream,reset-before-request", backoff: "25ms" });
    // notification-service and order-service are called by nobody: no mesh route, no DestinationRule.
    expect(Object.keys(b).filter((k) => /order-service-mesh|notification/.test(k))).toEqual([]);
  });

  it("puts Traefik's retries in a middleware on the route, first try included, bounded by the exposure's timeout", () => {
    const b = baseline["traefik"]!;
    expect(b["Middleware apps/order-service-retry"]).toEqual({ retry: { attempts: 3, initialInterval: "25ms", timeout: "6s", retryNonIdempotentMethod: false } });
    const route = b["HTTPRoute apps/order-service"] as Raw;
    for (const rule of route["rules"]) {
      expect(rule.filters.map((f: Raw) => f.extensionRef.name)).toContain("order-service-retry");
      expect(rule.timeouts).toBeUndefined(); // Traefik 3.7 would ignore it
    }
  });

  it("puts Envoy Gateway's timeout on the route and retry, breaker, budget and outlier detection in its BackendTrafficPolicy", () => {
    const b = baseline["envoy"]!;
    for (const rule of (b["HTTPRoute apps/order-service"] as Raw)["rules"]) expect(rule.timeouts).toEqual({ request: "6s" });
    expect(b["BackendTrafficPolicy apps/order-service"]).toMatchObject({
      retry: { numRetries: 2, retryOn: { triggers: ["connect-failure", "refused-stream", "reset-before-request"] }, perRetry: { timeout: "500ms", backOff: { baseInterval: "25ms", maxInterval: "250ms" } } },
      circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxParallelRequests: 1024, retryBudget: { percent: { numerator: 20 }, minRetryConcurrency: 3 } },
      healthCheck: { passive: { consecutive5XxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 } },
    });
    // GRPCRoute has no timeouts: the gRPC exposure's timeout is in its policy.
    expect((b["BackendTrafficPolicy apps/inventory-service"] as Raw)["timeout"]).toEqual({ http: { requestTimeout: "2s" } });
  });
});

/** One key, how to change it, and which carriers must change (per gateway implementation). */
interface KeyCase {
  readonly key: string;
  readonly edit: (raw: Raw) => void;
  readonly expect: { readonly traefik: RegExp[]; readonly envoy: RegExp[] };
}
const MESH_ROUTES = /^HTTPRoute apps\/(inventory|payment|user)-service-mesh$/;
const DRS = /^DestinationRule apps\//;
const ISTIOD = /^istiod /;
const BTPS = /^BackendTrafficPolicy apps\//;
const TRAEFIK_RETRY = /^Middleware apps\/.*-retry$/;
const optIn = (raw: Raw) => {
  for (const s of Object.values<Raw>(raw.services)) {
    for (const c of s.calls ?? []) c.retryNonIdempotent = true;
    if (s.expose) s.expose.resilience = { ...(s.expose.resilience ?? {}), retryNonIdempotent: true };
  }
};
const KEYS: KeyCase[] = [
  { key: "resilience.timeoutMs", edit: (r) => (r.resilience.timeoutMs = 3000), expect: { traefik: [MESH_ROUTES, TRAEFIK_RETRY], envoy: [MESH_ROUTES, /^HTTPRoute apps\/(order|user)-service$/, /^BackendTrafficPolicy apps\/inventory-service$/] } },
  { key: "resilience.retries.attempts", edit: (r) => (r.resilience.retries = { attempts: 1 }), expect: { traefik: [ISTIOD, TRAEFIK_RETRY], envoy: [ISTIOD, BTPS] } },
  { key: "resilience.retries.perTryTimeoutMs", edit: (r) => (r.resilience.retries = { perTryTimeoutMs: 400 }), expect: { traefik: [ISTIOD], envoy: [ISTIOD, BTPS] } },
  { key: "resilience.retries.backoffMs", edit: (r) => (r.resilience.retries = { backoffMs: 50 }), expect: { traefik: [ISTIOD, TRAEFIK_RETRY], envoy: [ISTIOD, BTPS] } },
  { key: "resilience.retries.retryOn", edit: (r) => ((r.resilience.retries = { retryOn: ["connect-failure", "gateway-error"] }), optIn(r)), expect: { traefik: [ISTIOD, TRAEFIK_RETRY], envoy: [ISTIOD, BTPS] } },
  { key: "resilience.retries.budgetPercent", edit: (r) => (r.resilience.retries = { budgetPercent: 10 }), expect: { traefik: [DRS], envoy: [DRS, BTPS] } },
  { key: "resilience.retries.budgetMinConcurrency", edit: (r) => (r.resilience.retries = { budgetMinConcurrency: 5 }), expect: { traefik: [DRS], envoy: [DRS, BTPS] } },
  ...(["maxConnections", "maxPendingRequests", "maxRequests"] as const).map((k) => ({ key: `resilience.connectionPool.${k}`, edit: (r: Raw) => (r.resilience.connectionPool = { [k]: 100 }), expect: { traefik: [DRS], envoy: [DRS, BTPS] } })),
  ...([["consecutiveErrors", 7], ["intervalSeconds", 5], ["baseEjectionSeconds", 60], ["maxEjectionPercent", 30]] as const).map(([k, v]) => ({ key: `resilience.circuitBreaker.${k}`, edit: (r: Raw) => (r.resilience.circuitBreaker = { [k]: v }), expect: { traefik: [DRS], envoy: [DRS, BTPS] } })),
  { key: "services.<name>.resilience.connectionPool", edit: (r) => (r.services["user-service"].resilience = { connectionPool: { maxRequests: 64 } }), expect: { traefik: [/^DestinationRule apps\/user-service$/], envoy: [/^DestinationRule apps\/user-service$/, /^BackendTrafficPolicy apps\/user-service$/] } },
  { key: "services.<name>.resilience.circuitBreaker", edit: (r) => (r.services["user-service"].resilience = { circuitBreaker: { consecutiveErrors: 8 } }), expect: { traefik: [/^DestinationRule apps\/user-service$/], envoy: [/^DestinationRule apps\/user-service$/, /^BackendTrafficPolicy apps\/user-service$/] } },
  { key: "services.<name>.calls[i].timeoutMs", edit: (r) => (r.services["order-service"].calls[2].timeoutMs = 1800), expect: { traefik: [/^HTTPRoute apps\/inventory-service-mesh$/], envoy: [/^HTTPRoute apps\/inventory-service-mesh$/] } },
  { key: "services.<name>.expose.resilience.timeoutMs", edit: (r) => (r.services["order-service"].expose.resilience = { timeoutMs: 7000 }), expect: { traefik: [], envoy: [/^HTTPRoute apps\/order-service$/] } },
  { key: "services.<name>.expose.resilience.retries", edit: (r) => (r.services["order-service"].expose.resilience = { retries: { attempts: 1 } }), expect: { traefik: [/^Middleware apps\/order-service-retry$/], envoy: [/^BackendTrafficPolicy apps\/order-service$/] } },
  { key: "services.<name>.expose.resilience.retryNonIdempotent", edit: (r) => (r.services["order-service"].expose.resilience = { retryNonIdempotent: true }), expect: { traefik: [/^Middleware apps\/order-service-retry$/], envoy: [] } },
];

describe.each(Object.keys(variants))("every resilience key changes what carries it (%s)", (impl) => {
  it.each(KEYS.map((k) => [k.key, k] as const))("%s", async (_key, k) => {
    const raw = variants[impl]!();
    k.edit(raw);
    if (impl === "traefik" && k.key === "services.<name>.expose.resilience.timeoutMs") {
      // Traefik cannot carry it: refused by key instead (below).
      expect(configProblems(raw)).toEqual([expect.stringMatching(/^platform:services\.order-service\.expose\.resilience\.timeoutMs: Traefik 3\.7 ignores HTTPRoute timeouts/)]);
      return;
    }
    const diff = changed(baseline[impl]!, await carriers(raw));
    const wanted = k.expect[impl as "traefik" | "envoy"];
    // Each expected carrier changed, and nothing else did.
    for (const re of wanted) expect(diff.filter((d) => re.test(d))).not.toEqual([]);
    expect(diff.filter((d) => !wanted.some((re) => re.test(d)))).toEqual([]);
    // A key no object carries on this implementation must be a validation opt-in only.
    if (!wanted.length) expect(k.key).toMatch(/retryNonIdempotent$/);
  });
});

describe("sagas get what they run on", () => {
  /** The saga topics and every KafkaUser's ACLs of a render. */
  async function kafkaOf(raw: Raw): Promise<{ topics: Record<string, Raw>; acls: Set<string> }> {
    const config = parsePlatformConfig(raw);
    const run = await runProgram({ project: PROJECT, stack: "sagas", config: {}, program: () => definePlatform(config) });
    const topics: Record<string, Raw> = {};
    const acls = new Set<string>();
    for (const r of run.resources) {
      const o = r.inputs as Raw;
      if (o["kind"] === "KafkaTopic" && String(o["metadata"].name).startsWith("saga.")) topics[o["metadata"].name] = o["spec"];
      if (o["kind"] === "KafkaUser") for (const a of o["spec"].authorization.acls) for (const op of a.operations) acls.add(`${o["metadata"].name}|${a.resource.type}|${a.resource.name}|${op}`);
    }
    return { topics, acls };
  }

  it("creates the place-order saga's command, reply and dead-letter topics and exactly the ACLs its steps need", async () => {
    const { topics, acls } = await kafkaOf(rawOf("dev"));
    expect(Object.keys(topics).sort()).toEqual(["saga.place-order.dead-letter", "saga.place-order.inventory-service.commands", "saga.place-order.payment-service.commands", "saga.place-order.replies"]);
    // The topic defaults (dev: 3 partitions, RF 1).
    expect(topics["saga.place-order.replies"]).toMatchObject({ partitions: 3, replicas: 1 });
    for (const p of ["inventory-service", "payment-service"]) {
      expect(acls).toContain(`order-service|topic|saga.place-order.${p}.commands|Write`);
      expect(acls).toContain(`${p}|topic|saga.place-order.${p}.commands|Read`);
      expect(acls).toContain(`${p}|topic|saga.place-order.replies|Write`);
      expect(acls).toContain(`${p}|topic|saga.place-order.dead-letter|Write`);
    }
    expect(acls).toContain("order-service|topic|saga.place-order.replies|Read");
    expect(acls).toContain("order-service|topic|saga.place-order.dead-letter|Read");
    // Least privilege: a participant reads only its own commands, and only the orchestrator reads replies.
    expect(acls).not.toContain("payment-service|topic|saga.place-order.inventory-service.commands|Read");
    expect(acls).not.toContain("inventory-service|topic|saga.place-order.replies|Read");
    expect(acls).not.toContain("notification-service|topic|saga.place-order.replies|Read");
  });

  it("creates no saga topic once the saga is removed", async () => {
    const raw = rawOf("dev");
    raw.resilience.sagas = {};
    const { topics, acls } = await kafkaOf(raw);
    expect(topics).toEqual({});
    expect([...acls].filter((a) => a.includes("saga."))).toEqual([]);
  });

  it("refuses a saga without Kafka, and a declared topic with a saga topic's name", () => {
    const off = rawOf("dev");
    off.messaging.kafka = { enabled: false };
    for (const s of Object.values<Raw>(off.services)) (delete s.produces, delete s.consumes);
    expect(configProblems(off)).toEqual([expect.stringMatching(/^platform:resilience\.sagas\.place-order: a saga's commands, replies and dead letters travel on Kafka topics the platform creates, and messaging\.kafka\.enabled is false/)]);
    const clash = rawOf("dev");
    clash.messaging.kafka.topics["saga.place-order.replies"] = {};
    expect(configProblems(clash)).toEqual([expect.stringMatching(/^platform:messaging\.kafka\.topics\.saga\.place-order\.replies: is the topic the platform creates for saga place-order/)]);
  });
});

describe("bad combinations are refused before anything is registered, one line each, key named", () => {
  const problemsOf = (edit: (raw: Raw) => void, stack: () => Raw = () => rawOf("dev")) => {
    const raw = stack();
    edit(raw);
    return configProblems(raw);
  };

  it("refuses retries that cannot finish within the timeout", () => {
    const p = problemsOf((r) => (r.resilience.retries = { attempts: 3, perTryTimeoutMs: 600 }));
    // 4 tries × 600 ms + backoff (25 + 75 + 175) = 2675 ms > the 2000 ms of a call into a leaf service.
    expect(p).toEqual([expect.stringMatching(/^platform:resilience\.retries\.perTryTimeoutMs: 4 tries of 600 ms plus backoff take up to 2675 ms, longer than the timeout of the call order-service → user-service: 2000 ms \(resilience\.timeoutMs\); .*\(got 600; expected a timeout of at least 2675 ms, or fewer or shorter tries \(resilience\.retries\)\)$/)]);
    // Dev's gateway is Traefik, which bounds no try: its exposures are not in the line; on Envoy Gateway they are.
    expect(p[0]).not.toMatch(/the exposure of/);
    const envoy = problemsOf((r) => (r.resilience.retries = { attempts: 3, perTryTimeoutMs: 600 }), envoyDev);
    expect(envoy).toEqual([expect.stringMatching(/the exposure of user-service: 2000 ms/)]);
    expect(p.every((l) => l.startsWith("platform:"))).toBe(true);
  });

  it("refuses a callee that may take longer than its caller waits, naming the inner call's key", () => {
    const p = problemsOf((r) => (r.services["payment-service"].calls[0].timeoutMs = 5000));
    expect(p).toEqual(expect.arrayContaining([expect.stringMatching(/^platform:services\.payment-service\.calls\[0\]\.timeoutMs: payment-service → user-service may take 5000 ms .* but its caller gives up after 4000 ms \(the call order-service → payment-service/)]));
  });

  it("refuses an exposure timeout below what the exposed service waits on", () => {
    const p = problemsOf((r) => (r.services["order-service"].expose.resilience = { timeoutMs: 3000 }), envoyDev);
    expect(p).toEqual([expect.stringMatching(/^platform:services\.order-service\.expose\.resilience\.timeoutMs: order-service → payment-service may take 4000 ms .* gives up after 3000 ms \(the exposure of order-service/)]);
  });

  it("refuses callers of one service that disagree on its timeout", () => {
    const p = problemsOf((r) => (r.services["order-service"].calls[0].timeoutMs = 1800));
    expect(p).toEqual([expect.stringMatching(/^platform:services\.payment-service\.calls\[0\]\.timeoutMs: calls to user-service share one route at its waypoint, and services\.order-service\.calls\[0\]\.timeoutMs gives it 1800 ms/)]);
  });

  it("refuses retries after which a request may have run on calls that may POST, unless the call opts in", () => {
    const p = problemsOf((r) => (r.resilience.retries = { retryOn: ["connect-failure", "5xx"] }));
    // order → payment (gRPC: every call a POST) and order → inventory (no methods declared) may replay; order → user and payment → user are GET only.
    expect(p.filter((l) => /calls\[\d\]: the mesh retries on 5xx/.test(l)).map((l) => l.split(":")[1])).toEqual(["services.order-service.calls[1]", "services.order-service.calls[2]"]);
    expect(p).toEqual(expect.arrayContaining([expect.stringMatching(/^platform:services\.(user|order)-service\.expose\.resilience\.retryNonIdempotent: the gateway retries this route on 5xx/)]));
    const fixed = problemsOf((r) => ((r.resilience.retries = { retryOn: ["connect-failure", "5xx"] }), optIn(r)));
    expect(fixed).toEqual([]);
  });

  it("refuses retries that let one failing request eject a healthy host", () => {
    const p = problemsOf((r) => (r.services["user-service"].resilience = { circuitBreaker: { consecutiveErrors: 3 } }));
    expect(p).toEqual([expect.stringMatching(/^platform:services\.user-service\.resilience\.circuitBreaker\.consecutiveErrors: a call to user-service makes up to 3 tries/)]);
  });

  it("refuses per-call retries, which the standard-channel CRDs cannot carry east-west", () => {
    const p = problemsOf((r) => (r.services["order-service"].calls[0].retries = { attempts: 1 }));
    expect(p).toEqual([expect.stringMatching(/^platform:services\.order-service\.calls\[0\]\.retries: east-west retries are mesh-wide .*GEP-1731/)]);
  });

  it("refuses on Traefik what Traefik cannot do: a per-try timeout, gRPC retry conditions", () => {
    expect(problemsOf((r) => (r.services["order-service"].expose.resilience = { retries: { perTryTimeoutMs: 300 } }))).toEqual([expect.stringMatching(/^platform:services\.order-service\.expose\.resilience\.retries\.perTryTimeoutMs: Traefik's retry middleware has no per-try timeout/)]);
    const p = problemsOf((r) => (r.services["order-service"].expose.resilience = { retries: { retryOn: ["connect-failure", "unavailable"] }, retryNonIdempotent: true }));
    expect(p).toEqual([expect.stringMatching(/^platform:services\.order-service\.expose\.resilience\.retries\.retryOn: Traefik's retry middleware retries on network errors and status codes only, not on unavailable/)]);
    // The same on Envoy Gateway is valid.
    expect(problemsOf((r) => (r.services["order-service"].expose.resilience = { retries: { perTryTimeoutMs: 300, retryOn: ["connect-failure", "unavailable"] }, retryNonIdempotent: true }), envoyDev)).toEqual([]);
  });

  it("refuses a per-call timeout with the mesh off, where no waypoint would carry it", () => {
    const p = problemsOf((r) => ((r.mesh = { enabled: false }), (r.services["order-service"].calls[2].timeoutMs = 1800)));
    expect(p).toEqual([expect.stringMatching(/^platform:services\.order-service\.calls\[2\]\.timeoutMs: mesh\.enabled is false: no waypoint carries east-west timeouts/)]);
  });

  it("refuses a destination override that nothing deploys", () => {
    expect(problemsOf((r) => (r.services["notification-service"].resilience = { circuitBreaker: { consecutiveErrors: 9 } }))).toEqual([expect.stringMatching(/^platform:services\.notification-service\.resilience: nothing calls or exposes this service/)]);
  });

  it("accepts the dev and prod stacks as they are", () => {
    expect(configProblems(rawOf("dev"))).toEqual([]);
    expect(configProblems(rawOf("prod"))).toEqual([]);
  });
});

describe("report.md", () => {
  it("lists per call and per exposure the effective timeout, retries, budget and breaker with the key each comes from", () => {
    const raw = envoyDev();
    raw.services["user-service"].resilience = { circuitBreaker: { consecutiveErrors: 8 } };
    const body = resilienceSection(parsePlatformConfig(raw)).join("\n");
    expect(body).toContain("| order-service → payment-service | 4000 ms — `resilience.timeoutMs` (derived) | 2 retries of 500 ms each on connect-failure, refused-stream, reset-before-request, backoff 25 ms — `resilience.retries` (default) | 20% (min 3) |");
    expect(body).toMatch(/\| order-service → user-service \| .* eject after 8 errors .* `services\.user-service\.resilience\.circuitBreaker` \(override\)/);
    expect(body).toMatch(/^\| order-service \| 6000 ms — `resilience\.timeoutMs` \(derived\)/m);
    expect(body).toContain("`saga.place-order.replies`");
    const traefik = resilienceSection(parsePlatformConfig(rawOf("dev"))).join("\n");
    expect(traefik).toMatch(/^\| order-service \| 6000 ms \(retry phase only\) .* \| none at Traefik \| none at Traefik \|$/m);
  });
});

describe("the plan (pure)", () => {
  const dev: PlatformConfig = parsePlatformConfig(rawOf("dev"));

  it("derives default timeouts from the call graph and names where each value comes from", () => {
    const plan = resiliencePlan(dev);
    const t = Object.fromEntries(plan.calls.map((c) => [`${c.from}>${c.to}`, [c.timeoutMs.value, c.timeoutMs.source]]));
    expect(t).toEqual({ "order-service>user-service": [2000, "default"], "order-service>payment-service": [4000, "derived"], "order-service>inventory-service": [2000, "default"], "payment-service>user-service": [2000, "default"] });
    expect(plan.exposures.find((e) => e.service === "order-service")!.timeoutMs).toEqual({ value: 6000, key: "resilience.timeoutMs", source: "derived" });
  });

  it("keeps a call cycle's members at one height and exempts the cycle from the chain rule", () => {
    const raw = rawOf("dev");
    raw.services["user-service"].calls = [{ service: "payment-service", methods: ["GET"] }];
    const plan = resiliencePlan(parsePlatformConfig(raw));
    expect(plan.cyclic).toEqual(new Set(["payment-service>user-service", "user-service>payment-service"]));
    expect(plan.height.get("user-service")).toBe(plan.height.get("payment-service"));
  });

  it("derives default timeouts that satisfy every rule, for any declared call graph (cycles included)", () => {
    const names = ["a", "b", "c", "d", "e"];
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).filter(([f, t]) => f !== t), { selector: ([f, t]) => `${f}>${t}` }), fc.subarray(names), (calls, exposed) => {
        const raw = rawOf("dev");
        raw.resilience.sagas = {};
        raw.services = Object.fromEntries(
          names.map((n) => [n, { image: "ghcr.io/acme-shop/x:1.0.0", version: "1.0.0", calls: calls.filter(([f]) => f === n).map(([, t]) => ({ service: t, methods: ["GET"] })), ...(exposed.includes(n) ? { expose: { hosts: ["api.shop.dev.example.com"], paths: [`/${n}`] } } : {}) }]),
        );
        expect(configProblems(raw)).toEqual([]);
        const plan = resiliencePlan(parsePlatformConfig(raw));
        // Along every call outside a cycle, the callee's calls wait less than the caller waits.
        for (const outer of plan.calls) for (const inner of plan.calls.filter((c) => c.from === outer.to && !plan.cyclic.has(`${c.from}>${c.to}`))) expect(inner.timeoutMs.value).toBeLessThan(outer.timeoutMs.value);
      }),
      { numRuns: 150 },
    );
  });

  it("bounds the worst retry time with Envoy's capped exponential backoff", () => {
    expect(worstRetryMs({ attempts: 2, perTryTimeoutMs: 500, backoffMs: 25, retryOn: ["connect-failure"], budgetPercent: 20, budgetMinConcurrency: 3 })).toBe(3 * 500 + 25 + 75);
    expect(worstRetryMs({ attempts: 5, perTryTimeoutMs: 100, backoffMs: 10, retryOn: ["connect-failure"], budgetPercent: 20, budgetMinConcurrency: 3 })).toBe(600 + 10 + 30 + 70 + 100 + 100);
  });

  it("writes durations the Gateway API, Envoy Gateway and Istio all accept, and reads them back", () => {
    for (const ms of [1, 25, 500, 1000, 1500, 4000, 60_000, 90_500, 3_600_000, 5_400_250]) {
      const d = apiDuration(ms);
      expect(d).toMatch(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/);
      expect(durationMs(d)).toBe(ms);
    }
  });
});
