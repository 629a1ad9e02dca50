/**
 * A Kyverno image-verification policy covers every image the stack's workloads use: for each
 * image, some verifying rule whose image references match it and that names attestors (a rule
 * without attestors verifies nothing). Understood forms:
 * - `kyverno.io/v1` (and v2beta1) ClusterPolicy / Policy: `spec.rules[].verifyImages[]` with
 *   `imageReferences` (or the older `image`) and `attestors`; a namespaced Policy only covers its
 *   own namespace.
 * - `policies.kyverno.io` ImageValidatingPolicy: `spec.matchImageReferences[].glob` with
 *   `spec.attestors`.
 * Patterns are Kyverno wildcards (`*` any characters, `?` one). The rules' match/exclude blocks
 * are not evaluated: a rule is assumed to match the workloads' pods (README).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { metadataOf, Obj, parseType } from "./k8s";
import { parseImage } from "./images";
import { workloadsOf } from "./stack-helpers";

/** One verifying rule: the patterns it covers and where it applies. */
export interface Verifier {
  readonly policy: string;
  readonly patterns: readonly string[];
  /** Namespace of a namespaced Policy; undefined: cluster-wide. */
  readonly namespace?: string;
}

// A stack has a handful of patterns and tests each against every image: each compiled once.
const wildcards = new Map<string, RegExp>();

export function wildcardMatch(pattern: string, value: string): boolean {
  let re = wildcards.get(pattern);
  if (!re) {
    re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
    if (wildcards.size >= 1_000) wildcards.clear(); // bounded, whatever the input
    wildcards.set(pattern, re);
  }
  return re.test(value);
}

const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;

/** The verifying rules declared by the stack's Kyverno objects. */
export function verifiersOf(resources: readonly PolicyResource[]): Verifier[] {
  const out: Verifier[] = [];
  for (const r of resources) {
    const t = parseType(r.type);
    // By type first: reading props deserializes them (audit/analyzer.ts), wasted on other kinds.
    if (!t || (t.group !== "kyverno.io" && t.group !== "policies.kyverno.io")) continue;
    const m = metadataOf(r.props);
    const label = `${t.kind} ${m.namespace ? `${m.namespace}/` : ""}${m.name ?? r.name}`;
    if (t.group === "kyverno.io" && (t.kind === "ClusterPolicy" || t.kind === "Policy")) {
      for (const rule of (r.props["spec"]?.["rules"] ?? []) as Obj[]) {
        for (const vi of (rule["verifyImages"] ?? []) as Obj[]) {
          const patterns = [...((vi["imageReferences"] ?? []) as string[]), ...(vi["image"] ? [vi["image"] as string] : [])];
          if (patterns.length && (nonEmpty(vi["attestors"]) || nonEmpty(vi["attestations"]))) {
            out.push({ policy: `${label} rule ${rule["name"]}`, patterns, ...(t.kind === "Policy" ? { namespace: m.namespace ?? "default" } : {}) });
          }
        }
      }
    } else if (t.group === "policies.kyverno.io" && t.kind === "ImageValidatingPolicy") {
      const spec = (r.props["spec"] ?? {}) as Obj;
      const patterns = ((spec["matchImageReferences"] ?? []) as Obj[]).flatMap((x) => (typeof x["glob"] === "string" ? [x["glob"]] : []));
      if (patterns.length && nonEmpty(spec["attestors"])) out.push({ policy: label, patterns });
    }
  }
  return out;
}

/** Whether a verifier covers this image in this namespace (raw or normalized reference). */
export function covers(v: Verifier, image: string, namespace: string): boolean {
  if (v.namespace !== undefined && v.namespace !== namespace) return false;
  const p = parseImage(image);
  const normalized = `${p.name}${p.tag ? `:${p.tag}` : ""}${p.digest ? `@${p.digest}` : ""}`;
  return v.patterns.some((pat) => wildcardMatch(pat, image) || wildcardMatch(pat, normalized));
}

export const kyvernoVerifiesEveryRegistry: StackValidationPolicy = {
  name: "kyverno-verifies-every-registry",
  description: "A Kyverno image-verification policy (signature/attestation attestors) covers every image the stack's workloads use.",
  severity: "high",
  remediationSteps: "Add the registry to the imageReferences of the Kyverno verifyImages rule (security area).",
  configSchema: exemptionsOnly,
  validateStack: (args, report) => {
    const cfg = configOf<{ exemptions: Exemption[] }>(exemptionsOnly, args.getConfig());
    const workloads = workloadsOf(args.resources);
    if (workloads.length === 0) args.notApplicable("the stack runs no workloads");
    const verifiers = verifiersOf(args.resources);
    const by = verifiers.length ? `none of ${verifiers.length} verifying rule(s) matches` : "the stack declares no Kyverno verifyImages rule";
    // Uncovered images grouped by registry host + first path segment (the owner), one message each.
    const uncovered = new Map<string, Set<string>>();
    for (const w of workloads) {
      for (const { container, label } of w.containers) {
        const image = container.image;
        if (typeof image !== "string" || verifiers.some((v) => covers(v, image, w.namespace))) continue;
        const registry = parseImage(image).name.split("/").slice(0, 2).join("/");
        const exemption = exemptionFor(cfg.exemptions, w.namespace, w.name, container.name);
        if (exemption) {
          reportOrExempt(report, `image ${image} of ${w.kind} ${w.namespace}/${w.name} ${label} is not verified: ${by}`, exemption, w.resource.urn);
          continue;
        }
        if (!uncovered.has(registry)) uncovered.set(registry, new Set());
        uncovered.get(registry)!.add(`${w.namespace}/${w.name}`);
      }
    }
    for (const [registry, users] of [...uncovered].sort(([a], [b]) => a.localeCompare(b))) {
      report(`images from ${registry} (used by ${[...users].sort().join(", ")}) are not verified: ${by}`);
    }
  },
};
