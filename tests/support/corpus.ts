/**
 * The labelled external corpus (tests/corpus: Kyverno policies, kube-score and Polaris fixtures;
 * provenance in tests/corpus/README.md) and the map from its check ids to the pack's policies.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";

export const CORPUS = path.resolve(__dirname, "..", "corpus");
export const SOURCES = ["kyverno-policies", "kube-score", "polaris"] as const;

export interface Labelled {
  readonly source: string;
  readonly file: string;
  readonly docIndex: number;
  readonly kind: string;
  readonly name: string;
  readonly expected: Record<string, "pass" | "fail">;
  readonly object: Record<string, any>;
}

/** Every labelled resource, with its object read from the fixture file (doc_index among the documents that have a kind). */
export function loadCorpus(): Labelled[] {
  const out: Labelled[] = [];
  const cache = new Map<string, Record<string, any>[]>();
  for (const source of SOURCES) {
    const expected = JSON.parse(fs.readFileSync(path.join(CORPUS, source, "expected.json"), "utf8")) as {
      resources: { file: string; doc_index: number; kind: string; name: string; expected: Record<string, "pass" | "fail"> }[];
    };
    for (const r of expected.resources) {
      const file = path.join(CORPUS, source, r.file);
      if (!cache.has(file)) {
        const docs = parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS() as Record<string, any> | null);
        cache.set(file, docs.filter((d): d is Record<string, any> => !!d && typeof d === "object" && typeof d["kind"] === "string"));
      }
      const object = cache.get(file)![r.doc_index];
      if (!object || object["kind"] !== r.kind || object["metadata"]?.["name"] !== r.name) {
        throw new Error(`${source}/${r.file}#${r.doc_index}: expected ${r.kind} ${r.name}, found ${object?.["kind"]} ${object?.["metadata"]?.["name"]}`);
      }
      out.push({ source, file: r.file, docIndex: r.doc_index, kind: r.kind, name: r.name, expected: r.expected, object });
    }
  }
  return out;
}

/** How a corpus check maps onto the pack. */
export interface CheckMapping {
  /** The pack policy whose violations mean `fail`. */
  readonly policy: string;
  /** Claimed: the policy's definition is the check's definition, so agreement must be 100%. */
  readonly claimed: boolean;
  /** Why claimed or not (README repeats it). */
  readonly note: string;
  /** Pack config the upstream labels assume. */
  readonly config?: Record<string, unknown>;
}

const same = (policy: string, note = "same definition"): CheckMapping => ({ policy, claimed: true, note });
const subset = (policy: string, note: string): CheckMapping => ({ policy, claimed: false, note });

export const CHECK_MAP: Record<string, CheckMapping> = {
  privileged: same("pss-privileged"),
  "host-path": same("pss-host-path"),
  "host-namespaces": same("pss-host-namespaces"),
  "host-ports": same("pss-host-ports"),
  "windows-host-process": same("pss-windows-host-process"),
  "capabilities-baseline": same("pss-capabilities-baseline"),
  "proc-mount": same("pss-proc-mount"),
  "selinux-type": same("pss-selinux-type"),
  "selinux-user-role": same("pss-selinux-user-role"),
  apparmor: same("pss-apparmor"),
  "seccomp-baseline": same("pss-seccomp-baseline"),
  sysctls: same("pss-sysctls"),
  "capabilities-drop-all": same("pss-capabilities-drop-all"),
  "capabilities-add-only-net-bind-service": same("pss-capabilities-restricted-add"),
  "privilege-escalation": same("pss-privilege-escalation"),
  "run-as-non-root": same("pss-run-as-non-root"),
  "run-as-non-root-user": same("pss-run-as-non-root-user"),
  "seccomp-restricted": same("pss-seccomp-restricted"),
  "volume-types": same("pss-volume-types"),
  "image-digest": same("image-pinned-by-digest"),
  "image-registry-allowed": { ...same("image-allowed-registry", "same definition; labels assume allowed prefixes eu.foo.io/ and bar.io/"), config: { "image-allowed-registry": { allowedRegistries: ["eu.foo.io/", "bar.io/"] } } },
  "resources-requests-limits": same("container-resources"),
  "host-ipc": subset("pss-host-namespaces", "one field of the policy's three: a pass here may still share the host network or PID"),
  "host-pid": subset("pss-host-namespaces", "one field of the policy's three"),
  "host-network": subset("pss-host-namespaces", "one field of the policy's three"),
  "capabilities-dangerous": subset("pss-capabilities-baseline", "three capabilities of the many baseline forbids"),
  "resources-cpu-request": subset("container-resources", "one of the policy's three required fields"),
  "resources-memory-request": subset("container-resources", "one of the policy's three required fields"),
  "resources-memory-limit": subset("container-resources", "one of the policy's three required fields"),
  "run-as-non-root-polaris": subset("pss-run-as-non-root", "Polaris also accepts runAsUser > 0 without runAsNonRoot; PSS restricted does not"),
};
