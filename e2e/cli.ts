/**
 * npm run e2e -- [--stack <name> | --stack-file <path>] [--keep <dir>] [chart options]
 * The render applied to a real Kubernetes API server (etcd, kube-apiserver and
 * kube-controller-manager on loopback, built by scripts/install-tools.sh): every object by
 * server-side apply in the install order, a second apply that must change nothing, every pod set's
 * pod through real admission, the controllers' own pods, the server's inventory against the
 * render, then deletion. Without --stack: dev, then prod. Exit 1 when the server refuses or keeps
 * something (each on one line), 2 for a bad command line or a missing tool (named).
 */
import * as fs from "fs";
import { ConfigError } from "../config/load";
import { ChartNotFoundError, ChartTemplateError, HelmNotInstalledError, MissingSubchartError } from "../render/charts";
import { renderConfig } from "../render/render";
import { answerArgs, CHART_OPTIONS, STACK_OPTIONS, usageOf } from "../render/args";
import { chartOptionsFromArgs, cliArg, readStackConfig, stackFromArgs } from "../render/stack";
import { applyRender, groupObjects } from "./apply";
import { controlPlaneTools, startCluster } from "./cluster";
import { e2eProblems, e2eSummary } from "./summary";

const OPTIONS = {
  ...STACK_OPTIONS,
  stack: { type: "string", value: "name", help: "a stack of this repository (Pulumi.<name>.yaml); default: dev, then prod" },
  keep: { type: "string", value: "dir", help: "leave the objects on the server and keep the control plane's data and logs in <dir>" },
  ...CHART_OPTIONS,
} as const;
const USAGE = usageOf("npm run e2e --", ["[--stack <name> | --stack-file <path>] [--keep <dir>] [chart options]"], OPTIONS);

async function main(argv: string[]): Promise<number> {
  const answered = answerArgs(argv, OPTIONS, USAGE, "npm run e2e --", (t) => void process.stdout.write(t), (t) => void process.stderr.write(t));
  if (answered !== undefined) return answered;
  const named = stackFromArgs(argv);
  if ("error" in named) {
    process.stderr.write(`${named.error}\n`);
    return 2;
  }
  const charts = chartOptionsFromArgs(argv);
  if ("error" in charts) {
    process.stderr.write(`${charts.error}\n`);
    return 2;
  }
  const tools = controlPlaneTools();
  if ("missing" in tools) {
    process.stderr.write(`e2e: not installed: ${tools.missing.join(", ")} (scripts/install-tools.sh builds them from the Go module proxy)\n`);
    return 2;
  }
  const explicit = cliArg("stack", argv) !== undefined || cliArg("stack-file", argv) !== undefined;
  const stacks = explicit ? [{ stack: named.stack, read: named.read }] : ["dev", "prod"].map((s) => ({ stack: s, read: () => readStackConfig(s) }));
  const keep = cliArg("keep", argv);
  let failed = 0;
  for (const { stack, read } of stacks) {
    const t0 = Date.now();
    let rendered;
    try {
      rendered = await renderConfig(stack, read(), { charts });
    } catch (e) {
      if (e instanceof ConfigError || e instanceof ChartNotFoundError || e instanceof ChartTemplateError || e instanceof HelmNotInstalledError || e instanceof MissingSubchartError) {
        process.stderr.write(`stack ${stack}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const dir = keep ? `${keep}/${stack}` : undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const cluster = await startCluster(dir ? { dir } : {});
    try {
      const run = await applyRender(cluster.client, groupObjects(rendered.model), { deleteAfter: !keep, version: cluster.version });
      for (const line of e2eSummary(stack, run)) process.stdout.write(`${line}\n`);
      const problems = e2eProblems(run);
      for (const p of problems) process.stderr.write(`e2e ${stack}: ${p}\n`);
      process.stdout.write(`e2e ${stack}: ${problems.length ? `${problems.length} problems` : "passed"} in ${Math.round((Date.now() - t0) / 1000)} s${keep ? `; control plane data and logs in ${dir}` : ""}\n`);
      if (problems.length) failed++;
    } finally {
      await cluster.stop();
      if (!keep) fs.rmSync(cluster.dir, { recursive: true, force: true });
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`e2e failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
