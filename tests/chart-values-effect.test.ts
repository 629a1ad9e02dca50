/**
 * Every values key the program sets has an effect: changed (or removed), the chart templates to
 * different objects or hooks. A key nothing reads (a feature that is off, a field a controller
 * owns, a key only read under another setting) is a setting the platform claims and does not
 * deploy. Keys kept on purpose although they restate the chart's default are listed with a reason.
 * Covers every chart of dev and prod, and Traefik's and Consul's in prod copies that choose them.
 * Needs Helm and ../shared/charts-src (scripts/install-tools.sh; CI has both).
 */
import { plainProps } from "../audit/analyzer";
import { ChartExpander, clusterApiVersions, defaultChartCaches, defaultCrdSources, defaultSubchartDefaults } from "../render/charts";
import { isHelmChart } from "../render/gitops";
import { renderConfig, Rendered, renderStack } from "../render/render";
import { readStackConfig } from "../render/stack";

/** `<release>:<values path>` → why the key stays although it changes nothing in the templates. */
const RESTATED: Readonly<Record<string, string>> = {};

type Values = Record<string, any>;
const leaves = (v: unknown, at: string[] = []): string[][] =>
  v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length ? Object.entries(v as Values).flatMap(([k, x]) => leaves(x, [...at, k])) : [at];
const perturb = (v: unknown): unknown =>
  typeof v === "boolean" ? !v : typeof v === "number" ? v + 1 : typeof v === "string" ? `${v}zz9` : Array.isArray(v) ? (v.length ? [] : ["zz9"]) : v === null ? "zz9" : { zz9: "zz9" };
function edited(values: Values, path: string[], how: "perturb" | "remove"): Values {
  const copy = structuredClone(values);
  let cur: Values = copy;
  for (const k of path.slice(0, -1)) cur = cur[k];
  const last = path[path.length - 1]!;
  if (how === "remove") delete cur[last];
  else cur[last] = perturb(cur[last]);
  return copy;
}

const stacks: Record<string, Rendered> = {};
beforeAll(async () => {
  stacks["dev"] = await renderStack("dev");
  stacks["prod"] = await renderStack("prod");
  const prod = readStackConfig("prod");
  stacks["prod+traefik"] = await renderConfig("prod", { ...prod, "platform:gateway": JSON.stringify({ ...JSON.parse(prod["platform:gateway"]!), implementation: "traefik" }) });
  stacks["prod+consul"] = await renderConfig("prod", { ...prod, "platform:discovery": JSON.stringify({ store: "consul", consul: { servers: 3, storage: "20Gi" } }) });
}, 600_000);

/** The charts each stack is checked for: all of dev and prod; the variants only for the charts they add. */
const only: Record<string, readonly string[] | undefined> = { "prod+traefik": ["traefik"], "prod+consul": ["consul"] };

describe("every chart values key the program sets has an effect", () => {
  it.each(["dev", "prod", "prod+traefik", "prod+consul"])("%s", async (stack) => {
    const r = stacks[stack]!;
    const noEffect: string[] = [];
    const restatedWithEffect: string[] = [];
    let checked = 0;
    for (const c of r.run.resources.filter((x) => isHelmChart(x.type))) {
      const inputs = plainProps(c.inputs) as Values;
      if (only[stack] && !only[stack]!.includes(String(inputs["chart"]).split("/").slice(-2)[0]!)) continue;
      // One expander per chart: its memory cache holds every variant's output until it goes.
      const ex = new ChartExpander({
        cacheDirs: defaultChartCaches(),
        kubeVersion: r.config.cluster.kubernetesVersion,
        apiVersions: clusterApiVersions(r.config),
        crdSources: defaultCrdSources(),
        allowMissingSubcharts: true,
        subchartDefaults: defaultSubchartDefaults(),
        templateCacheDir: null,
      });
      const hooks = c.type.includes("/v3:");
      const out = async (values: Values) => {
        try {
          const e = await ex.expand(c.name, { ...inputs, values } as never, { hooks });
          return JSON.stringify([e.children.map((x) => x.object), e.droppedHooks]);
        } catch (err) {
          return `refused: ${String(err)}`;
        }
      };
      const values = (inputs["values"] ?? {}) as Values;
      const base = await ex.expand(c.name, inputs as never, { hooks });
      const baseOut = JSON.stringify([base.children.map((x) => x.object), base.droppedHooks]);
      // Keys of a subchart the cache lacks reach no template here: the render lists them as not covered.
      const missing = base.missingSubcharts.map((m) => m.split(" ")[0]!);
      for (const path of leaves(values)) {
        if (!path.length || missing.includes(path[0]!)) continue;
        checked++;
        const key = `${c.name}:${path.join(".")}`;
        const effect = (await out(edited(values, path, "perturb"))) !== baseOut || (await out(edited(values, path, "remove"))) !== baseOut;
        if (!effect && !RESTATED[key]) noEffect.push(key);
        if (effect && RESTATED[key]) restatedWithEffect.push(key);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(noEffect).toEqual([]);
    expect(restatedWithEffect).toEqual([]);
    // Two templates per key on a cold machine: the bound only catches a hang, it measures nothing.
  }, 1_200_000);
});
