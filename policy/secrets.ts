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
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { metadataOf, Obj } from "./k8s";
import { ofKind, workloadsOf } from "./stack-helpers";

/** Names that announce a secret (the program's config schema rejects the same names in service env). */
export const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|ACCESS_?KEY)$/i;

/** A shape of secret value: what it is, its pattern, and a cheap test every match passes. */
export interface SecretShape {
  readonly what: string;
  readonly re: RegExp;
  /**
   * False only for values the pattern cannot match (a substring every match contains is absent):
   * the patterns try every position of a value, and ConfigMaps hold long ones (Grafana dashboards).
   */
  readonly maybe: (value: string) => boolean;
}

const has =
  (...needles: string[]) =>
  (v: string): boolean => {
    for (let i = 0; i < needles.length; i++) if (v.includes(needles[i]!)) return true;
    return false;
  };

/** Both tests pass: a common prefix first, one scan of a value that lacks it instead of five. */
const both =
  (a: (v: string) => boolean, b: (v: string) => boolean) =>
  (v: string): boolean =>
    a(v) && b(v);

/** Shapes of secret values, by what they are (the first that matches names the finding). */
export const SECRET_VALUES: readonly SecretShape[] = [
  { what: "a private key", re: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, maybe: has("PRIVATE KEY-----") },
  { what: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, maybe: has("AKIA", "ASIA") },
  { what: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/, maybe: both(has("gh"), has("ghp_", "gho_", "ghu_", "ghs_", "ghr_")) },
  { what: "a Slack token", re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, maybe: both(has("xox"), has("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-")) },
  { what: "a JSON web token", re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, maybe: has(".eyJ") },
  { what: "a URL with a password", re: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, maybe: both(has("://"), has("@")) },
];

/** Why a name/value pair looks like a secret, or undefined. */
export function secretLooking(name: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const shape = SECRET_VALUES.find((s) => s.maybe(value) && s.re.test(value));
  if (shape) return `its value looks like ${shape.what}`;
  if (SECRET_NAME.test(name)) return "its name says it is a secret";
  return undefined;
}

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
