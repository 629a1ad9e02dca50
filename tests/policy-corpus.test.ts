/**
 * The pack against the labelled external corpus (Kyverno, kube-score and Polaris fixtures):
 * per check, how often the mapped policy's verdict agrees with upstream's label. The checks the
 * pack claims (policy README) must agree on every label; the others are reported, not required.
 */
import { analyzeResource } from "../audit/analyzer";
import { typeToken } from "../policy/k8s";
import { policies } from "../policy/policies";
import { CHECK_MAP, Labelled, loadCorpus } from "./support/corpus";

interface Tally {
  agree: number;
  total: number;
  disagreements: string[];
}

async function verdict(r: Labelled, check: string): Promise<"pass" | "fail"> {
  const m = CHECK_MAP[check]!;
  const res = await analyzeResource(policies, { type: typeToken(r.object["apiVersion"], r.kind), name: r.name, urn: `${r.source}/${r.file}#${r.docIndex}`, props: r.object }, m.config ?? {});
  return res.diagnostics.some((d) => d.policyName === m.policy && d.enforcementLevel === "mandatory") ? "fail" : "pass";
}

describe("policy pack vs the labelled corpus", () => {
  const corpus = loadCorpus();
  const tallies = new Map<string, Tally>();

  beforeAll(async () => {
    for (const r of corpus) {
      for (const [check, expected] of Object.entries(r.expected)) {
        if (!CHECK_MAP[check]) continue;
        const t = tallies.get(check) ?? { agree: 0, total: 0, disagreements: [] };
        const got = await verdict(r, check);
        t.total++;
        if (got === expected) t.agree++;
        else t.disagreements.push(`${r.source}/${r.file}#${r.docIndex} ${r.kind} ${r.name}: expected ${expected}, pack says ${got}`);
        tallies.set(check, t);
      }
    }
    const rows = [...tallies].sort(([a], [b]) => a.localeCompare(b)).map(([c, t]) => `${CHECK_MAP[c]!.claimed ? "claimed" : "reported"} ${c.padEnd(40)} ${t.agree}/${t.total}`);
    process.stdout.write(`corpus agreement per check (${corpus.length} labelled resources):\n  ${rows.join("\n  ")}\n`);
  });

  it("reads every labelled resource from the fixture it names", () => {
    expect(corpus.length).toBe(844);
    expect(new Set(corpus.map((r) => r.kind))).toEqual(new Set(["Pod", "Deployment", "CronJob", "StatefulSet"]));
  });

  const claimed = Object.entries(CHECK_MAP).filter(([, m]) => m.claimed).map(([c]) => c);
  it.each(claimed)("agrees with every label of claimed check %s", (check) => {
    const t = tallies.get(check);
    expect(t?.total).toBeGreaterThan(0);
    expect(t!.disagreements).toEqual([]);
    expect(t!.agree).toBe(t!.total);
  });

  it("claimed checks come with both verdicts in the corpus, so agreement is not trivially all-pass or all-fail", () => {
    for (const check of claimed) {
      const labels = corpus.flatMap((r) => (r.expected[check] ? [r.expected[check]] : []));
      expect({ check, verdicts: new Set(labels) }).toEqual({ check, verdicts: new Set(["pass", "fail"]) });
    }
  });

  it("reports agreement for the unclaimed (subset) checks too, without requiring it", () => {
    const reported = Object.entries(CHECK_MAP).filter(([, m]) => !m.claimed).map(([c]) => c);
    for (const c of reported) expect(tallies.get(c)?.total).toBeGreaterThan(0);
  });
});
