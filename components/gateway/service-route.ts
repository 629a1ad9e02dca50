import * as pulumi from "@pulumi/pulumi";
import { childOptions, customResource } from "../core/objects";
import { PacedComponent } from "../core/pacing";
import type { Exposure } from "../service-graph";
import { GatewayRef, Implementation, RouteResilience, serviceRouteObjects } from "./routing";

/** Inputs of one exposed service's route. */
export interface ServiceRouteArgs {
  /** Which implementation's native policies to render. */
  readonly implementation: Implementation;
  /** The exposure declared by the service (services.<name>.expose), with its port and protocol. */
  readonly exposure: Exposure;
  /** The Gateway the route attaches to. */
  readonly gateway: GatewayRef;
  /** The exposure's timeout and retries and its destination's pool and breaker (config/resilience.ts). */
  readonly resilience: RouteResilience;
}

/**
 * One exposed service at the gateway: an HTTPRoute (or GRPCRoute) with host/path/header matches,
 * the canary split and header override, and the implementation's objects for stickiness, rate
 * limit, security headers, timeout, retries and circuit breaking. Derived entirely from the service's `expose` declaration.
 */
export class ServiceRoute extends PacedComponent<{ objects: string[] }> {
  /** Kinds and names of what was rendered, for the report and tests. */
  public readonly objects: string[];

  constructor(name: string, args: ServiceRouteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:gateway:ServiceRoute", name, opts);
    const objs = serviceRouteObjects(args.implementation, args.exposure, args.gateway, args.resilience);
    this.objects = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    // Registered a turn later (components/core/pacing.ts).
    this.later(() => {
      for (const o of objs) customResource(`${name}-${o.kind.toLowerCase()}-${o.metadata.name}`, o, childOptions(this, opts));
      return { objects: this.objects };
    });
  }
}
