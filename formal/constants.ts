/**
 * The stack config → model constants mapping. Pure: from the parsed, defaulted PlatformConfig to
 * the `spin -D` constants of each model run, each constant naming the config keys it comes from,
 * so that a failing verdict can say which keys to change.
 */
import * as path from "path";
import type { PlatformConfig } from "../config/schema";

export type ModelName = "message-queue" | "circuit-breaker" | "saga";

/** One `-D<name>=<value>` define and where its value comes from. */
export interface ModelConstant {
  readonly name: string;
  readonly value: number;
  /** Config keys below `platform:` the value is derived from; empty for model bounds and platform facts. */
  readonly keys: readonly string[];
  /** How the value is derived (shown in the report and the README table). */
  readonly why: string;
}

/** One model run: a model file and the constants of one stack's config. */
export interface ModelCase {
  readonly model: ModelName;
  /** What this run covers, e.g. the topics sharing the same replication settings, or a saga's name. */
  readonly subject: string;
  /** Absolute path of the Promela file. */
  readonly file: string;
  readonly constants: readonly ModelConstant[];
  /** The model has an LTL claim: pan searches for acceptance cycles under weak fairness. */
  readonly liveness: boolean;
  /** Why the case is outside the model's bounds (then it is reported as not run, never as passed). */
  readonly outOfBounds?: string;
}

export const MODEL_DIR = __dirname;
const modelFile = (m: ModelName) => path.join(MODEL_DIR, `${m}.pml`);

/** Bounds that keep each search small enough for CI (documented in formal/README.md). */
export const BOUNDS = {
  /** Messages the producer sends in one message-queue run. */
  messages: 2,
  /** Largest replication factor the message-queue model is run with (RF 5 takes a few seconds). */
  maxReplicationFactor: 5,
  /** Requests per retry-budget window in the circuit-breaker model. */
  retryWindow: 10,
  /** Orchestrator crashes and broker redeliveries per saga run. */
  sagaCrashes: 1,
  sagaRedeliveries: 1,
} as const;

/** Config keys involved in a case: the union of its constants' keys, in order of first use. */
export function configKeysOf(c: ModelCase): string[] {
  return [...new Set(c.constants.flatMap((k) => k.keys))];
}

/** `-DNAME=value` arguments for spin. */
export function definesOf(c: ModelCase): string[] {
  return c.constants.map((k) => `-D${k.name}=${k.value}`);
}

const constant = (name: string, value: number, keys: string[], why: string): ModelConstant => ({ name, value, keys, why });
const bool = (b: boolean) => (b ? 1 : 0);

/**
 * Message queue: one run per distinct replication setting. Each declared topic gets the defaults
 * with its own overrides; topics with the same effective numbers share a run, and the topic
 * defaults always get one (a topic declared later inherits them).
 */
export function messageQueueCases(config: PlatformConfig): ModelCase[] {
  const kafka = config.messaging.kafka;
  if (!kafka.enabled) return [];
  const base = "messaging.kafka";
  const settings = [
    { name: "topicDefaults", rf: kafka.topicDefaults.replicationFactor, minIsr: kafka.topicDefaults.minInsyncReplicas, rfKey: `${base}.topicDefaults.replicationFactor`, isrKey: `${base}.topicDefaults.minInsyncReplicas` },
    ...Object.entries(kafka.topics).map(([topic, t]) => ({
      name: topic,
      rf: t.replicationFactor ?? kafka.topicDefaults.replicationFactor,
      minIsr: t.minInsyncReplicas ?? kafka.topicDefaults.minInsyncReplicas,
      rfKey: t.replicationFactor !== undefined ? `${base}.topics.${topic}.replicationFactor` : `${base}.topicDefaults.replicationFactor`,
      isrKey: t.minInsyncReplicas !== undefined ? `${base}.topics.${topic}.minInsyncReplicas` : `${base}.topicDefaults.minInsyncReplicas`,
    })),
  ];
  const groups = new Map<string, typeof settings>();
  for (const s of settings) {
    const k = `${s.rf}/${s.minIsr}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((group) => {
    const { rf, minIsr } = group[0]!;
    const rfKeys = [...new Set(group.map((s) => s.rfKey))];
    const isrKeys = [...new Set(group.map((s) => s.isrKey))];
    const crashes = Math.max(0, rf - minIsr);
    const names = group.map((s) => s.name);
    return {
      model: "message-queue" as const,
      subject: `${names.join(", ")} (RF ${rf}, min.insync.replicas ${minIsr})`,
      file: modelFile("message-queue"),
      liveness: false,
      ...(rf > BOUNDS.maxReplicationFactor ? { outOfBounds: `replication factor ${rf} is above the model's bound of ${BOUNDS.maxReplicationFactor}` } : {}),
      constants: [
        constant("RF", rf, rfKeys, "replication factor (topic override, else topicDefaults)"),
        constant("MINISR", minIsr, isrKeys, "min.insync.replicas (topic override, else topicDefaults)"),
        constant("BROKERS", Math.min(kafka.brokers, rf), [`${base}.brokers`, ...rfKeys], "brokers hosting the partition's replicas: min(brokers, RF); replica r on broker r mod BROKERS"),
        constant("UNCLEAN", bool(kafka.uncleanLeaderElection), [`${base}.uncleanLeaderElection`], "unclean.leader.election.enable"),
        constant("ACKS_ALL", 1, [], "platform fact: the platform injects acks=all into every producer"),
        constant("CRASHES", crashes, [...rfKeys, ...isrKeys], "broker crashes in a run: RF - min.insync.replicas, the failures the topic claims to tolerate"),
        constant("MSGS", BOUNDS.messages, [], "model bound: messages produced per run"),
      ],
    };
  });
}

/** Circuit breaker with retries: the one resilience policy the mesh and the gateway share. */
export function circuitBreakerCases(config: PlatformConfig): ModelCase[] {
  const { retries, circuitBreaker: cb } = config.resilience;
  const r = "resilience.retries";
  const b = "resilience.circuitBreaker";
  return [
    {
      model: "circuit-breaker",
      subject: "resilience.retries + resilience.circuitBreaker (configured; not yet deployed)",
      file: modelFile("circuit-breaker"),
      liveness: true,
      constants: [
        constant("THRESHOLD", cb.consecutiveErrors, [`${b}.consecutiveErrors`], "consecutive failures that eject the host (open the breaker)"),
        constant("OPEN_TICKS", Math.ceil(cb.baseEjectionSeconds / cb.intervalSeconds), [`${b}.baseEjectionSeconds`, `${b}.intervalSeconds`], "ejection time in outlier-detection intervals, rounded up (the interval sweep un-ejects)"),
        constant("RETRIES", retries.attempts, [`${r}.attempts`], "retries per request"),
        constant("WINDOW", BOUNDS.retryWindow, [], "model bound: requests per retry-budget window"),
        constant("RETRY_TOKENS", Math.floor((retries.budgetPercent * BOUNDS.retryWindow) / 100), [`${r}.budgetPercent`], "retries the budget admits per window: budgetPercent of WINDOW, rounded down"),
        constant("HALF_OPEN_TRIALS", cb.consecutiveErrors, [`${b}.consecutiveErrors`], "an un-ejected host is ejected again after consecutiveErrors more failures"),
        constant("SUCCESS_THRESHOLD", 1, [], "platform fact: one success resets the outlier detector's consecutive-error count"),
      ],
    },
  ];
}

/** Sagas: one run per declared saga. */
export function sagaCases(config: PlatformConfig): ModelCase[] {
  return Object.entries(config.resilience.sagas).map(([name, saga]) => {
    const at = `resilience.sagas.${name}`;
    const mask = (pick: (s: (typeof saga.steps)[number]) => boolean) => saga.steps.reduce((m, s, i) => (pick(s) ? m | (1 << i) : m), 0);
    return {
      model: "saga" as const,
      subject: `${name} (${saga.orchestrator}: ${saga.steps.map((s) => s.service).join(" → ")})`,
      file: modelFile("saga"),
      liveness: true,
      constants: [
        constant("N", saga.steps.length, [`${at}.steps`], "steps of the saga"),
        constant("COMPENSABLE", mask((s) => s.compensable), saga.steps.map((_, i) => `${at}.steps[${i}].compensable`), "bit i: step i has a compensation"),
        constant("IDEMPOTENT", mask((s) => s.idempotent), saga.steps.map((_, i) => `${at}.steps[${i}].idempotent`), "bit i: step i's participant deduplicates commands"),
        constant("CRASHES", BOUNDS.sagaCrashes, [], "model bound: orchestrator crashes per run"),
        constant("REDELIVERIES", BOUNDS.sagaRedeliveries, [], "model bound: duplicate deliveries by the broker per run"),
      ],
    };
  });
}

/** Every model run for a stack, in report order. */
export function modelCases(config: PlatformConfig): ModelCase[] {
  return [...messageQueueCases(config), ...circuitBreakerCases(config), ...sagaCases(config)];
}
