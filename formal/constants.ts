/**
 * The stack → model constants mapping. Pure: the message-queue and saga constants from the parsed,
 * defaulted PlatformConfig; the circuit-breaker constants from the rendered objects that carry
 * them (what the mesh and the gateway will do). Each constant names the config keys it comes
 * from, so that a failing verdict can say which keys to change.
 */
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { resiliencePlan } from "../config/resilience";
import { PLATFORM_NAMESPACES, PlatformConfig } from "../config/schema";
import type { K8sObject } from "../components/core/objects";
import { durationMs } from "../components/shared/duration";

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

/** The mesh-wide retry policy as istiod will read it: the `istio` ConfigMap its chart renders (data.mesh). */
export function renderedMeshRetry(objects: readonly K8sObject[]): { attempts: number } | undefined {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "istio" && o.metadata.namespace === PLATFORM_NAMESPACES.mesh) as { data?: { mesh?: string } } | undefined;
  if (!cm?.data?.mesh) return undefined;
  const mesh = parseYaml(cm.data.mesh) as { defaultHttpRetryPolicy?: { attempts?: number } } | null;
  // Istio's own default when the mesh config names none: 2 retries.
  return { attempts: mesh?.defaultHttpRetryPolicy?.attempts ?? 2 };
}

const PLATFORM_LABEL = "app.kubernetes.io/part-of";

/**
 * Circuit breaker with retries, from the rendered objects: what the waypoints (DestinationRules and
 * istiod's mesh-wide retry policy) and Envoy Gateway (BackendTrafficPolicies) will really do. One
 * run per distinct set of constants; the subject lists the objects it covers. Traefik has no
 * outlier detection (its routes are not modelled; the report says so). `keyOf` names the config
 * key behind an object's breaker (config/resilience.ts), for the verdict.
 */
export function circuitBreakerCases(objects: readonly K8sObject[], keyOf: (o: K8sObject) => { breaker: string; retries: string } = () => ({ breaker: "resilience.circuitBreaker", retries: "resilience.retries" })): ModelCase[] {
  interface Found { subject: string; threshold: number; openTicks: number; retries: number; tokens: number; keys: { breaker: string; retries: string } }
  const found: Found[] = [];
  const ticks = (ejection: string, interval: string) => Math.ceil(durationMs(ejection) / durationMs(interval));
  const tokens = (percent: number) => Math.floor((percent * BOUNDS.retryWindow) / 100);
  const mesh = renderedMeshRetry(objects);
  for (const o of objects) {
    if (o.metadata.labels?.[PLATFORM_LABEL] !== "platform") continue;
    const spec = o["spec"] as any;
    if (o.kind === "DestinationRule" && spec?.trafficPolicy?.outlierDetection) {
      const od = spec.trafficPolicy.outlierDetection;
      found.push({
        subject: `DestinationRule ${o.metadata.namespace}/${o.metadata.name}${mesh ? "" : " (mesh retry policy not in the render)"}`,
        threshold: od.consecutive5xxErrors,
        openTicks: ticks(od.baseEjectionTime, od.interval),
        retries: mesh?.attempts ?? -1,
        tokens: tokens(spec.trafficPolicy.retryBudget?.percent ?? 100),
        keys: keyOf(o),
      });
    }
    if (o.kind === "BackendTrafficPolicy" && spec?.healthCheck?.passive) {
      const p = spec.healthCheck.passive;
      const budget = spec.circuitBreaker?.retryBudget?.percent;
      found.push({
        subject: `BackendTrafficPolicy ${o.metadata.namespace}/${o.metadata.name}`,
        threshold: p.consecutive5XxErrors,
        openTicks: ticks(p.baseEjectionTime, p.interval),
        retries: spec.retry?.numRetries ?? 2,
        tokens: tokens(budget ? (100 * budget.numerator) / (budget.denominator ?? 100) : 100),
        keys: keyOf(o),
      });
    }
  }
  const groups = new Map<string, Found[]>();
  for (const f of found) {
    const k = `${f.threshold}/${f.openTicks}/${f.retries}/${f.tokens}`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  return [...groups.values()].map((g) => {
    const f = g[0]!;
    const breakerKeys = [...new Set(g.map((x) => x.keys.breaker))];
    const retryKeys = [...new Set(g.map((x) => x.keys.retries))];
    return {
      model: "circuit-breaker" as const,
      subject: g.map((x) => x.subject).join(", "),
      file: modelFile("circuit-breaker"),
      liveness: true,
      ...(f.retries < 0 ? { outOfBounds: "the mesh's retry policy (istiod's `istio` ConfigMap) is not in the render: charts were not expanded" } : {}),
      constants: [
        constant("THRESHOLD", f.threshold, breakerKeys.map((k) => `${k}.consecutiveErrors`), "consecutive 5xx that eject the host: outlierDetection.consecutive5xxErrors / healthCheck.passive.consecutive5XxErrors"),
        constant("OPEN_TICKS", f.openTicks, breakerKeys.flatMap((k) => [`${k}.baseEjectionSeconds`, `${k}.intervalSeconds`]), "rendered baseEjectionTime in rendered intervals, rounded up (the interval sweep un-ejects)"),
        constant("RETRIES", Math.max(0, f.retries), retryKeys.map((k) => `${k}.attempts`), "retries per request: istiod's defaultHttpRetryPolicy.attempts (waypoints) / retry.numRetries (Envoy Gateway)"),
        constant("WINDOW", BOUNDS.retryWindow, [], "model bound: requests per retry-budget window"),
        constant("RETRY_TOKENS", f.tokens, retryKeys.map((k) => `${k}.budgetPercent`), "retries the rendered retryBudget admits per window: its percent of WINDOW, rounded down"),
        constant("HALF_OPEN_TRIALS", f.threshold, breakerKeys.map((k) => `${k}.consecutiveErrors`), "an un-ejected host is ejected again after as many more consecutive failures"),
        constant("SUCCESS_THRESHOLD", 1, [], "platform fact: one success resets Envoy's consecutive-error count"),
      ],
    };
  });
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

/** The config keys behind a rendered breaker: the destination's or exposure's (config/resilience.ts). */
export function resilienceKeys(config: PlatformConfig): (o: K8sObject) => { breaker: string; retries: string } {
  const plan = resiliencePlan(config);
  return (o) => {
    const service = o.metadata.labels?.["app.kubernetes.io/name"] ?? o.metadata.name;
    const breaker = plan.destinations.get(service)?.circuitBreaker.key ?? "resilience.circuitBreaker";
    const retries = o.kind === "BackendTrafficPolicy" ? plan.exposures.find((e) => e.service === o.metadata.name)?.retries.key ?? "resilience.retries" : "resilience.retries";
    return { breaker, retries };
  };
}

/** Every model run for a stack, in report order: the queue and saga models from the config, the breaker from the render. */
export function modelCases(config: PlatformConfig, objects: readonly K8sObject[]): ModelCase[] {
  return [...messageQueueCases(config), ...circuitBreakerCases(objects, resilienceKeys(config)), ...sagaCases(config)];
}
