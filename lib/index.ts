/**
 * The package's entry point: the platform as components a team's own Pulumi program composes.
 *
 *   import { Platform, parsePlatformConfig } from "microservice-platform";
 *   const config = parsePlatformConfig({ environment: "dev", services: { ... } }); // typed: PlatformInput
 *   const platform = new Platform("platform", { config });
 *
 * parsePlatformConfig validates before any resource exists and throws a ConfigError with one line
 * per mistake. This repository's stack-file program (index.ts, program.ts) is one consumer of it.
 * The offline render is the second entry point, `microservice-platform/render` (lib/render.ts).
 */
export { Platform } from "../components/platform";
export type { PlatformArgs, ServiceEndpoint, GatewayOutputs, DataServices } from "../components/platform";
export { Microservice, LABEL_NAME, LABEL_TRACK } from "../components/workloads/microservice";
export type { MicroserviceArgs, MicroserviceOutputs } from "../components/workloads/microservice";
export { definePlatform, platformOutputs } from "../program";
export type { PlatformOutputs } from "../program";
export { parsePlatformConfig, loadPlatformConfig, ConfigError, CONFIG_NAMESPACE } from "../config/load";
export { structuralSchema as platformSchema, PLATFORM_NAMESPACES } from "../config/schema";
export type { PlatformConfig, PlatformInput, ServiceConfig, CallConfig, ExposureConfig, SloConfig, EtcdConfig, ConsulConfig, KafkaConfig, NatsConfig } from "../config/schema";
export { charts as chartPins, crdBundles, images } from "../versions";
