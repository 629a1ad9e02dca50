/**
 * Helm releases: the pack cannot see the objects a chart renders (the Release resource carries
 * chart, version, repository and values only), so what it can check is the pin: an exact chart
 * version from an https:// or oci:// repository. What else a release's values make checkable is
 * checked where it belongs (service.type in services.ts, quorum sizes in quorum.ts); README lists
 * what stays invisible.
 */
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { isHelmChart } from "./k8s";
import type { TypeScopedPolicy } from "./type-scope";

const onlyReleases = (type: string): string | undefined => (isHelmChart(type) ? undefined : "only Helm releases");

/** An exact version: no range (^, ~, x, *, >, <, ||, spaces) and not empty. */
export function exactVersion(v: unknown): boolean {
  return typeof v === "string" && /^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$/.test(v);
}

export const helmReleasePinned: TypeScopedPolicy = {
  name: "helm-release-pinned",
  description: "Every Helm release pins an exact chart version from an https:// or oci:// repository.",
  severity: "high",
  remediationSteps: "Set version to an exact chart version and repositoryOpts.repo to the chart's https:// or oci:// repository.",
  configSchema: exemptionsOnly,
  notApplicableToType: onlyReleases,
  validateResource: (args, report) => {
    const na = onlyReleases(args.type);
    if (na) args.notApplicable(na);
    const cfg = configOf<{ exemptions: Exemption[] }>(exemptionsOnly, args.getConfig());
    const ns = String(args.props["namespace"] ?? "default");
    const name = String(args.props["name"] ?? args.name);
    const ex = exemptionFor(cfg.exemptions, ns, name);
    const chart = args.props["chart"];
    const version = args.props["version"];
    const repo: unknown = args.props["repositoryOpts"]?.["repo"];
    if (!exactVersion(version)) reportOrExempt(report, `Helm release ${ns}/${name}: chart ${chart} version ${JSON.stringify(version ?? null)} is not an exact version`, ex);
    // A chart from a local chart cache (platform:charts.path) is pinned by its directory,
    // `<cache>/<chart>/<version>`: it needs no repository, but its path must name that version.
    if (typeof chart === "string" && chart.includes("/") && !chart.includes("://")) {
      if (chart.split("/").filter(Boolean).pop() !== version) reportOrExempt(report, `Helm release ${ns}/${name}: local chart ${chart} is not the directory of version ${JSON.stringify(version ?? null)}`, ex);
    } else if (typeof repo !== "string" || !/^(https|oci):\/\//.test(repo)) {
      reportOrExempt(report, `Helm release ${ns}/${name}: repository ${JSON.stringify(repo ?? null)} is not an https:// or oci:// repository`, ex);
    }
  },
};
