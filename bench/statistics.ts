/** Percentiles and rounding for the figures the benchmark prints. */

/** Mean, median, 99th percentile and maximum of a set of values (NaN when empty). */
interface Distribution {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** The distribution of `values` (nearest-rank percentiles). */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { mean: NaN, p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 2), p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** `a ÷ b` to two decimals, or null when either is missing or `b` is not above 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a != null && b != null && b > 0 ? round(a / b, 2) : null;
}

/** Bytes in a megabyte, as the figures count them. */
export const MB = 1024 * 1024;
