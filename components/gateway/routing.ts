/**
 * The gateway area as plain data: pure functions from the validated config and the service graph
 * to the Gateway API objects and each implementation's native policy objects. The components in
 * this folder only register what these return, so tests check routing without any runtime.
 *
 * One user-facing feature set, two implementations:
 *
 * | feature            | Traefik                                      | Envoy Gateway                                  |
 * |--------------------|----------------------------------------------|------------------------------------------------|
 * | HTTP → HTTPS       | HTTPRoute RequestRedirect on the http listener (both)                                          |
 * | canary by weight   | HTTPRoute/GRPCRoute backendRef weights (both)                                                  |
 * | header → canary    | a rule matching the header, sent to the canary Service only (both)                             |
 * | sticky sessions    | weighted TraefikService with sticky cookies  | BackendTrafficPolicy consistent hash by cookie |
 * | rate limit         | Middleware rateLimit via ExtensionRef        | BackendTrafficPolicy local rate limit          |
 * | security headers   | Middleware headers via ExtensionRef          | ClientTrafficPolicy lateResponseHeaders        |
 * | request timeout    | bounds the retry phase only (Middleware retry timeout) | HTTPRoute timeouts.request; BackendTrafficPolicy timeout for gRPC |
 * | retries            | Middleware retry (attempts + 1 tries, network errors, status ranges) | BackendTrafficPolicy retry |
 * | retry budget       | —                                            | BackendTrafficPolicy circuitBreaker.retryBudget |
 * | pool, breaker      | — (Traefik sends to pod endpoints; its breaker is ratio-based) | BackendTrafficPolicy circuitBreaker, healthCheck.passive |
 *
 * Where one implementation cannot do what was asked, config validation refuses it by key
 * (config/schema.ts): no burst on Envoy's local rate limit, no sticky + split canary on Envoy; no
 * explicit timeout, per-try timeout or gRPC retry condition on Traefik (config/resilience.ts).
 */
import type { PlatformConfig } from "../../config/schema";
import { hostCovered } from "../../config/schema";
import { DestinationPolicy, ExposurePolicy, TRAEFIK_RETRY } from "../../config/resilience";
import type { K8sObject } from "../core/objects";
import { apiDuration } from "../shared/duration";
import type { Exposure } from "../service-graph";
import { PLATFORM_LABELS } from "../shared/labels";

export type Implementation = PlatformConfig["gateway"]["implementation"];

const GATEWAY_API = "gateway.networking.k8s.io/v1";
const GATEWAY_GROUP = "gateway.networking.k8s.io";
const TRAEFIK_API = "traefik.io/v1alpha1";
const ENVOY_API = "gateway.envoyproxy.io/v1alpha1";

/** The platform's one Gateway; routes attach to it by name. */
export const GATEWAY_NAME = "platform";

/** Per implementation: the GatewayClass controller and the listener ports. */
export const IMPLEMENTATIONS = {
  traefik: {
    controllerName: "traefik.io/gateway-controller",
    // Traefik binds listeners to its entrypoints by *container* port (chart ports.web/websecure.port).
    httpPort: 8000,
    httpsPort: 8443,
  },
  envoy: {
    controllerName: "gateway.envoyproxy.io/gatewayclass-controller",
    // Envoy Gateway maps privileged listener ports to unprivileged container ports itself.
    httpPort: 80,
    httpsPort: 443,
  },
} as const;

/** Security headers on every response through the gateway. */
export const SECURITY_HEADERS = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
} as const;

const labels = PLATFORM_LABELS;

/** Name of the GatewayClass for an implementation. */
export const gatewayClassName = (impl: Implementation): string => `platform-${impl}`;

/** Name of the HTTPS listener for the i-th configured gateway hostname. */
export const httpsListenerName = (i: number): string => `https-${i}`;

/**
 * The ServiceAccount the gateway data plane runs as, the same for both implementations (Traefik's
 * chart and Envoy's EnvoyProxy both let it be named): the mesh allows exactly this identity, and
 * switching implementations changes nothing outside the gateway area.
 */
export const GATEWAY_SERVICE_ACCOUNT = "platform-gateway";

/** The gateway data plane's SPIFFE principal, which the mesh allows to the exposed services; none when the gateway is off. */
export function gatewayPrincipal(cfg: Pick<PlatformConfig, "cluster" | "gateway">): string | undefined {
  return cfg.gateway.enabled ? `${cfg.cluster.domain}/ns/${cfg.gateway.namespace}/sa/${GATEWAY_SERVICE_ACCOUNT}` : undefined;
}

/** The GatewayClass; Envoy's points at the EnvoyProxy that shapes its data plane. */
export function gatewayClass(impl: Implementation, namespace: string): K8sObject {
  return {
    apiVersion: GATEWAY_API,
    kind: "GatewayClass",
    metadata: { name: gatewayClassName(impl), labels },
    spec: {
      controllerName: IMPLEMENTATIONS[impl].controllerName,
      ...(impl === "envoy" ? { parametersRef: { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: GATEWAY_NAME, namespace } } : {}),
    },
  };
}

/**
 * The Gateway: a plain-HTTP listener that only redirects, and one HTTPS listener per configured
 * hostname terminating TLS with the stack's certificate. Routes may attach to the HTTPS listeners
 * only from the application namespaces (by the API server's own name label, which cannot be forged).
 */
export function gateway(impl: Implementation, namespace: string, hostnames: readonly string[], tlsSecretName: string, appNamespaces: readonly string[]): K8sObject {
  const ports = IMPLEMENTATIONS[impl];
  return {
    apiVersion: GATEWAY_API,
    kind: "Gateway",
    metadata: { name: GATEWAY_NAME, namespace, labels },
    spec: {
      gatewayClassName: gatewayClassName(impl),
      listeners: [
        { name: "http", protocol: "HTTP", port: ports.httpPort, allowedRoutes: { namespaces: { from: "Same" }, kinds: [{ group: GATEWAY_GROUP, kind: "HTTPRoute" }] } },
        ...hostnames.map((hostname, i) => ({
          name: httpsListenerName(i),
          protocol: "HTTPS",
          port: ports.httpsPort,
          hostname,
          tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: tlsSecretName }] },
          allowedRoutes: {
            namespaces: {
              from: "Selector",
              selector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...appNamespaces] }] },
            },
            kinds: [
              { group: GATEWAY_GROUP, kind: "HTTPRoute" },
              { group: GATEWAY_GROUP, kind: "GRPCRoute" },
            ],
          },
        })),
      ],
    },
  };
}

/** Every plain-HTTP request is answered with a permanent redirect to HTTPS. */
export function httpsRedirectRoute(namespace: string): K8sObject {
  return {
    apiVersion: GATEWAY_API,
    kind: "HTTPRoute",
    metadata: { name: "https-redirect", namespace, labels },
    spec: {
      parentRefs: [{ group: GATEWAY_GROUP, kind: "Gateway", name: GATEWAY_NAME, namespace, sectionName: "http" }],
      rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
    },
  };
}

/** Settings of the gateway data plane that the EnvoyProxy and Traefik values both derive from. */
export interface DataPlaneSettings {
  readonly replicas: number;
  /** Whether nodes span zones (spread replicas across them). */
  readonly spreadAcrossZones: boolean;
  /** OTLP gRPC collector endpoint (URL) and sampling percentage; no endpoint: no tracing. */
  readonly otlpEndpoint?: string;
  readonly samplingPercent: number;
}

/** Parsed OTLP endpoint: in-cluster Service (name, namespace) when the host names one, and the port. */
export function otlpTarget(url: string): { host: string; port: number; service?: { name: string; namespace: string } } {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(u.hostname);
  return { host: u.hostname, port, ...(m ? { service: { name: m[1]!, namespace: m[2]! } } : {}) };
}

/** HA shape shared by both data planes: zone spread when there are zones, else node spread. */
export function topologySpread(selector: Record<string, string>, spreadAcrossZones: boolean): object[] {
  return [
    {
      maxSkew: 1,
      topologyKey: spreadAcrossZones ? "topology.kubernetes.io/zone" : "kubernetes.io/hostname",
      whenUnsatisfiable: spreadAcrossZones ? "DoNotSchedule" : "ScheduleAnyway",
      labelSelector: { matchLabels: selector },
    },
  ];
}

/**
 * Annotations of the gateway's data plane pods. The load balancer's traffic is plaintext from
 * outside the mesh, and the gateway namespace is in ambient under STRICT mTLS, where ztunnel
 * refuses plaintext inbound; this annotation (Istio 1.24+, "useful for workloads that only accept
 * traffic from out-of-mesh clients, such as internet-facing pods") leaves inbound uncaptured while
 * the pods' outbound calls still leave through ztunnel with the gateway's identity (istio/istio#51482).
 */
export const GATEWAY_POD_ANNOTATIONS = { "ambient.istio.io/bypass-inbound-capture": "true" } as const;

/**
 * Envoy Gateway's data plane: replicas (HPA and PDB when HA), a fixed ServiceAccount, a
 * restricted pod security context, and OTLP tracing to the platform's collector.
 */
export function envoyProxy(namespace: string, dp: DataPlaneSettings): K8sObject {
  const ha = dp.replicas >= 2;
  const otlp = dp.otlpEndpoint ? otlpTarget(dp.otlpEndpoint) : undefined;
  const selector = { "app.kubernetes.io/component": "proxy", "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME };
  return {
    apiVersion: ENVOY_API,
    kind: "EnvoyProxy",
    metadata: { name: GATEWAY_NAME, namespace, labels },
    spec: {
      provider: {
        type: "Kubernetes",
        kubernetes: {
          envoyServiceAccount: { name: GATEWAY_SERVICE_ACCOUNT },
          envoyDeployment: {
            // With an HPA the replica count is the HPA's; a fixed count would fight it.
            ...(ha ? {} : { replicas: dp.replicas }),
            pod: {
              annotations: { ...GATEWAY_POD_ANNOTATIONS },
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              topologySpreadConstraints: topologySpread(selector, dp.spreadAcrossZones),
            },
            container: {
              // Replaces Envoy Gateway's default context for both containers (proxy/resource.go), so
              // it is that default: user and group 65532 (the distroless nonroot user), and no
              // read-only root: shutdown-manager writes /tmp/shutdown-ready to signal a finished
              // drain and Envoy writes its log file and sockets, with no volume for either
              // (envoyproxy/gateway#8911); a read-only root would break graceful drains.
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, privileged: false, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
            },
            // shutdown-manager's size is not configurable through the container fields (requests
            // 10m/32Mi, no limit: proxy/resource.go); a strategic-merge patch gives it a memory limit.
            patch: { type: "StrategicMerge", value: { spec: { template: { spec: { containers: [{ name: "shutdown-manager", resources: { limits: { memory: "64Mi" } } }] } } } } },
          },
          ...(ha
            ? {
                envoyHpa: { minReplicas: dp.replicas, maxReplicas: dp.replicas * 3, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }] },
                envoyPDB: { minAvailable: Math.max(1, dp.replicas - 1) },
              }
            : {}),
          envoyService: { type: "LoadBalancer", externalTrafficPolicy: "Local" },
        },
      },
      telemetry: {
        ...(otlp
          ? {
              tracing: {
                samplingRate: Math.round(dp.samplingPercent),
                provider: {
                  type: "OpenTelemetry",
                  ...(otlp.service ? { backendRefs: [{ name: otlp.service.name, namespace: otlp.service.namespace, port: otlp.port }] } : { host: otlp.host, port: otlp.port }),
                },
              },
            }
          : {}),
        metrics: { prometheus: {} },
      },
    },
  };
}

/** Gateway-wide client policy for Envoy: TLS 1.2+ and the security headers on every response. */
export function envoyClientTrafficPolicy(namespace: string): K8sObject {
  return {
    apiVersion: ENVOY_API,
    kind: "ClientTrafficPolicy",
    metadata: { name: GATEWAY_NAME, namespace, labels },
    spec: {
      targetRefs: [{ group: GATEWAY_GROUP, kind: "Gateway", name: GATEWAY_NAME }],
      tls: { minVersion: "1.2" },
      headers: { lateResponseHeaders: { set: Object.entries(SECURITY_HEADERS).map(([name, value]) => ({ name, value })) } },
    },
  };
}

/** Seconds as an Envoy Gateway duration (`1h30m`): each unit's number is at most five digits. */
export const envoyDuration = (seconds: number): string => apiDuration(seconds * 1000);

/**
 * Prometheus scraping of the gateway: the data plane (and Envoy Gateway's controller) by pod, on
 * their named metrics ports. Rendered only when the stack has the prometheus-operator CRDs.
 */
export function gatewayPodMonitors(impl: Implementation, namespace: string): K8sObject[] {
  const monitor = (name: string, matchLabels: Record<string, string>, path: string): K8sObject => ({
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name, namespace, labels },
    spec: { selector: { matchLabels }, podMetricsEndpoints: [{ port: "metrics", path, interval: "30s" }] },
  });
  return impl === "traefik"
    ? [monitor("traefik", { "app.kubernetes.io/name": "traefik" }, "/metrics")]
    : [
        monitor("envoy-proxy", { "app.kubernetes.io/component": "proxy", "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME }, "/stats/prometheus"),
        monitor("envoy-gateway", { "control-plane": "envoy-gateway" }, "/metrics"),
      ];
}

/** What a route needs to know about the Gateway it attaches to. */
export interface GatewayRef {
  readonly namespace: string;
  /** The gateway's hostnames, in listener order. */
  readonly hostnames: readonly string[];
}

/** The HTTPS listeners that serve at least one of the route's hosts. */
export function parentRefs(gw: GatewayRef, hosts: readonly string[]): object[] {
  return gw.hostnames.flatMap((g, i) =>
    hosts.some((h) => hostCovered(g, h)) ? [{ group: GATEWAY_GROUP, kind: "Gateway", name: GATEWAY_NAME, namespace: gw.namespace, sectionName: httpsListenerName(i) }] : [],
  );
}

/** Names of the per-service objects, so routes, policies and tests agree on them. */
export const routeObjectNames = (service: string) => ({
  route: service,
  securityHeaders: `${service}-security-headers`,
  rateLimit: `${service}-rate-limit`,
  sticky: `${service}-sticky`,
  retry: `${service}-retry`,
  policy: service,
  /** A progressive rollout's tester route (the header to the canary); Flagger owns `route`. */
  canaryHeader: `${service}-canary-header`,
});

/** An exposure's resilience at the gateway: its own timeout and retries, its destination's pool and breaker. */
export interface RouteResilience {
  readonly exposure: ExposurePolicy;
  readonly destination: DestinationPolicy;
}

/** Traefik's retry middleware for an exposure: attempts counts the first try; conditions map to network errors and status ranges. */
export function traefikRetry(r: RouteResilience): Record<string, unknown> | undefined {
  const p = r.exposure.retries.value;
  if (p.attempts === 0) return undefined;
  const status = [...new Set(p.retryOn.flatMap((c) => (TRAEFIK_RETRY[c]?.status ? [TRAEFIK_RETRY[c]!.status!] : [])))];
  return {
    attempts: p.attempts + 1,
    initialInterval: apiDuration(p.backoffMs),
    // Traefik's only request-time bound on a route: no retry starts after the exposure's timeout.
    timeout: apiDuration(r.exposure.timeoutMs.value),
    ...(status.length ? { status } : {}),
    ...(p.retryOn.some((c) => TRAEFIK_RETRY[c]?.network) ? {} : { disableRetryOnNetworkError: true }),
    retryNonIdempotentMethod: r.exposure.retryNonIdempotent,
  };
}

/** Envoy Gateway's retry, breaker and outlier detection for an exposure (BackendTrafficPolicy fields). */
export function envoyResilience(r: RouteResilience, grpc: boolean): Record<string, unknown> {
  const p = r.exposure.retries.value;
  const pool = r.destination.connectionPool.value;
  const cb = r.destination.circuitBreaker.value;
  return {
    retry: {
      numRetries: p.attempts,
      ...(p.attempts > 0
        ? {
            retryOn: { triggers: [...p.retryOn] },
            perRetry: { timeout: apiDuration(p.perTryTimeoutMs), backOff: { baseInterval: apiDuration(p.backoffMs), maxInterval: apiDuration(10 * p.backoffMs) } },
          }
        : {}),
    },
    circuitBreaker: {
      maxConnections: pool.maxConnections,
      maxPendingRequests: pool.maxPendingRequests,
      maxParallelRequests: pool.maxRequests,
      retryBudget: { percent: { numerator: p.budgetPercent }, minRetryConcurrency: p.budgetMinConcurrency },
    },
    healthCheck: {
      passive: { consecutive5XxErrors: cb.consecutiveErrors, interval: apiDuration(cb.intervalSeconds * 1000), baseEjectionTime: apiDuration(cb.baseEjectionSeconds * 1000), maxEjectionPercent: cb.maxEjectionPercent },
    },
    // GRPCRoute has no timeouts field: the route's request timeout goes here.
    ...(grpc ? { timeout: { http: { requestTimeout: apiDuration(r.exposure.timeoutMs.value) } } } : {}),
  };
}

/**
 * Everything that routes one exposed service: an HTTPRoute or GRPCRoute, and the implementation's
 * native objects for its rate limit, stickiness and headers.
 */
export function serviceRouteObjects(impl: Implementation, e: Exposure, gw: GatewayRef, resilience: RouteResilience): K8sObject[] {
  const n = routeObjectNames(e.service);
  const canary = e.spec.canary;
  const stable = { name: e.service, port: e.port };
  // Flagger's canary Service under a progressive rollout (on Traefik the route stays the platform's).
  const canaryBackend = canary || (e.progressive && impl === "traefik") ? { name: `${e.service}-canary`, port: e.port } : undefined;
  const grpc = e.protocol === "grpc";
  const out: K8sObject[] = [];

  // Traefik: the route's filters reference Middlewares in the route's own namespace.
  const filters: object[] = [];
  if (impl === "traefik") {
    out.push({
      apiVersion: TRAEFIK_API,
      kind: "Middleware",
      metadata: { name: n.securityHeaders, namespace: e.namespace, labels },
      spec: { headers: { stsSeconds: 31536000, stsIncludeSubdomains: true, frameDeny: true, contentTypeNosniff: true, referrerPolicy: SECURITY_HEADERS["Referrer-Policy"] } },
    });
    filters.push({ type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: n.securityHeaders } });
    if (e.spec.rateLimit) {
      out.push({
        apiVersion: TRAEFIK_API,
        kind: "Middleware",
        metadata: { name: n.rateLimit, namespace: e.namespace, labels },
        spec: {
          rateLimit: {
            average: e.spec.rateLimit.requestsPerSecond,
            period: "1s",
            burst: e.spec.rateLimit.burst ?? e.spec.rateLimit.requestsPerSecond,
            // One bucket per requested host, like Envoy's per-route bucket (Traefik's default is per client IP).
            sourceCriterion: { requestHost: true },
          },
        },
      });
      filters.push({ type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: n.rateLimit } });
    }
    const retry = traefikRetry(resilience);
    if (retry) {
      out.push({ apiVersion: TRAEFIK_API, kind: "Middleware", metadata: { name: n.retry, namespace: e.namespace, labels }, spec: { retry } });
      filters.push({ type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: n.retry } });
    }
  }

  // The weighted split. Traefik makes stickiness a property of a weighted TraefikService, which
  // pins both the version (stable/canary) and the pod; it is used only when stickiness is asked.
  let splitBackends: object[];
  if (impl === "traefik" && e.progressive) {
    // Flagger's Traefik router owns a TraefikService named after the service: its weights.
    splitBackends = [{ group: "traefik.io", kind: "TraefikService", name: e.service }];
  } else if (impl === "traefik" && e.spec.sticky) {
    const cookie = { name: e.spec.sticky.cookieName, secure: true, httpOnly: true, sameSite: "lax", maxAge: e.spec.sticky.ttlSeconds };
    const svc = (b: { name: string; port: number }, weight: number) => ({ name: b.name, port: b.port, weight, sticky: { cookie: { ...cookie, name: `${cookie.name}-${b.name}` } } });
    out.push({
      apiVersion: TRAEFIK_API,
      kind: "TraefikService",
      metadata: { name: n.sticky, namespace: e.namespace, labels },
      spec: {
        weighted: {
          services: canaryBackend ? [svc(stable, canary!.weights.stable), svc(canaryBackend, canary!.weights.canary)] : [svc(stable, 100)],
          sticky: { cookie },
        },
      },
    });
    splitBackends = [{ group: "traefik.io", kind: "TraefikService", name: n.sticky }];
  } else {
    splitBackends = canaryBackend
      ? [
          { kind: "Service", ...stable, weight: canary!.weights.stable },
          { kind: "Service", ...canaryBackend, weight: canary!.weights.canary },
        ]
      : [{ kind: "Service", ...stable }];
  }

  const headerMatches = Object.entries(e.spec.headers).map(([name, value]) => ({ type: "Exact", name, value }));
  const testerHeader = canary?.header ?? e.progressive?.header;
  const canaryHeader = testerHeader ? [{ type: "Exact", name: testerHeader.name, value: testerHeader.value }] : [];
  const matches = (extraHeaders: object[]): object[] =>
    e.spec.paths.map((p) => {
      const headers = [...headerMatches, ...extraHeaders];
      const hdr = headers.length ? { headers } : {};
      if (!grpc) return { path: { type: "PathPrefix", value: p }, ...hdr };
      // gRPC: "/" means every service; otherwise "/pkg.Service" names one gRPC service.
      return p === "/" ? { ...hdr } : { method: { type: "Exact", service: p.slice(1) }, ...hdr };
    });
  const withFilters = filters.length ? { filters } : {};
  // Envoy Gateway honours HTTPRoute timeouts; Traefik 3.7 accepts and ignores them (traefik/traefik#11902).
  const timeouts = impl === "envoy" && !grpc ? { timeouts: { request: apiDuration(resilience.exposure.timeoutMs.value) } } : {};
  const rules: object[] = [];
  // Header-routed requests always reach the canary: a more specific match, listed first.
  if (canaryBackend) rules.push({ matches: matches(canaryHeader), ...withFilters, backendRefs: [{ kind: "Service", ...canaryBackend }], ...timeouts });
  rules.push({ matches: matches([]), ...withFilters, backendRefs: splitBackends, ...timeouts });

  const routeNames = [n.route];
  if (e.progressive && impl === "envoy") {
    // Flagger writes the route named after the service (components/delivery/progressive-rollout.ts)
    // and moves its weights. Testers' header gets a route of its own to Flagger's canary Service:
    // one more header match than Flagger's rule, so it wins for requests that carry it.
    const header = [{ type: "Exact", name: e.progressive.header.name, value: e.progressive.header.value }];
    out.push({
      apiVersion: GATEWAY_API,
      kind: "HTTPRoute",
      metadata: { name: n.canaryHeader, namespace: e.namespace, labels: { ...labels, "app.kubernetes.io/name": e.service } },
      spec: { parentRefs: parentRefs(gw, e.spec.hosts), hostnames: [...e.spec.hosts], rules: [{ matches: matches(header), ...withFilters, backendRefs: [{ kind: "Service", name: `${e.service}-canary`, port: e.port }], ...timeouts }] },
    });
    routeNames.push(n.canaryHeader);
  } else {
    out.push({
      apiVersion: GATEWAY_API,
      kind: grpc ? "GRPCRoute" : "HTTPRoute",
      metadata: { name: n.route, namespace: e.namespace, labels: { ...labels, "app.kubernetes.io/name": e.service } },
      spec: { parentRefs: parentRefs(gw, e.spec.hosts), hostnames: [...e.spec.hosts], rules },
    });
  }

  // Envoy: resilience, rate limit and stickiness are one BackendTrafficPolicy attached to the route.
  if (impl === "envoy") {
    out.push({
      apiVersion: ENVOY_API,
      kind: "BackendTrafficPolicy",
      metadata: { name: n.policy, namespace: e.namespace, labels },
      spec: {
        targetRefs: routeNames.map((name) => ({ group: GATEWAY_GROUP, kind: grpc ? "GRPCRoute" : "HTTPRoute", name })),
        ...envoyResilience(resilience, grpc),
        ...(e.spec.rateLimit ? { rateLimit: { type: "Local", local: { rules: [{ limit: { requests: e.spec.rateLimit.requestsPerSecond, unit: "Second" } }] } } } : {}),
        ...(e.spec.sticky
          ? {
              loadBalancer: {
                type: "ConsistentHash",
                consistentHash: { type: "Cookie", cookie: { name: e.spec.sticky.cookieName, ttl: envoyDuration(e.spec.sticky.ttlSeconds), attributes: { SameSite: "Lax" } } },
              },
            }
          : {}),
      },
    });
  }
  return out;
}
