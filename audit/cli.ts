/**
 * npm run audit -- (--stack <name> | --stack-file <path>) [--policy-config <file>] [--json]
 * npm run audit -- --manifests <dir> [--policy-config <file>] [--json]
 *
 * Runs the CrossGuard pack (policy/) over the in-process render of a stack, or over any directory
 * of plain Kubernetes YAML, and prints every violation with its enforcement level. Exit code: 0
 * without mandatory violations, 1 with any, 2 on bad arguments or config.
 * --policy-config: the pack config in Pulumi's policy-pack config JSON (what
 * `pulumi preview --policy-pack-config` takes); a stack defaults to policy/stacks/<stack>.json, and
 * without one to the config derived from the stack's own (audit/pack-config.ts; --print-policy-config prints it).
 * --json: one JSON record per line per resource (file, kind, namespace, name, violations).
 * With --stack, the SPIN models (formal/) also run on the stack's config: a model that fails, or
 * cannot run (spin/gcc missing), is a mandatory stack-level violation naming the config keys; and
 * the running-platform proofs (audit/running: flows, admission, placement, ownership) add one
 * mandatory violation per failure, naming the flow, pod set or node and the key that controls it.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../config/load";
import { ChartNotFoundError, ChartTemplateError, HelmNotInstalledError, MissingSubchartError } from "../render/charts";
import { answerArgs, CHART_OPTIONS, STACK_OPTIONS, usageOf } from "../render/args";
import { renderConfig } from "../render/render";
import { chartOptionsFromArgs, cliArg as arg, platformConfigOf, stackFromArgs } from "../render/stack";
import { packConfigFor } from "./pack-config";
import { policies } from "../policy/policies";
import { configWarnings, PolicyConfigError } from "./analyzer";
import { auditFormal } from "./formal";
import { withRunning } from "./running";
import { auditRun } from "./stack";
import { audit, fromManifestDir, readPolicyConfig, stackPolicyConfigFile, Verdicts } from "./verdicts";

function print(v: Verdicts, json: boolean, out: (s: string) => void): void {
  if (json) {
    for (const r of v.records) out(JSON.stringify({ file: r.file, kind: r.kind, namespace: r.namespace, name: r.name, violations: r.violations }) + "\n");
    if (v.stack.length) out(JSON.stringify({ file: null, kind: "Stack", namespace: null, name: "stack", violations: v.stack }) + "\n");
    return;
  }
  for (const r of v.records) {
    for (const x of r.violations) out(`${x.enforcementLevel.padEnd(9)} ${x.policy}: ${x.message}${r.file ? `  [${r.file}]` : ""}\n`);
  }
  for (const x of v.stack) out(`${x.enforcementLevel.padEnd(9)} ${x.policy}: ${x.message}\n`);
  out(`${v.records.length} resources checked: ${v.mandatory} mandatory, ${v.advisory} advisory violation(s)\n`);
}

const OPTIONS = {
  ...STACK_OPTIONS,
  manifests: { type: "string", value: "dir", help: "audit a directory of plain Kubernetes YAML instead of a stack" },
  "policy-config": { type: "string", value: "file", help: "the pack config (Pulumi policy-pack config JSON); a stack defaults to policy/stacks/<stack>.json, else to the config derived from the stack" },
  json: { type: "boolean", help: "one JSON record per line per resource" },
  "print-policy-config": { type: "boolean", help: "print the stack's pack config (for pulumi preview --policy-pack-config) and audit nothing" },
  ...CHART_OPTIONS,
} as const;
const USAGE = usageOf("npm run audit --", ["(--stack <name> | --stack-file <path>) [--policy-config <file>] [--json] [chart options]", "--manifests <dir> [--policy-config <file>] [--json]"], OPTIONS);

export async function main(argv: string[], out = (s: string) => void process.stdout.write(s), err = (s: string) => void process.stderr.write(s)): Promise<number> {
  const answered = answerArgs(argv, OPTIONS, USAGE, "npm run audit --", out, err);
  if (answered !== undefined) return answered;
  const stackGiven = arg("stack", argv) !== undefined || arg("stack-file", argv) !== undefined;
  const manifests = arg("manifests", argv);
  const json = argv.includes("--json");
  if (stackGiven === (manifests !== undefined)) {
    err(`give a stack (--stack or --stack-file) or --manifests, one of them\n${USAGE}`);
    return 2;
  }
  const named = stackGiven ? stackFromArgs(argv) : undefined;
  if (named && "error" in named) {
    err(`${named.error}\n`);
    return 2;
  }
  const stack = named?.stack;
  const configFile = arg("policy-config", argv) ?? (stack ? stackPolicyConfigFile(stack) : undefined);
  try {
    if (argv.includes("--print-policy-config")) {
      if (!named) {
        err("--print-policy-config needs a stack (--stack or --stack-file)\n");
        return 2;
      }
      out(JSON.stringify(packConfigFor(platformConfigOf(named.read())), null, 2) + "\n");
      return 0;
    }
    // A stack without a pack config file: the render derives its config (audit/pack-config.ts) and its verdicts are used below.
    const config = configFile ? readPolicyConfig(path.resolve(configFile)) : {};
    for (const w of configWarnings(policies, config)) err(`warning: ${configFile}: ${w}\n`);
    let v: Verdicts;
    if (named && stack !== undefined) {
      const charts = chartOptionsFromArgs(argv);
      if ("error" in charts) {
        err(`${charts.error}\n`);
        return 2;
      }
      const r = await renderConfig(stack, named.read(), { charts });
      for (const c of r.run.charts) {
        const e = c.expansion;
        if (e.missingSubcharts.length) err(`not covered: chart ${e.chart} ${e.version}: subcharts ${e.missingSubcharts.join(", ")} are missing from the chart cache (${e.source}); their objects were not audited\n`);
      }
      if (charts.skip) err("not covered: charts were not expanded (--skip-charts); no chart object was audited\n");
      // The render already ran the pack with the stack's own config (its file, or derived).
      v = configFile === stackPolicyConfigFile(stack) ? r.verdicts : await auditRun(r.run, r.model, config);
      v = await auditFormal(withRunning(v, r.running), r.config, r.running.objects);
      for (const n of r.running.notRun) err(`not covered: ${n}\n`);
    } else {
      if (!fs.existsSync(manifests!) || !fs.statSync(manifests!).isDirectory()) {
        err(`no directory ${manifests}\n`);
        return 2;
      }
      v = await audit(fromManifestDir(path.resolve(manifests!)), config);
    }
    print(v, json, out);
    return v.mandatory > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof ChartNotFoundError || e instanceof ChartTemplateError || e instanceof HelmNotInstalledError || e instanceof MissingSubchartError) {
      err(`${e.message}\n`);
      return 2;
    }
    if (e instanceof PolicyConfigError || e instanceof ConfigError || e instanceof SyntaxError) {
      err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`audit failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
