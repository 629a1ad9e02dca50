/**
 * Resilience as plain data: from the validated config to the effective timeout, retries,
 * connection pool and circuit breaker of every declared call and every exposure, each value with
 * where it comes from (the stack default, an override, or derived from the call graph). The mesh
 * and the gateway render exactly these (components/mesh/traffic.ts, components/gateway/routing.ts),
 * config validation checks them (resilienceRules) and the report lists them.
 */
import type { ConfigProblem, PlatformConfig } from "./schema";

type Config = Pick<PlatformConfig, "services" | "resilience" | "gateway" | "mesh">;
type RetryCondition = PlatformConfig["resilience"]["retries"]["retryOn"][number];

/** Conditions after which the request cannot have reached the application: safe to retry for any method. */
export const RETRY_SAFE: readonly RetryCondition[] = ["connect-failure", "refused-stream", "reset-before-request"];
/** Methods a retry may replay with a different effect (gRPC calls are all POST). */
const NON_IDEMPOTENT = ["POST", "PATCH"];

/** Where a value comes from, as the config key that set it (below `platform:`). */
export interface Sourced<T> {
  readonly value: T;
  readonly key: string;
  /** default: the stack-wide key; override: a service's own key; derived: from the call graph. */
  readonly source: "default" | "override" | "derived";
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs: number;
  readonly backoffMs: number;
  readonly retryOn: readonly RetryCondition[];
  readonly budgetPercent: number;
  readonly budgetMinConcurrency: number;
}
export type ConnectionPool = PlatformConfig["resilience"]["connectionPool"];
export type CircuitBreaker = PlatformConfig["resilience"]["circuitBreaker"];

/** A destination's protection: the same at its waypoint and at the gateway. */
export interface DestinationPolicy {
  readonly service: string;
  readonly connectionPool: Sourced<ConnectionPool>;
  readonly circuitBreaker: Sourced<CircuitBreaker>;
}

/** One declared call's effective policy (east-west, at the called service's waypoint). */
export interface CallPolicy {
  readonly from: string;
  readonly to: string;
  /** Index in services.<from>.calls. */
  readonly index: number;
  readonly timeoutMs: Sourced<number>;
  readonly retries: Sourced<RetryPolicy>;
  readonly retryNonIdempotent: boolean;
  /** The call may use a method a retry could replay with effect (POST, PATCH, any gRPC call, or methods undeclared). */
  readonly mayBeNonIdempotent: boolean;
}

/** One exposure's effective policy at the gateway. */
export interface ExposurePolicy {
  readonly service: string;
  readonly timeoutMs: Sourced<number>;
  readonly retries: Sourced<RetryPolicy>;
  readonly retryNonIdempotent: boolean;
}

export interface ResiliencePlan {
  readonly calls: readonly CallPolicy[];
  readonly exposures: readonly ExposurePolicy[];
  /** Every service something calls or the gateway reaches, by name. */
  readonly destinations: ReadonlyMap<string, DestinationPolicy>;
  /** Longest chain of declared calls below each service (cycles cut), which scales default timeouts. */
  readonly height: ReadonlyMap<string, number>;
  /** Services on a call cycle with each other: pairs `a>b` of calls inside one cycle. */
  readonly cyclic: ReadonlySet<string>;
}

const defined = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Strongly connected components of the call graph (Tarjan), as a component id per service. */
function components(edges: ReadonlyMap<string, readonly string[]>): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const comp = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  let next = 0;
  let ids = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        comp.set(w, ids);
        if (w === v) break;
      }
      ids++;
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return comp;
}

/** The effective resilience of every call, exposure and destination. Pure. */
export function resiliencePlan(cfg: Config): ResiliencePlan {
  const r = cfg.resilience;
  const names = Object.keys(cfg.services).sort();
  const edges = new Map(names.map((n) => [n, [...new Set(cfg.services[n]!.calls.map((c) => c.service).filter((t) => t in cfg.services))]]));
  const comp = components(edges);
  const cyclic = new Set<string>();
  for (const [from, tos] of edges) for (const to of tos) if (comp.get(from) === comp.get(to)) cyclic.add(`${from}>${to}`);
  // Height over the graph of components (the condensation, which has no cycles): a cycle counts as one level.
  const compHeight = new Map<number, number>();
  const heightOfComp = (k: number): number => {
    if (compHeight.has(k)) return compHeight.get(k)!;
    let h = 0;
    for (const n of names) {
      if (comp.get(n) !== k) continue;
      for (const t of edges.get(n) ?? []) if (comp.get(t) !== k) h = Math.max(h, 1 + heightOfComp(comp.get(t)!));
    }
    compHeight.set(k, h);
    return h;
  };
  const height = new Map(names.map((n) => [n, heightOfComp(comp.get(n)!)]));

  const stackRetries: RetryPolicy = { ...r.retries };
  const defaultTimeout = (to: string): Sourced<number> => ({ value: r.timeoutMs * (1 + (height.get(to) ?? 0)), key: "resilience.timeoutMs", source: height.get(to) ? "derived" : "default" });
  const retriesFrom = (over: Partial<RetryPolicy> | undefined, key: string): Sourced<RetryPolicy> => {
    const o = defined(over);
    return Object.keys(o).length ? { value: { ...stackRetries, ...o }, key, source: "override" } : { value: stackRetries, key: "resilience.retries", source: "default" };
  };

  const calls: CallPolicy[] = [];
  for (const from of names) {
    cfg.services[from]!.calls.forEach((c, index) => {
      const to = cfg.services[c.service];
      if (!to) return;
      const at = `services.${from}.calls[${index}]`;
      calls.push({
        from,
        to: c.service,
        index,
        timeoutMs: c.timeoutMs !== undefined ? { value: c.timeoutMs, key: `${at}.timeoutMs`, source: "override" } : defaultTimeout(c.service),
        // East-west retries are mesh-wide; a per-call override is refused by resilienceRules.
        retries: { value: stackRetries, key: "resilience.retries", source: "default" },
        retryNonIdempotent: c.retryNonIdempotent,
        mayBeNonIdempotent: to.protocol === "grpc" || !c.methods || c.methods.some((m) => NON_IDEMPOTENT.includes(m)),
      });
    });
  }
  const exposures: ExposurePolicy[] = names.flatMap((n) => {
    const e = cfg.services[n]!.expose;
    if (!e) return [];
    const at = `services.${n}.expose.resilience`;
    return [
      {
        service: n,
        timeoutMs: e.resilience?.timeoutMs !== undefined ? { value: e.resilience.timeoutMs, key: `${at}.timeoutMs`, source: "override" as const } : defaultTimeout(n),
        retries: retriesFrom(e.resilience?.retries, `${at}.retries`),
        retryNonIdempotent: e.resilience?.retryNonIdempotent ?? false,
      },
    ];
  });
  const destinations = new Map<string, DestinationPolicy>();
  for (const n of new Set([...calls.map((c) => c.to), ...exposures.map((e) => e.service)])) {
    const own = cfg.services[n]!.resilience;
    const pool = defined(own?.connectionPool);
    const cb = defined(own?.circuitBreaker);
    const at = `services.${n}.resilience`;
    destinations.set(n, {
      service: n,
      connectionPool: Object.keys(pool).length ? { value: { ...r.connectionPool, ...pool }, key: `${at}.connectionPool`, source: "override" } : { value: r.connectionPool, key: "resilience.connectionPool", source: "default" },
      circuitBreaker: Object.keys(cb).length ? { value: { ...r.circuitBreaker, ...cb }, key: `${at}.circuitBreaker`, source: "override" } : { value: r.circuitBreaker, key: "resilience.circuitBreaker", source: "default" },
    });
  }
  return { calls, exposures, destinations, height, cyclic };
}

/**
 * Longest time the retries of one request can take: every try runs to its per-try timeout and
 * every backoff to its ceiling (Envoy: the n-th retry waits up to (2^n - 1) × base, capped at 10 × base).
 */
export function worstRetryMs(p: RetryPolicy): number {
  let backoff = 0;
  for (let n = 1; n <= p.attempts; n++) backoff += Math.min((2 ** n - 1) * p.backoffMs, 10 * p.backoffMs);
  return (1 + p.attempts) * p.perTryTimeoutMs + backoff;
}

/** The retry conditions after which the request may have run in the application. */
export const unsafeConditions = (p: RetryPolicy): RetryCondition[] => p.retryOn.filter((c) => !RETRY_SAFE.includes(c));

/** Traefik's retry middleware: which conditions it can express, and how. */
export const TRAEFIK_RETRY: Partial<Record<RetryCondition, { network?: true; status?: string }>> = {
  "connect-failure": { network: true },
  "refused-stream": { network: true },
  "reset-before-request": { network: true },
  "5xx": { status: "500-599" },
  "gateway-error": { status: "502-504" },
  "retriable-4xx": { status: "409" },
};

const keyPath = (k: string): (string | number)[] => k.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== "").map((x) => (/^\d+$/.test(x) ? Number(x) : x));

/**
 * The invariants of issue 18, each naming its keys: retries fit in the timeout; timeouts shrink
 * along every call chain; no replay of non-idempotent requests without opt-in; one failing request
 * cannot eject a healthy host; nothing set that the mesh or the chosen gateway cannot deploy.
 */
export function resilienceRules(cfg: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (key: string, message: string, got: unknown, expected: string) => out.push({ path: keyPath(key), message, got, expected });
  const plan = resiliencePlan(cfg);
  const traefik = cfg.gateway.implementation === "traefik";

  // What nothing deploys.
  for (const [name, s] of Object.entries(cfg.services)) {
    s.calls.forEach((c, i) => {
      const at = `services.${name}.calls[${i}]`;
      if (c.retries !== undefined) add(`${at}.retries`, "east-west retries are mesh-wide (istiod's defaultHttpRetryPolicy): a per-call retry needs HTTPRoute `retry`, which the standard-channel Gateway API CRDs installed here do not have (GEP-1731, experimental)", c.retries, "resilience.retries for every call, or no retries on the call");
      if (!cfg.mesh.enabled && c.timeoutMs !== undefined) add(`${at}.timeoutMs`, "mesh.enabled is false: no waypoint carries east-west timeouts", c.timeoutMs, "mesh.enabled: true, or no per-call timeout");
    });
    if (s.resilience && !plan.destinations.has(name)) add(`services.${name}.resilience`, "nothing calls or exposes this service, so no waypoint or gateway carries its connection pool or circuit breaker", s.resilience, "an override only on a called or exposed service");
    else if (s.resilience && !cfg.mesh.enabled && (!s.expose || traefik || !cfg.gateway.enabled)) add(`services.${name}.resilience`, `with mesh.enabled false only Envoy Gateway deploys a destination's pool and breaker, and ${!s.expose ? "this service is not exposed" : "the gateway is not Envoy Gateway"}`, s.resilience, "mesh.enabled: true or an exposure through gateway.implementation envoy");
    const er = s.expose?.resilience;
    if (er && traefik) {
      const at = `services.${name}.expose.resilience`;
      if (er.timeoutMs !== undefined) add(`${at}.timeoutMs`, "Traefik 3.7 ignores HTTPRoute timeouts (traefik/traefik#11902) and has no per-route request timeout; it only bounds the retry phase with the exposure's timeout", er.timeoutMs, "no timeoutMs with gateway.implementation traefik (envoy has it)");
      if (er.retries?.perTryTimeoutMs !== undefined) add(`${at}.retries.perTryTimeoutMs`, "Traefik's retry middleware has no per-try timeout", er.retries.perTryTimeoutMs, "no perTryTimeoutMs with gateway.implementation traefik (envoy has it)");
    }
  }

  // Callers of one service share its route at the waypoint: one timeout.
  const byTarget = new Map<string, CallPolicy[]>();
  for (const c of plan.calls) byTarget.set(c.to, [...(byTarget.get(c.to) ?? []), c]);
  for (const [to, cs] of byTarget) {
    const explicit = cs.filter((c) => c.timeoutMs.source === "override");
    const first = explicit[0];
    for (const c of cs) {
      if (first && c !== first && c.timeoutMs.value !== first.timeoutMs.value) {
        add(c.timeoutMs.key === "resilience.timeoutMs" ? `services.${c.from}.calls[${c.index}].timeoutMs` : c.timeoutMs.key, `calls to ${to} share one route at its waypoint, and ${first.timeoutMs.key} gives it ${first.timeoutMs.value} ms`, c.timeoutMs.value, `${first.timeoutMs.value} (the same for every caller of ${to})`);
      }
    }
  }

  // Retries within the timeout, per call and per exposure: one line per key, naming every route it breaks.
  const tooLong = new Map<string, { what: string; timeout: Sourced<number>; retries: Sourced<RetryPolicy>; worst: number }[]>();
  const retryFits = (timeout: Sourced<number>, retries: Sourced<RetryPolicy>, what: string) => {
    const worst = worstRetryMs(retries.value);
    if (worst <= timeout.value) return;
    const key = timeout.source === "override" ? timeout.key : `${retries.key}.perTryTimeoutMs`;
    tooLong.set(key, [...(tooLong.get(key) ?? []), { what, timeout, retries, worst }]);
  };
  if (cfg.mesh.enabled) for (const c of plan.calls) retryFits(c.timeoutMs, c.retries, `the call ${c.from} → ${c.to}`);
  // Traefik has no per-try timeout and no request timeout: its tries are not bounded this way.
  if (!traefik) for (const e of plan.exposures) retryFits(e.timeoutMs, e.retries, `the exposure of ${e.service}`);
  for (const [key, items] of tooLong) {
    const { retries, worst, timeout } = items[0]!;
    const where = items.map((i) => `${i.what}: ${i.timeout.value} ms (${i.timeout.key})`).join("; ");
    const needed = Math.max(...items.map((i) => i.worst));
    add(key, `${1 + retries.value.attempts} tries of ${retries.value.perTryTimeoutMs} ms plus backoff take up to ${worst} ms, longer than the timeout of ${where}, so the last retries never finish`, timeout.source === "override" ? timeout.value : retries.value.perTryTimeoutMs, `a timeout of at least ${needed} ms, or fewer or shorter tries (${retries.key})`);
  }

  // Timeouts shrink along every call chain (and below each exposure); calls inside one cycle are exempt.
  const callsFrom = new Map<string, CallPolicy[]>();
  for (const c of plan.calls) callsFrom.set(c.from, [...(callsFrom.get(c.from) ?? []), c]);
  const outer: { into: string; timeout: Sourced<number>; what: string }[] = [
    ...plan.calls.map((c) => ({ into: c.to, timeout: c.timeoutMs, what: `the call ${c.from} → ${c.to}` })),
    ...plan.exposures.map((e) => ({ into: e.service, timeout: e.timeoutMs, what: `the exposure of ${e.service}` })),
  ];
  for (const o of outer) {
    for (const inner of callsFrom.get(o.into) ?? []) {
      if (plan.cyclic.has(`${inner.from}>${inner.to}`)) continue;
      if (inner.timeoutMs.value >= o.timeout.value) {
        const key = inner.timeoutMs.source === "override" ? inner.timeoutMs.key : o.timeout.key;
        add(key, `${inner.from} → ${inner.to} may take ${inner.timeoutMs.value} ms (${inner.timeoutMs.key}) but its caller gives up after ${o.timeout.value} ms (${o.what}, ${o.timeout.key}): a caller's timeout must exceed its callees'`, key === inner.timeoutMs.key ? inner.timeoutMs.value : o.timeout.value, key === inner.timeoutMs.key ? `below ${o.timeout.value}` : `above ${inner.timeoutMs.value}`);
      }
    }
  }

  // No replay of non-idempotent requests without opt-in.
  if (cfg.mesh.enabled) {
    for (const c of plan.calls) {
      const unsafe = unsafeConditions(c.retries.value);
      if (c.retries.value.attempts > 0 && unsafe.length && c.mayBeNonIdempotent && !c.retryNonIdempotent) {
        add(`services.${c.from}.calls[${c.index}]`, `the mesh retries on ${unsafe.join(", ")} (${c.retries.key}.retryOn), after which the request may have run, and this call may use POST/PATCH${cfg.services[c.to]!.protocol === "grpc" ? " (every gRPC call is a POST)" : " (methods not limited to idempotent ones)"}`, c.to, "methods: [GET, HEAD, PUT, DELETE, OPTIONS] only, retryNonIdempotent: true on the call, or retryOn only connect-failure, refused-stream, reset-before-request");
      }
    }
  }
  for (const e of plan.exposures) {
    const unsafe = unsafeConditions(e.retries.value);
    if (e.retries.value.attempts > 0 && unsafe.length && !e.retryNonIdempotent) {
      add(`services.${e.service}.expose.resilience.retryNonIdempotent`, `the gateway retries this route on ${unsafe.join(", ")} (${e.retries.key}.retryOn), after which the request may have run, and a route takes any method`, false, "true (replaying POST/PATCH is safe for this service), or retryOn only connect-failure, refused-stream, reset-before-request");
    }
    if (traefik) {
      const bad = e.retries.value.retryOn.filter((c) => !TRAEFIK_RETRY[c]);
      if (bad.length && e.retries.value.attempts > 0) add(`${e.retries.key}.retryOn`, `Traefik's retry middleware retries on network errors and status codes only, not on ${bad.join(", ")}`, bad, `conditions among ${Object.keys(TRAEFIK_RETRY).join(", ")} with gateway.implementation traefik`);
    }
  }

  // One failing request must not eject a healthy host: its tries stay below the ejection threshold.
  // One line per breaker key, naming every route that reaches it.
  const ejecting = new Map<string, { what: string; tries: number; retries: Sourced<RetryPolicy>; threshold: number }[]>();
  const ejects = (retries: Sourced<RetryPolicy>, to: string, what: string) => {
    const d = plan.destinations.get(to);
    if (!d) return;
    const tries = 1 + retries.value.attempts;
    const key = `${d.circuitBreaker.key}.consecutiveErrors`;
    if (tries >= d.circuitBreaker.value.consecutiveErrors) ejecting.set(key, [...(ejecting.get(key) ?? []), { what, tries, retries, threshold: d.circuitBreaker.value.consecutiveErrors }]);
  };
  const seen = new Set<string>();
  if (cfg.mesh.enabled) for (const c of plan.calls) if (!seen.has(c.to)) (seen.add(c.to), ejects(c.retries, c.to, `a call to ${c.to}`));
  if (!traefik) for (const e of plan.exposures) ejects(e.retries, e.service, `the gateway route of ${e.service}`);
  for (const [key, items] of ejecting) {
    const tries = Math.max(...items.map((i) => i.tries));
    const retryKeys = [...new Set(items.map((i) => `${i.retries.key}.attempts`))].join(", ");
    add(key, `${items.map((i) => i.what).join(", ")} ${items.length > 1 ? "make" : "makes"} up to ${tries} tries (${retryKeys} + 1), so one failing request can eject a healthy host after ${items[0]!.threshold} consecutive errors`, items[0]!.threshold, `more than ${tries}, or fewer attempts`);
  }
  // One line per mistake: the same key and message found twice (mesh and gateway) is one.
  const once = new Set<string>();
  return out.filter((p) => !once.has(`${p.path.join(".")}|${p.message}`) && !!once.add(`${p.path.join(".")}|${p.message}`));
}

/**
 * The Kafka topics a declared saga runs on (orchestration, as in Eventuate Tram or Temporal's
 * Kafka bridge): one command topic per participant, one reply topic for the orchestrator, one
 * dead-letter topic where a consumer parks a message it gave up on. A step on the orchestrator
 * itself is local and needs no topic.
 */
export function sagaTopics(name: string, saga: PlatformConfig["resilience"]["sagas"][string]): { commands: Record<string, string>; replies: string; deadLetter: string } {
  const participants = [...new Set(saga.steps.map((s) => s.service).filter((s) => s !== saga.orchestrator))];
  return {
    commands: Object.fromEntries(participants.map((p) => [p, `saga.${name}.${p}.commands`])),
    replies: `saga.${name}.replies`,
    deadLetter: `saga.${name}.dead-letter`,
  };
}

/** Every saga topic of a stack, sorted. */
export function allSagaTopics(sagas: PlatformConfig["resilience"]["sagas"]): string[] {
  return Object.entries(sagas)
    .flatMap(([n, s]) => {
      const t = sagaTopics(n, s);
      return [...Object.values(t.commands), t.replies, t.deadLetter];
    })
    .sort();
}
