import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { bootstrapMean, pairedDifferences } from './paired.ts';
import { type MetricColumn, type ResultRow, summaryMarkdown } from './report.ts';

describe('bootstrapMean', () => {
  it('gives the mean and the interval of the normal approximation for a uniform sample', () => {
    // 0..99: mean 49.5, standard error sd / sqrt(n) = 28.87 / 10, so a 95% interval of about ±5.6.
    const values = Array.from({ length: 100 }, (_, i) => i);
    const { mean, low, high } = bootstrapMean(values);
    assert.equal(mean, 49.5);
    assert.ok(low > 43 && low < 45, `low ${low}`);
    assert.ok(high > 54 && high < 56, `high ${high}`);
  });

  it('collapses to the value when every value is the same, and is reproducible by seed', () => {
    assert.deepEqual(bootstrapMean([0.25, 0.25, 0.25]), { mean: 0.25, low: 0.25, high: 0.25 });
    const values = Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * (i % 7));
    assert.deepEqual(bootstrapMean(values, { seed: 4 }), bootstrapMean(values, { seed: 4 }));
    assert.notDeepEqual(bootstrapMean(values, { seed: 4 }), bootstrapMean(values, { seed: 5 }));
  });

  it('narrows with the coverage', () => {
    const values = [1, -2, 3.5, 0, 7, -1, 2, 4, -3, 0.5];
    const wide = bootstrapMean(values, { level: 0.95 });
    const narrow = bootstrapMean(values, { level: 0.5 });
    assert.ok(narrow.low > wide.low && narrow.high < wide.high);
  });

  it('refuses no values, non-finite values and bad options', () => {
    assert.throws(() => bootstrapMean([]), UsageError);
    assert.throws(() => bootstrapMean([1, NaN]), UsageError);
    assert.throws(() => bootstrapMean([1, 2], { level: 1 }), UsageError);
    assert.throws(() => bootstrapMean([1, 2], { resamples: 10 }), UsageError);
  });
});

describe('pairedDifferences', () => {
  const columns: MetricColumn[] = [
    { name: 'l1_hole', unit: '%', higherIsBetter: false },
    { name: 'psnr', unit: 'dB', higherIsBetter: true },
    { name: 'detail_hole', unit: '%', higherIsBetter: null },
  ];
  const row = (index: number, method: string, l1: number, psnr: number, error?: string): ResultRow => ({
    protocol: 'centre-256',
    index,
    image: `${index}.png`,
    maskKind: 'centre',
    maskSha256: '0',
    holePercent: 25,
    method,
    seconds: 0,
    metrics: error ? {} : { l1_hole: l1, psnr, detail_hole: 50 },
    error,
  });

  it('pairs images by index, differences method minus reference, and leaves failures and unranked metrics out', () => {
    const rows = [
      row(0, 'telea', 10, 20), row(0, 'ours', 9, 21),
      row(1, 'telea', 14, 18), row(1, 'ours', 12, 19),
      row(2, 'telea', 12, Infinity), row(2, 'ours', 11, 25),
      row(3, 'telea', 12, 20), row(3, 'ours', 0, 0, 'boom'),
    ];
    const [p, ...rest] = pairedDifferences(rows, columns, 'telea');
    assert.equal(rest.length, 0);
    assert.deepEqual([p.method, p.reference, p.images], ['ours', 'telea', 3]);
    // l1: -1, -2, -1 on images 0 to 2 (image 3 failed); psnr: +1, +1 (image 2's is not finite).
    assert.ok(Math.abs(p.differences.l1_hole.mean - -4 / 3) < 1e-12);
    assert.ok(p.differences.l1_hole.low >= -2 && p.differences.l1_hole.high <= -1);
    assert.deepEqual(p.differences.psnr, { mean: 1, low: 1, high: 1 });
    assert.equal('detail_hole' in p.differences, false);
  });

  it('says nothing without the reference, and the summary marks intervals that exclude 0', () => {
    const rows = [row(0, 'telea', 10, 20), row(0, 'ours', 9, 20), row(1, 'telea', 10, 20), row(1, 'ours', 11, 20)];
    assert.deepEqual(pairedDifferences(rows, columns, 'patchmatch'), []);
    const paired = pairedDifferences(rows, columns, 'telea');
    const md = summaryMarkdown([], columns, { folder: 'f', split: 'all', images: 2, seed: 0, protocols: {} }, paired);
    assert.match(md, /## Paired differences to telea/);
    // l1: -1 and +1: an interval across 0, not bold; psnr: 0 exactly, an interval [0, 0] that does not exclude 0.
    assert.match(md, /\| centre-256 \| ours − telea \| 2 \| \+?0\.00 \[-1\.00, \+1\.00\] \| 0\.00 \[0\.00, 0\.00\] \|/);
    const better = summaryMarkdown([], columns, { folder: 'f', split: 'all', images: 2, seed: 0, protocols: {} }, pairedDifferences([row(0, 'telea', 10, 20), row(0, 'ours', 9, 20), row(1, 'telea', 10, 20), row(1, 'ours', 8, 20)], columns, 'telea'));
    assert.match(better, /\| \*\*-1\.50 \[-2\.00, -1\.00\]\*\* \|/);
  });
});
