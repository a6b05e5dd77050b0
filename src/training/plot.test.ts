import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from '../core/errors.ts';
import type { Bitmap, Color, Rect } from '../core/font.ts';
import { JsonlLogger } from './log.ts';
import { emaSmooth, formatTick, niceTicks, PALETTE, plotLog, renderPlot } from './plot.ts';

const dir = mkdtempSync(join(tmpdir(), 'plot-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeLog(name: string, records: Record<string, number>[]): string {
  const path = join(dir, name);
  const log = JsonlLogger.open(path);
  for (const r of records) log.append(r as { step: number });
  log.close();
  return path;
}

const inside = (r: Rect, x: number, y: number) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;
const same = (a: Color, b: Color) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** Pixels of colour `c` inside `area` and outside `exclude`. */
function pixelsOf(bmp: Bitmap, c: Color, area: Rect, exclude?: Rect): [number, number][] {
  const out: [number, number][] = [];
  for (let y = area.y; y < area.y + area.height; y++) {
    for (let x = area.x; x < area.x + area.width; x++) if ((!exclude || !inside(exclude, x, y)) && same(bmp.get(x, y), c)) out.push([x, y]);
  }
  return out;
}

/** Mean row of the pixels in columns [x0, x1). */
function meanY(pixels: [number, number][], x0: number, x1: number): number {
  const ys = pixels.filter(([x]) => x >= x0 && x < x1).map(([, y]) => y);
  assert.ok(ys.length > 0, `no pixels in columns ${x0}..${x1}`);
  return ys.reduce((a, b) => a + b, 0) / ys.length;
}

describe('plotLog', () => {
  const steps = Array.from({ length: 21 }, (_, i) => 5 * i);
  const path = writeLog('updown.jsonl', steps.map((s) => ({ step: s, up: s / 10, down: 10 - s / 10 })));

  it('writes a PNG of the requested size with each series where its values are, and a legend', async () => {
    const out = join(dir, 'plots', 'updown.png');
    const plot = await plotLog(path, out, { width: 400, height: 300 });
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [400, 300]);
    for (let i = 0; i < 400 * 300; i++) {
      const c = plot.bitmap.get(i % 400, Math.floor(i / 400));
      if (data[3 * i] !== c[0] || data[3 * i + 1] !== c[1] || data[3 * i + 2] !== c[2]) assert.fail(`PNG pixel ${i} differs from the rendered plot`);
    }
    const { area, legend, colors } = plot;
    assert.deepEqual(colors, [PALETTE[0], PALETTE[1]]);
    const third = Math.floor(area.width / 3);
    const [up, down] = colors.map((c) => pixelsOf(plot.bitmap, c, area, legend));
    // Screen y grows downwards: a rising curve has smaller y on the right.
    assert.ok(meanY(up, area.x, area.x + third) > meanY(up, area.x + 2 * third, area.x + area.width) + area.height / 3, 'up rises');
    assert.ok(meanY(down, area.x, area.x + third) + area.height / 3 < meanY(down, area.x + 2 * third, area.x + area.width), 'down falls');
    // Legend: a swatch of each colour and dark text pixels in each entry's row.
    for (const [i, c] of colors.entries()) {
      const swatch = pixelsOf(plot.bitmap, c, legend);
      assert.ok(swatch.length > 10, `legend swatch ${i}`);
      const rowY = swatch[0][1];
      const text = pixelsOf(plot.bitmap, [0, 0, 0], { x: legend.x, y: rowY - 8, width: legend.width, height: 16 });
      assert.ok(text.length > 10, `legend text ${i} has ${text.length} pixels`);
    }
    // Tick labels left of the data area.
    const labels = pixelsOf(plot.bitmap, [40, 40, 40], { x: 0, y: area.y, width: area.x - 6, height: area.height });
    assert.ok(labels.length > 20, `y tick labels: ${labels.length} pixels`);
  });

  it('plots only the requested keys', async () => {
    const plot = await plotLog(path, join(dir, 'down.png'), { keys: ['down'], width: 300, height: 200 });
    assert.deepEqual(plot.colors, [PALETTE[0]]);
    const down = pixelsOf(plot.bitmap, PALETTE[0], plot.area, plot.legend);
    const w = plot.area.width;
    assert.ok(meanY(down, plot.area.x, plot.area.x + w / 3) < meanY(down, plot.area.x + (2 * w) / 3, plot.area.x + w));
    assert.equal(pixelsOf(plot.bitmap, PALETTE[1], plot.area).length, 0);
  });

  it('draws an exponential as a straight line on a log axis (and not on a linear one)', async () => {
    const exp = writeLog('exp.jsonl', Array.from({ length: 101 }, (_, s) => ({ step: s, loss: 10 ** (-s / 25) })));
    const straightness = async (logY: boolean) => {
      const p = await plotLog(exp, join(dir, `exp-${logY}.png`), { logY, width: 400, height: 300 });
      const px = pixelsOf(p.bitmap, PALETTE[0], p.area, p.legend);
      const { x, width } = p.area;
      const at = (f: number) => meanY(px, Math.round(x + f * (width - 1)) - 1, Math.round(x + f * (width - 1)) + 2);
      return Math.abs(at(0.5) - (at(0.02) + at(0.98)) / 2);
    };
    assert.ok((await straightness(true)) < 3, 'log axis: the midpoint lies on the chord');
    assert.ok((await straightness(false)) > 50, 'linear axis: the curve sags far below the chord');
  });

  it('draws the raw curve faint behind the smoothed one', async () => {
    const plot = await plotLog(path, join(dir, 'smooth.png'), { smooth: 0.8, width: 300, height: 200 });
    const faint = PALETTE[0].map((v) => Math.round(v + (255 - v) * 0.7)) as unknown as Color;
    assert.ok(pixelsOf(plot.bitmap, faint, plot.area).length > 0);
    assert.ok(pixelsOf(plot.bitmap, PALETTE[0], plot.area).length > 0);
  });

  it('refuses an empty log, unknown keys and a bad smoothing weight', async () => {
    const empty = writeLog('empty.jsonl', []);
    await assert.rejects(plotLog(empty, join(dir, 'x.png')), UsageError);
    await assert.rejects(plotLog(path, join(dir, 'x.png'), { keys: ['nope'] }), (e: Error) => e instanceof UsageError && /nope/.test(e.message));
    await assert.rejects(plotLog(path, join(dir, 'x.png'), { smooth: 1 }), UsageError);
    assert.throws(() => renderPlot([]), UsageError);
    assert.throws(() => renderPlot([{ name: 'a', points: [[0, 1]] }], { width: 50 }), UsageError);
  });
});

describe('plot helpers', () => {
  it('picks 1-2-5 ticks covering the range', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0.13, 0.71, 6), [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    assert.deepEqual(niceTicks(0, 2990, 6), [0, 500, 1000, 1500, 2000, 2500]);
    assert.deepEqual(niceTicks(-3, 3, 3), [-2, 0, 2]);
  });

  it('labels ticks with the decimals their spacing needs, or an exponent', () => {
    assert.deepEqual([formatTick(0.25, 0.05), formatTick(1500, 500), formatTick(0.6, 0.2), formatTick(0, 0.1)], ['0.25', '1500', '0.6', '0']);
    assert.deepEqual([formatTick(0.0001, 0.0001), formatTick(2.5e-4, 5e-5), formatTick(200000, 100000), formatTick(-0.5, 0.5)], ['1e-4', '2.5e-4', '2e5', '-0.5']);
  });

  it('smooths with a bias-corrected EMA', () => {
    assert.deepEqual(emaSmooth([2, 2, 2], 0.9), [2, 2, 2]);
    const [a, b] = emaSmooth([0, 1], 0.5);
    assert.equal(a, 0);
    assert.ok(Math.abs(b - 0.5 / 0.75) < 1e-12);
    assert.ok(Number.isNaN(emaSmooth([1, Number.NaN, 1], 0.5)[1]));
    assert.deepEqual(emaSmooth([1, 2], 0), [1, 2]);
  });
});
