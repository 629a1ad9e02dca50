/**
 * npm run render -- --stack <name> [--out <dir>]
 * npm run render -- --stack-file <path/to/Pulumi.<name>.yaml> [--out <dir>]
 * Runs the program offline under Pulumi's mock runtime and writes manifests, Flux objects,
 * report.md and the dependency graph. Bad config: the problems on stderr, exit 1, nothing written.
 */
import * as path from "path";
import { ConfigError } from "../config/load";
import { renderConfig } from "./render";
import { listStacks, readStackConfig, readStackFile } from "./stack";
import { writeRender } from "./write";

function arg(name: string, argv: string[]): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const stackFile = arg("stack-file", argv);
  const stack = arg("stack", argv) ?? (stackFile ? /Pulumi\.(.+)\.yaml$/.exec(path.basename(stackFile))?.[1] : undefined) ?? "dev";
  const out = path.resolve(arg("out", argv) ?? path.join("out", stack));
  if (!stackFile && !listStacks().includes(stack)) {
    process.stderr.write(`unknown stack ${JSON.stringify(stack)}; expected one of ${listStacks().join(", ")}\n`);
    return 2;
  }
  try {
    const r = await renderConfig(stack, stackFile ? readStackFile(path.resolve(stackFile)) : readStackConfig(stack));
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
