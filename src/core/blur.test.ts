import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smooth, smoothedOnes } from './blur.ts';

const W = 64;
const H = 48;
const plane = W * H;

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
