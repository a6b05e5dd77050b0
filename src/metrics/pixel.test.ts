import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { MeanL1Error, Psnr } from './pixel.ts';

const constant = (width: number, height: number, value: number): RgbImage => ({ width, height, data: new Float32Array(3 * width * height).fill(value) });

function random(width: number, height: number, seed: number, lo = 0, hi = 1): RgbImage {
  const rng = new Rng(seed);
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.uniform(lo, hi)) };
}

function shifted(img: RgbImage, by: number): RgbImage {
  return { ...img, data: img.data.map((v) => v + by) };
}

/** A mask with the hole in the rows y0..y1-1. */
function rowsMask(width: number, height: number, y0: number, y1: number): MaskImage {
  const data = new Uint8Array(width * height);
  data.fill(1, y0 * width, y1 * width);
  return { width, height, data };
}

describe('MeanL1Error', () => {
  it('is 0 for identical images and 10% for a shift of 0.1 everywhere', () => {
    const img = random(16, 12, 1, 0, 0.9);
    const l1 = new MeanL1Error();
    assert.equal(l1.update(img, img), 0);
    assert.ok(Math.abs(l1.update(shifted(img, 0.1), img) - 10) < 1e-4);
  });

  it('is |a - b| in percent between constant images', () => {
    assert.ok(Math.abs(new MeanL1Error().update(constant(8, 8, 0.2), constant(8, 8, 0.7)) - 50) < 1e-4);
  });

  it('over the hole sees only hole pixels; over the image the error is diluted by the hole fraction', () => {
    const target = random(10, 10, 2, 0, 0.5);
    const mask = rowsMask(10, 10, 2, 6); // 40% of the pixels
    const pred = { ...target, data: target.data.slice() };
    for (let c = 0; c < 3; c++) for (let i = 20; i < 60; i++) pred.data[c * 100 + i] += 0.25;
    assert.ok(Math.abs(new MeanL1Error('hole').update(pred, target, mask) - 25) < 1e-4);
    assert.ok(Math.abs(new MeanL1Error('image').update(pred, target, mask) - 10) < 1e-4);
  });

  it('averages per-image values, resets, and names itself by region', () => {
    const l1 = new MeanL1Error('image');
    assert.equal(l1.name, 'l1_image');
    assert.equal(new MeanL1Error('hole').name, 'l1_hole');
    assert.throws(() => l1.compute(), UsageError);
    l1.update(constant(4, 4, 0), constant(4, 4, 0.5)); // 50%
    // A larger image counts once too: the mean is per image, not per pixel.
    l1.update(constant(40, 40, 0), constant(40, 40, 0.1)); // 10%
    assert.equal(l1.count, 2);
    assert.ok(Math.abs(l1.compute() - 30) < 1e-4);
    l1.reset();
    assert.equal(l1.count, 0);
    assert.throws(() => l1.compute(), /scored no image/);
  });

  it('refuses mismatched sizes, and a missing or empty hole for the hole region', () => {
    assert.throws(() => new MeanL1Error().update(constant(4, 4, 0), constant(4, 5, 0)), /size of target \(4x5\)/);
    assert.throws(() => new MeanL1Error('hole').update(constant(4, 4, 0), constant(4, 4, 0)), /needs the mask/);
    assert.throws(() => new MeanL1Error('hole').update(constant(4, 4, 0), constant(4, 4, 0), rowsMask(4, 4, 0, 0)), /no hole pixel/);
    assert.throws(() => new MeanL1Error().update(constant(4, 4, 0), constant(4, 4, 0), rowsMask(5, 4, 0, 1)), UsageError);
  });
});

describe('Psnr', () => {
  it('is Infinity for identical images, 20 dB for a 0.1 shift, 0 dB between black and white', () => {
    const img = random(9, 7, 3, 0, 0.9);
    const psnr = new Psnr();
    assert.equal(psnr.update(img, img), Infinity);
    assert.ok(Math.abs(psnr.update(shifted(img, 0.1), img) - 20) < 1e-5);
    assert.equal(psnr.update(constant(5, 5, 0), constant(5, 5, 1)), 0);
    // One perfect image makes the mean infinite: reported, not hidden.
    assert.equal(psnr.compute(), Infinity);
  });

  it('averages per-image dB values', () => {
    const psnr = new Psnr();
    psnr.update(constant(4, 4, 0.1), constant(4, 4, 0)); // 20 dB
    psnr.update(constant(4, 4, 0.01), constant(4, 4, 0)); // 40 dB
    assert.ok(Math.abs(psnr.compute() - 30) < 1e-4);
    assert.equal(psnr.higherIsBetter, true);
  });
});
