/**
 * npm run formal -- --stack <name>
 * npm run formal -- --stack-file <path/to/Pulumi.<name>.yaml>
 * Checks the stack's config against the SPIN models (formal/*.pml) and prints each verdict, the
 * config keys involved and, for a violation, the counterexample. Ends with `N passed, N failed`;
 * exits 1 when any model fails or could not run, 2 on an unknown stack.
 */
import { ConfigError } from "../config/load";
import { platformConfigOf, stackFromArgs } from "../render/stack";
import { formalVerdicts, tally, verdictText } from "./verdicts";

async function main(argv: string[]): Promise<number> {
  const named = stackFromArgs(argv);
  if ("error" in named) {
    process.stderr.write(`${named.error}\n`);
    return 2;
  }
  const { stack } = named;
  let config;
  try {
    config = platformConfigOf(named.read());
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
