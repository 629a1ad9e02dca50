/**
 * Admission by Kyverno: the render's own Kyverno policies applied to every pod that will exist,
 * by the Kyverno CLI at the version the chart deploys (`kyverno apply`, offline; built by
 * scripts/install-tools.sh from tools/kyverno). Namespace labels reach it through a values file,
 * as namespaceSelector rules need them (without them the CLI silently skips such rules).
 *
 * Offline limits, said in the report: `verifyImages` rules need the registry (signatures,
 * attestations, digests), so they are left out and listed as not checked; the pack's
 * `kyverno-verifies-every-registry` checks what they cover.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import type { Obj } from "../../policy/k8s";
import { findTool } from "../../render/tools";
import { indexOf, LiveObject, PodSet } from "./pods";

/** The kyverno binary: $PLATFORM_KYVERNO, .tools/bin/kyverno, else PATH; undefined when none. */
export const findKyverno = (): string | undefined => findTool("kyverno", "PLATFORM_KYVERNO");

/** One pod set's Kyverno verdict. */
export interface KyvernoVerdict {
  readonly pods: PodSet;
  /** `policy/rule: message` of each Enforce rule that refuses the pods. */
  readonly refused: readonly string[];
  /** Audit-mode rules that fail (reported, not refused). */
  readonly audited: readonly string[];
}

export type KyvernoResult =
  | { readonly ran: true; readonly policies: readonly string[]; readonly verdicts: readonly KyvernoVerdict[]; readonly notChecked: readonly string[] }
  | { readonly ran: false; readonly missing: string };

const KYVERNO_KINDS = new Set(["ClusterPolicy", "Policy"]);

/** Runs the render's Kyverno policies over the pods. */
export function kyvernoAdmit(objects: readonly LiveObject[], pods: readonly PodSet[], bin = findKyverno()): KyvernoResult {
  const policies = objects.filter((o) => KYVERNO_KINDS.has(o.kind) && o.apiVersion.startsWith("kyverno.io/"));
  if (!policies.length) return { ran: true, policies: [], verdicts: pods.map((p) => ({ pods: p, refused: [], audited: [] })), notChecked: [] };
  if (!bin) return { ran: false, missing: "kyverno (scripts/install-tools.sh builds the Kyverno CLI from the Go module proxy)" };

  const notChecked: string[] = [];
  const offline = policies.flatMap((p) => {
    const rules = ((p["spec"]?.rules ?? []) as Obj[]).filter((r) => {
      if (!r["verifyImages"]) return true;
      notChecked.push(`${p.kind} ${p.metadata.name} rule ${r["name"]}: verifyImages needs the registry (signatures, attestations), not checked offline`);
      return false;
    });
    return rules.length ? [{ ...p, spec: { ...p["spec"], rules } }] : [];
  });
  // Pod names must be unique and DNS labels: the index, then the set's name.
  const name = (i: number, p: PodSet) => `p${i}-${p.name}`.slice(0, 63).replace(/-+$/, "");
  const resources = pods.map((p, i) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: name(i, p), namespace: p.namespace, labels: p.metadata.labels, annotations: p.metadata.annotations }, spec: p.spec }));
  const ix = indexOf(objects);
  const values = { apiVersion: "cli.kyverno.io/v1alpha1", kind: "Values", namespaceSelector: ix.kind("Namespace").map((n) => ({ name: n.metadata.name, labels: ix.nsLabels(n.metadata.name) })) };
  const failureAction = new Map<string, string>();
  for (const p of offline) for (const r of p["spec"].rules as Obj[]) failureAction.set(`${p.metadata.name}/${r["name"]}`, String(r["validate"]?.failureAction ?? p["spec"]?.validationFailureAction ?? "Audit"));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-kyverno-"));
  try {
    fs.writeFileSync(path.join(dir, "policies.yaml"), offline.map((o) => stringify(o)).join("---\n"));
    fs.writeFileSync(path.join(dir, "pods.yaml"), resources.map((o) => stringify(o)).join("---\n"));
    fs.writeFileSync(path.join(dir, "values.yaml"), stringify(values));
    const r = spawnSync(bin, ["apply", path.join(dir, "policies.yaml"), "--resource", path.join(dir, "pods.yaml"), "--values-file", path.join(dir, "values.yaml"), "--policy-report", "--output-format", "json", "--remove-color"], {
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return { ran: false, missing: `kyverno (${bin} not found)` };
    // Exit 1 means some rule failed; the report says which. Anything else, or no report, is a crash.
    const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
    if ((r.status !== 0 && r.status !== 1) || !line) throw new Error(`kyverno apply failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
    const report = JSON.parse(line) as { results?: { policy: string; rule: string; result: string; message?: string; resources?: { name: string }[] }[] };
    const byName = new Map(resources.map((res, i) => [res.metadata.name, i]));
    const refused = pods.map(() => [] as string[]);
    const audited = pods.map(() => [] as string[]);
    for (const res of report.results ?? []) {
      if (res.result !== "fail" && res.result !== "error") continue;
      // Autogen rules (autogen-*) apply to controllers; these resources are Pods.
      const rule = res.rule.replace(/^autogen-(cronjob-)?/, "");
      for (const target of res.resources ?? []) {
        const i = byName.get(target.name);
        if (i === undefined) continue;
        const line = `${res.policy}/${rule}: ${res.result === "error" ? "error: " : ""}${(res.message ?? "").replace(/\s+/g, " ").trim()}`;
        if ((failureAction.get(`${res.policy}/${rule}`) ?? "Audit").toLowerCase() === "enforce" || res.result === "error") refused[i]!.push(line);
        else audited[i]!.push(line);
      }
    }
    // kyverno apply reports the policies in no fixed order: sorted, so the report is repeatable.
    return { ran: true, policies: offline.map((p) => `${p.kind} ${p.metadata.name}`), verdicts: pods.map((p, i) => ({ pods: p, refused: refused[i]!.sort(), audited: audited[i]!.sort() })), notChecked };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
