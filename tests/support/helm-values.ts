/**
 * Checks that every key a program sets in Helm values exists in the pinned chart's default
 * values.yaml: a misspelt key is silently ignored by Helm, so this is the only place it shows.
 */

type Json = unknown;

export interface ValuesCheckOptions {
  /** Key paths (dotted) whose subtree is free-form even though the defaults show content. */
  readonly freeForm?: readonly string[];
  /** Keys accepted at the top level although the defaults do not list them (e.g. Istio's `profile`). */
  readonly extraTopLevel?: readonly string[];
}

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Dotted paths of keys in `values` that the chart's `defaults` do not have. */
export function unknownValueKeys(values: Json, defaults: Json, opts: ValuesCheckOptions = {}): string[] {
  const out: string[] = [];
  const walk = (v: Json, d: Json, at: string) => {
    if (!isObject(v)) return;
    // An empty map or null in the defaults is a free-form slot (annotations, nodeSelector, env maps).
    if (!isObject(d) || Object.keys(d).length === 0) return;
    for (const [k, sub] of Object.entries(v)) {
      const p = at ? `${at}.${k}` : k;
      if (opts.freeForm?.includes(p)) continue;
      if (!(k in d)) {
        if (!(at === "" && opts.extraTopLevel?.includes(k))) out.push(p);
        continue;
      }
      walk(sub, d[k], p);
    }
  };
  walk(values, defaults, "");
  return out.sort();
}
