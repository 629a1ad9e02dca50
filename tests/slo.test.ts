import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import {
  BURN_WINDOWS,
  DASHBOARD_PANELS,
  errorBudget,
  RuleGroup,
  ServiceSlo,
  serviceSlos,
  sloDashboard,
  sloRuleGroups,
} from "../components/observability/slo";
import { serviceGraph } from "../components/service-graph";
import { platformConfigOf, readStackConfig } from "../render/stack";

// promtool comes from the Debian `prometheus` package (scripts/setup.sh installs it).
const promtool = (args: string[], cwd: string) => spawnSync("promtool", args, { cwd, encoding: "utf8" });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "slo-"));
const writeRules = (dir: string, groups: readonly RuleGroup[]) => {
  const file = path.join(dir, "rules.yaml");
  fs.writeFileSync(file, stringify({ groups }));
  return file;
};

const stackSlos = (stack: string) => {
  const cfg = platformConfigOf(readStackConfig(stack));
  return serviceSlos(serviceGraph(cfg), cfg.slo, cfg.services);
};

describe("service SLOs from the config", () => {
  it("takes the platform baseline and applies a service's overrides field by field", () => {
    const flat = readStackConfig("dev");
    const services = JSON.parse(flat["platform:services"]!);
    services["order-service"].slo = { availabilityPercent: 99.9, latencyMs: { p99: 500 } };
    const cfg = platformConfigOf({ ...flat, "platform:services": JSON.stringify(services) });
    const slos = serviceSlos(serviceGraph(cfg), cfg.slo, cfg.services);
    const order = slos.find((s) => s.service === "order-service");
    const user = slos.find((s) => s.service === "user-service");
    expect(user).toMatchObject({ availabilityPercent: 99.95, windowDays: 30, latencyMs: { p50: 20, p95: 100, p99: 300 }, errorRatePercent: 0.1, eventLagSeconds: 60 });
    expect(order).toMatchObject({ service: "order-service", availabilityPercent: 99.9, latencyMs: { p50: 20, p95: 100, p99: 500 } });
    expect(errorBudget(order!)).toBe(0.001);
  });

  it("gives consumers an event-lag objective on their group and topics, and producers none", () => {
    const slos = stackSlos("dev");
    const notify = slos.find((s) => s.service === "notification-service")!;
    expect(notify.consumer).toEqual({ group: "notification-service", topics: ["orders.created", "payments.settled"] });
    expect(slos.find((s) => s.service === "user-service")!.consumer).toBeUndefined();
  });
});

describe.each(["dev", "prod"])("the %s stack's rule groups", (stack) => {
  it("pass promtool check rules, one file per service", () => {
    for (const s of stackSlos(stack)) {
      const dir = tmp();
      writeRules(dir, sloRuleGroups(s));
      const r = promtool(["check", "rules", "rules.yaml"], dir);
      expect({ service: s.service, status: r.status, out: r.stdout + r.stderr }).toEqual({ service: s.service, status: 0, out: expect.stringContaining("SUCCESS") });
    }
  });

  it("alert on the four SRE-workbook burn windows per service, paging on the fast ones", () => {
    for (const s of stackSlos(stack)) {
      const burns = sloRuleGroups(s).flatMap((g) => g.rules).filter((r) => r.alert === "SLOErrorBudgetBurn");
      expect(burns.map((r) => [r.labels!["long_window"], r.labels!["short_window"], r.labels!["burn_factor"], r.labels!["severity"]])).toEqual([
        ["1h", "5m", "14.4", "page"],
        ["6h", "30m", "6", "page"],
        ["1d", "2h", "3", "ticket"],
        ["3d", "6h", "1", "ticket"],
      ]);
    }
  });
});

describe("burn-rate alerts under promtool test rules", () => {
  const http: ServiceSlo = {
    service: "checkout",
    namespace: "apps",
    protocol: "http",
    availabilityPercent: 99.95,
    windowDays: 30,
    latencyMs: { p50: 20, p95: 100, p99: 300 },
    errorRatePercent: 0.1,
    eventLagSeconds: 60,
    consumer: { group: "checkout", topics: ["orders.created"] },
  };
  const job = 'job="apps/checkout"';
  const budget = errorBudget(http); // 0.0005
  const burnLabels = (w: (typeof BURN_WINDOWS)[number]) => ({
    service: "checkout",
    namespace: "apps",
    slo: "availability",
    severity: w.severity,
    long_window: w.long,
    short_window: w.short,
    burn_factor: String(w.factor),
  });

  /** Requests per step split into ok and failed at `ratio`, as promtool expanding notation. */
  const requestSeries = (perStep: number, phases: { steps: number; ratio: number }[]) => {
    let ok = 0;
    let bad = 0;
    const okParts: string[] = [];
    const badParts: string[] = [];
    for (const p of phases) {
      const dBad = perStep * p.ratio;
      const dOk = perStep - dBad;
      okParts.push(`${ok}+${dOk}x${p.steps}`);
      badParts.push(`${bad}+${dBad}x${p.steps}`);
      ok += dOk * (p.steps + 1);
      bad += dBad * (p.steps + 1);
    }
    return [
      { series: `http_server_request_duration_seconds_count{${job},http_response_status_code="200"}`, values: okParts.join(" ") },
      { series: `http_server_request_duration_seconds_count{${job},http_response_status_code="500"}`, values: badParts.join(" ") },
    ];
  };

  /** An expected alert: its labels and the (static) annotations of the rule that carries them. */
  const alert = (labels: Record<string, string>) => {
    const rule = sloRuleGroups(http)
      .flatMap((g) => g.rules)
      .find((r) => r.alert && Object.entries(r.labels ?? {}).every(([k, v]) => labels[k] === v) && Object.keys(r.labels ?? {}).length === Object.keys(labels).length);
    if (!rule) throw new Error(`no rule with labels ${JSON.stringify(labels)}`);
    return { exp_labels: labels, exp_annotations: rule.annotations ?? {} };
  };

  const runTests = (tests: object[]) => {
    const dir = tmp();
    writeRules(dir, sloRuleGroups(http));
    fs.writeFileSync(path.join(dir, "test.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
    const r = promtool(["test", "rules", "test.yaml"], dir);
    return { status: r.status, out: r.stdout + r.stderr };
  };

  it("pages on a 15x burn within the 1h window, and not before the 1h average crosses 14.4x", () => {
    // A day healthy, then 15x the budget: the 1h ratio reaches 14.4x after 0.96h of burn, while
    // the slower windows are still diluted by the healthy day.
    const result = runTests([
      {
        interval: "1m",
        input_series: requestSeries(1000, [{ steps: 1440, ratio: 0 }, { steps: 120, ratio: 15 * budget }]),
        alert_rule_test: [
          { eval_time: "1435m", alertname: "SLOErrorBudgetBurn", exp_alerts: [] },
          { eval_time: "1490m", alertname: "SLOErrorBudgetBurn", exp_alerts: [] },
          { eval_time: "1500m", alertname: "SLOErrorBudgetBurn", exp_alerts: [alert(burnLabels(BURN_WINDOWS[0]))] },
        ],
      },
    ]);
    expect(result).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("only tickets on a 1.05x burn, once the 3d window is nearly all burn", () => {
    // 6h healthy, then 1.05x for 3 days: the 3d ratio crosses 1x after ~68.6h of burn.
    const result = runTests([
      {
        interval: "5m",
        input_series: requestSeries(10000, [{ steps: 72, ratio: 0 }, { steps: 12 * 76, ratio: 1.05 * budget }]),
        alert_rule_test: [
          { eval_time: "30h", alertname: "SLOErrorBudgetBurn", exp_alerts: [] },
          { eval_time: "66h", alertname: "SLOErrorBudgetBurn", exp_alerts: [] },
          { eval_time: "78h", alertname: "SLOErrorBudgetBurn", exp_alerts: [alert(burnLabels(BURN_WINDOWS[3]))] },
        ],
      },
    ]);
    expect(result).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("fires nothing for a healthy service: low error rate, fast responses, consumer caught up", () => {
    const count = (le: string, perMin: number) => ({ series: `http_server_request_duration_seconds_bucket{${job},le="${le}"}`, values: `0+${perMin}x600` });
    const healthy = [
      ...requestSeries(1000, [{ steps: 600, ratio: 0.4 * budget }]),
      count("0.005", 300),
      count("0.01", 600),
      count("0.025", 900),
      count("0.05", 960),
      count("0.1", 995),
      count("0.25", 1000),
      count("+Inf", 1000),
      // 10 messages/s produced, 100 behind: 10 s of lag.
      { series: 'kafka_topic_partition_current_offset{topic="orders.created",partition="0"}', values: "0+600x600" },
      { series: 'kafka_consumergroup_lag{consumergroup="checkout",topic="orders.created",partition="0"}', values: "100x600" },
    ];
    const none = (t: string) => ["SLOErrorBudgetBurn", "SLOErrorRateHigh", "SLOLatencyHigh", "SLOEventLagHigh"].map((alertname) => ({ eval_time: t, alertname, exp_alerts: [] }));
    const result = runTests([
      {
        interval: "1m",
        input_series: healthy,
        alert_rule_test: [...none("1h"), ...none("5h"), ...none("10h")],
        promql_expr_test: [
          { expr: 'slo:event_lag_seconds:max{service="checkout"}', eval_time: "1h", exp_samples: [{ labels: 'slo:event_lag_seconds:max{service="checkout",namespace="apps",slo="event-lag",consumergroup="checkout"}', value: 10 }] },
        ],
      },
    ]);
    expect(result).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("pages when a consumer falls more than the objective behind, and flags slow p99", () => {
    const result = runTests([
      {
        interval: "1m",
        input_series: [
          ...requestSeries(1000, [{ steps: 120, ratio: 0 }]),
          // Everything between 250 ms and 500 ms: p99 ≈ 0.5 s > 300 ms.
          { series: `http_server_request_duration_seconds_bucket{${job},le="0.25"}`, values: "0x120" },
          { series: `http_server_request_duration_seconds_bucket{${job},le="0.5"}`, values: "0+1000x120" },
          { series: `http_server_request_duration_seconds_bucket{${job},le="+Inf"}`, values: "0+1000x120" },
          // 10 messages/s produced, 1200 behind: 120 s of lag.
          { series: 'kafka_topic_partition_current_offset{topic="orders.created",partition="0"}', values: "0+600x120" },
          { series: 'kafka_consumergroup_lag{consumergroup="checkout",topic="orders.created",partition="0"}', values: "1200x120" },
        ],
        alert_rule_test: [
          { eval_time: "3m", alertname: "SLOEventLagHigh", exp_alerts: [] },
          {
            eval_time: "30m",
            alertname: "SLOEventLagHigh",
            exp_alerts: [alert({ service: "checkout", namespace: "apps", slo: "event-lag", consumergroup: "checkout", severity: "page" })],
          },
          {
            eval_time: "60m",
            alertname: "SLOLatencyHigh",
            exp_alerts: ["p50", "p95", "p99"].map((q) => alert({ service: "checkout", namespace: "apps", slo: "latency", quantile: q, severity: "ticket" })),
          },
        ],
      },
    ]);
    expect(result).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });
});

describe("SLO dashboards", () => {
  it.each(["dev", "prod"])("are valid JSON with SLI, budget, burn-rate, latency (and lag for consumers) panels per %s service", (stack) => {
    for (const s of stackSlos(stack)) {
      const json = JSON.parse(JSON.stringify(sloDashboard(s))) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
      const titles = json.panels.map((p) => p.title);
      expect(titles).toEqual(expect.arrayContaining([DASHBOARD_PANELS.sli, DASHBOARD_PANELS.budget, DASHBOARD_PANELS.burn, DASHBOARD_PANELS.latency]));
      expect(titles.includes(DASHBOARD_PANELS.eventLag)).toBe(s.consumer !== undefined);
      for (const p of json.panels) {
        expect(p.targets.length).toBeGreaterThan(0);
        for (const t of p.targets) expect(t.expr).toContain(`service="${s.service}"`);
      }
      expect(json.uid.length).toBeLessThanOrEqual(40);
    }
  });
});
