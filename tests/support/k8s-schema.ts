import { spawnSync } from "child_process";
import * as path from "path";

export interface SchemaResult {
  readonly id: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly unsupported?: boolean;
}

/**
 * Validates objects against the Kubernetes OpenAPI schema and the Flux CRDs in a child Node
 * process (the model packages are ESM-only; see validate-k8s.mjs).
 */
export function validateBuiltIn(objects: readonly { id: string; object: unknown }[]): SchemaResult[] {
  const r = spawnSync(process.execPath, [path.join(__dirname, "validate-k8s.mjs")], {
    input: JSON.stringify(objects),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`validator failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SchemaResult[];
}
