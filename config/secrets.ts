/**
 * Secrets in config: the shapes and names are the pack's (policy/secret-shapes.ts), so the schema
 * refuses in service env exactly what the pack flags in rendered env; and every value an error line
 * shows passes through maskSecrets first.
 */
import { SECRET_NAME, secretLooking } from "../policy/secret-shapes";

export { SECRET_NAME, secretLooking };

/** The mark shown instead of a value that may be a secret. */
export const MASKED = "<masked>";

/**
 * A copy of `v` fit to print: every string that looks like a secret (by its shape, or by the name
 * of the key holding it) replaced by MASKED. Error messages show values only through this.
 */
export function maskSecrets(v: unknown, key = ""): unknown {
  if (typeof v === "string" || typeof v === "number") {
    if (v === MASKED || v === "") return v;
    return SECRET_NAME.test(key) || (typeof v === "string" && secretLooking("", v)) ? MASKED : v;
  }
  if (Array.isArray(v)) return v.map((x) => maskSecrets(x, key));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskSecrets(x, k)]));
  return v;
}
