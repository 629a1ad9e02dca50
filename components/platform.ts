import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { PlatformConfig } from "../config/schema";
import { crdBundles } from "../versions";
import { GatewayApiCrds } from "./core/gateway-api-crds";
import { Namespaces } from "./core/namespaces";
import { serviceGraph, ServiceGraph } from "./service-graph";
import { Microservice } from "./workloads/microservice";

/** Repository root: vendored data (crds/) is read relative to it. */
const REPO_ROOT = path.resolve(__dirname, "..");

/** Inputs of the Platform. */
export interface PlatformArgs {
  /** The stack's validated config (config/load.ts). */
  readonly config: PlatformConfig;
}

/** What a user of the stack needs from it. */
export interface ServiceEndpoint {
  /** In-cluster DNS name of the stable Service. */
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
}

/**
 * The whole platform for one stack. It composes the areas in the order of INSTALL_ORDER
 * (components/install-order.ts); areas receive what they need from each other as args.
 */
export class Platform extends pulumi.ComponentResource {
  /** The plain-data view of the service declarations every area derives from. */
  public readonly graph: ServiceGraph;
  /** Service name → in-cluster endpoint. */
  public readonly endpoints: Record<string, ServiceEndpoint>;
  /** Application namespaces. */
  public readonly namespaces: pulumi.Output<string[]>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:index:Platform", name, {}, opts);
    const cfg = args.config;
    this.graph = serviceGraph(cfg);

    // Stage "crds": the Gateway API is read by both the gateway and the mesh.
    if (cfg.gateway.enabled || cfg.mesh.enabled) {
      const pin = crdBundles.gatewayApi;
      new GatewayApiCrds("gateway-api-crds", { dir: path.join(REPO_ROOT, pin.path), version: pin.version }, { parent: this });
    }

    // Stage "namespaces".
    const namespaces = new Namespaces("namespaces", { names: this.graph.namespaces, podSecurity: cfg.security.podSecurity }, { parent: this });

    // Stage "workloads": each service waits only for its own namespace (through the name output).
    for (const [svcName, spec] of Object.entries(cfg.services)) {
      const ns = namespaces.names[spec.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svcName}.namespace: namespace ${spec.namespace} was not created`, this);
      new Microservice(
        svcName,
        {
          namespace: ns,
          spec,
          environment: cfg.environment,
          otlpEndpoint: cfg.observability.otlpEndpoint,
          spreadAcrossZones: cfg.cluster.zones.length > 0,
        },
        { parent: this },
      );
    }

    this.endpoints = Object.fromEntries(this.graph.services.map((s) => [s.name, { host: s.host, port: s.port, protocol: s.protocol }]));
    this.namespaces = pulumi.all(Object.values(namespaces.names));
    this.registerOutputs({ endpoints: this.endpoints, namespaces: this.namespaces });
  }
}
