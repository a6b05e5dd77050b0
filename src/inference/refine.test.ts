import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { bandRadius, detailLayer, pixelSources } from './detail.ts';
import { refineSources } from './refine.ts';

const W = 96;
const H = 64;
const plane = W * H;
/** The period of the photo's structure, in pixels: wider than any blur the refinement applies. */
const PERIOD = 20;

/** A smooth wave across x (the structure an enlarged fill keeps), the same in every plane. */
function wave(): RgbImage {
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[c * plane + y * W + x] = 0.5 + 0.3 * Math.sin((2 * Math.PI * x) / PERIOD);
  return { width: W, height: H, data };
}

/** A hole over x in [48, 64), y in [24, 40). */
function hole(): MaskImage {
  const data = new Uint8Array(plane);
  for (let y = 24; y < 40; y++) for (let x = 48; x < 64; x++) data[y * W + x] = 1;
  return { width: W, height: H, data };
}

/**
 * The provenance of a 2x-smaller working scale (48x32 px, 12x8 cells of 8x8 image pixels): every
 * hole cell copies from the cell `shift` cells to its left, same row.
 */
function provenance(mask: MaskImage, shift: number) {
  const cells = { width: 12, height: 8, imageWidth: 48, imageHeight: 32 };
  const data = new BigInt64Array(cells.width * cells.height).fill(-1n);
  for (let cy = 3; cy < 5; cy++) for (let cx = 6; cx < 8; cx++) data[cy * cells.width + cx] = BigInt(cy * cells.width + cx - shift);
  return pixelSources({ ...cells, data }, mask);
}

describe('refineSources', () => {
  it("moves each block's source to where the photo continues the fill's structure, and only to known pixels", () => {
    const image = wave();
    const mask = hole();
    // Three cells (24 px) to the left: 4 px off the wave's phase, within the window (half a cell).
    const initial = provenance(mask, 3);
    assert.equal(initial.scale, 2);
    const phase = (i: number, s: number) => (((s % W) - (i % W)) % PERIOD + PERIOD) % PERIOD;
    let misaligned = 0;
    for (let i = 0; i < plane; i++) if (initial.data[i] >= 0 && phase(i, initial.data[i]) !== 0) misaligned++;
    assert.ok(misaligned > 0, 'the test starts from sources off the wave');
    // The fill holds the truth's structure, as a good enlarged fill would.
    const refined = refineSources(initial, image, image, mask, detailLayer(image, mask, bandRadius(2)));
    let moved = 0;
    for (let i = 0; i < plane; i++) {
      if (!mask.data[i]) {
        assert.equal(refined.data[i], -1, 'known pixels have no source');
        continue;
      }
      const s = refined.data[i];
      assert.ok(s >= 0, `hole pixel ${i} keeps a source`);
      assert.equal(mask.data[s], 0, 'a source is a known pixel');
      assert.equal(phase(i, s), 0, `pixel (${i % W}, ${Math.floor(i / W)}) takes its detail where the wave has its phase`);
      if (s !== initial.data[i]) moved++;
    }
    assert.ok(moved > 0);
  });

  it('searches no further than its window', () => {
    const image = wave();
    const mask = hole();
    const initial = provenance(mask, 3);
    const offsets = (f: typeof initial) => new Set([...f.data.entries()].filter(([, s]) => s >= 0).map(([i, s]) => [(s % W) - (i % W), Math.floor(s / W) - Math.floor(i / W)].join()));
    // A window of 0 leaves every block where it started (propagation spreads only those offsets)...
    assert.deepEqual(offsets(refineSources(initial, image, image, mask, detailLayer(image, mask, bandRadius(2)), 0)), offsets(initial));
    // ...and one of 2 px cannot reach the match 4 px away.
    for (const d of offsets(refineSources(initial, image, image, mask, detailLayer(image, mask, bandRadius(2)), 2))) {
      const [dx, dy] = d.split(',').map(Number);
      assert.ok(Math.abs(dx + 24) <= 2 && Math.abs(dy) <= 2, `offset ${d} stays within 2 px of the initial -24,0`);
    }
  });
  it('never moves a source into the hole, whatever the hole holds', () => {
    // Noise everywhere, and sources one cell (8 px) to the left: half the window lies in the hole.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const image = { width: W, height: H, data: Float32Array.from({ length: 3 * plane }, random) };
    const fill = { width: W, height: H, data: Float32Array.from({ length: 3 * plane }, random) };
    const mask = hole();
    const initial = provenance(mask, 1);
    const refined = refineSources(initial, fill, image, mask, detailLayer(image, mask, bandRadius(2)));
    let moved = 0;
    for (let i = 0; i < plane; i++) {
      const s = refined.data[i];
      if (s === initial.data[i]) continue;
      moved++;
      assert.equal(mask.data[s], 0, `pixel (${i % W}, ${Math.floor(i / W)}) was moved into the hole`);
    }
    assert.ok(moved > 0);
  });
  it('keeps to the image at its borders: a hole in a corner, sources off the edge', () => {
    const image = wave();
    const mask: MaskImage = { width: W, height: H, data: new Uint8Array(plane) };
    for (let y = 0; y < 12; y++) for (let x = 0; x < 20; x++) mask.data[y * W + x] = 1;
    // Every hole pixel copies from 44 px to its right, same row; the refinement may look past the
    // top and left edges of the image, where no source can be.
    const data = new Int32Array(plane).fill(-1);
    for (let i = 0; i < plane; i++) if (mask.data[i]) data[i] = i + 44;
    const initial = { width: W, height: H, scale: 2, data };
    const refined = refineSources(initial, image, image, mask, detailLayer(image, mask, bandRadius(2)));
    for (let i = 0; i < plane; i++) {
      const s = refined.data[i];
      if (!mask.data[i]) continue;
      assert.ok(s >= 0 && s < plane && mask.data[s] === 0, `pixel (${i % W}, ${Math.floor(i / W)}) has source ${s}`);
      // 40 px to the right is in phase with the wave, and within reach (but where the blur's
      // window is cut by the image's left edge, and shifts the wave's phase).
      if (i % W >= 8) assert.equal(((s % W) - (i % W) + PERIOD) % PERIOD, 0, `pixel (${i % W}, ${Math.floor(i / W)}) has source ${s}`);
    }
  });
});
