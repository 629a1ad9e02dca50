/**
 * What the policies share instead of each recomputing it (the pod template of a workload, its
 * containers, the stack's workloads, a policy's parsed config): memos keyed by object identity,
 * so they can never hand one run's answer to another.
 * - Per resource, keyed by the props object a policy receives: audit/analyzer.ts hands every policy
 *   of a resource the same props object, a fresh one per analysis; @pulumi/policy's server
 *   deserializes props for each policy (behind a proxy that returns a new object on every read), so
 *   there each policy computes its own, exactly as without the memo.
 * - Per stack analysis, keyed by the stack policies' resource list: one per run in the analyzer, one
 *   per policy in the server.
 * - Per config, keyed by the raw config object `getConfig()` returns (stable for a run in the analyzer,
 *   a copy per call in the server).
 * Entries live in WeakMaps and go with their keys. Values are shared between policies, so they are
 * read-only (frozen where the memo builds them). A computation that throws (an unknown value read
 * during preview) stores nothing: the next policy computes it again and meets the same error.
 */

/** `f` memoized on its argument's identity. */
export function byIdentity<K extends object, V>(f: (k: K) => V): (k: K) => V {
  const cache = new WeakMap<K, V>();
  return (k) => {
    if (cache.has(k)) return cache.get(k) as V;
    const v = f(k);
    cache.set(k, v);
    return v;
  };
}

/** Freezes plain data the memo built itself (never objects it was handed). */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
