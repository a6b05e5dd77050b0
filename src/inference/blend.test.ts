import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blendRegion, chamferDistance } from './blend.ts';
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
