import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease, childOptions } from "../core/objects";

/** Inputs of Kyverno. */
export interface KyvernoArgs {
  /** Namespace (created by the Platform; deliberately not in the ambient mesh, see below). */
  readonly namespace: pulumi.Input<string>;
  /** Production sizing: 3 admission replicas, 2 of each other controller, PDBs. */
  readonly production: boolean;
  /** The prometheus-operator CRDs: the chart's ServiceMonitors need them (none: observability is off, no monitors). */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** Chart values. Pure, so tests check the keys against the pinned chart. */
export function kyvernoValues(production: boolean, monitoring = true): Record<string, unknown> {
  // The chart renders a controller's PDB whenever it has more than one replica (its `enabled` key
  // only forces one for a single replica, which would block drains): prod gets them, dev does not.
  const pdb = production ? { podDisruptionBudget: { minAvailable: 1 } } : {};
  const spread = (component: string) =>
    production ? [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { "app.kubernetes.io/component": component } } }] : [];
  return {
    admissionController: { replicas: production ? 3 : 1, ...pdb, topologySpreadConstraints: spread("admission-controller"), serviceMonitor: { enabled: monitoring } },
    backgroundController: { replicas: production ? 2 : 1, ...pdb, topologySpreadConstraints: spread("background-controller"), serviceMonitor: { enabled: monitoring } },
    cleanupController: { replicas: production ? 2 : 1, ...pdb, topologySpreadConstraints: spread("cleanup-controller"), serviceMonitor: { enabled: monitoring } },
    // Every controller's metrics Service gets the chart's ServiceMonitor (the stack's Prometheus selects all).
    reportsController: { replicas: production ? 2 : 1, ...pdb, topologySpreadConstraints: spread("reports-controller"), serviceMonitor: { enabled: monitoring } },
    // The chart's Helm hooks never run under Chart v4 (the provider templates with hooks off), so
    // they are turned off here rather than left silently unapplied (docs/security.md):
    // - pre-delete webhook cleanup and scale-to-zero: since Kyverno 1.13 the admission controller
    //   removes its own webhook configurations when its Deployment is deleted (kyverno/kyverno#10782);
    // - post-upgrade CR storage migration: an upgrade that changes a CRD's storage version runs
    //   `kyverno migrate` by hand (docs/security.md, "Upgrading Kyverno").
    webhooksCleanup: { enabled: false },
    crds: { migration: { enabled: false } },
  };
}

/**
 * Kyverno (chart pinned in versions/index.ts), the admission-time half of the security baseline.
 * Its namespace stays out of ambient STRICT mTLS: the API server, which calls its webhooks, is not
 * a mesh member and cannot present a mesh certificate (istio/istio#52874).
 */
export class Kyverno extends pulumi.ComponentResource {
  /** The release; the policies wait on it (its CRDs and webhooks). */
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: KyvernoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:security:Kyverno", name, {}, opts);
    this.release = chartRelease(name, { releaseName: "kyverno", pin: charts.kyverno, namespace: args.namespace, values: kyvernoValues(args.production, args.monitoringCrds.length > 0) }, childOptions(this, opts, args.monitoringCrds));
    this.registerOutputs({ release: this.release.urn });
  }
}
