/**
 * Command lines, checked by Node's own parser (`util.parseArgs`, strict): an unknown flag, a flag
 * without its value, or a stray word is an error naming what is allowed, and `--help` prints the
 * command's usage. `--name value` and `--name=value` are the same. Each CLI lists its options once.
 */
import { parseArgs } from "node:util";

/** One option of a command. */
export interface CliOption {
  readonly type: "string" | "boolean";
  /** What the value is, for the usage text (string options). */
  readonly value?: string;
  readonly help: string;
}
export type CliOptions = Readonly<Record<string, CliOption>>;

/** The options every command that renders a stack takes (render/stack.ts reads them). */
export const STACK_OPTIONS: CliOptions = {
  stack: { type: "string", value: "name", help: "a stack of this repository (Pulumi.<name>.yaml); default dev" },
  "stack-file": { type: "string", value: "path", help: "any stack file, Pulumi.<name>.yaml" },
};
export const CHART_OPTIONS: CliOptions = {
  "chart-cache": { type: "string", value: "dir", help: "a chart cache <chart>/<version>/ searched before the defaults" },
  "pull-charts": { type: "boolean", help: "let helm pull fetch charts the caches lack (needs network)" },
  "skip-charts": { type: "boolean", help: "no chart expansion (each chart stays one registration; the report says so)" },
  "allow-missing-subcharts": { type: "boolean", help: "template charts whose cache copy lacks enabled subcharts without them (listed as not covered)" },
  charts: { type: "string", value: "rendered|helmrelease", help: "GitOps output: every chart object (default) or one HelmRelease per chart" },
};

/** The GitOps options of the render (render/stack.ts gitopsFromArgs reads them). */
export const GITOPS_OPTIONS: CliOptions = {
  gitops: { type: "string", value: "flux|argocd", help: "the GitOps engine the tree is for (default flux)" },
  "gitops-path": { type: "string", value: "path", help: "the output folder's path inside the Git repository (default .), e.g. clusters/prod: stacks share a repository, one folder each" },
  "gitops-source": { type: "string", value: "name|url", help: "Flux: the GitRepository's name (default platform); Argo CD: the repository URL (required)" },
  "gitops-revision": { type: "string", value: "rev", help: "Argo CD: the branch, tag or commit to sync (default HEAD)" },
  "gitops-name-prefix": { type: "string", value: "name", help: "Argo CD: Applications are <prefix>-<component> (default platform)" },
};

/** The usage text of a command. */
export function usageOf(command: string, synopsis: readonly string[], options: CliOptions): string {
  const rows = Object.entries({ ...options, help: { type: "boolean", help: "this text" } as CliOption }).map(([n, o]) => [`--${n}${o.value ? ` <${o.value}>` : ""}`, o.help] as const);
  const width = Math.max(...rows.map(([f]) => f.length));
  return [...synopsis.map((s) => `usage: ${command} ${s}`), "", ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`), ""].join("\n");
}

/**
 * Checks a command line: `{ help }` for --help, `{ error }` (one line) for anything the command does
 * not take, otherwise undefined (the CLI reads its values with render/stack.ts cliArg).
 */
export function checkArgs(argv: readonly string[], options: CliOptions): { readonly help: true } | { readonly error: string } | undefined {
  const spec = Object.fromEntries([...Object.entries(options).map(([n, o]) => [n, { type: o.type }]), ["help", { type: "boolean" }]]) as Record<string, { type: "string" | "boolean" }>;
  try {
    const { values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false });
    if (values["help"]) return { help: true };
    return undefined;
  } catch (e) {
    const allowed = [...Object.keys(options), "help"].map((n) => `--${n}`).join(", ");
    // parseArgs throws a TypeError with a code; read its message whatever realm it comes from.
    const msg = typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e);
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) return { error: `unknown option ${unknown[1]}; expected one of ${allowed}` };
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) return { error: `unexpected argument ${JSON.stringify(positional[1])}; every value follows its --option (expected one of ${allowed})` };
    const noValue = /^Option '(--[^']+)' does not take an argument/.exec(msg);
    if (noValue) return { error: `option ${noValue[1]} takes no value` };
    return { error: msg.replace(/\.$/, "").replace(/^Option '(-[^']*)'.*argument missing$/, "option $1 needs a value") };
  }
}

/**
 * What every CLI does first: print the usage for --help (exit code 0), or the one-line error and a
 * pointer to --help for a bad command line (exit code 2); undefined when the command should run.
 */
export function answerArgs(argv: readonly string[], options: CliOptions, usage: string, command: string, out: (s: string) => void, err: (s: string) => void): number | undefined {
  const checked = checkArgs(argv, options);
  if (!checked) return undefined;
  if ("help" in checked) {
    out(usage);
    return 0;
  }
  err(`${checked.error}\n(${command} --help)\n`);
  return 2;
}
