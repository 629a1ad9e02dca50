/**
 * The package's root directory: the nearest ancestor of this file holding a package.json. From the
 * sources that is the repository; from the compiled package (dist/...) it is the installed package,
 * whose vendored data (crds/) sits beside dist/.
 */
import * as fs from "fs";
import * as path from "path";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: the platform's package is incomplete`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.resolve(__dirname, ".."));
