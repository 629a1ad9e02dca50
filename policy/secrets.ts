/**
 * No secret-looking value in plain config or env: ConfigMap data, and literal `env[].value` of
 * every container of every workload kind. A value is secret-looking by its name (PASSWORD, TOKEN,
 * API_KEY... with a literal value) or by its shape (a private key, a cloud access key, a token, a
 * URL with a password in it). A Secret reference (`valueFrom.secretKeyRef`, `envFrom.secretRef`) is
 * the fix and is never flagged.
 *
 * Helm values are not inspected: the engine hands policies Pulumi secrets already decrypted, so a
 * password correctly passed as a Pulumi secret would look exactly like a plain one (README).
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { secretLooking } from "./secret-shapes";
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { metadataOf, Obj } from "./k8s";
import { ofKind, workloadsOf } from "./stack-helpers";

// The shapes and names are shared with the config schema, which refuses the same values in service
// env: one rule in one place, so the schema and the pack agree.
export { SECRET_NAME, SECRET_VALUES, secretLooking } from "./secret-shapes";
export type { SecretShape } from "./secret-shapes";

export const noPlainSecrets: StackValidationPolicy = {
  name: "no-plain-secrets",
  description: "No secret-looking value sits in a ConfigMap or in a container's literal env.",
  severity: "critical",
  remediationSteps: "Put the value in a Secret (a Pulumi secret output, or SOPS/External Secrets for GitOps) and reference it with secretKeyRef.",
  configSchema: exemptionsOnly,
  validateStack: (args, report) => {
    const cfg = configOf<{ exemptions: Exemption[] }>(exemptionsOnly, args.getConfig());
    for (const cm of ofKind(args.resources, ["core"], "ConfigMap")) {
      const m = metadataOf(cm.props);
      const ns = m.namespace ?? "default";
      for (const field of ["data", "binaryData"]) {
        for (const [k, v] of Object.entries((cm.props[field] ?? {}) as Obj)) {
          const why = secretLooking(k, v);
          if (why) reportOrExempt(report, `ConfigMap ${ns}/${m.name} ${field}.${k}: ${why}`, exemptionFor(cfg.exemptions, ns, m.name ?? cm.name), cm.urn);
        }
      }
    }
    for (const w of workloadsOf(args.resources)) {
      for (const c of w.containers) {
        for (const e of (c.container.env ?? []) as Obj[]) {
          const why = secretLooking(String(e["name"]), e["value"]);
          if (why) {
            reportOrExempt(report, `${w.kind} ${w.namespace}/${w.name} ${c.label} env ${e["name"]}: ${why}`, exemptionFor(cfg.exemptions, w.namespace, w.name, c.container.name), w.resource.urn);
          }
        }
      }
    }
  },
};
