/**
 * The formal models (formal/*.pml) checked with SPIN against stack configs: the constants mapping
 * (pure), the verdicts of the dev and prod stacks, and configs that break each model. CI installs
 * spin and gcc, so nothing here is skipped.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { parsePlatformConfig, platformKeysOf } from "../config/load";
import type { PlatformConfig } from "../config/schema";
import { circuitBreakerCases, configKeysOf, ModelCase, messageQueueCases, modelCases, resilienceKeys, sagaCases } from "../formal/constants";
import { parseTrail, runSpin, trailLines } from "../formal/run";
import { FormalVerdict, formalReportSection, formalVerdicts, tally } from "../formal/verdicts";
import { Rendered, renderStack } from "../render/render";
import { platformConfigOf, readStackConfig } from "../render/stack";
import type { LiveObject } from "../audit/running/pods";
import { stringify } from "yaml";

// The circuit-breaker model reads the render (DestinationRules, BackendTrafficPolicies, istiod's
// mesh config): dev (Traefik) and prod (Envoy Gateway) are rendered once, charts included.
const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
}, 240_000);
const objectsOf = (stack: string) => rendered[stack]!.running.objects;

type Obj = Record<string, any>;
/** A copy of a stack's rendered objects with `change` applied to each object `pick` selects (at least one). */
function renderedWith(stack: string, pick: (o: Obj) => boolean, change: (o: Obj) => void): LiveObject[] {
  let hits = 0;
  const out = objectsOf(stack).map((o) => {
    if (!pick(o)) return o;
    hits++;
    const c = structuredClone(o) as Obj;
    change(c);
    return c as LiveObject;
  });
  if (!hits) throw new Error("the change matched no rendered object");
  return out;
}
const isDestinationRule = (o: Obj) => o["kind"] === "DestinationRule";
const isMeshConfig = (o: Obj) => o["kind"] === "ConfigMap" && o["metadata"].name === "istio" && o["metadata"].namespace === "istio-system";
/** istiod's rendered mesh config with its retry policy changed. */
const meshRetries = (attempts: number) => (o: Obj) => {
  const mesh = parse(o["data"].mesh);
  mesh.defaultHttpRetryPolicy = { ...mesh.defaultHttpRetryPolicy, attempts };
  o["data"].mesh = stringify(mesh);
};
/** Both changes at once, on one copy. */
function renderedWithBoth(stack: string, a: [(o: Obj) => boolean, (o: Obj) => void], b: [(o: Obj) => boolean, (o: Obj) => void]): LiveObject[] {
  const first = renderedWith(stack, ...a);
  return first.map((o) => (b[0](o) ? (() => { const c = structuredClone(o) as Obj; b[1](c); return c as LiveObject; })() : o));
}

/** The dev stack's raw config, changed by `edit`, then validated like any stack (schema + rules). */
function devWith(edit: (raw: Record<string, any>) => void): PlatformConfig {
  const raw = platformKeysOf(readStackConfig("dev")) as Record<string, any>;
  edit(raw);
  return parsePlatformConfig(raw);
}

const valueOf = (c: ModelCase, name: string) => c.constants.find((k) => k.name === name)?.value;
const only = (vs: FormalVerdict[], model: FormalVerdict["model"]) => {
  const found = vs.filter((v) => v.model === model);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** A failed verdict with a parsed counterexample that ends in the named property's violation. */
function expectCounterexample(v: FormalVerdict, property: string) {
  expect(v.status).toBe("failed");
  expect(v.passed).toBe(false);
  expect(v.property).toBe(property);
  expect(v.trail.length).toBeGreaterThan(1);
  const violation = v.trail.filter((s) => s.kind === "violation");
  expect(violation).toHaveLength(1);
  expect(violation[0]!.text.startsWith(`${property}:`)).toBe(true);
  expect(v.trail.every((s) => s.step >= 0 && s.process.length > 0)).toBe(true);
}

describe("config → model constants", () => {
  const dev = platformConfigOf(readStackConfig("dev"));
  const prod = platformConfigOf(readStackConfig("prod"));

  it("maps the prod topics to RF 3 / min.insync 2 with one tolerated crash, naming the keys", () => {
    const [mq, ...rest] = messageQueueCases(prod);
    expect(rest).toHaveLength(0); // every topic uses the defaults: one run covers them all
    expect(mq!.subject).toBe("topicDefaults, orders.created, payments.settled, inventory.reserved (RF 3, min.insync.replicas 2)");
    expect(Object.fromEntries(mq!.constants.map((k) => [k.name, k.value]))).toEqual({ RF: 3, MINISR: 2, BROKERS: 3, UNCLEAN: 0, ACKS_ALL: 1, CRASHES: 1, MSGS: 2 });
    expect(configKeysOf(mq!)).toEqual([
      "messaging.kafka.topicDefaults.replicationFactor",
      "messaging.kafka.topicDefaults.minInsyncReplicas",
      "messaging.kafka.brokers",
      "messaging.kafka.uncleanLeaderElection",
    ]);
  });

  it("gives a topic that overrides its replication its own run and its own key", () => {
    const config = devWith((raw) => {
      raw.messaging.kafka.brokers = 3;
      raw.messaging.kafka.combinedRoles = false;
      raw.messaging.kafka.topics["payments.settled"] = { replicationFactor: 3, minInsyncReplicas: 2 };
    });
    const cases = messageQueueCases(config);
    expect(cases.map((c) => [c.subject, valueOf(c, "RF"), valueOf(c, "MINISR"), valueOf(c, "CRASHES")])).toEqual([
      ["topicDefaults, orders.created, inventory.reserved (RF 1, min.insync.replicas 1)", 1, 1, 0],
      ["payments.settled (RF 3, min.insync.replicas 2)", 3, 2, 1],
    ]);
    expect(configKeysOf(cases[1]!)).toContain("messaging.kafka.topics.payments.settled.minInsyncReplicas");
    expect(configKeysOf(cases[1]!)).not.toContain("messaging.kafka.topicDefaults.minInsyncReplicas");
  });

  it("has no message-queue run when Kafka is off", () => {
    const config = devWith((raw) => {
      raw.messaging.kafka = { enabled: false };
      // A saga runs on Kafka topics: without Kafka the stack declares none (config validation refuses one).
      raw.resilience.sagas = {};
      for (const s of Object.values<any>(raw.services)) {
        delete s.produces;
        delete s.consumes;
      }
    });
    expect(messageQueueCases(config)).toEqual([]);
    expect(modelCases(config, objectsOf("dev")).map((c) => c.model)).toEqual(["circuit-breaker"]);
  });

  it("reads the breaker from the rendered objects: ejection time in whole intervals, the budget as retries per window", () => {
    const objects = renderedWith("dev", isDestinationRule, (o) => (o["spec"].trafficPolicy.outlierDetection = { ...o["spec"].trafficPolicy.outlierDetection, consecutive5xxErrors: 7, interval: "10s", baseEjectionTime: "25s" }));
    const [cb, ...rest] = circuitBreakerCases(objects, resilienceKeys(dev));
    expect(rest).toEqual([]); // dev's three DestinationRules share one set of constants
    expect(cb!.subject).toBe("DestinationRule apps/inventory-service, DestinationRule apps/payment-service, DestinationRule apps/user-service");
    expect(valueOf(cb!, "THRESHOLD")).toBe(7);
    expect(valueOf(cb!, "OPEN_TICKS")).toBe(3);
    expect(valueOf(cb!, "HALF_OPEN_TRIALS")).toBe(7);
    expect(valueOf(cb!, "RETRIES")).toBe(2); // istiod's rendered defaultHttpRetryPolicy
    expect(valueOf(cb!, "RETRY_TOKENS")).toBe(2); // the rendered retryBudget: 20 % of a 10-request window
    expect(configKeysOf(cb!)).toEqual(expect.arrayContaining(["resilience.retries.attempts", "resilience.retries.budgetPercent", "resilience.circuitBreaker.consecutiveErrors"]));
  });

  it("models the gateway's BackendTrafficPolicies with the waypoints' DestinationRules on prod", () => {
    const [cb, ...rest] = circuitBreakerCases(objectsOf("prod"), resilienceKeys(prod));
    expect(rest).toEqual([]);
    expect(cb!.subject).toMatch(/BackendTrafficPolicy apps\/order-service/);
    expect(cb!.subject).toMatch(/DestinationRule apps\/user-service/);
  });

  it("says the mesh's retries are unknown, and does not run, when istiod's mesh config is not in the render", () => {
    const objects = objectsOf("dev").filter((o) => !isMeshConfig(o));
    const [cb] = circuitBreakerCases(objects);
    expect(cb!.outOfBounds).toMatch(/not in the render/);
  });

  it("maps a saga's steps to bit masks, step i to bit i", () => {
    const [saga] = sagaCases(
      devWith((raw) => {
        raw.resilience.sagas["place-order"].steps = [
          { service: "inventory-service" },
          { service: "payment-service", compensable: false, idempotent: false },
          { service: "user-service", idempotent: false },
        ];
      }),
    );
    expect(saga!.subject).toBe("place-order (order-service: inventory-service → payment-service → user-service)");
    expect([valueOf(saga!, "N"), valueOf(saga!, "COMPENSABLE"), valueOf(saga!, "IDEMPOTENT")]).toEqual([3, 0b101, 0b001]);
    expect(configKeysOf(saga!)).toContain("resilience.sagas.place-order.steps[1].compensable");
  });

  it("declares the place-order saga in both stacks", () => {
    for (const c of [dev, prod]) expect(sagaCases(c).map((s) => s.subject)).toEqual(["place-order (order-service: inventory-service → payment-service)"]);
  });

  it("rejects a saga step on a service the orchestrator does not call", () => {
    expect(() =>
      devWith((raw) => raw.resilience.sagas["place-order"].steps.push({ service: "notification-service" })),
    ).toThrow(/platform:resilience\.sagas\.place-order\.steps\[2\]\.service: the orchestrator order-service does not declare a call to this service \(got "notification-service"/);
    expect(() => devWith((raw) => (raw.resilience.sagas["place-order"].orchestrator = "billing"))).toThrow(/platform:resilience\.sagas\.place-order\.orchestrator: orchestrator is not a declared service/);
  });
});

describe("the dev and prod stacks pass every model", () => {
  for (const stack of ["dev", "prod"]) {
    it(`passes ${stack}`, async () => {
      const verdicts = await formalVerdicts(platformConfigOf(readStackConfig(stack)), objectsOf(stack));
      expect(verdicts.map((v) => v.model)).toEqual(["message-queue", "circuit-breaker", "saga"]);
      for (const v of verdicts) {
        expect({ model: v.model, status: v.status, summary: v.summary }).toEqual({ model: v.model, status: "passed", summary: expect.stringMatching(/^no violation in \d+ states$/) });
        expect(v.trail).toEqual([]);
      }
      expect(tally(verdicts)).toEqual({ passed: 3, failed: 0, notRun: 0 });
    });
  }
});

describe("configs that break the message-queue model", () => {
  const kafka3 = (topicDefaults: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    devWith((raw) => {
      raw.messaging.kafka = { ...raw.messaging.kafka, combinedRoles: false, brokers: 3, controllers: 3, topicDefaults: { ...raw.messaging.kafka.topicDefaults, ...topicDefaults }, ...extra };
    });

  it("loses an acknowledged message with min.insync.replicas 1, acks=all and one crash", async () => {
    const v = only(await formalVerdicts(kafka3({ replicationFactor: 2, minInsyncReplicas: 1 }), []), "message-queue");
    expect(v.constants.find((k) => k.name === "CRASHES")!.value).toBe(1);
    expectCounterexample(v, "durable");
    expect(v.keys).toEqual(expect.arrayContaining(["platform:messaging.kafka.topicDefaults.minInsyncReplicas", "platform:messaging.kafka.topicDefaults.replicationFactor"]));
    const texts = v.trail.map((s) => s.text);
    expect(texts.some((t) => /message \d acknowledged \(ISR size 1\)/.test(t))).toBe(true);
    expect(texts.some((t) => /broker \d crashes and loses its log/.test(t))).toBe(true);
  });

  it("loses an acknowledged message through unclean leader election even with min.insync.replicas 2", async () => {
    const v = only(await formalVerdicts(kafka3({ replicationFactor: 3, minInsyncReplicas: 2 }, { uncleanLeaderElection: true }), []), "message-queue");
    expect(["durable", "served"]).toContain(v.property);
    expectCounterexample(v, v.property!);
    expect(v.trail.some((s) => /unclean election/.test(s.text))).toBe(true);
    expect(v.keys).toContain("platform:messaging.kafka.uncleanLeaderElection");
  });

  it("stops producers with fewer brokers than replicas (the model catches what the schema also rejects)", async () => {
    const config = kafka3({ replicationFactor: 2, minInsyncReplicas: 1 });
    const broken = { ...config, messaging: { ...config.messaging, kafka: { ...config.messaging.kafka, brokers: 2, topicDefaults: { ...config.messaging.kafka.topicDefaults, replicationFactor: 3, minInsyncReplicas: 2 } } } };
    const v = only(await formalVerdicts(broken, []), "message-queue");
    expect(v.constants.find((k) => k.name === "BROKERS")!.value).toBe(2);
    expectCounterexample(v, "available");
    expect(v.keys).toContain("platform:messaging.kafka.brokers");
  });

  it("passes RF 3 / min.insync.replicas 2 with clean election", async () => {
    expect(only(await formalVerdicts(kafka3({ replicationFactor: 3, minInsyncReplicas: 2 }), []), "message-queue").status).toBe("passed");
  });
});

describe("rendered objects that break the circuit-breaker model", () => {
  const dev = platformConfigOf(readStackConfig("dev"));
  const budget = (percent: number): [(o: Obj) => boolean, (o: Obj) => void] => [isDestinationRule, (o) => (o["spec"].trafficPolicy.retryBudget.percent = percent)];

  it("passes the dev render as it is", async () => {
    expect(only(await formalVerdicts(dev, objectsOf("dev")), "circuit-breaker").status).toBe("passed");
  });

  it("finds a retry storm once the rendered mesh retries 5 times under a 100% budget: one failing request ejects a healthy host", async () => {
    const v = only(await formalVerdicts(dev, renderedWithBoth("dev", [isMeshConfig, meshRetries(5)], budget(100))), "circuit-breaker");
    expect(v.constants.find((k) => k.name === "RETRIES")!.value).toBe(5);
    expectCounterexample(v, "no-storm");
    expect(v.trail.filter((s) => /^retry \(budget left \d+\)$/.test(s.text))).toHaveLength(4);
    expect(v.keys).toEqual(expect.arrayContaining(["platform:resilience.retries.attempts", "platform:resilience.retries.budgetPercent", "platform:resilience.circuitBreaker.consecutiveErrors"]));
  });

  it("passes the same 5 rendered retries once the rendered 20% budget caps them", async () => {
    const v = only(await formalVerdicts(dev, renderedWithBoth("dev", [isMeshConfig, meshRetries(5)], budget(20))), "circuit-breaker");
    expect(v.status).toBe("passed");
  });

  it("fails when only the rendered ejection threshold drops to the tries of one request", async () => {
    const objects = renderedWith("dev", isDestinationRule, (o) => (o["spec"].trafficPolicy.outlierDetection.consecutive5xxErrors = 3));
    expectCounterexample(only(await formalVerdicts(dev, objects), "circuit-breaker"), "no-storm");
  });

  it("checks liveness: a breaker that never admits a trial never closes (acceptance cycle)", async () => {
    const [cb] = circuitBreakerCases(objectsOf("dev"));
    const never = { ...cb!, constants: cb!.constants.map((k) => (k.name === "HALF_OPEN_TRIALS" ? { ...k, value: 0 } : k)) };
    const r = await runSpin(never);
    expect(r.status).toBe("failed");
    expect(r.property).toBe("closes (liveness)");
    expect(r.trail.some((s) => s.kind === "cycle")).toBe(true);
    expect(r.trail.some((s) => s.text === "backend recovers")).toBe(true);
  });
});

describe("configs that break the saga model", () => {
  const steps = (...s: Record<string, unknown>[]) => devWith((raw) => (raw.resilience.sagas["place-order"].steps = s));

  it("cannot undo a first step without compensation when a later step fails", async () => {
    const v = only(await formalVerdicts(steps({ service: "inventory-service", compensable: false }, { service: "payment-service" }), []), "saga");
    expectCounterexample(v, "all-or-nothing");
    expect(v.trail.map((s) => s.text)).toEqual(expect.arrayContaining(["step 1 fails", "step 0 has no compensation: the saga cannot undo it"]));
    expect(v.keys).toContain("platform:resilience.sagas.place-order.steps[0].compensable");
  });

  it("applies a redelivered command twice at a participant that does not deduplicate", async () => {
    const v = only(await formalVerdicts(steps({ service: "inventory-service", idempotent: false }, { service: "payment-service" }), []), "saga");
    expectCounterexample(v, "idempotent");
    expect(v.keys).toContain("platform:resilience.sagas.place-order.steps[0].idempotent");
  });

  it("passes a last step without compensation (the pivot)", async () => {
    const v = only(await formalVerdicts(steps({ service: "inventory-service" }, { service: "payment-service", compensable: false }), []), "saga");
    expect(v.status).toBe("passed");
  });
});

describe("npm run formal", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(__dirname, "..", "formal", "cli.ts"), ...args], { encoding: "utf8", env: process.env });

  it("renders the prod stack, passes it and ends with the tally", () => {
    const r = cli("--stack", "prod");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("PASS  "))).toHaveLength(3);
    expect(lines[lines.length - 1]).toBe("3 passed, 0 failed");
  });

  it("exits 1 on a stack file that breaks a model, naming the keys and printing the counterexample", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "formal-cli-"));
    const doc = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8"));
    doc.config["platform:resilience"].sagas["place-order"].steps[0].compensable = false;
    const file = path.join(dir, "Pulumi.broken.yaml");
    fs.writeFileSync(file, JSON.stringify(doc));
    const r = cli("--stack-file", file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}saga: place-order/m);
    expect(r.stdout).toMatch(/property all-or-nothing violated/);
    expect(r.stdout).toMatch(/config keys: .*platform:resilience\.sagas\.place-order\.steps\[0\]\.compensable/);
    expect(r.stdout).toMatch(/✗ all-or-nothing: saga ended \(not committed\), but step 0 is still applied/);
    expect(r.stdout.trim().split("\n").pop()).toBe("2 passed, 1 failed");
  });
});

describe("reporting", () => {
  it("says the check did not run when spin is missing, and never counts it as passed", async () => {
    const verdicts = await formalVerdicts(platformConfigOf(readStackConfig("dev")), objectsOf("dev"), { spin: "/nonexistent/spin" });
    expect(verdicts.map((v) => v.status)).toEqual(["not-run", "not-run", "not-run"]);
    expect(tally(verdicts)).toEqual({ passed: 0, failed: 0, notRun: 3 });
    const { title, body } = formalReportSection(verdicts);
    expect(title).toBe("Formal models");
    expect(body).toMatch(/\*\*The formal check did not run\*\*: spin is not installed/);
    expect(body).toContain("**0 passed, 0 failed, 3 not run** — a model that did not run proves nothing.");
    expect(body).not.toMatch(/mandatory violation/);
    expect(body).not.toMatch(/\| passed \|/);
  });

  it("reports a missing C compiler and a config beyond the model's bounds as not run", async () => {
    const noCc = await formalVerdicts(platformConfigOf(readStackConfig("dev")), objectsOf("dev"), { cc: "/nonexistent/cc" });
    expect(noCc.map((v) => [v.status, v.summary])).toEqual(noCc.map(() => ["not-run", "did not run: a C compiler is not installed (no /nonexistent/cc; apt-get install gcc)"]));
    const wide = devWith((raw) => {
      raw.messaging.kafka = { ...raw.messaging.kafka, combinedRoles: false, brokers: 6, topicDefaults: { ...raw.messaging.kafka.topicDefaults, replicationFactor: 6, minInsyncReplicas: 4 } };
    });
    const [mq] = messageQueueCases(wide);
    expect(mq!.outOfBounds).toBe("replication factor 6 is above the model's bound of 5");
    const r = await runSpin(mq!);
    expect([r.status, r.reason]).toEqual(["not-run", "replication factor 6 is above the model's bound of 5"]);
  });

  it("puts each failing model, its keys and its counterexample in the report section", async () => {
    const verdicts = await formalVerdicts(platformConfigOf(readStackConfig("dev")), renderedWithBoth("dev", [isMeshConfig, meshRetries(5)], [isDestinationRule, (o) => (o["spec"].trafficPolicy.retryBudget.percent = 100)]));
    const { body } = formalReportSection(verdicts);
    expect(body).toContain("**2 passed, 1 failed**");
    expect(body).toMatch(/\| circuit-breaker \| .* \| \*\*FAILED\*\*: no-storm \| .*`platform:resilience\.retries\.attempts`/);
    expect(body).toContain("Counterexample for circuit-breaker");
    expect(body).toMatch(/✗ no-storm: the retries of one failing request opened the breaker/);
  });

  it("parses spin's replay: narration gets the step and process of its printf, repeats fold", () => {
    const replay = [
      "          EVENT: breaker opens for 3 interval(s)",
      " 12:\tproc  2 (client:1) circuit-breaker.pml:80 (state 9)\t[printf('EVENT: breaker opens for %d interval(s)\\n',3)]",
      " 13:\tproc  1 (clock:1) circuit-breaker.pml:96 (state 2)\t[openLeft = (openLeft-1)]",
      "              EVENT: try 1 fails fast: breaker open",
      " 14:\tproc  2 (client:1) circuit-breaker.pml:135 (state 20)\t[printf('EVENT: try %d fails fast: breaker open\\n',tries)]",
      "              EVENT: try 1 fails fast: breaker open",
      " 15:\tproc  2 (client:1) circuit-breaker.pml:135 (state 20)\t[printf('EVENT: try %d fails fast: breaker open\\n',tries)]",
      "          VIOLATION: no-storm: example",
      " 16:\tproc  0 (:init::1) circuit-breaker.pml:70 (state 3)\t[printf('VIOLATION: no-storm: example\\n')]",
    ].join("\n");
    const trail = parseTrail(replay);
    expect(trail).toEqual([
      { step: 12, process: "client", kind: "event", text: "breaker opens for 3 interval(s)", repeat: 1 },
      { step: 14, process: "client", kind: "event", text: "try 1 fails fast: breaker open", repeat: 2 },
      { step: 16, process: "init", kind: "violation", text: "no-storm: example", repeat: 1 },
    ]);
    expect(trailLines(trail)[1]).toBe("   14  client       try 1 fails fast: breaker open (×2)");
  });
});
