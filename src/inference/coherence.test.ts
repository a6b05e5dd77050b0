import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedKnownValues, stripes, withHoleValue } from '../baselines/testing.ts';
import { UsageError } from '../core/errors.ts';
import { readImage } from '../core/image.ts';
import type { MaskImage, RgbImage } from '../core/raster.ts';
import { prepareImage, protocolMask } from '../evaluation/protocols.ts';
import { type CoherenceInput, coherenceTransport, unreadNear } from './coherence.ts';
import { rectMask, VALIDATION_PHOTOS } from './testing.ts';

/** The filled image alone. */
const coherenceFill = (image: RgbImage, mask: MaskImage, options?: CoherenceInput): RgbImage => coherenceTransport(image, mask, options).image;

/** An image whose three channels are f(x, y), g(x, y) and h(x, y). */
function planes(width: number, height: number, ...fs: ((x: number, y: number) => number)[]): RgbImage {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) data[c * plane + i] = fs[c](i % width, Math.floor(i / width));
  return { width, height, data };
}

/**
 * The hole pixels of `mask` at least `margin` px from the line through (32, 32) at `degrees` below
 * the horizontal where `filled` is more than `tolerance` from `truth` in some channel.
 */
function wrongAwayFromEdge(filled: RgbImage, truth: RgbImage, mask: MaskImage, degrees: number, margin: number, tolerance: number): string[] {
  const plane = truth.width * truth.height;
  const [sin, cos] = [Math.sin((degrees * Math.PI) / 180), Math.cos((degrees * Math.PI) / 180)];
  const wrong: string[] = [];
  for (let i = 0; i < plane; i++) {
    const [x, y] = [(i % truth.width) + 0.5, Math.floor(i / truth.width) + 0.5];
    if (!mask.data[i] || Math.abs((y - 32) * cos - (x - 32) * sin) < margin) continue;
    for (let c = 0; c < 3; c++) {
      const [got, want] = [filled.data[c * plane + i], truth.data[c * plane + i]];
      if (Math.abs(got - want) > tolerance) wrong.push(`(${x - 0.5}, ${y - 0.5}) channel ${c}: ${got.toFixed(3)}, expected ${want}`);
    }
  }
  return wrong;
}

/** 0.8 below the line through (32, 32) at `degrees` below the horizontal, 0.2 above; its inverse; 0.5. */
function edge(degrees: number): RgbImage {
  const tan = Math.tan((degrees * Math.PI) / 180);
  const below = (x: number, y: number) => y + 0.5 - 32 > tan * (x + 0.5 - 32);
  return planes(64, 64, (x, y) => (below(x, y) ? 0.8 : 0.2), (x, y) => (below(x, y) ? 0.2 : 0.8), () => 0.5);
}

describe('coherenceTransport', () => {
  it('keeps known pixels bit-identical, never reads or modifies the input, and stays in [0, 1]', () => {
    const image = stripes(48, 40);
    // Holes of every kind: inside, on an edge, in a corner, one pixel.
    const mask = rectMask(48, 40, { x: 10, y: 8, width: 12, height: 9 }, { x: 40, y: 0, width: 8, height: 6 }, { x: 0, y: 25, width: 5, height: 15 }, { x: 30, y: 30, width: 1, height: 1 });
    const before = image.data.slice();
    const maskBefore = mask.data.slice();
    const filled = coherenceFill(image, mask);
    assert.notEqual(filled.data, image.data);
    assert.deepEqual(changedKnownValues(image, filled, mask), []);
    assert.ok(filled.data.every((v) => v >= 0 && v <= 1), 'a value outside [0, 1]');
    // Whatever the hole holds, even NaN, cannot reach the result (and the hole was written).
    assert.deepEqual(coherenceFill(withHoleValue(image, mask, Number.NaN), mask).data, filled.data);
    assert.deepEqual(image.data, before);
    assert.deepEqual(mask.data, maskBefore);
  });

  it('fills a constant image with that constant', () => {
    const image = planes(40, 30, () => 0.1, () => 0.55, () => 0.9);
    const mask = rectMask(40, 30, { x: 8, y: 6, width: 20, height: 15 }, { x: 35, y: 25, width: 5, height: 5 });
    for (const radius of [1, 3, 5.5]) {
      const filled = coherenceFill(image, mask, { radius });
      assert.deepEqual(wrongAwayFromEdge(filled, image, mask, 0, 0, 1e-6), [], `radius ${radius}`);
    }
  });

  it('fills each pixel with a weighted mean: never beyond the range of the known pixels around the hole', () => {
    // A ramp across the hole: every fill value lies between the ramp's values at the hole's sides.
    const image = planes(64, 64, (x) => x / 64, (x) => 1 - x / 64, () => 0.5);
    const mask = rectMask(64, 64, { x: 24, y: 24, width: 16, height: 16 });
    const filled = coherenceFill(image, mask);
    const plane = 64 * 64;
    for (let i = 0; i < plane; i++) {
      if (!mask.data[i]) continue;
      const v = filled.data[i];
      assert.ok(v >= 18 / 64 && v <= 45 / 64, `pixel ${i}: ${v}`);
      assert.ok(Math.abs(filled.data[i] + filled.data[plane + i] - 1) < 1e-5, `pixel ${i}: the channels' weights differ`);
    }
  });

  it('carries an edge across the hole straight, at its angle, sharp', () => {
    // A 24-px hole on an edge at 0, 30, 60 and 90 degrees: every hole pixel 2 px or more from the
    // edge's line takes its side's colours, within 0.06. (Telea's fast marching, which weighs the
    // pixels along the front's normal, leaves 9 of them off by 0.1 to 0.21 at 30 degrees. Where the
    // fronts from either side meet near an oblique edge, the seams' smoothing moves a few pixels by
    // up to 0.056, at 30 and 60 degrees; without it, none is off by more than 0.001.)
    const mask = rectMask(64, 64, { x: 20, y: 20, width: 24, height: 24 });
    for (const degrees of [0, 30, 60, 90]) {
      const image = edge(degrees);
      const wrong = wrongAwayFromEdge(coherenceFill(image, mask), image, mask, degrees, 2, 0.06);
      assert.deepEqual(wrong, [], `${degrees} degrees`);
    }
  });

  it('says how clearly each hole pixel continues an edge: near 1 along an edge, 0 in a flat area and at known pixels', () => {
    const mask = rectMask(64, 64, { x: 20, y: 20, width: 24, height: 24 });
    for (const degrees of [0, 30]) {
      const { coherence } = coherenceTransport(edge(degrees), mask);
      const inHole = [...coherence].filter((_, i) => mask.data[i]);
      assert.ok(Math.min(...inHole) > 0.9, `${degrees} degrees: a hole pixel's coherence ${Math.min(...inHole)}`);
      assert.ok(coherence.every((v, i) => mask.data[i] || v === 0), 'a known pixel with a coherence');
    }
    // A constant and a ramp of other slopes in each channel: no one direction.
    const flat = coherenceTransport(planes(64, 64, () => 0.3, () => 0.6, () => 0.9), mask);
    assert.ok(flat.coherence.every((v) => v === 0), 'a constant image has no edge');
    const crossed = coherenceTransport(planes(64, 64, (x) => x / 64, (_, y) => y / 64, () => 0.5), mask);
    const most = Math.max(...crossed.coherence);
    assert.ok(most < 0.05, `two ramps at right angles, equally steep: coherence up to ${most}`);
  });

  it('keeps a linear ramp a ramp, whatever the sharpness', () => {
    // Along its isophotes (sharpness 25) a ramp's values are carried where they belong; with
    // isotropic weights (0) each pixel's mean of the pixels filled before it lags by a few pixels'
    // worth of the ramp (1/128 a pixel): either way within 0.06 of the ramp.
    const image = planes(64, 64, (x, y) => 0.2 + (x + y) / 256, () => 0.4, () => 0.6);
    const mask = rectMask(64, 64, { x: 26, y: 26, width: 12, height: 12 });
    for (const sharpness of [0, 25]) {
      const filled = coherenceFill(image, mask, { sharpness });
      assert.deepEqual(wrongAwayFromEdge(filled, image, mask, 0, 0, 0.06), [], `sharpness ${sharpness}`);
    }
  });

  it('leaves no step where fronts from the two sides of a hole against the frame meet', () => {
    // A sky's gradient, left to right, with a hole touching the top edge: its isophotes run along the
    // fronts from the left and the right, so each carries its own side's value in and they meet in
    // the middle in a step of 0.23 (a quarter of the ramp's range). Smoothed, no step is more than
    // four of the ramp's pixels, and every pixel is within 0.05 of the ramp.
    const [width, height] = [64, 48];
    const slope = 0.6 / (width - 1);
    const image = planes(width, height, (x) => 0.2 + slope * x, (x) => 0.9 - slope * x, () => 0.5);
    const mask = rectMask(width, height, { x: 16, y: 0, width: 32, height: 24 });
    const largestStep = (filled: RgbImage) => {
      let most = 0;
      for (let y = 0; y < 24; y++) for (let x = 16; x < 47; x++) most = Math.max(most, Math.abs(filled.data[y * width + x + 1] - filled.data[y * width + x]));
      return most;
    };
    assert.ok(largestStep(coherenceFill(image, mask, { seams: false })) > 0.2, 'the fronts made no step to smooth');
    const filled = coherenceFill(image, mask);
    assert.ok(largestStep(filled) < 4 * slope, `a step of ${largestStep(filled)}`);
    assert.deepEqual(wrongAwayFromEdge(filled, image, mask, 0, 0, 0.05), []);
    // Where the fronts meet, every neighbour with a value lies across the isophotes: at a high
    // sharpness all their weights would underflow to 0; the fill takes them alike instead.
    const sharp = coherenceFill(image, mask, { sharpness: 200, seams: false });
    assert.ok(sharp.data.every((v) => v >= 0 && v <= 1), 'a value that is not a number in [0, 1]');
  });

  it('fills flat areas of a photo with numbers: where the blurs leave no structure, the weights are isotropic', async () => {
    // A black-and-white photo with large flat areas: the structure tensor's blurs rounded its trace
    // to 0 or a hair below there, and the coherence, its eigenvalues' difference over that trace,
    // made 38,745 of the fill's values NaN (the rectangles of seed 1 of `inpaint eval`).
    const image = prepareImage(await readImage(join(VALIDATION_PHOTOS, 'kphotoalbum/blackie.jpg')), 256);
    const dir = await mkdtemp(join(tmpdir(), 'coherence-'));
    try {
      const { mask } = await protocolMask(dir, 'rectangles-256', 15, 1);
      const filled = coherenceFill(image, mask);
      assert.equal(filled.data.filter((v) => !(v >= 0 && v <= 1)).length, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a mask with no known pixel or of another size, and bad parameters; returns a copy for an empty mask', () => {
    const image = stripes(20, 10);
    assert.throws(() => coherenceFill(image, rectMask(20, 10, { x: 0, y: 0, width: 20, height: 10 })), (err) => err instanceof UsageError && /covers the whole 20x10 image/.test(err.message));
    const copy = coherenceFill(image, rectMask(20, 10));
    assert.notEqual(copy.data, image.data);
    assert.deepEqual(copy, image);
    const hole = rectMask(20, 10, { x: 5, y: 5, width: 2, height: 2 });
    for (const radius of [0, 0.5, Number.NaN, Infinity]) assert.throws(() => coherenceFill(image, hole, { radius }), UsageError);
    for (const sharpness of [-1, Number.NaN]) assert.throws(() => coherenceFill(image, hole, { sharpness }), UsageError);
    for (const sigma of [0, 1.5]) assert.throws(() => coherenceFill(image, hole, { sigma }), UsageError);
    for (const rho of [0, 2.5]) assert.throws(() => coherenceFill(image, hole, { rho }), UsageError);
    assert.throws(() => coherenceFill(image, rectMask(10, 20, { x: 5, y: 5, width: 2, height: 2 })), UsageError);
  });

  it("does not read the pixels it is told not to: a bar ending at the hole is not continued, and keeps its own values", () => {
    // 0.8 around a dark bar (0.1) that ends at the hole's left side.
    const inBar = (x: number, y: number) => y >= 28 && y < 36 && x < 20;
    const image = planes(64, 64, ...[0, 1, 2].map(() => (x: number, y: number) => (inBar(x, y) ? 0.1 : 0.8)));
    const mask = rectMask(64, 64, { x: 20, y: 20, width: 24, height: 24 });
    const bar = rectMask(64, 64, { x: 0, y: 28, width: 20, height: 8 });
    const darkest = (filled: RgbImage) => Math.min(...Array.from(filled.data.subarray(0, 64 * 64)).filter((_, i) => mask.data[i] === 1));
    assert.ok(darkest(coherenceFill(image, mask)) < 0.3, 'read, the bar goes on into the hole');
    const { image: filled, coherence } = coherenceTransport(image, mask, { unread: bar });
    assert.ok(darkest(filled) > 0.79, `unread, the hole is the bar's surroundings: darkest ${darkest(filled)}`);
    assert.deepEqual(changedKnownValues(image, filled, mask), [], 'the bar keeps its values');
    for (let i = 0; i < 64 * 64; i++) if (!mask.data[i]) assert.equal(coherence[i], 0);
    // Nothing else to read: the unread pixels are read after all.
    const everything = rectMask(64, 64, { x: 0, y: 0, width: 64, height: 64 });
    assert.deepEqual(coherenceFill(image, mask, { unread: everything }), coherenceFill(image, mask));
    assert.throws(() => coherenceTransport(image, mask, { unread: rectMask(32, 32) }), (err) => err instanceof UsageError && /unread mask size/.test(err.message));
  });

  it("takes in the unread pixels joined to the hole, within its box grown by its longer side", () => {
    const hole = { x: 40, y: 40, width: 4, height: 4 };
    const mask = rectMask(64, 64, hole);
    // A bar from the left edge to the hole, and a blob apart from it.
    const unread = rectMask(64, 64, { x: 0, y: 41, width: 40, height: 2 }, { x: 50, y: 50, width: 3, height: 3 });
    const near = unreadNear(mask, hole, unread);
    const row = Array.from(near.data.subarray(41 * 64, 41 * 64 + 44), (v) => (v ? 1 : 0)).join('');
    assert.equal(row, '0'.repeat(36) + '1'.repeat(8), 'the bar from 4 px left of the hole (its side) on');
    assert.equal(near.data[51 * 64 + 51], 0, 'the blob apart from the hole stays read');
    for (let i = 0; i < 64 * 64; i++) if (mask.data[i]) assert.ok(near.data[i], 'the hole itself');
  });

  it('works on the hole only: a small hole in a large image', () => {
    const image = planes(2000, 2000, (x) => x / 2000, (_, y) => y / 2000, () => 0.3);
    const mask = rectMask(2000, 2000, { x: 990, y: 1490, width: 20, height: 20 });
    const filled = coherenceFill(image, mask);
    assert.deepEqual(changedKnownValues(image, filled, mask), []);
    assert.deepEqual(wrongAwayFromEdge(filled, image, mask, 0, 0, 0.01), []);
  });
});
