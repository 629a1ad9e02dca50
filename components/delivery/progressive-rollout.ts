/**
 * A progressive rollout (services.<name>.rollout.strategy progressive): the Flagger Canary of one
 * exposed service. Flagger owns, from then on, what the fixed strategy renders itself: the
 * `<name>` Service (and `-primary`, `-canary`), the `<name>-primary` Deployment and HPA, and the
 * service's HTTPRoute with its weights (the platform renders none of them: no field has two
 * owners). The analysis is the service's SLO (components/observability/slo.ts canaryChecks).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Implementation } from "../gateway/routing";
import { GatewayRef, parentRefs } from "../gateway/routing";
import type { RouteResilience } from "../gateway/routing";
import { childOptions, customResource, K8sObject } from "../core/objects";
import { canaryChecks, errorBudgetExhaustedQuery, ServiceSlo } from "../observability/slo";
import type { Exposure } from "../service-graph";
import { apiDuration } from "../shared/duration";
import { FLAGGER_API, FLAGGER_PROVIDER } from "./flagger";
import { PLATFORM_LABELS } from "../shared/labels";

/**
 * Flagger's router per gateway: on Envoy Gateway its Gateway API router owns the service's
 * HTTPRoute; on Traefik its Traefik router owns a TraefikService the platform's HTTPRoute sends to,
 * so the route keeps its Middlewares (security headers, rate limit, retries), which Flagger's
 * HTTPRoute could not carry.
 */
export function flaggerProvider(impl: Implementation): string {
  return impl === "traefik" ? "traefik" : FLAGGER_PROVIDER;
}

/** What one Canary is made from. */
export interface CanaryInput {
  /** The exposure, with its rollout (`progressive`). */
  readonly exposure: Exposure;
  /** The service's objectives (the platform's, with its overrides). */
  readonly slo: ServiceSlo;
  readonly implementation: Implementation;
  readonly gateway: GatewayRef;
  readonly resilience: RouteResilience;
  /** Where the MetricTemplates are (Flagger's namespace). */
  readonly templatesNamespace: string;
  /** Where the pre-rollout gates run and what they read. */
  readonly gates: {
    /** The loadtester's webhook URL. */
    readonly loadtesterUrl: string;
    /** Prometheus' query URL (the error-budget gate). */
    readonly prometheusUrl: string;
    /** Cluster DNS domain (the canary Service's address for smoke tests). */
    readonly domain: string;
  };
}

const labels = PLATFORM_LABELS;

/** Single-quoted for bash (the loadtester runs each gate with `bash -c`). */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The Canary's pre-rollout gates, run by the loadtester before the canary gets any traffic (a
 * failing one stops the rollout and counts as a failed check): the service's error budget must not
 * be exhausted (the SLO's own series; no data is not exhausted), then each declared smoke test.
 */
export function preRolloutGates(a: Pick<CanaryInput, "exposure" | "gates">): { name: string; cmd: string }[] {
  const e = a.exposure;
  const query = errorBudgetExhaustedQuery({ service: e.service, namespace: e.namespace });
  return [
    {
      name: "error-budget",
      cmd: `curl -sSf --max-time 10 --get ${sq(`${a.gates.prometheusUrl}/api/v1/query`)} --data-urlencode ${sq(`query=${query}`)} | jq -e '.status == "success" and (.data.result | length == 0)'`,
    },
    ...(e.progressive?.smokeTests ?? []).map((t) => ({
      name: `smoke-${t.name}`,
      cmd: `curl -sSf --max-time 10 -o /dev/null ${sq(`http://${e.service}-canary.${e.namespace}.svc.${a.gates.domain}:${e.port}${t.path}`)}`,
    })),
  ];
}

/** The Canary object. Pure, so tests and the report read exactly what is rendered. */
export function canaryObject(a: CanaryInput): K8sObject {
  const e = a.exposure;
  const r = e.progressive;
  if (!r) throw new Error(`platform:services.${e.service}.rollout.strategy: not progressive`);
  const portName = e.protocol === "grpc" ? "grpc" : "http";
  const headers = Object.fromEntries(Object.entries(e.spec.headers).map(([k, v]) => [k, { exact: v }]));
  // Flagger adds its selector label (the Service's own name) to each.
  const svcMeta = (role: string) => ({ labels: { ...labels, "app.kubernetes.io/instance": e.service, "platform.io/rollout-role": role } });
  const gatewayApi = a.implementation === "envoy";
  return {
    apiVersion: FLAGGER_API,
    kind: "Canary",
    metadata: { name: e.service, namespace: e.namespace, labels: { ...labels, "app.kubernetes.io/name": e.service } },
    spec: {
      provider: flaggerProvider(a.implementation),
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: e.service },
      autoscalerRef: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: e.service },
      // A canary whose pods are not ready within this time is rolled back.
      progressDeadlineSeconds: 600,
      service: {
        port: e.port,
        targetPort: portName,
        portName,
        appProtocol: e.protocol === "grpc" ? "kubernetes.io/h2c" : "http",
        // The route Flagger writes (Envoy): the exposure's hosts, listeners, paths and header
        // matches, and its timeout (security headers are the listener's, retries and limits the
        // BackendTrafficPolicy's, both attached by name). On Traefik the route is the platform's.
        ...(gatewayApi
          ? {
              hosts: [...e.spec.hosts],
              gatewayRefs: parentRefs(a.gateway, e.spec.hosts),
              match: e.spec.paths.map((p) => ({ uri: { prefix: p }, ...(Object.keys(headers).length ? { headers } : {}) })),
              timeout: apiDuration(a.resilience.exposure.timeoutMs.value),
            }
          : {}),
        apex: svcMeta("apex"),
        primary: svcMeta("primary"),
        canary: svcMeta("canary"),
      },
      analysis: {
        interval: r.interval,
        threshold: r.threshold,
        maxWeight: r.maxWeight,
        stepWeight: r.stepWeight,
        metrics: canaryChecks(a.slo, r.maxBurnRate).map((c) => ({
          name: c.name,
          templateRef: { name: c.template, namespace: a.templatesNamespace },
          thresholdRange: c.range,
          interval: r.interval,
        })),
        webhooks: preRolloutGates(a).map((g) => ({ name: g.name, type: "pre-rollout", url: a.gates.loadtesterUrl, timeout: "30s", metadata: { type: "bash", cmd: g.cmd } })),
      },
    },
  };
}

/** Inputs of a ProgressiveRollout. */
export interface ProgressiveRolloutArgs extends CanaryInput {}

/** One service's Canary (its Deployment and HPA are the Microservice's; everything else is Flagger's). */
export class ProgressiveRollout extends pulumi.ComponentResource {
  constructor(name: string, args: ProgressiveRolloutArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:delivery:ProgressiveRollout", name, {}, opts);
    const o = canaryObject(args);
    customResource(`${name}-canary`, o, childOptions(this, opts));
    this.registerOutputs({ canary: `${o.metadata.namespace}/${o.metadata.name}` });
  }
}
