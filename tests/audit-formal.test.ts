import { parsePlatformConfig, platformKeysOf } from "../config/load";
import { auditFormal, formalViolations } from "../audit/formal";
import { main as audit } from "../audit/cli";
import type { Verdicts } from "../audit/verdicts";
import { formalVerdicts } from "../formal/verdicts";
import { Rendered, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";

const empty: Verdicts = { records: [], stack: [], mandatory: 0, advisory: 0 };

// The circuit-breaker model reads the render: prod is rendered once, charts included.
let prod: Rendered;
beforeAll(async () => {
  prod = await renderStack("prod");
}, 240_000);

describe("formal models in the audit", () => {
  it("turn a configuration that fails a model into a mandatory violation naming the model and its config keys", async () => {
    // dev with three brokers and RF 2 / min.insync.replicas 1: one crash loses an acknowledged message.
    const raw = platformKeysOf(readStackConfig("dev")) as Record<string, any>;
    raw.messaging.kafka = { ...raw.messaging.kafka, combinedRoles: false, brokers: 3, controllers: 3, topicDefaults: { ...raw.messaging.kafka.topicDefaults, replicationFactor: 2, minInsyncReplicas: 1 } };
    const v = await auditFormal(empty, parsePlatformConfig(raw), []);
    expect(v.mandatory).toBe(v.stack.length);
    const mq = v.stack.filter((x) => x.policy === "formal-message-queue");
    expect(mq).toHaveLength(1);
    expect(mq[0]).toMatchObject({ enforcementLevel: "mandatory" });
    expect(mq[0]!.message).toMatch(/durable violated/);
    expect(mq[0]!.message).toContain("platform:messaging.kafka.topicDefaults.minInsyncReplicas");
  });

  it("add nothing for a stack whose models pass", async () => {
    const raw = platformKeysOf(readStackConfig("prod")) as Record<string, any>;
    const verdicts = await formalVerdicts(parsePlatformConfig(raw), prod.running.objects);
    expect(verdicts.map((x) => x.model)).toEqual(["message-queue", "circuit-breaker", "saga"]);
    expect(verdicts.every((x) => x.passed)).toBe(true);
    expect(formalViolations(verdicts)).toEqual([]);
  });

  it("count a model that could not run as a failure, never a pass", () => {
    const notRun = [{ model: "saga" as const, subject: "saga place-order", status: "not-run" as const, passed: false, keys: ["platform:resilience.sagas"], constants: [], summary: "did not run: spin not found", trail: [] }];
    expect(formalViolations(notRun)).toEqual([{ policy: "formal-saga", enforcementLevel: "mandatory", message: "saga place-order: not-run: did not run: spin not found [config keys: platform:resilience.sagas]" }]);
  });

  it("npm run audit -- --stack prod runs them and stays at zero mandatory violations", async () => {
    let out = "";
    const code = await audit(["--stack", "prod"], (s) => void (out += s), () => undefined);
    expect(code).toBe(0);
    expect(out).toMatch(/ 0 mandatory, \d+ advisory violation/);
  });
});
