/** Reads a stack's Pulumi.<stack>.yaml into the flat string map the Pulumi runtime uses. */
import * as fs from "fs";
import * as path from "path";
import { isMap, isScalar, LineCounter } from "yaml";
import { ConfigError, parseStackConfig } from "../config/load";
import type { PlatformConfig } from "../config/schema";
import { defaultChartCaches } from "./charts";
import { DEFAULT_GITOPS, GitOpsOptions, gitopsProblems } from "./gitops";
import { parseGoYaml } from "./go-yaml";
import type { ChartMode } from "./model";
import { PACKAGE_ROOT } from "../components/shared/package-root";

export const PROJECT = "platform";
export const ROOT = PACKAGE_ROOT;

/** `platform:key` → value as Pulumi passes it (structured values as JSON text). */
export function readStackConfig(stack: string, root = ROOT): Record<string, string> {
  return readStackFile(path.join(root, `Pulumi.${stack}.yaml`));
}

/**
 * Reads any Pulumi stack file into the flat config map. YAML mistakes (tabs, duplicate keys, a
 * stray `: `) are a ConfigError with one `file:line:column: what` line each, as for config
 * mistakes; merge keys (`<<`) are honoured, as go-yaml v3, Pulumi's reader, honours them.
 */
export function readStackFile(file: string): Record<string, string> {
  if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
  const lineCounter = new LineCounter();
  // go-yaml v3's scalar resolution (render/go-yaml.ts): the values `pulumi up` will read.
  const parsed = parseGoYaml(fs.readFileSync(file, "utf8"), lineCounter);
  if (parsed.errors.length) {
    // The first error only: the ones after it follow from it (a tab makes three), and go-yaml,
    // Pulumi's reader, stops at the first too. The pretty message ends its first line with
    // " at line L, column C:"; the position is in linePos.
    const e = parsed.errors[0]!;
    throw new ConfigError([`${file}:${e.linePos?.[0]?.line ?? "?"}:${e.linePos?.[0]?.col ?? "?"}: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`]);
  }
  let js: unknown;
  try {
    js = parsed.toJS();
  } catch (e) {
    // An alias to an anchor that does not exist is found only here.
    throw new ConfigError([`${file}: ${e instanceof Error ? e.message : String(e)}`]);
  }
  if (js !== null && (typeof js !== "object" || Array.isArray(js))) throw new ConfigError([`${file}:1:1: a stack file is a mapping with a config: key (got ${Array.isArray(js) ? "a list" : typeof js})`]);
  const doc = (js ?? {}) as { config?: Record<string, unknown> };
  if (doc.config !== undefined && (doc.config === null || typeof doc.config !== "object" || Array.isArray(doc.config))) throw new ConfigError([`${file}: config: must be a mapping of keys to values`]);
  // A scalar value is kept as written: Pulumi decodes it into a string (config.Value), so `0755`
  // stays "0755"; a structure is the JSON of go-yaml's values, as Pulumi writes it.
  const config = parsed.get("config", true);
  const raw = (k: string): string | undefined => {
    const node = isMap(config) ? config.get(k, true) : undefined;
    return isScalar(node) && node.value !== null && typeof node.source === "string" ? node.source : undefined;
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    out[key] = v !== null && typeof v === "object" ? JSON.stringify(v) : raw(k) ?? (typeof v === "string" ? v : JSON.stringify(v));
  }
  return out;
}

export function listStacks(root = ROOT): string[] {
  return fs.readdirSync(root).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
}

/** Validates a flat config map the way the program does (without the Pulumi runtime). */
export function platformConfigOf(flat: Record<string, string>): PlatformConfig {
  return parseStackConfig(flat);
}

/** `--name value` or `--name=value` from a command line. */
export function cliArg(name: string, argv: readonly string[]): string | undefined {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The stack a CLI names with `--stack <name>` or `--stack-file <path/to/Pulumi.<name>.yaml>` (default dev). */
export interface CliStack {
  readonly stack: string;
  /** Reads its flat config. */
  readonly read: () => Record<string, string>;
}

/** The named stack, or an error line when `--stack` names none of the repository's stacks. */
export function stackFromArgs(argv: readonly string[]): CliStack | { readonly error: string } {
  const stackFile = cliArg("stack-file", argv);
  if (stackFile !== undefined && cliArg("stack", argv) !== undefined) return { error: "--stack and --stack-file name the stack twice; give one" };
  const stack = cliArg("stack", argv) ?? (stackFile ? /Pulumi\.(.+)\.yaml$/.exec(path.basename(stackFile))?.[1] : undefined) ?? "dev";
  if (!stackFile && !listStacks().includes(stack)) return { error: `unknown stack ${JSON.stringify(stack)}; expected one of ${listStacks().join(", ")}` };
  return { stack, read: () => (stackFile ? readStackFile(path.resolve(stackFile)) : readStackConfig(stack)) };
}

/** The chart options of the render and audit command lines (see render/cli.ts). */
export interface ChartCliOptions {
  readonly cacheDirs: readonly string[];
  readonly pull: boolean;
  readonly skip: boolean;
  readonly allowMissingSubcharts?: boolean;
  readonly mode: ChartMode;
}

/**
 * `--chart-cache <dir>`, `--pull-charts`, `--skip-charts`, `--allow-missing-subcharts`,
 * `--charts rendered|helmrelease`. PLATFORM_ALLOW_MISSING_SUBCHARTS=1 stands for the flag (the test
 * suite sets it: ../shared/charts-src lacks kube-prometheus-stack's subcharts, see docs/render.md).
 */
export function chartOptionsFromArgs(argv: readonly string[]): ChartCliOptions | { readonly error: string } {
  const mode = (cliArg("charts", argv) ?? "rendered") as ChartMode;
  if (mode !== "rendered" && mode !== "helmrelease") return { error: `--charts ${JSON.stringify(mode)}: expected rendered or helmrelease` };
  const cache = cliArg("chart-cache", argv);
  return {
    cacheDirs: [...(cache ? [path.resolve(cache)] : []), ...defaultChartCaches()],
    pull: argv.includes("--pull-charts"),
    skip: argv.includes("--skip-charts"),
    // Absent without the flag: renderConfig then reads PLATFORM_ALLOW_MISSING_SUBCHARTS, in one place.
    ...(argv.includes("--allow-missing-subcharts") ? { allowMissingSubcharts: true } : {}),
    mode,
  };
}

/** The GitOps options of a command line, or the one-line problems. */
export function gitopsFromArgs(argv: readonly string[]): GitOpsOptions | { error: string } {
  const engine = cliArg("gitops", argv) ?? DEFAULT_GITOPS.engine;
  if (engine !== "flux" && engine !== "argocd") return { error: `--gitops: unknown engine ${JSON.stringify(engine)}; expected flux or argocd` };
  const source = cliArg("gitops-source", argv) ?? (engine === "flux" ? DEFAULT_GITOPS.source : "");
  const o: GitOpsOptions = {
    engine,
    path: cliArg("gitops-path", argv) ?? DEFAULT_GITOPS.path,
    source,
    revision: cliArg("gitops-revision", argv) ?? DEFAULT_GITOPS.revision,
    namePrefix: cliArg("gitops-name-prefix", argv) ?? DEFAULT_GITOPS.namePrefix,
  };
  const problems = gitopsProblems(o);
  // HelmReleases are Flux's: Argo CD would apply them as objects nothing reconciles.
  if (engine === "argocd" && cliArg("charts", argv) === "helmrelease") problems.push("--charts helmrelease: HelmReleases need Flux (got --gitops argocd); expected --charts rendered with Argo CD");
  return problems.length ? { error: problems.join("\n") } : o;
}
