/**
 * npm run render -- --stack <name> [--out <dir>]
 * Runs the program offline under Pulumi's mock runtime and writes manifests, Flux objects,
 * report.md and the dependency graph. Bad config: the problems on stderr, exit 1, nothing written.
 */
import * as path from "path";
import { ConfigError } from "../config/load";
import { renderStack } from "./render";
import { listStacks } from "./stack";
import { writeRender } from "./write";

function arg(name: string, argv: string[]): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const stack = arg("stack", argv) ?? "dev";
  const out = path.resolve(arg("out", argv) ?? path.join("out", stack));
  if (!listStacks().includes(stack)) {
    process.stderr.write(`unknown stack ${JSON.stringify(stack)}; expected one of ${listStacks().join(", ")}\n`);
    return 2;
  }
  try {
    const r = await renderStack(stack);
    const { files, svg } = writeRender(r.model, r.report, out);
    const objects = r.model.groups.reduce((n, g) => n + g.objects.length, 0);
    process.stdout.write(`rendered stack ${stack}: ${objects} objects in ${r.model.groups.length} components, ${files.length} files in ${out}\n`);
    if (!svg) process.stdout.write("graph.svg not written: Graphviz `dot` is not installed (apt-get install graphviz); graph.mmd and graph.dot are.\n");
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`stack ${stack}: ${e.message}\n`);
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
