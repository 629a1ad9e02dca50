// Entry point for `pulumi up` / `pulumi preview`. The same program runs offline under mocks in render/.
import { definePlatform } from "./program";

// A promise: the program resolves once every resource is registered (program.ts); Pulumi awaits
// promise-valued stack outputs before it completes the update.
const outputs = definePlatform();

export const environment = outputs.then((o) => o.environment);
export const endpoints = outputs.then((o) => o.endpoints);
export const namespaces = outputs.then((o) => o.namespaces);
export const gateway = outputs.then((o) => o.gateway);
export const dataServices = outputs.then((o) => o.dataServices);
