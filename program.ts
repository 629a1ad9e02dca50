/**
 * The program, shared by `pulumi up` (index.ts) and the offline render (render/). Config is loaded
 * and validated first: invalid config throws before any resource is registered.
 */
import { loadPlatformConfig } from "./config/load";
import type { PlatformConfig } from "./config/schema";
import { settled } from "./components/core/pacing";
import { Platform } from "./components/platform";

/** Stack outputs. */
export interface PlatformOutputs {
  readonly environment: string;
  readonly endpoints: Platform["endpoints"];
  readonly namespaces: Platform["namespaces"];
  /** Gateway URLs and, with a generated certificate, the CA clients must trust. */
  readonly gateway: Platform["gateway"];
  readonly dataServices: Platform["dataServices"];
}

/**
 * Registers the platform. Resolves once every resource has been created, including the per-service
 * objects built a turn at a time (components/core/pacing.ts): `pulumi up` must see them all.
 */
export async function definePlatform(config: PlatformConfig = loadPlatformConfig()): Promise<PlatformOutputs> {
  return platformOutputs(new Platform("platform", { config }));
}

/** A Platform's stack outputs, once every resource it builds is registered. */
export async function platformOutputs(platform: Platform): Promise<PlatformOutputs> {
  await settled();
  return {
    environment: platform.config.environment,
    endpoints: platform.endpoints,
    namespaces: platform.namespaces,
    gateway: platform.gateway,
    dataServices: platform.dataServices,
  };
}
