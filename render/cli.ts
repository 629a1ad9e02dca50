/**
 * npm run render -- --stack <name> [--out <dir>]
 * npm run render -- --stack-file <path/to/Pulumi.<name>.yaml> [--out <dir>]
 * Runs the program offline under Pulumi's mock runtime and writes manifests, Flux objects,
 * report.md and the dependency graph. Bad config: the problems on stderr, exit 1, nothing written.
 * Charts: expanded with Helm from the chart cache (render/charts.ts):
 *   --chart-cache <dir>   a chart cache `<chart>/<version>/` searched before the defaults
 *   --pull-charts         let `helm pull` fetch charts the caches lack (needs network)
 *   --allow-missing-subcharts   template charts whose cache copy lacks enabled subcharts without them (listed as not covered)
 *   --skip-charts         no chart expansion (each chart stays one HelmRelease; the report says so)
 *   --charts rendered|helmrelease   GitOps output: every chart object (default) or one HelmRelease per chart
 * GitOps (docs/render.md "GitOps"): --gitops flux|argocd, --gitops-path <folder in the repository>,
 *   --gitops-source <Flux GitRepository name | Argo CD repository URL>, --gitops-revision, --gitops-name-prefix
 */
import * as path from "path";
import { ConfigError } from "../config/load";
import type { PlatformConfig } from "../config/schema";
import type { K8sObject } from "../components/core/objects";
import { FormalVerdict, formalReportSection, formalVerdicts } from "../formal/verdicts";
import { ChartNotFoundError, ChartTemplateError, HelmNotInstalledError, MissingSubchartError } from "./charts";
import { renderConfig } from "./render";
import { answerArgs, CHART_OPTIONS, GITOPS_OPTIONS, STACK_OPTIONS, usageOf } from "./args";
import { chartOptionsFromArgs, cliArg, gitopsFromArgs, stackFromArgs } from "./stack";
import { callGraph, previousRender } from "./compare";
import { writeRender } from "./write";


const COMPARE_OPTIONS = { compare: { type: "string", value: "dir", help: "an earlier render (its --out folder, may be the same): report.md gets \"What changes\" (objects added, changed with their fields, removed, per component) and which images are new" } } as const;
const OPTIONS = { ...STACK_OPTIONS, ...COMPARE_OPTIONS, out: { type: "string", value: "dir", help: "where to write (default out/<stack>); only files the render wrote there are replaced or removed" }, ...CHART_OPTIONS, ...GITOPS_OPTIONS } as const;

const USAGE = usageOf("npm run render --", ["[--stack <name> | --stack-file <path>] [--out <dir>] [--compare <dir>] [chart options] [GitOps options]"], OPTIONS);

async function main(argv: string[]): Promise<number> {
  const answered = answerArgs(argv, OPTIONS, USAGE, "npm run render --", (t) => void process.stdout.write(t), (t) => void process.stderr.write(t));
  if (answered !== undefined) return answered;
  const named = stackFromArgs(argv);
  if ("error" in named) {
    process.stderr.write(`${named.error}\n`);
    return 2;
  }
  const { stack } = named;
  const out = path.resolve(cliArg("out", argv) ?? path.join("out", stack));
  const charts = chartOptionsFromArgs(argv);
  if ("error" in charts) {
    process.stderr.write(`${charts.error}\n`);
    return 2;
  }
  const gitops = gitopsFromArgs(argv);
  if ("error" in gitops) {
    process.stderr.write(`${gitops.error}\n`);
    return 2;
  }

  // The earlier render is read before anything is written: --compare may name the --out folder itself.
  const compareDir = cliArg("compare", argv);
  const previous = compareDir === undefined ? undefined : previousRender(path.resolve(compareDir));
  if (previous && "error" in previous) {
    process.stderr.write(`${previous.error}\n`);
    return 2;
  }

  try {
    // The formal models run on the validated config and the render; their verdicts go into report.md.
    let verdicts: FormalVerdict[] = [];
    const sections = async (config: PlatformConfig, objects: readonly K8sObject[]) => {
      verdicts = await formalVerdicts(config, objects);
      return [formalReportSection(verdicts)];
    };
    const r = await renderConfig(stack, named.read(), { sections, charts, ...(previous ? { compare: { previous, against: compareDir! } } : {}) });
    const { files, svg } = await writeRender(r.model, r.report, out, gitops, { callGraph: callGraph(r.config) });
    const objects = r.model.groups.reduce((n, g) => n + g.objects.length, 0);
    process.stdout.write(`rendered stack ${stack}: ${objects} objects in ${r.model.groups.length} components, ${files.length} files in ${out}\n`);
    if (!svg) process.stdout.write("graph.svg not written: Graphviz `dot` is not installed (apt-get install graphviz); graph.mmd and graph.dot are.\n");
    const unchecked = verdicts.filter((v) => v.status === "not-run" || v.status === "error");
    if (unchecked.length) process.stdout.write(`formal models not checked (${unchecked[0]!.summary}); report.md says so. Run npm run formal once spin and gcc are installed.\n`);
    // A model the config breaks is a mandatory violation: the render is written (report.md holds
    // the counterexample) but the command fails.
    const failed = verdicts.filter((v) => v.status === "failed");
    for (const v of failed) process.stderr.write(`formal model ${v.model} (${v.subject}) fails: ${v.summary}\n`);
    return failed.length ? 1 : 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`stack ${stack}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof ChartNotFoundError || e instanceof ChartTemplateError || e instanceof HelmNotInstalledError || e instanceof MissingSubchartError) {
      process.stderr.write(`stack ${stack}: ${e.message}\nnothing written.\n`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`render failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
