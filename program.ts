/**
 * The program, shared by `pulumi up` (index.ts) and the offline render (render/). Config is loaded
 * and validated first: invalid config throws before any resource is registered.
 */
import { loadPlatformConfig } from "./config/load";
import type { PlatformConfig } from "./config/schema";
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

export function definePlatform(config: PlatformConfig = loadPlatformConfig()): PlatformOutputs {
  const platform = new Platform("platform", { config });
  return {
    environment: config.environment,
    endpoints: platform.endpoints,
    namespaces: platform.namespaces,
    gateway: platform.gateway,
    dataServices: platform.dataServices,
  };
}
