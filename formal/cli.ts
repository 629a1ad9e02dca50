/**
 * npm run formal -- --stack <name>
 * npm run formal -- --stack-file <path/to/Pulumi.<name>.yaml>
 * Checks the stack's config against the SPIN models (formal/*.pml) and prints each verdict, the
 * config keys involved and, for a violation, the counterexample. Ends with `N passed, N failed`;
 * exits 1 when any model fails or could not run, 2 on an unknown stack.
 */
import * as path from "path";
import { ConfigError } from "../config/load";
import { listStacks, platformConfigOf, readStackConfig, readStackFile } from "../render/stack";
import { formalVerdicts, tally, verdictText } from "./verdicts";

function arg(name: string, argv: string[]): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const stackFile = arg("stack-file", argv);
  const stack = arg("stack", argv) ?? (stackFile ? /Pulumi\.(.+)\.yaml$/.exec(path.basename(stackFile))?.[1] : undefined) ?? "dev";
  if (!stackFile && !listStacks().includes(stack)) {
    process.stderr.write(`unknown stack ${JSON.stringify(stack)}; expected one of ${listStacks().join(", ")}\n`);
    return 2;
  }
  let config;
  try {
    config = platformConfigOf(stackFile ? readStackFile(path.resolve(stackFile)) : readStackConfig(stack));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`stack ${stack}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(`formal models for stack ${stack}\n`);
  const verdicts = await formalVerdicts(config);
  for (const v of verdicts) process.stdout.write(verdictText(v).join("\n") + "\n");
  const { passed, failed } = tally(verdicts);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`formal check failed to run: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
