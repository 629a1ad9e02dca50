/**
 * Milliseconds as a duration every consumer here accepts: the Gateway API's format
 * (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`, GEP-2257), which is also a Go and a CEL duration (Envoy
 * Gateway, Traefik, Istio's CRDs).
 */
export function apiDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`not a whole number of milliseconds: ${ms}`);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const rest = ms % 1000;
  const out = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}${rest ? `${rest}ms` : ""}`;
  return out === "" ? "0s" : out;
}

/** A duration in this format back to milliseconds (the formal models read rendered objects). */
export function durationMs(d: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...d.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== d) throw new Error(`not a duration: ${d}`);
  return parts.reduce((t, p) => t + Number(p[1]) * units[p[2]!]!, 0);
}
