/**
 * SLOs as code: pure functions from the SLO config to Prometheus rule groups and Grafana
 * dashboards. No Pulumi here, so promtool and the tests exercise exactly what the SLO component
 * renders.
 *
 * Metric names are the OpenTelemetry semantic conventions as the collector's prometheus exporter
 * writes them (unit suffix `_seconds`, histogram `_bucket`/`_count`, dots to underscores), with
 * `job` = `<service.namespace>/<service.name>` (the Microservice sets both resource attributes):
 * - HTTP: `http.server.request.duration` (s) → `http_server_request_duration_seconds_*`, failure =
 *   `http_response_status_code` 5xx.
 * - gRPC: `rpc.server.call.duration` (s) → `rpc_server_call_duration_seconds_*`, failure =
 *   `rpc_response_status_code` in the server-fault codes of the RPC conventions.
 * - Event lag (consumers): Strimzi's Kafka Exporter `kafka_consumergroup_lag` (messages) divided by
 *   the topic's production rate from `kafka_topic_partition_current_offset`: the time the group
 *   needs to catch up at the current rate. An assumption on the messaging area, see
 *   docs/observability.md.
 */
import type { ServiceConfig, SloConfig } from "../../config/schema";
import type { ServiceGraph } from "../service-graph";

/** One service's objectives, the platform `slo` with the service's overrides applied. */
export interface ServiceSlo {
  readonly service: string;
  readonly namespace: string;
  readonly protocol: "http" | "grpc";
  readonly availabilityPercent: number;
  readonly windowDays: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly errorRatePercent: number;
  readonly eventLagSeconds: number;
  /** Consumer group and the topics it reads, for consumers only. */
  readonly consumer?: { readonly group: string; readonly topics: readonly string[] };
  /** Flagger rolls the service out (rollout.strategy progressive): a rolled-back canary alerts like the SLO. */
  readonly progressive?: boolean;
}

/** A Prometheus rule (recording or alerting), as in a PrometheusRule's spec.groups[].rules[]. */
export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

/**
 * The multi-window multi-burn-rate alerts of the SRE workbook (the set Sloth and Pyrra generate):
 * an alert fires when both the long and the short window burn faster than `factor` times the
 * sustainable rate; the short window makes it stop soon after the burn stops.
 */
export const BURN_WINDOWS = [
  { long: "1h", short: "5m", factor: 14.4, severity: "page" },
  { long: "6h", short: "30m", factor: 6, severity: "page" },
  { long: "1d", short: "2h", factor: 3, severity: "ticket" },
  { long: "3d", short: "6h", factor: 1, severity: "ticket" },
] as const;

/** Every window an error ratio is recorded for. */
export const RATIO_WINDOWS = [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))];

/** gRPC status codes that count against the server (semconv: server errors). */
export const GRPC_SERVER_FAULTS = ["UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"];

/** The SLO of every declared service, sorted by name. */
export function serviceSlos(graph: Pick<ServiceGraph, "services" | "topicUse">, slo: SloConfig, services: Readonly<Record<string, ServiceConfig>>): ServiceSlo[] {
  return graph.services.map((s) => {
    const o = services[s.name]?.slo ?? {};
    const consumed = graph.topicUse.filter((u) => u.service === s.name && u.role === "consume");
    const group = consumed[0]?.group;
    return {
      service: s.name,
      namespace: s.namespace,
      protocol: s.protocol,
      availabilityPercent: o.availabilityPercent ?? slo.availabilityPercent,
      windowDays: slo.windowDays,
      latencyMs: { ...slo.latencyMs, ...definedOnly(o.latencyMs ?? {}) },
      errorRatePercent: o.errorRatePercent ?? slo.errorRatePercent,
      eventLagSeconds: o.eventLagSeconds ?? slo.eventLagSeconds,
      ...(group !== undefined ? { consumer: { group, topics: [...new Set(consumed.map((u) => u.topic))].sort() } } : {}),
      ...(services[s.name]?.rollout?.strategy === "progressive" ? { progressive: true } : {}),
    };
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A number printed without binary noise (0.0072, not 0.007200000000000001). */
export function num(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** Allowed error ratio (1 - objective). */
export const errorBudget = (s: ServiceSlo): number => Number((1 - s.availabilityPercent / 100).toPrecision(12));

/** The Prometheus `job` of a service's own telemetry (prometheus exporter: service.namespace/service.name). */
export const jobOf = (s: Pick<ServiceSlo, "service" | "namespace">): string => `${s.namespace}/${s.service}`;

/** Base name of the request-duration histogram the service emits. */
export function durationMetric(s: Pick<ServiceSlo, "protocol">): string {
  return s.protocol === "grpc" ? "rpc_server_call_duration_seconds" : "http_server_request_duration_seconds";
}

/** Label matcher selecting failed requests. */
export function failureMatcher(s: Pick<ServiceSlo, "protocol">): string {
  return s.protocol === "grpc" ? `rpc_response_status_code=~"${GRPC_SERVER_FAULTS.join("|")}"` : `http_response_status_code=~"5.."`;
}

/** Labels every SLO series and alert of a service carries. */
export const sloLabels = (s: ServiceSlo, slo: string): Record<string, string> => ({ service: s.service, namespace: s.namespace, slo });

const sel = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

/** Recording rule name of the error ratio over a window. */
export const errorRatioRecord = (window: string): string => `slo:sli_error:ratio_rate${window}`;

/** The rule groups of one service: recording rules first (alerts read them), then alerts. */
export function sloRuleGroups(s: ServiceSlo): RuleGroup[] {
  const job = jobOf(s);
  const metric = durationMetric(s);
  const avail = sloLabels(s, "availability");
  const budget = errorBudget(s);
  const windowRange = `${s.windowDays}d`;

  const errorRatio = (w: string) =>
    `(sum(rate(${metric}_count{job="${job}",${failureMatcher(s)}}[${w}])) or vector(0))\n/\nsum(rate(${metric}_count{job="${job}"}[${w}]))`;
  const recording: Rule[] = [
    ...RATIO_WINDOWS.map((w) => ({ record: errorRatioRecord(w), expr: errorRatio(w), labels: avail })),
    // The SLO window from the 5m ratio: a 30d range of raw counters is too costly to evaluate every minute.
    { record: errorRatioRecord(windowRange), expr: `avg_over_time(${errorRatioRecord("5m")}${sel(avail)}[${windowRange}])`, labels: avail },
    { record: "slo:objective:ratio", expr: `vector(${num(s.availabilityPercent / 100)})`, labels: avail },
    { record: "slo:error_budget:ratio", expr: `vector(${num(budget)})`, labels: avail },
    {
      record: "slo:error_budget:remaining_ratio",
      expr: `1 - (${errorRatioRecord(windowRange)}${sel(avail)} / ${num(budget)})`,
      labels: avail,
    },
    ...(["p50", "p95", "p99"] as const).map((q) => ({
      record: `slo:latency_seconds:${q}_rate5m`,
      expr: `histogram_quantile(${num(Number(q.slice(1)) / 100)}, sum by (le) (rate(${metric}_bucket{job="${job}"}[5m])))`,
      labels: sloLabels(s, "latency"),
    })),
  ];
  if (s.consumer) {
    recording.push({
      record: "slo:event_lag_seconds:max",
      // Messages behind per topic / messages produced per second on that topic. With production
      // stopped and a non-zero lag the ratio is +Inf: the group is not consuming, which should alert.
      expr:
        `max(\n  sum by (topic) (kafka_consumergroup_lag{consumergroup="${s.consumer.group}",topic=~"${s.consumer.topics.map(escapeRegex).join("|")}"})\n` +
        `  /\n  sum by (topic) (rate(kafka_topic_partition_current_offset{topic=~"${s.consumer.topics.map(escapeRegex).join("|")}"}[5m]))\n)`,
      labels: { ...sloLabels(s, "event-lag"), consumergroup: s.consumer.group },
    });
  }

  const alerts: Rule[] = BURN_WINDOWS.map((w) => {
    const threshold = num(w.factor * budget);
    return {
      alert: "SLOErrorBudgetBurn",
      expr: `${errorRatioRecord(w.long)}${sel(avail)} > ${threshold}\nand\n${errorRatioRecord(w.short)}${sel(avail)} > ${threshold}`,
      labels: { ...avail, severity: w.severity, long_window: w.long, short_window: w.short, burn_factor: num(w.factor) },
      annotations: {
        summary: `${s.service} is burning its ${s.windowDays}-day error budget ${num(w.factor)}x too fast`,
        description:
          `Failed requests over ${w.long} and ${w.short} exceed ${num(w.factor)} x ${num(budget * 100)}% ` +
          `(objective ${num(s.availabilityPercent)}% over ${s.windowDays} days). At this rate the budget lasts ${num((s.windowDays * 24) / w.factor)} hours.`,
      },
    };
  });
  alerts.push({
    alert: "SLOErrorRateHigh",
    expr: `${errorRatioRecord("1h")}${sel(avail)} > ${num(s.errorRatePercent / 100)}`,
    for: "15m",
    labels: { ...sloLabels(s, "error-rate"), severity: "ticket" },
    annotations: { summary: `${s.service} error rate over 1h is above ${num(s.errorRatePercent)}%` },
  });
  for (const q of ["p50", "p95", "p99"] as const) {
    alerts.push({
      alert: "SLOLatencyHigh",
      expr: `slo:latency_seconds:${q}_rate5m${sel(sloLabels(s, "latency"))} > ${num(s.latencyMs[q] / 1000)}`,
      for: "15m",
      labels: { ...sloLabels(s, "latency"), quantile: q, severity: "ticket" },
      annotations: { summary: `${s.service} ${q} latency is above ${num(s.latencyMs[q])} ms` },
    });
  }
  if (s.consumer) {
    alerts.push({
      alert: "SLOEventLagHigh",
      expr: `slo:event_lag_seconds:max${sel({ ...sloLabels(s, "event-lag"), consumergroup: s.consumer.group })} > ${s.eventLagSeconds}`,
      for: "5m",
      labels: { ...sloLabels(s, "event-lag"), consumergroup: s.consumer.group, severity: "page" },
      annotations: { summary: `${s.service} (group ${s.consumer.group}) is more than ${s.eventLagSeconds}s behind its topics` },
    });
  }
  if (s.progressive) {
    // Flagger's own gauge (0 running, 1 succeeded, 2 failed), scraped from its pod: `namespace`
    // is the scrape target's, so the Canary's namespace is `exported_namespace`.
    alerts.push({
      alert: "CanaryRolledBack",
      expr: `max by (name, exported_namespace) (flagger_canary_status{name="${s.service}",exported_namespace="${s.namespace}"}) == 2`,
      labels: { ...sloLabels(s, "rollout"), severity: "page" },
      annotations: {
        summary: `${s.service}'s canary failed its analysis and was rolled back`,
        description: "The canary broke the service's SLO-derived checks (error ratio, p99 latency, event lag) or a pre-rollout gate (error budget, smoke tests): traffic is back on the primary. The Canary's events say which.",
      },
    });
  }
  return [
    { name: `slo-${s.service}-recording`, interval: "1m", rules: recording },
    { name: `slo-${s.service}-alerts`, interval: "1m", rules: alerts },
  ];
}

function escapeRegex(t: string): string {
  return t.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
}

// ---------------------------------------------------------------------------------------------
// Canary analysis (progressive rollouts)
// ---------------------------------------------------------------------------------------------

/**
 * The canary's own series: Flagger's target Deployment is the canary (it copies it to
 * `<name>-primary` to serve), and the collector labels every series with `k8s_deployment_name`
 * (METRIC_RESOURCE_LABELS), so `{{ target }}` selects the canary's pods only. `{{ namespace }}`,
 * `{{ target }}` and `{{ interval }}` are Flagger's MetricTemplate variables (the Canary's
 * namespace, targetRef.name, the metric's interval); `job` is `<service.namespace>/<service.name>`
 * as for the SLO rules, and both equal the Canary's namespace and target.
 */
const CANARY_SELECTOR = `job="{{ namespace }}/{{ target }}",k8s_deployment_name="{{ target }}"`;

/** One analysis check: a Flagger MetricTemplate query and the range it must stay in. */
export interface CanaryCheck {
  /** Metric name in the Canary, and MetricTemplate name suffix. */
  readonly name: "error-ratio" | "latency-p99" | "event-lag";
  /** The MetricTemplate this check reads (one per protocol for the request checks). */
  readonly template: string;
  /** Its Prometheus query, with Flagger's template variables. */
  readonly query: string;
  readonly range: { readonly min?: number; readonly max?: number };
}

/** The MetricTemplates every progressive rollout reads (templates are per protocol, thresholds per service). */
export function canaryTemplates(): { name: string; query: string }[] {
  const out: { name: string; query: string }[] = [];
  for (const protocol of ["http", "grpc"] as const) {
    const metric = durationMetric({ protocol });
    out.push({
      name: `slo-error-ratio-${protocol}`,
      query: `(sum(rate(${metric}_count{${CANARY_SELECTOR},${failureMatcher({ protocol })}}[{{ interval }}])) or vector(0))\n/\nsum(rate(${metric}_count{${CANARY_SELECTOR}}[{{ interval }}]))`,
    });
    out.push({
      name: `slo-latency-p99-${protocol}`,
      query: `histogram_quantile(0.99, sum by (le) (rate(${metric}_bucket{${CANARY_SELECTOR}}[{{ interval }}])))`,
    });
  }
  // Group-level series (a canary joins its service's consumer group, and the budget is the service's).
  out.push({ name: "slo-event-lag", query: `max(slo:event_lag_seconds:max{namespace="{{ namespace }}",service="{{ target }}",slo="event-lag"})` });
  return out;
}

/**
 * A service's canary checks, from its SLO: the error ratio may reach `maxBurnRate` × the error
 * budget (a canary failing faster would spend the budget faster than the SLO allows), p99 latency
 * its objective, a consumer's event lag its objective. That the budget is not exhausted already is
 * a gate before any traffic (errorBudgetExhaustedQuery), not a check: Flagger fails a check whose
 * query has no value, and a service without history has none.
 */
export function canaryChecks(s: ServiceSlo, maxBurnRate: number): CanaryCheck[] {
  const templates = new Map(canaryTemplates().map((t) => [t.name, t.query]));
  const budget = errorBudget(s);
  const check = (name: CanaryCheck["name"], template: string, range: CanaryCheck["range"]): CanaryCheck => ({ name, template, query: templates.get(template)!, range });
  return [
    check("error-ratio", `slo-error-ratio-${s.protocol}`, { max: Number((maxBurnRate * budget).toPrecision(12)) }),
    check("latency-p99", `slo-latency-p99-${s.protocol}`, { max: s.latencyMs.p99 / 1000 }),
    ...(s.consumer ? [check("event-lag", "slo-event-lag", { max: s.eventLagSeconds })] : []),
  ];
}

/** The series the pre-rollout gate reads: non-empty exactly when the service's error budget is exhausted (no data is not). */
export function errorBudgetExhaustedQuery(s: Pick<ServiceSlo, "service" | "namespace">): string {
  return `slo:error_budget:remaining_ratio{namespace="${s.namespace}",service="${s.service}",slo="availability"} <= 0`;
}

/** A MetricTemplate query with Flagger's variables filled in, as Flagger sends it to Prometheus (for tests and the report). */
export function renderCanaryQuery(query: string, vars: { namespace: string; target: string; interval: string }): string {
  return query.replace(/\{\{ (namespace|target|interval) \}\}/g, (_m, k: "namespace" | "target" | "interval") => vars[k]);
}

// ---------------------------------------------------------------------------------------------
// Dashboards
// ---------------------------------------------------------------------------------------------

/** Panel titles every service dashboard has (tests and docs refer to them). */
export const DASHBOARD_PANELS = {
  sli: "Availability SLI",
  budget: "Error budget remaining",
  burn: "Burn rate",
  latency: "Latency p50 / p95 / p99",
  errorRate: "Error rate",
  eventLag: "Event lag",
} as const;

/** Grafana datasource uid of Prometheus (kube-prometheus-stack's sidecar datasource). */
export const PROMETHEUS_DATASOURCE_UID = "prometheus";

/** A Grafana dashboard (schemaVersion 39 JSON model) for one service. */
export function sloDashboard(s: ServiceSlo): Record<string, unknown> {
  const ds = { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID };
  const avail = sel(sloLabels(s, "availability"));
  const lat = sel(sloLabels(s, "latency"));
  const budget = errorBudget(s);
  let id = 0;
  const panel = (title: string, type: string, targets: { expr: string; legendFormat: string }[], gridPos: object, fieldConfig: object) => ({
    id: ++id,
    title,
    type,
    datasource: ds,
    gridPos,
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: ds, ...t })),
    fieldConfig,
  });
  const panels = [
    panel(DASHBOARD_PANELS.sli, "stat", [{ expr: `1 - ${errorRatioRecord(`${s.windowDays}d`)}${avail}`, legendFormat: "availability" }], { x: 0, y: 0, w: 6, h: 6 }, {
      defaults: { unit: "percentunit", decimals: 3, thresholds: { mode: "absolute", steps: [{ color: "red", value: null }, { color: "green", value: s.availabilityPercent / 100 }] } },
    }),
    panel(DASHBOARD_PANELS.budget, "gauge", [{ expr: `slo:error_budget:remaining_ratio${avail}`, legendFormat: "remaining" }], { x: 6, y: 0, w: 6, h: 6 }, {
      defaults: { unit: "percentunit", min: 0, max: 1, thresholds: { mode: "absolute", steps: [{ color: "red", value: null }, { color: "orange", value: 0.25 }, { color: "green", value: 0.5 }] } },
    }),
    panel(
      DASHBOARD_PANELS.burn,
      "timeseries",
      BURN_WINDOWS.map((w) => ({ expr: `${errorRatioRecord(w.long)}${avail} / ${num(budget)}`, legendFormat: `${w.long} (alert at ${num(w.factor)}x)` })),
      { x: 12, y: 0, w: 12, h: 6 },
      { defaults: { unit: "x" } },
    ),
    panel(
      DASHBOARD_PANELS.latency,
      "timeseries",
      (["p50", "p95", "p99"] as const).map((q) => ({ expr: `slo:latency_seconds:${q}_rate5m${lat}`, legendFormat: `${q} (objective ${num(s.latencyMs[q])} ms)` })),
      { x: 0, y: 6, w: 12, h: 8 },
      { defaults: { unit: "s" } },
    ),
    panel(DASHBOARD_PANELS.errorRate, "timeseries", [{ expr: `${errorRatioRecord("5m")}${avail}`, legendFormat: `5m (objective < ${num(s.errorRatePercent)}%)` }], { x: 12, y: 6, w: 12, h: 8 }, {
      defaults: { unit: "percentunit" },
    }),
  ];
  if (s.consumer) {
    panels.push(
      panel(DASHBOARD_PANELS.eventLag, "timeseries", [{ expr: `slo:event_lag_seconds:max${sel({ ...sloLabels(s, "event-lag"), consumergroup: s.consumer.group })}`, legendFormat: s.consumer.group }], { x: 0, y: 14, w: 24, h: 6 }, {
        defaults: { unit: "s", thresholds: { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: s.eventLagSeconds }] } },
      }),
    );
  }
  return {
    uid: `slo-${s.service}`.slice(0, 40),
    title: `SLO / ${s.service}`,
    tags: ["slo", s.namespace],
    timezone: "utc",
    schemaVersion: 39,
    time: { from: "now-7d", to: "now" },
    refresh: "1m",
    editable: false,
    panels,
  };
}
