// Entry point for `pulumi up` / `pulumi preview`. The same program runs offline under mocks in render/.
import { definePlatform } from "./program";

const outputs = definePlatform();

export const environment = outputs.environment;
export const endpoints = outputs.endpoints;
export const namespaces = outputs.namespaces;
export const gateway = outputs.gateway;
export const dataServices = outputs.dataServices;
