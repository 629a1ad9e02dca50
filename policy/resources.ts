/**
 * Resource requests and limits: CPU and memory requests (scheduling, autoscaling) and a memory
 * limit (memory is not compressible: without a limit one leak evicts the node's other pods). A CPU
 * limit is optional on purpose: CFS throttling hurts latency more than it protects neighbours,
 * and the CPU request already guarantees each pod its share.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { perContainer, podPolicy } from "./workload-policy";

const REQUIRED: readonly [string, string][] = [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]];

export const containerResources: ResourceValidationPolicy = podPolicy({
  name: "container-resources",
  description: "Every container sets CPU and memory requests and a memory limit (a CPU limit is optional).",
  severity: "medium",
  remediationSteps: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory.",
  check: (pod) =>
    perContainer(pod, (r) => {
      const missing = REQUIRED.filter(([k, res]) => {
        const v = r.container.resources?.[k]?.[res];
        return v === undefined || v === null || v === "";
      }).map(([k, res]) => `${k}.${res}`);
      return missing.length ? `resources ${missing.join(", ")} not set` : undefined;
    }),
});
