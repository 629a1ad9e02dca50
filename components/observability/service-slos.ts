import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PacedComponent } from "../core/pacing";
import { ServiceSlo, sloDashboard, sloRuleGroups } from "./slo";

/** Inputs of the SLO objects. */
export interface ServiceSlosArgs {
  /** Namespace the rules and dashboards live in (Prometheus and Grafana watch all namespaces). */
  readonly namespace: pulumi.Input<string>;
  /** Every service's objectives (slo.ts `serviceSlos`). */
  readonly slos: readonly ServiceSlo[];
  /** Label the Grafana dashboard sidecar watches. */
  readonly dashboardLabel: Readonly<Record<string, string>>;
  /** The prometheus-operator CRDs (PrometheusRule). */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/**
 * SLOs as code: per service a PrometheusRule (recording rules and multi-window multi-burn-rate
 * alerts) and a Grafana dashboard in a ConfigMap the Grafana sidecar loads.
 */
export class ServiceSlos extends PacedComponent<{ ruleNames: string[] }> {
  /** Names of the PrometheusRule objects, one per service. */
  public readonly ruleNames: string[];

  constructor(name: string, args: ServiceSlosArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:ServiceSlos", name, opts);
    this.ruleNames = args.slos.map((s) => `slo-${s.service}`);
    // One service's rules and dashboard per turn (components/core/pacing.ts).
    for (const s of args.slos) void this.item(() => this.service(name, args, s));
    this.later(() => ({ ruleNames: this.ruleNames }));
  }

  private service(name: string, args: ServiceSlosArgs, s: ServiceSlo): void {
    const labels = { "app.kubernetes.io/part-of": "platform", "platform.io/slo-service": s.service };
    const ruleName = `slo-${s.service}`;
    new k8s.apiextensions.CustomResource(
      `${name}-${s.service}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: ruleName, namespace: args.namespace, labels },
        spec: { groups: sloRuleGroups(s) },
      },
      // A PrometheusRule needs its CRD.
      { parent: this, dependsOn: args.monitoringCrds },
    );
    new k8s.core.v1.ConfigMap(
      `${name}-${s.service}-dashboard`,
      {
        metadata: { name: `slo-dashboard-${s.service}`, namespace: args.namespace, labels: { ...labels, ...args.dashboardLabel } },
        data: { [`slo-${s.service}.json`]: JSON.stringify(sloDashboard(s), null, 2) },
      },
      { parent: this },
    );
  }
}
