/**
 * npm run audit -- --stack <name> [--policy-config <file>] [--json]
 * npm run audit -- --manifests <dir> [--policy-config <file>] [--json]
 *
 * Runs the CrossGuard pack (policy/) over the in-process render of a stack, or over any directory
 * of plain Kubernetes YAML, and prints every violation with its enforcement level. Exit code: 0
 * without mandatory violations, 1 with any, 2 on bad arguments or config.
 * --policy-config: the pack config in Pulumi's policy-pack config JSON (what
 * `pulumi preview --policy-pack-config` takes); a stack defaults to policy/stacks/<stack>.json.
 * --json: one JSON record per line per resource (file, kind, namespace, name, violations).
 * With --stack, the SPIN models (formal/) also run on the stack's config: a model that fails, or
 * cannot run (spin/gcc missing), is a mandatory stack-level violation naming the config keys; and
 * the running-platform proofs (audit/running: flows, admission, placement, ownership) add one
 * mandatory violation per failure, naming the flow, pod set or node and the key that controls it.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../config/load";
import { ChartNotFoundError, HelmNotInstalledError, MissingSubchartError } from "../render/charts";
import { renderStack } from "../render/render";
import { chartOptionsFromArgs, cliArg as arg, listStacks } from "../render/stack";
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

export async function main(argv: string[], out = (s: string) => void process.stdout.write(s), err = (s: string) => void process.stderr.write(s)): Promise<number> {
  const stack = arg("stack", argv);
  const manifests = arg("manifests", argv);
  const json = argv.includes("--json");
  if ((stack === undefined) === (manifests === undefined)) {
    err("usage: npm run audit -- (--stack <name> | --manifests <dir>) [--policy-config <file>] [--json]\n");
    return 2;
  }
  const configFile = arg("policy-config", argv) ?? (stack ? stackPolicyConfigFile(stack) : undefined);
  try {
    const config = configFile ? readPolicyConfig(path.resolve(configFile)) : {};
    for (const w of configWarnings(policies, config)) err(`warning: ${configFile}: ${w}\n`);
    let v: Verdicts;
    if (stack !== undefined) {
      if (!listStacks().includes(stack)) {
        err(`unknown stack ${JSON.stringify(stack)}; expected one of ${listStacks().join(", ")}\n`);
        return 2;
      }
      const charts = chartOptionsFromArgs(argv);
      if ("error" in charts) {
        err(`${charts.error}\n`);
        return 2;
      }
      const r = await renderStack(stack, { charts });
      for (const c of r.run.charts) {
        const e = c.expansion;
        if (e.missingSubcharts.length) err(`not covered: chart ${e.chart} ${e.version}: subcharts ${e.missingSubcharts.join(", ")} are missing from the chart cache (${e.source}); their objects were not audited\n`);
      }
      if (charts.skip) err("not covered: charts were not expanded (--skip-charts); no chart object was audited\n");
      // The render already ran the pack with the stack's own config file.
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
    if (e instanceof ChartNotFoundError || e instanceof HelmNotInstalledError || e instanceof MissingSubchartError) {
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
