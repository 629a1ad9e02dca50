import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease } from "../core/objects";

/** Inputs of the prometheus-operator CRDs. */
export interface PrometheusOperatorCrdsArgs {
  /** Namespace the Helm release record lives in (the CRDs themselves are cluster-scoped). */
  readonly namespace: pulumi.Input<string>;
}

/**
 * The prometheus-operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule, Prometheus,
 * Alertmanager, ...) as their own install stage. kube-prometheus-stack then runs with
 * crds.enabled=false; everything that renders a monitoring.coreos.com object waits for this
 * component only, not for the whole stack. The chart ships the CRDs as templates, so a chart
 * upgrade also upgrades them (Helm never upgrades a chart's crds/ directory).
 */
export class PrometheusOperatorCrds extends pulumi.ComponentResource {
  /** The release; components that render monitoring.coreos.com objects depend on it. */
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: PrometheusOperatorCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:observability:PrometheusOperatorCrds", name, {}, opts);
    const pin = charts.prometheusOperatorCrds;
    this.release = chartRelease(name, { releaseName: name, pin, namespace: args.namespace, values: {} }, { parent: this });
    this.registerOutputs({});
  }
}
