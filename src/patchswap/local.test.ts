import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../core/random.ts';
import { localPatchSwap, localPatchSwapIn, offsetsFrom, swapWindow } from './local.ts';
import { referencePatchSwap } from './reference.ts';

const rng = new Rng(20261204);

function randomMap(channels: number, height: number, width: number) {
  const data = Float32Array.from({ length: channels * height * width }, () => Math.max(0, rng.normal()));
  return { channels, height, width, data };
}

function rectMask(height: number, width: number, y0: number, x0: number, h: number, w: number): Float32Array {
  const m = new Float32Array(height * width);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * width + x] = 1;
  return m;
}

const noGuess = (height: number, width: number) => new Float32Array(2 * height * width).fill(Number.NaN);

describe('localPatchSwap', () => {
  for (const locality of [0, 1]) {
    test(`with a window as large as the map it is patch-swap's definition (locality ${locality})`, () => {
      const features = randomMap(5, 12, 11);
      const hole = rectMask(12, 11, 4, 3, 4, 5);
      const excluded = rectMask(12, 11, 0, 0, 2, 11);
      for (const ex of [undefined, excluded]) {
        const ref = referencePatchSwap(features, Uint8Array.from(hole), { locality, sourceMask: ex && Uint8Array.from(ex) });
        const out = localPatchSwap({ features, hole, excluded: ex, locality, offsets: noGuess(12, 11), radius: 24 });
        assert.deepEqual([...out.provenance].map(Number), [...ref.provenance]);
        for (let k = 0; k < ref.swapped.length; k++) assert.ok(Math.abs(out.swapped[k] - ref.swapped[k]) < 1e-5, `value ${k}`);
      }
    });
  }

  test("a hole whose queries span several of the products' cache tiles is patch-swap's definition too", () => {
    // 40 x 38 cells, a 30 x 28 hole: the queries' box is 3 x 2 tiles of 16 cells, and many patches straddle their edges.
    const [H, W] = [40, 38];
    const features = randomMap(3, H, W);
    const hole = rectMask(H, W, 3, 2, 30, 28);
    const ref = referencePatchSwap(features, Uint8Array.from(hole), { locality: 1 });
    const out = localPatchSwap({ features, hole, locality: 1, offsets: noGuess(H, W), radius: 80 });
    assert.deepEqual([...out.provenance].map(Number), [...ref.provenance]);
    for (let k = 0; k < ref.swapped.length; k++) assert.ok(Math.abs(out.swapped[k] - ref.swapped[k]) < 1e-5, `value ${k}`);
  });

  test('finds the exact copy of a hole patch near its guess, away from the hole', () => {
    const [C, H, W] = [6, 20, 20];
    const features = randomMap(C, H, W);
    // The hole's 3x3 block at (8, 8) is a copy of the known block at (8, 15): offset (0, 7).
    for (let c = 0; c < C; c++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) features.data[c * H * W + (8 + dy) * W + 8 + dx] = features.data[c * H * W + (8 + dy) * W + 15 + dx];
    const hole = rectMask(H, W, 7, 7, 5, 5);
    const offsets = noGuess(H, W);
    for (let i = 0; i < H * W; i++) [offsets[2 * i], offsets[2 * i + 1]] = [1, 6]; // one cell off
    const out = localPatchSwap({ features, hole, locality: 0, offsets, radius: 2 });
    // The hole's centre cell (9, 9) takes the centre of the copied block, (9, 16).
    assert.equal(Number(out.provenance[9 * W + 9]), 9 * W + 16);
    assert.equal(Number(out.provenance[0]), -1, 'known cells keep no provenance');
  });

  test('widens a window that holds no candidate, and never copies from the hole or excluded cells', () => {
    const [H, W] = [16, 16];
    const features = randomMap(4, H, W);
    const hole = rectMask(H, W, 4, 4, 8, 8);
    const excluded = rectMask(H, W, 0, 0, 16, 3);
    const offsets = noGuess(H, W); // every guess is the patch itself, inside the hole
    const out = localPatchSwap({ features, hole, excluded, locality: 1, offsets, radius: 1 });
    for (let i = 0; i < H * W; i++) {
      const s = Number(out.provenance[i]);
      if (hole[i] <= 0.5) assert.equal(s, -1);
      else {
        assert.ok(s >= 0, `hole cell ${i} has a source`);
        assert.equal(hole[s], 0, `cell ${i} copies from the hole`);
        assert.equal(excluded[s], 0, `cell ${i} copies from an excluded cell`);
      }
    }
  });
});

describe('swapWindow and localPatchSwapIn', () => {
  test("a window holds the hole and each guess's reach, clipped to the map", () => {
    const [H, W] = [40, 40];
    const hole = rectMask(H, W, 20, 20, 4, 4);
    const offsets = noGuess(H, W);
    for (let i = 0; i < H * W; i++) if (hole[i]) [offsets[2 * i], offsets[2 * i + 1]] = [-12, 0];
    // Reach: radius 2, the patch's 2, the margin 4. Sources at rows 8 to 11: 0 after clipping.
    assert.deepEqual(swapWindow(hole, offsets, H, W, 2, 4), { y0: 0, y1: 32, x0: 12, x1: 32 });
  });

  for (const locality of [0, 1]) {
    test(`a window's swap on the window's features alone is the whole map's (locality ${locality})`, () => {
      const [C, H, W] = [6, 48, 48];
      const features = randomMap(C, H, W);
      const hole = rectMask(H, W, 24, 24, 8, 8);
      // Guesses as a coarser scale's give them: the same for each 2x2 block, sources up and right.
      const offsets = noGuess(H, W);
      for (let i = 0; i < H * W; i++) {
        const [y, x] = [Math.floor(i / W), i % W];
        const jitter = ((y >> 1) * 7 + (x >> 1) * 3) % 3;
        [offsets[2 * i], offsets[2 * i + 1]] = [-14 + jitter, 3 - jitter];
      }
      const whole = localPatchSwap({ features, hole, locality, offsets, radius: 2 });
      const window = swapWindow(hole, offsets, H, W, 2, 4);
      const [h, w] = [window.y1 - window.y0, window.x1 - window.x0];
      assert.ok(h * w < (H * W) / 2, `the window is ${h}x${w} cells`);
      const cut = new Float32Array(C * h * w);
      for (let c = 0; c < C; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) cut[(c * h + y) * w + x] = features.data[(c * H + y + window.y0) * W + x + window.x0];
      const out = localPatchSwapIn({ channels: C, height: h, width: w, data: cut }, window, { height: H, width: W, hole, offsets }, { locality, radius: 2, margin: 4 });
      assert.deepEqual([...out.provenance].map(Number), [...whole.provenance].map(Number));
      for (let c = 0; c < C; c++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) assert.equal(out.swapped[(c * h + y) * w + x], whole.swapped[(c * H + y + window.y0) * W + x + window.x0]);
        }
      }
    });
  }

  test('takes no source within the margin of a cut edge', () => {
    const [C, H, W] = [4, 40, 40];
    const features = randomMap(C, H, W);
    const hole = rectMask(H, W, 16, 16, 8, 8);
    const offsets = noGuess(H, W); // every guess inside the hole: the windows widen to the cut edges
    const window = { y0: 10, y1: 30, x0: 10, x1: 30 };
    const cut = new Float32Array(C * 400);
    for (let c = 0; c < C; c++) for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) cut[(c * 20 + y) * 20 + x] = features.data[(c * H + y + 10) * W + x + 10];
    const out = localPatchSwapIn({ channels: C, height: 20, width: 20, data: cut }, window, { height: H, width: W, hole, offsets }, { locality: 1, radius: 1, margin: 3 });
    for (let i = 0; i < H * W; i++) {
      const s = Number(out.provenance[i]);
      if (!hole[i]) continue;
      const [sy, sx] = [Math.floor(s / W), s % W];
      assert.ok(sy >= 13 && sy < 27 && sx >= 13 && sx < 27 && !hole[s], `cell ${i} copies from (${sy}, ${sx})`);
    }
  });
});

describe('offsetsFrom', () => {
  test('carries a source offset to a grid twice as fine, scaled', () => {
    const previous = { width: 4, height: 4, data: new BigInt64Array(16).fill(-1n) };
    previous.data[1 * 4 + 1] = BigInt(1 * 4 + 3); // cell (1, 1) comes from (1, 3): offset (0, 2)
    const offsets = offsetsFrom(previous, 8, 8);
    for (const [y, x] of [[2, 2], [2, 3], [3, 2], [3, 3]]) assert.deepEqual([offsets[2 * (y * 8 + x)], offsets[2 * (y * 8 + x) + 1]], [0, 4]);
    assert.ok(Number.isNaN(offsets[0]), 'a known cell has no guess');
  });
});

test('localPatchSwap: a map without a hole comes back unchanged', () => {
  const features = randomMap(3, 6, 6);
  const out = localPatchSwap({ features, hole: new Float32Array(36), locality: 1, offsets: noGuess(6, 6) });
  assert.deepEqual(out.swapped, features.data);
  assert.ok(out.provenance.every((v) => v === -1n));
});
