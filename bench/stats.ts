/** Summary statistics of repeated timings, shared by the runner (bench/run.ts) and each measurement (bench/measure.ts). */

export interface Stats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** Min, median (the mean of the middle two for an even count) and max. */
export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: mid, max: s[s.length - 1]! };
}
