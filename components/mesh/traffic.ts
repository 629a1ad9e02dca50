/**
 * East-west resilience as plain data, where ambient mode handles it: at the called service's
 * waypoint (docs/mesh.md "Timeouts, retries and circuit breaking").
 *
 * - a Gateway API HTTPRoute attached to each called Service (GAMMA: parentRef kind Service) with
 *   the calls' request timeout. It is also what makes the waypoint apply the mesh's retry policy
 *   (Istio 1.30 applies defaultHttpRetryPolicy only to routes of an HTTPRoute: istio/istio#60682).
 *   gRPC services get an HTTPRoute too: GRPCRoute has no timeouts, and the waypoint's route is HTTP/2 either way.
 * - a DestinationRule per called service: connection pool, outlier detection (the circuit breaker)
 *   and the retry budget, which waypoints apply to the traffic they send (Istio: "DestinationRule
 *   traffic policies are supported by waypoints").
 * - retries themselves: mesh-wide, istiod's meshConfig.defaultHttpRetryPolicy (meshRetryPolicy),
 *   since HTTPRoute `retry` is only in the experimental channel (GEP-1731).
 */
import type { DestinationPolicy, ResiliencePlan, RetryPolicy } from "../../config/resilience";
import type { K8sObject } from "../core/objects";
import { apiDuration } from "../shared/duration";
import type { ServiceGraph } from "../service-graph";
import { PLATFORM_LABELS } from "../shared/labels";

const labels = PLATFORM_LABELS;

/** Name of the mesh route of a service (its gateway route has the service's own name, in the same namespace). */
export const meshRouteName = (service: string): string => `${service}-mesh`;

/** istiod's meshConfig.defaultHttpRetryPolicy for resilience.retries. */
export function meshRetryPolicy(r: RetryPolicy): Record<string, unknown> {
  if (r.attempts === 0) return { attempts: 0 };
  return { attempts: r.attempts, perTryTimeout: apiDuration(r.perTryTimeoutMs), retryOn: r.retryOn.join(","), backoff: apiDuration(r.backoffMs) };
}

/** The DestinationRule traffic policy of one destination. */
export function destinationTrafficPolicy(d: DestinationPolicy, retries: RetryPolicy): Record<string, unknown> {
  const pool = d.connectionPool.value;
  const cb = d.circuitBreaker.value;
  return {
    connectionPool: { tcp: { maxConnections: pool.maxConnections }, http: { http1MaxPendingRequests: pool.maxPendingRequests, http2MaxRequests: pool.maxRequests } },
    outlierDetection: { consecutive5xxErrors: cb.consecutiveErrors, interval: apiDuration(cb.intervalSeconds * 1000), baseEjectionTime: apiDuration(cb.baseEjectionSeconds * 1000), maxEjectionPercent: cb.maxEjectionPercent },
    retryBudget: { percent: retries.budgetPercent, minRetryConcurrency: retries.budgetMinConcurrency },
  };
}

/** The mesh route and DestinationRule of every called service. */
export function meshTrafficObjects(graph: ServiceGraph, plan: ResiliencePlan): K8sObject[] {
  const out: K8sObject[] = [];
  const byName = new Map(graph.services.map((s) => [s.name, s]));
  const called = [...new Set(plan.calls.map((c) => c.to))].sort();
  for (const name of called) {
    const s = byName.get(name)!;
    const calls = plan.calls.filter((c) => c.to === name);
    // One timeout per route; config validation makes the callers agree (config/resilience.ts).
    const timeout = calls.find((c) => c.timeoutMs.source === "override")?.timeoutMs.value ?? calls[0]!.timeoutMs.value;
    out.push({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: meshRouteName(name), namespace: s.namespace, labels: { ...labels, "app.kubernetes.io/name": name } },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name, port: s.port }],
        rules: [{ backendRefs: [{ name, port: s.port }], timeouts: { request: apiDuration(timeout) } }],
      },
    });
    out.push({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name, namespace: s.namespace, labels: { ...labels, "app.kubernetes.io/name": name } },
      spec: { host: s.host, trafficPolicy: destinationTrafficPolicy(plan.destinations.get(name)!, calls[0]!.retries.value) },
    });
  }
  return out;
}
