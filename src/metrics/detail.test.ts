import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { HoleDetail, HoleTexture } from './detail.ts';

/** An image whose every plane is f(x, y). */
function image(width: number, height: number, f: (x: number, y: number) => number): RgbImage {
  const plane = Float32Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width)));
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) data.set(plane, c * plane.length);
  return { width, height, data };
}

/** A mask with the hole in the box [x0, x1) x [y0, y1). */
function box(width: number, height: number, x0: number, y0: number, x1: number, y1: number): MaskImage {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) data.fill(1, y * width + x0, y * width + x1);
  return { width, height, data };
}

describe('HoleDetail', () => {
  const mask = box(12, 10, 3, 2, 9, 8);
  const stripes = image(12, 10, (x) => (x % 2 ? 0.8 : 0.2)); // 0.6 between horizontal neighbours, 0 between vertical ones

  it('is 100 for the original, and scales with the fill\'s variation', () => {
    const detail = new HoleDetail();
    assert.equal(detail.update(stripes, stripes, mask), 100);
    const half = image(12, 10, (x) => (x % 2 ? 0.65 : 0.35)); // half the contrast
    assert.ok(Math.abs(detail.update(half, stripes, mask) - 50) < 1e-3);
    assert.equal(detail.update(image(12, 10, () => 0.5), stripes, mask), 0);
    assert.ok(Math.abs(detail.compute() - 50) < 1e-3);
  });

  it('counts only pairs of neighbours that are both in the hole', () => {
    // Outside the hole the fill is wild; inside it is the original: still 100.
    const fill = image(12, 10, (x, y) => (mask.data[y * 12 + x] ? (x % 2 ? 0.8 : 0.2) : (x * 7 + y * 3) % 5 / 5));
    assert.ok(Math.abs(new HoleDetail().update(fill, stripes, mask) - 100) < 1e-4);
  });

  it('rates noise above the original: it is read, not ranked', () => {
    const checker = image(12, 10, (x, y) => ((x + y) % 2 ? 1 : 0)); // 1 between all neighbours
    assert.ok(new HoleDetail().update(checker, stripes, mask) > 200);
    assert.equal(new HoleDetail().higherIsBetter, null);
  });

  it('handles a flat original: 100 for a flat fill, Infinity otherwise', () => {
    const flat = image(12, 10, () => 0.3);
    assert.equal(new HoleDetail().update(image(12, 10, () => 0.9), flat, mask), 100);
    assert.equal(new HoleDetail().update(stripes, flat, mask), Infinity);
  });

  it('refuses a missing or empty mask and mismatched sizes', () => {
    const detail = new HoleDetail();
    assert.throws(() => detail.update(stripes, stripes), UsageError);
    assert.throws(() => detail.update(stripes, stripes, box(12, 10, 0, 0, 0, 0)), /no hole pixel/);
    assert.throws(() => detail.update(image(10, 10, () => 0), stripes, mask), UsageError);
    assert.equal(detail.count, 0);
  });
});

describe('HoleTexture', () => {
  const [w, h] = [64, 64];
  const mask = box(w, h, 16, 16, 48, 48);
  // Bars 8 px wide: texture a few pixels across.
  const bars = image(w, h, (x) => (Math.floor(x / 8) % 2 ? 0.8 : 0.2));

  it('is 100 for the original, 0 for a flat fill, and scales with the contrast of the texture', () => {
    const texture = new HoleTexture();
    assert.ok(Math.abs(texture.update(bars, bars, mask) - 100) < 1e-9);
    assert.equal(texture.update(image(w, h, () => 0.5), bars, mask), 0);
    const half = image(w, h, (x) => (Math.floor(x / 8) % 2 ? 0.65 : 0.35));
    assert.ok(Math.abs(texture.update(half, bars, mask) - 50) < 1e-3);
    assert.equal(texture.higherIsBetter, null);
  });

  it('does not count the pixel grain that detail_hole counts, nor smooth shading', () => {
    // Noise of +-0.15 on each pixel of a flat fill: far more pixel-to-pixel variation than the bars, none of it a few pixels across.
    const noise = (x: number, y: number) => (((x * 73856093) ^ (y * 19349663)) >>> 0) % 1000 / 1000;
    const grain = image(w, h, (x, y) => 0.5 + 0.3 * (noise(x, y) - 0.5));
    assert.ok(new HoleDetail().update(grain, bars, mask) > 300, 'detail_hole counts the grain');
    // About 7 (12 if the band reached down to the [1 2 1] blur).
    assert.ok(new HoleTexture().update(grain, bars, mask) < 10, 'texture_hole does not');
    // A steep ramp across the hole (0 to 1 over the photo): box blurs keep a linear ramp, so its band
    // is empty but near the hole's edge, where the windows hold hole pixels on one side only (about 9).
    const ramp = image(w, h, (x) => x / w);
    assert.ok(new HoleTexture().update(ramp, bars, mask) < 10);
  });

  it('looks at the hole only, and refuses a missing mask', () => {
    // Wild outside the hole, the bars inside: the blurs average hole pixels only.
    const fill = image(w, h, (x, y) => (mask.data[y * w + x] ? (Math.floor(x / 8) % 2 ? 0.8 : 0.2) : ((x * 7 + y * 3) % 5) / 5));
    assert.ok(Math.abs(new HoleTexture().update(fill, bars, mask) - 100) < 1e-9);
    // A flat fill in a wild photo: no texture, whatever the step at the seam.
    const flat = image(w, h, (x, y) => (mask.data[y * w + x] ? 0.5 : ((x * 7 + y * 3) % 5) / 5));
    assert.equal(new HoleTexture().update(flat, bars, mask), 0);
    assert.throws(() => new HoleTexture().update(bars, bars), UsageError);
  });
});
