/** Where the render finds the command-line tools scripts/install-tools.sh builds. */
import * as fs from "fs";
import * as path from "path";
import { PACKAGE_ROOT } from "../components/shared/package-root";

/** The package root (the repository, or the installed package): .tools/, crds/ and ../shared are found from it. */
const ROOT = PACKAGE_ROOT;

/**
 * A tool's binary: `$<envVar>` when set (returned as given: the caller says what a bad one means),
 * then the one scripts/install-tools.sh built (.tools/bin/<name>), then PATH; undefined when none.
 */
export function findTool(name: string, envVar: string): string | undefined {
  const env = process.env[envVar];
  if (env) return env;
  const local = path.join(ROOT, ".tools", "bin", name);
  if (fs.existsSync(local)) return local;
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}
