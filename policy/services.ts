/**
 * Nothing but the gateway is reachable from outside the cluster: no LoadBalancer or NodePort
 * Service except the gateway's. Plain Services are checked directly; for a Helm release, the
 * conventional `service.type` value is what the pack can see (the chart's own Services are hidden
 * from policies, see README).
 */
import type { PolicyConfigSchema } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsProperty, reportOrExempt } from "./config";
import { isHelmChart, Obj, parseType } from "./k8s";
import type { TypeScopedPolicy } from "./type-scope";
import { objectLabel } from "./workload-policy";

const EXTERNAL = ["LoadBalancer", "NodePort"];

interface ServiceConfig {
  /** Services of the gateway (namespace + name): the one entry from outside. */
  gatewayServices: { namespace: string; name: string }[];
  /** Helm charts that are the gateway and may set service.type LoadBalancer. */
  gatewayCharts: string[];
  exemptions: Exemption[];
}

const schema: PolicyConfigSchema = {
  properties: {
    gatewayServices: {
      type: "array",
      description: "The gateway's Services (namespace + name): the only ones allowed to be LoadBalancer or NodePort.",
      items: { type: "object", additionalProperties: false, required: ["namespace", "name"], properties: { namespace: { type: "string" }, name: { type: "string" } } },
      default: [],
    },
    gatewayCharts: {
      type: "array",
      description: "Helm charts that deploy the gateway (their Service is the entry point).",
      items: { type: "string" },
      default: ["traefik", "gateway-helm"],
    },
    exemptions: exemptionsProperty as any,
  },
};

const onlyServicesAndReleases = (type: string): string | undefined => {
  const t = parseType(type);
  return isHelmChart(type) || (t && t.group === "core" && t.kind === "Service") ? undefined : "only Services and Helm releases";
};

export const noExternalService: TypeScopedPolicy = {
  name: "no-external-service",
  description: "No LoadBalancer or NodePort Service except the gateway's: traffic from outside enters through the gateway only.",
  severity: "high",
  remediationSteps: "Use a ClusterIP Service and route to it through the gateway (an HTTPRoute or GRPCRoute).",
  configSchema: schema,
  notApplicableToType: onlyServicesAndReleases,
  validateResource: (args, report) => {
    const cfg = configOf<ServiceConfig>(schema, args.getConfig());
    if (isHelmChart(args.type)) {
      const chart = String(args.props["chart"] ?? "");
      const type = (args.props["values"] as Obj | undefined)?.["service"]?.["type"];
      if (!EXTERNAL.includes(type) || cfg.gatewayCharts.includes(chart)) return;
      const ns = String(args.props["namespace"] ?? "default");
      const name = String(args.props["name"] ?? args.name);
      reportOrExempt(report, `Helm release ${ns}/${name} (chart ${chart}) sets service.type ${type}`, exemptionFor(cfg.exemptions, ns, name));
      return;
    }
    const na = onlyServicesAndReleases(args.type);
    if (na) args.notApplicable(na);
    const type = args.props["spec"]?.["type"];
    if (!EXTERNAL.includes(type)) return;
    const w = objectLabel(args.type, args.props);
    if (cfg.gatewayServices.some((g) => g.namespace === w.namespace && g.name === w.name)) return;
    reportOrExempt(report, `${w.label} is of type ${type}; only the gateway's Service may be`, exemptionFor(cfg.exemptions, w.namespace, w.name));
  },
};
