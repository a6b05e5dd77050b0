import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { type Box, cropImage, type MaskImage, type RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { SSIM_K1, Ssim, ssim, ssimHoleBox } from './ssim.ts';

/**
 * A pair of images from a 31-bit LCG, built from integers k / 255 so that Python reproduces them
 * exactly: `a` is uniform noise, `b` is `a` plus integer noise in [-noise, noise], clamped.
 */
function lcgPair(width: number, height: number, seed: number, noise: number): [RgbImage, RgbImage] {
  let s = seed;
  const next = () => {
    s = Number((1103515245n * BigInt(s) + 12345n) % 2n ** 31n);
    return s >> 8;
  };
  const n = 3 * width * height;
  const a = Array.from({ length: n }, () => next() % 256);
  const b = a.map((v) => Math.min(255, Math.max(0, v + (next() % (2 * noise + 1)) - noise)));
  const image = (ks: number[]): RgbImage => ({ width, height, data: Float32Array.from(ks, (k) => k / 255) });
  return [image(a), image(b)];
}

/*
 * Printed by scikit-image 0.19.3 (Debian's python3-skimage) with this script, where lcg_pair builds
 * the same images as lcgPair above (float32 pixels, widened to float64):
 *
 *   import numpy as np
 *   from skimage.metrics import structural_similarity
 *   def lcg_pair(width, height, seed, noise):
 *       s = seed
 *       def nxt():
 *           nonlocal s
 *           s = (1103515245 * s + 12345) % 2**31
 *           return s >> 8
 *       a = [nxt() % 256 for _ in range(3 * width * height)]
 *       b = [min(255, max(0, v + nxt() % (2 * noise + 1) - noise)) for v in a]
 *       f = lambda ks: np.array([np.float32(k / 255.0) for k in ks], dtype=np.float32).astype(np.float64).reshape(3, height, width)
 *       return f(a), f(b)
 *   for (w, h, seed, noise) in [(16, 16, 1, 40), (23, 17, 7, 20), (40, 31, 42, 90), (11, 11, 3, 128)]:
 *       a, b = lcg_pair(w, h, seed, noise)
 *       print(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0))
 */
const SKIMAGE_VALUES: [width: number, height: number, seed: number, noise: number, ssim: number][] = [
  [16, 16, 1, 40, 0.9651275737578033],
  [23, 17, 7, 20, 0.986682597182963],
  [40, 31, 42, 90, 0.8122287302340472],
  [11, 11, 3, 128, 0.7528212521370556],
];

/**
 * The definition, written out independently of ssim.ts: for each position whose 11x11 window lies
 * inside the image, a direct 2-D Gaussian-weighted sum (no separable passes), float64.
 */
function referenceSsim(a: RgbImage, b: RgbImage): number {
  const { width: w, height: h } = a;
  const weights: number[][] = [];
  let total = 0;
  for (let dy = -5; dy <= 5; dy++) {
    const row: number[] = [];
    for (let dx = -5; dx <= 5; dx++) {
      const g = Math.exp(-(dx * dx + dy * dy) / (2 * 1.5 * 1.5));
      row.push(g);
      total += g;
    }
    weights.push(row);
  }
  const c1 = (0.01 * 1) ** 2;
  const c2 = (0.03 * 1) ** 2;
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    const px = (img: RgbImage, x: number, y: number) => img.data[(c * h + y) * w + x];
    let channel = 0;
    let positions = 0;
    for (let y = 5; y < h - 5; y++) {
      for (let x = 5; x < w - 5; x++) {
        let mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
        for (let dy = -5; dy <= 5; dy++) {
          for (let dx = -5; dx <= 5; dx++) {
            const g = weights[dy + 5][dx + 5] / total;
            const u = px(a, x + dx, y + dy);
            const v = px(b, x + dx, y + dy);
            mx += g * u;
            my += g * v;
            mxx += g * u * u;
            myy += g * v * v;
            mxy += g * u * v;
          }
        }
        const vx = mxx - mx * mx;
        const vy = myy - my * my;
        const cov = mxy - mx * my;
        channel += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        positions++;
      }
    }
    sum += channel / positions;
  }
  return sum / 3;
}

function randomImage(width: number, height: number, rng: Rng): RgbImage {
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.next()) };
}

describe('ssim', () => {
  it('matches the values scikit-image printed for the same images', () => {
    for (const [w, h, seed, noise, expected] of SKIMAGE_VALUES) {
      const [a, b] = lcgPair(w, h, seed, noise);
      const got = ssim(a, b);
      assert.ok(Math.abs(got - expected) < 1e-12, `${w}x${h} seed ${seed}: ${got} vs skimage ${expected}`);
    }
  });

  it('matches a direct 2-D implementation of the definition on random images', () => {
    const rng = new Rng(5);
    for (const [w, h] of [[11, 11], [12, 19], [26, 14]]) {
      const a = randomImage(w, h, rng);
      // Correlated with a, so the value is neither ~0 nor ~1.
      const b = { ...a, data: a.data.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rng.next() - 0.5)))) };
      const got = ssim(a, b);
      const want = referenceSsim(a, b);
      assert.ok(Math.abs(got - want) < 1e-12, `${w}x${h}: ${got} vs ${want}`);
      assert.ok(got > 0.2 && got < 0.99, `${w}x${h}: a partly similar pair, got ${got}`);
    }
  });

  it('is 1 for identical images, and the luminance term alone between constant images', () => {
    const rng = new Rng(6);
    const a = randomImage(20, 15, rng);
    assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
    const flat = (v: number): RgbImage => ({ width: 12, height: 12, data: new Float32Array(3 * 144).fill(v) });
    // No variance: the structure term is C2 / C2, leaving (2 μx μy + C1) / (μx² + μy² + C1).
    const x = Math.fround(0.5);
    const y = Math.fround(0.7);
    const c1 = SSIM_K1 ** 2;
    assert.ok(Math.abs(ssim(flat(0.5), flat(0.7)) - (2 * x * y + c1) / (x * x + y * y + c1)) < 1e-12);
  });

  it('scores a box as the crop of both images', () => {
    const rng = new Rng(7);
    const a = randomImage(30, 25, rng);
    const b = randomImage(30, 25, rng);
    const box: Box = { x: 4, y: 6, width: 15, height: 12 };
    assert.equal(ssim(a, b, box), ssim(cropImage(a, box), cropImage(b, box)));
    assert.notEqual(ssim(a, b, box), ssim(a, b));
  });

  it('refuses images smaller than the window and mismatched sizes', () => {
    const rng = new Rng(8);
    assert.throws(() => ssim(randomImage(10, 20, rng), randomImage(10, 20, rng)), /at least 11x11/);
    assert.throws(() => ssim(randomImage(12, 12, rng), randomImage(12, 13, rng)), UsageError);
  });
});

function maskWith(width: number, height: number, box: Box): MaskImage {
  const data = new Uint8Array(width * height);
  for (let y = box.y; y < box.y + box.height; y++) data.fill(1, y * width + box.x, y * width + box.x + box.width);
  return { width, height, data };
}

describe('ssimHoleBox and Ssim', () => {
  it('uses the bounding box when it is large enough, else grows it to 11 px inside the image', () => {
    assert.deepEqual(ssimHoleBox(maskWith(40, 30, { x: 3, y: 4, width: 20, height: 12 })), { x: 3, y: 4, width: 20, height: 12 });
    // A 1-pixel-wide stroke in the middle: centred growth.
    assert.deepEqual(ssimHoleBox(maskWith(40, 30, { x: 20, y: 5, width: 1, height: 15 })), { x: 15, y: 5, width: 11, height: 15 });
    // At the corner: shifted to stay inside.
    assert.deepEqual(ssimHoleBox(maskWith(40, 30, { x: 38, y: 0, width: 2, height: 3 })), { x: 29, y: 0, width: 11, height: 11 });
    assert.throws(() => ssimHoleBox(maskWith(10, 30, { x: 0, y: 0, width: 2, height: 2 })), /at least 11x11/);
    assert.throws(() => ssimHoleBox({ width: 20, height: 20, data: new Uint8Array(400) }), /no hole pixel/);
  });

  it('streams whole-image and hole-box values', () => {
    const rng = new Rng(9);
    const target = randomImage(32, 32, rng);
    const pred = randomImage(32, 32, rng);
    const mask = maskWith(32, 32, { x: 8, y: 8, width: 14, height: 16 });
    const whole = new Ssim();
    const hole = new Ssim('hole');
    assert.equal(whole.name, 'ssim');
    assert.equal(hole.name, 'ssim_hole');
    assert.equal(hole.update(pred, target, mask), ssim(pred, target, { x: 8, y: 8, width: 14, height: 16 }));
    assert.equal(hole.update(target, target, mask), 1);
    assert.ok(Math.abs(hole.compute() - (1 + ssim(pred, target, { x: 8, y: 8, width: 14, height: 16 })) / 2) < 1e-15);
    assert.equal(whole.update(pred, target), ssim(pred, target));
    assert.throws(() => hole.update(pred, target), /needs the mask/);
  });
});
