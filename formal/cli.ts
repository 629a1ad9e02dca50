/**
 * npm run formal -- --stack <name>
 * npm run formal -- --stack-file <path/to/Pulumi.<name>.yaml>
 * Checks the stack against the SPIN models (formal/*.pml): the queue and saga models with its
 * config, the circuit-breaker model with what its render deploys (so the stack is rendered first,
 * charts included: istiod's mesh config holds the mesh's retries). Prints each verdict, the config
 * keys involved and, for a violation, the counterexample. Ends with `N passed, N failed` (and
 * `N not run` when a model could not run); exits 1 when any model fails or could not run, 2 on a
 * bad command line (`--help` lists the options).
 */
import { ConfigError } from "../config/load";
import { ChartNotFoundError, ChartTemplateError, HelmNotInstalledError, MissingSubchartError } from "../render/charts";
import { renderConfig } from "../render/render";
import { answerArgs, CHART_OPTIONS, STACK_OPTIONS, usageOf } from "../render/args";
import { chartOptionsFromArgs, stackFromArgs } from "../render/stack";
import { formalVerdicts, tally, tallyText, verdictText } from "./verdicts";

const OPTIONS = { ...STACK_OPTIONS, ...CHART_OPTIONS };
const USAGE = usageOf("npm run formal --", ["[--stack <name> | --stack-file <path>] [chart options]"], OPTIONS);

async function main(argv: string[]): Promise<number> {
  const answered = answerArgs(argv, OPTIONS, USAGE, "npm run formal --", (t) => void process.stdout.write(t), (t) => void process.stderr.write(t));
  if (answered !== undefined) return answered;
  const named = stackFromArgs(argv);
  if ("error" in named) {
    process.stderr.write(`${named.error}\n`);
    return 2;
  }
  const { stack } = named;
  const charts = chartOptionsFromArgs(argv);
  if ("error" in charts) {
    process.stderr.write(`${charts.error}\n`);
    return 2;
  }
  let rendered;
  try {
    rendered = await renderConfig(stack, named.read(), { charts });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`stack ${stack}: ${e.message}\n`);
      return 1;
    }
    // The circuit-breaker model needs the render; without its charts there is nothing to check.
    if (e instanceof ChartNotFoundError || e instanceof ChartTemplateError || e instanceof HelmNotInstalledError || e instanceof MissingSubchartError) {
      process.stderr.write(`stack ${stack}: ${e.message}\nno model was checked.\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(`formal models for stack ${stack}\n`);
  const verdicts = await formalVerdicts(rendered.config, rendered.running.objects);
  for (const v of verdicts) process.stdout.write(verdictText(v).join("\n") + "\n");
  const counts = tally(verdicts);
  process.stdout.write(`${tallyText(counts)}\n`);
  return counts.failed || counts.notRun ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`formal check failed to run: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
