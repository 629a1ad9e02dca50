import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease, childOptions } from "../core/objects";
import { topologySpread } from "./routing";

/** Inputs of the Envoy Gateway controller. */
export interface EnvoyGatewayControllerArgs {
  /** Namespace of the controller and of the proxies it deploys (created by the Platform). */
  readonly namespace: pulumi.Input<string>;
  /** Controller replicas (gateway.replicas; leader election makes extra replicas standbys). */
  readonly replicas: number;
  /** Whether nodes span zones. */
  readonly spreadAcrossZones: boolean;
  /** Controller log level (gateway.envoy.logLevel). */
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

/** Values of `gateway-crds-helm`: Envoy Gateway's own CRDs only. */
export function envoyGatewayCrdsValues(): Record<string, unknown> {
  // Gateway API CRDs come from the platform's standard-channel stage; this chart's copy is the
  // experimental channel, which the safe-upgrades policy would (rightly) reject.
  return { crds: { gatewayAPI: { enabled: false }, envoyGateway: { enabled: true } } };
}

/** Values of `gateway-helm`. Pure, so tests check the keys against the pinned chart. */
export function envoyGatewayValues(args: Pick<EnvoyGatewayControllerArgs, "replicas" | "spreadAcrossZones" | "logLevel">): Record<string, unknown> {
  const ha = args.replicas >= 2;
  return {
    // CRDs are installed by the previous release; the bundled ones are experimental-channel.
    crds: { enabled: false },
    deployment: {
      replicas: args.replicas,
      pod: {
        topologySpreadConstraints: topologySpread({ "control-plane": "envoy-gateway" }, args.spreadAcrossZones),
        // The controller serves the API server's webhook (topology injector) and the proxies' xDS.
        // The API server is outside the mesh and cannot pass ztunnel under STRICT mTLS
        // (istio/istio#52874), so the controller stays out of the mesh, like Kyverno's namespace.
        labels: { "istio.io/dataplane-mode": "none" },
      },
    },
    podDisruptionBudget: ha ? { minAvailable: 1 } : {},
    // The pre-install certgen Job (why this chart stays a Release) gets requests and a limit too.
    certgen: { job: { resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } } } },
    config: {
      envoyGateway: {
        gateway: { controllerName: "gateway.envoyproxy.io/gatewayclass-controller" },
        provider: { type: "Kubernetes" },
        logging: { level: { default: args.logLevel } },
      },
    },
  };
}

/**
 * Envoy Gateway (charts pinned in versions/index.ts): `gateway-crds-helm` with the Gateway API
 * CRDs off and Envoy Gateway's CRDs on, then `gateway-helm` with its CRDs off. The data plane's
 * shape (replicas, HPA, PDB, tracing) is the EnvoyProxy the GatewayClass points at.
 */
export class EnvoyGatewayController extends pulumi.ComponentResource {
  /** The controller release; later stages wait on it. */
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: EnvoyGatewayControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:gateway:EnvoyGatewayController", name, {}, opts);
    const crds = chartRelease(`${name}-crds`, { releaseName: "envoy-gateway-crds", pin: charts.envoyGatewayCrds, namespace: args.namespace, values: envoyGatewayCrdsValues() }, childOptions(this, opts));
    this.release = chartRelease(
      name,
      // The chart's CRDs are off, so Helm must not install the copies under crds/ either.
      // A Helm v3 Release, not a Chart v4: its pre-install certgen Job creates the TLS Secrets
      // (envoy-gateway, envoy, envoy-rate-limit) the controller mounts, and a Chart v4 never runs
      // hooks, so the controller would never start (docs/render.md).
      { releaseName: "envoy-gateway", pin: charts.envoyGateway, namespace: args.namespace, skipCrds: true, values: envoyGatewayValues(args), needsHooks: true },
      // The controller watches EnvoyProxy and the policy CRDs, which the first release installs.
      childOptions(this, opts, [crds]),
    );
    this.registerOutputs({ release: this.release.urn });
  }
}
