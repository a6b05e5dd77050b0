import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blendRegion, chamferDistance, smooth, smoothedOnes } from './blend.ts';
import { rectMask } from './testing.ts';

const W = 64;
const H = 48;
const plane = W * H;
const box = { x: 0, y: 0, width: W, height: H };
const holeBox = { x: 20, y: 14, width: 24, height: 20 };
const hole = rectMask(W, H, holeBox);

/** A smooth photo-like gradient. */
function photo() {
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) data[c * plane + i] = 0.2 + 0.1 * c + 0.3 * ((i % W) / W) + 0.1 * Math.floor(i / W) / H;
  return { width: W, height: H, data };
}

describe('chamferDistance', () => {
  it('gives 1 to the 4 neighbours and sqrt 2 to the diagonals of a source pixel', () => {
    const source = new Uint8Array(9);
    source[4] = 1;
    const d = chamferDistance(source, 3, 3);
    assert.deepEqual([...d].map((v) => +v.toFixed(4)), [1.4142, 1, 1.4142, 1, 0, 1, 1.4142, 1, 1.4142]);
  });
});

describe('smooth', () => {
  /** Vertical waves of `period` pixels about 0.5, amplitude 1, and their amplitude inside (the edges cut off). */
  const waves = (period: number) => Float32Array.from({ length: plane }, (_, i) => 0.5 + Math.cos((2 * Math.PI * (i % W)) / period));
  const amplitude = (p: Float32Array) => {
    let most = 0;
    for (let y = 8; y < H - 8; y++) for (let x = 8; x < W - 8; x++) most = Math.max(most, Math.abs(p[y * W + x] - 0.5));
    return most;
  };

  it('at radius 0 is the [1 2 1] kernel: the checkerboard goes, 4-px waves keep half, and a constant stays up to the edges', () => {
    for (const [period, kept] of [[2, 0], [4, 0.5], [8, Math.cos(Math.PI / 8) ** 2]] as const) {
      const p = waves(period);
      smooth(p, W, H, 0);
      assert.ok(Math.abs(amplitude(p) - kept) < 1e-5, `${period}-px waves: amplitude ${amplitude(p)}, expected ${kept}`);
    }
    const ones = smoothedOnes(W, H, 0);
    assert.equal(ones[0], 0.75 * 0.75, 'a corner pixel has three quarters of its window each way');
    assert.equal(ones[10 * W + 10], 1);
  });

  it('with a radius, is three box passes, which take out more the wider they are', () => {
    const p = waves(2);
    smooth(p, W, H, 1);
    // Each box of radius 1 turns the checkerboard over at a third of its amplitude.
    assert.ok(Math.abs(amplitude(p) - 1 / 27) < 1e-5, `${amplitude(p)}`);
    const [narrow, wide] = [waves(16), waves(16)];
    smooth(narrow, W, H, 1);
    smooth(wide, W, H, 4);
    assert.ok(amplitude(wide) < amplitude(narrow), `${amplitude(wide)} vs ${amplitude(narrow)}`);
  });

  it('equals the kernels applied directly, each way, for radii up to and past the plane', () => {
    /** One pass of `kernel` (centred, clipped at the edges, never renormalised) along rows or columns. */
    const pass = (p: Float32Array, w: number, h: number, kernel: number[], rows: boolean) => {
      const out = new Float32Array(p.length);
      const r = (kernel.length - 1) / 2;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let sum = 0;
          for (let k = -r; k <= r; k++) {
            const [u, v] = rows ? [x + k, y] : [x, y + k];
            if (u >= 0 && v >= 0 && u < w && v < h) sum += kernel[k + r] * p[v * w + u];
          }
          out[y * w + x] = sum;
        }
      }
      return out;
    };
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const [w, h, r] of [[13, 11, 0], [13, 11, 1], [9, 17, 3], [7, 5, 4], [6, 4, 9]]) {
      const p = Float32Array.from({ length: w * h }, random);
      let expected = p;
      const kernel = r === 0 ? [0.25, 0.5, 0.25] : new Array(2 * r + 1).fill(1 / (2 * r + 1));
      for (let k = 0; k < (r === 0 ? 1 : 3); k++) expected = pass(pass(expected, w, h, kernel, true), w, h, kernel, false);
      smooth(p, w, h, r);
      for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - expected[i]) < 1e-5, `${w}x${h} radius ${r}, pixel ${i}: ${p[i]} vs ${expected[i]}`);
    }
  });
});

describe('blendRegion', () => {
  it('writes hole pixels only and removes a constant colour drift of the fill exactly', () => {
    const original = photo();
    const fill = { ...original, data: original.data.map((v) => v + 0.15) };
    const out = { ...original, data: original.data.map((v, i) => (hole.data[i % plane] ? 0 : v)) };
    blendRegion(out, original, hole, box, fill, holeBox, { feather: 0, ring: 2 });
    for (let i = 0; i < 3 * plane; i++) {
      if (!hole.data[i % plane]) assert.equal(out.data[i], original.data[i]);
      else assert.ok(Math.abs(out.data[i] - original.data[i]) < 1e-5, `pixel ${i}: ${out.data[i]} vs ${original.data[i]}`);
    }
  });

  it('removes a drift that varies across the hole (a ramp) and meets the photo exactly at the seam', () => {
    const original = photo();
    // A harmonic drift: its membrane is itself, so the blend must recover the photo.
    const ramp = (i: number) => 0.2 * ((i % W) / W) - 0.15 * (Math.floor(i / W) / H);
    const fill = { ...original, data: original.data.map((v, i) => v - ramp(i % plane)) };
    const out = { ...original, data: original.data.slice() };
    blendRegion(out, original, hole, box, fill, holeBox, { feather: 0, ring: 2 });
    let worst = 0;
    for (let i = 0; i < 3 * plane; i++) worst = Math.max(worst, Math.abs(out.data[i] - original.data[i]));
    assert.ok(worst < 5e-4, `largest error ${worst}`);
  });

  it('cross-fades the feather band from the photo to the fill, then fills completely', () => {
    const original = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.2) };
    // No drift on the ring, so the offset is zero and only the feather acts.
    const fill = { ...original, data: original.data.map((v, i) => (hole.data[i % plane] ? 1 : v)) };
    const out = { ...original, data: original.data.slice() };
    blendRegion(out, original, hole, box, fill, holeBox, { feather: 2, ring: 2 });
    const row = 14 + 10;
    const at = (x: number) => +out.data[row * W + x].toFixed(4);
    assert.deepEqual([19, 20, 21, 22, 30].map(at), [0.2, +(0.2 + 0.8 / 3).toFixed(4), +(0.2 + 1.6 / 3).toFixed(4), 1, 1]);
  });
});
