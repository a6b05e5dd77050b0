/**
 * Paired comparisons of methods: how much each method differs from a reference method on the same
 * images, with a bootstrap confidence interval, so that a choice between methods is not taken on
 * the noise of a few photos. Means of two methods over 38 photos can differ by half a percent of
 * l1 while the per-photo differences swing by several percent either way; pairing removes what the
 * photos share (some are simply harder) and the interval says whether what is left is more than
 * chance.
 *
 * The interval is the percentile bootstrap of the mean per-image difference (Efron and Tibshirani,
 * "An Introduction to the Bootstrap", 1993, ch. 13): the images are resampled with replacement,
 * the pairs kept together, and the 2.5th and 97.5th percentiles of the resampled means bound the
 * 95% interval. Seeded, so a report is reproducible.
 */
import { expect } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import type { MetricColumn, ResultRow } from './report.ts';

export interface BootstrapOptions {
  /** Resamples drawn (default 10,000). */
  resamples?: number;
  /** The interval's coverage, in (0, 1) (default 0.95). */
  level?: number;
  /** Seeds the resampling (default 0). */
  seed?: number;
}

/** A mean and its interval. */
export interface Interval {
  mean: number;
  low: number;
  high: number;
}

/**
 * The mean of `values` and its percentile-bootstrap interval.
 * @example
 * bootstrapMean([0.3, -0.1, 0.5, 0.2]); // { mean: 0.225, low: ..., high: ... }
 * @throws UsageError for no values, a non-finite value, or bad options
 */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): Interval {
  const { resamples = 10_000, level = 0.95, seed = 0 } = options;
  expect(values.length > 0, 'values', 'at least one value', values.length);
  expect(values.every(Number.isFinite), 'values', 'finite numbers', values.find((v) => !Number.isFinite(v)));
  expect(Number.isInteger(resamples) && resamples >= 100, 'resamples', 'an integer of at least 100', resamples);
  expect(level > 0 && level < 1, 'level', 'a number in (0, 1)', level);
  const n = values.length;
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.uint32() % n];
    means[b] = sum / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { mean: values.reduce((a, v) => a + v, 0) / n, low: at(tail), high: at(1 - tail) };
}

/** One method's difference to the reference under one protocol, per ranked metric. */
export interface PairedRow {
  protocol: ResultRow['protocol'];
  method: string;
  reference: string;
  /** Images both methods were scored on. */
  images: number;
  /**
   * Metric name -> mean of (method - reference) over those images where both values are finite
   * (PSNR of a perfect fill is Infinity), with its interval; absent when there is no such image.
   */
  differences: Record<string, Interval>;
}

/**
 * The paired differences of every method to `reference`, per protocol, for every ranked metric
 * (unranked ones, such as the fill's detail, are described, not compared). An image counts when
 * both methods were scored on it.
 * @example
 * pairedDifferences(rows, columns, 'telea'); // ours - telea on l1_hole: mean 0.56, 95% [-0.27, 1.45]
 */
export function pairedDifferences(rows: readonly ResultRow[], columns: readonly MetricColumn[], reference: string, options: BootstrapOptions = {}): PairedRow[] {
  const ranked = columns.filter((c) => c.higherIsBetter !== null).map((c) => c.name);
  const out: PairedRow[] = [];
  for (const protocol of [...new Set(rows.map((r) => r.protocol))]) {
    const scored = rows.filter((r) => r.protocol === protocol && !r.error);
    const base = new Map(scored.filter((r) => r.method === reference).map((r) => [r.index, r.metrics]));
    if (base.size === 0) continue;
    for (const method of [...new Set(scored.map((r) => r.method))].filter((m) => m !== reference)) {
      const pairs = scored.filter((r) => r.method === method && base.has(r.index)).map((r) => [r.metrics, base.get(r.index)!] as const);
      if (pairs.length === 0) continue;
      const differences: Record<string, Interval> = {};
      for (const m of ranked) {
        const d = pairs.map(([a, b]) => a[m] - b[m]).filter(Number.isFinite);
        if (d.length > 0) differences[m] = bootstrapMean(d, options);
      }
      out.push({ protocol, method, reference, images: pairs.length, differences });
    }
  }
  return out;
}
