/**
 * Admission: every pod that will exist (audit/running/pods.ts) through Pod Security Admission at
 * its namespace's level, by Kubernetes' own library (k8s.io/pod-security-admission, the code the API
 * server's admission plugin runs), built by scripts/install-tools.sh as `pod-security`.
 */
import { spawnSync } from "child_process";
import { findTool } from "../../render/tools";
import { indexOf, LiveObject, PodSet } from "./pods";

/** The pod-security binary: $PLATFORM_POD_SECURITY, .tools/bin/pod-security, else PATH; undefined when none. */
export const findPodSecurity = (): string | undefined => findTool("pod-security", "PLATFORM_POD_SECURITY");

/** One pod set's verdict. */
export interface AdmissionVerdict {
  readonly pods: PodSet;
  /** The namespace's enforced level (privileged when unlabelled, as the API server defaults). */
  readonly level: string;
  readonly allowed: boolean;
  /** What Pod Security Admission refuses, one line per check (empty when allowed). */
  readonly forbidden: readonly string[];
}

export type AdmissionResult = { readonly ran: true; readonly verdicts: readonly AdmissionVerdict[] } | { readonly ran: false; readonly missing: string };

/** Evaluates every pod set at its namespace's enforce level. Without the tool: `ran: false`, naming it. */
export function admit(objects: readonly LiveObject[], pods: readonly PodSet[], bin = findPodSecurity()): AdmissionResult {
  if (!bin) return { ran: false, missing: "pod-security (scripts/install-tools.sh builds it from the Go module proxy)" };
  const ix = indexOf(objects);
  const namespaces = Object.fromEntries(ix.kind("Namespace").map((n) => [n.metadata.name, ix.nsLabels(n.metadata.name)]));
  const input = { namespaces, pods: pods.map((p, i) => ({ id: String(i), namespace: p.namespace, metadata: { name: p.name, namespace: p.namespace, labels: p.metadata.labels, annotations: p.metadata.annotations }, spec: p.spec })) };
  const r = spawnSync(bin, [], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return { ran: false, missing: `pod-security (${bin} not found)` };
  if (r.status !== 0) throw new Error(`pod-security failed (exit ${r.status}): ${r.stderr.trim()}`);
  const lines = r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; level: string; allowed: boolean; forbidden: { reason: string; detail: string }[]; labelErrors?: string[] });
  return {
    ran: true,
    verdicts: lines.map((l) => ({
      pods: pods[Number(l.id)]!,
      level: l.level,
      allowed: l.allowed && !l.labelErrors?.length,
      forbidden: [...(l.labelErrors ?? []).map((e) => `namespace label: ${e}`), ...l.forbidden.map((f) => `${f.reason}${f.detail ? ` (${f.detail})` : ""}`)],
    })),
  };
}
