import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { addSourceDetail, DETAIL_GAIN, DIFFUSION_MIX, detailLayer, mixDiffusion, pixelSources, removeMidBand } from './detail.ts';

const W = 64;
const H = 48;
const plane = W * H;

/** Vertical stripes two pixels wide (0.2 / 0.8) in every plane: nothing but fine detail. */
function stripes(): RgbImage {
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[c * plane + y * W + x] = (x >> 1) % 2 ? 0.8 : 0.2;
  return { width: W, height: H, data };
}

/** A hole over x in [32, 48), y in [16, 32). */
function hole(): MaskImage {
  const data = new Uint8Array(plane);
  for (let y = 16; y < 32; y++) for (let x = 32; x < 48; x++) data[y * W + x] = 1;
  return { width: W, height: H, data };
}

describe('detailLayer', () => {
  it('is zero on a flat image and in the hole, and hole pixels never leak into it', () => {
    const mask = hole();
    const flat = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.4) };
    for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) if (mask.data[i]) flat.data[c * plane + i] = 1;
    assert.ok(detailLayer(flat, mask, 1).every((v) => Math.abs(v) < 1e-6), 'a flat known region has no detail, whatever the hole holds');
    const image = stripes();
    const a = detailLayer(image, mask, 1);
    for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) if (mask.data[i]) image.data[c * plane + i] = Math.random();
    assert.deepEqual(detailLayer(image, mask, 1), a);
    for (let i = 0; i < plane; i++) if (mask.data[i]) assert.equal(a[i], 0);
    // Far from the hole and the border, the stripes keep their sign and most of their contrast.
    const [dark, light] = [a[8 * W + 9], a[8 * W + 11]]; // x = 9 is in a 0.2 stripe, x = 11 in a 0.8 one
    assert.ok(dark < -0.15 && light > 0.15, `${dark}, ${light}`);
  });
});

describe('addSourceDetail', () => {
  it("adds the source cell's detail to each hole pixel, and changes nothing else", () => {
    const image = stripes();
    const mask = hole();
    // Working scale: half size (32x24 px, 8x6 feature cells), so a cell is 8x8 image pixels.
    const cells = { width: 8, height: 6 };
    const provenance = new BigInt64Array(cells.width * cells.height).fill(-1n);
    // Hole cells (x 4..5, y 2..3) copy from 3 cells to the left (x 1..2), same row; cell (5, 3) has none.
    for (let cy = 2; cy < 4; cy++) for (let cx = 4; cx < 6; cx++) provenance[cy * cells.width + cx] = BigInt(cy * cells.width + cx - 3);
    provenance[3 * cells.width + 5] = -1n;
    const fill = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.5) };
    addSourceDetail(fill, image, mask, { ...cells, imageWidth: 32, imageHeight: 24, data: provenance });
    const detail = detailLayer(image, mask, 2); // the blur radius of a 2x enlargement
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const i = y * W + x;
          const v = fill.data[c * plane + i];
          const copied = mask.data[i] && !(x >= 40 && y >= 24);
          const expected = copied ? 0.5 + DETAIL_GAIN * detail[c * plane + i - 24] : 0.5;
          assert.ok(Math.abs(v - expected) < 1e-6, `(${x}, ${y}): ${v} vs ${expected}`);
        }
      }
    }
    // The copied stripes are in phase with the photo's (the offset, 24 px, is a multiple of their period).
    assert.ok(fill.data[20 * W + 33] < 0.5 && fill.data[20 * W + 35] > 0.5);
  });

  it('adds none of it near the known region under a ramp, all of it deep in the hole, linear between', () => {
    const image = stripes();
    const mask = hole();
    const cells = { width: 8, height: 6 };
    const provenance = new BigInt64Array(cells.width * cells.height).fill(-1n);
    for (let cy = 2; cy < 4; cy++) for (let cx = 4; cx < 6; cx++) provenance[cy * cells.width + cx] = BigInt(cy * cells.width + cx - 3);
    const fill = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.5) };
    // Half-size working scale: the ramp's 1 and 3 working pixels are 2 and 6 image pixels.
    addSourceDetail(fill, image, mask, { ...cells, imageWidth: 32, imageHeight: 24, data: provenance }, 0.8, { from: 1, to: 3 });
    const detail = detailLayer(image, mask, 2);
    let [none, full] = [0, 0];
    for (let y = 16; y < 32; y++) {
      for (let x = 32; x < 48; x++) {
        const depth = Math.min(x - 31, 48 - x, y - 15, 32 - y); // to the nearest known pixel
        const weight = Math.min(1, Math.max(0, (depth / 2 - 1) / 2));
        none += weight === 0 ? 1 : 0;
        full += weight === 1 ? 1 : 0;
        const i = y * W + x;
        const expected = 0.5 + 0.8 * weight * detail[i - 24];
        assert.ok(Math.abs(fill.data[i] - expected) < 1e-6, `(${x}, ${y}): ${fill.data[i]} vs ${expected}`);
      }
    }
    assert.ok(none > 0 && full > 0, 'the hole has pixels on both ends of the ramp');
  });

  it('skips sources that fall in the hole or outside the region', () => {
    const image = stripes();
    const mask = hole();
    const cells = { width: 8, height: 6 };
    const provenance = new BigInt64Array(cells.width * cells.height).fill(-1n);
    provenance[2 * cells.width + 4] = BigInt(2 * cells.width + 5); // into the hole
    provenance[2 * cells.width + 5] = BigInt(2 * cells.width + 7); // 16 px right: past the edge for x >= 48
    const fill = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.5) };
    addSourceDetail(fill, image, mask, { ...cells, imageWidth: 32, imageHeight: 24, data: provenance });
    for (let y = 16; y < 24; y++) for (let x = 32; x < 40; x++) assert.equal(fill.data[y * W + x], 0.5, 'a source in the hole adds nothing');
    assert.notEqual(fill.data[16 * W + 41], 0.5, 'a known source inside the region adds its detail');
  });
});

/** Vertical waves of `period` pixels (mean + 0.15 cos) in every plane. */
function striped(period: number, mean = 0.5): RgbImage {
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[c * plane + y * W + x] = mean + 0.15 * Math.cos((2 * Math.PI * x) / period);
  return { width: W, height: H, data };
}

/** The root mean square of the first plane about 0.5 in the hole's inner part (away from its edge). */
function contrast(img: RgbImage): number {
  let [sum, n] = [0, 0];
  for (let y = 20; y < 28; y++) for (let x = 36; x < 44; x++) [sum, n] = [sum + (img.data[y * W + x] - 0.5) ** 2, n + 1];
  return Math.sqrt(sum / n);
}

describe('pixelSources', () => {
  it("gives a box's pixels the whole region's sources, counted from the box's corner, and none outside it", () => {
    // A 40x24 region at a 20x12 working scale (5x3 cells of 8x8 pixels); the hole is cells 2 to 3 of row 1.
    const [w, h] = [40, 24];
    const mask: MaskImage = { width: w, height: h, data: new Uint8Array(w * h) };
    for (let y = 8; y < 16; y++) for (let x = 16; x < 32; x++) mask.data[y * w + x] = 1;
    const data = new BigInt64Array(15).fill(-1n);
    [data[7], data[8]] = [0n, 12n]; // from the top-left cell, and from the cell below-right
    const cells = { width: 5, height: 3, imageWidth: 20, imageHeight: 12, data };
    const whole = pixelSources(cells, mask);
    const box = { x: 4, y: 2, width: 30, height: 20 };
    const part = pixelSources(cells, mask, box);
    assert.equal(part.scale, whole.scale);
    let moved = 0;
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        const q = whole.data[(y + box.y) * w + x + box.x];
        const [qx, qy] = [(q % w) - box.x, Math.floor(q / w) - box.y];
        const inside = q >= 0 && qx >= 0 && qy >= 0 && qx < box.width && qy < box.height;
        assert.equal(part.data[y * box.width + x], inside ? qy * box.width + qx : -1, `(${x}, ${y})`);
        if (inside) moved++;
      }
    }
    // The top-left cell's sources lie partly outside the box: both cases were checked.
    assert.ok(moved > 0 && moved < 128);
  });
});

describe('removeMidBand', () => {
  it('takes out waves a few to a few tens of pixels long, keeps the finest detail, and changes nothing outside the hole', () => {
    const mask = hole();
    for (const [period, kept] of [
      [16, (ratio: number) => ratio < 0.2],
      [8, (ratio: number) => ratio < 0.25],
      [4, (ratio: number) => ratio > 0.4 && ratio < 0.6],
      [2, (ratio: number) => ratio > 0.95],
    ] as const) {
      const fill = striped(period);
      const before = contrast(fill);
      removeMidBand(fill, mask);
      assert.ok(kept(contrast(fill) / before), `stripes ${period} px wide: contrast ${before} -> ${contrast(fill)}`);
      const original = striped(period);
      for (let k = 0; k < 3 * plane; k++) if (!mask.data[k % plane]) assert.equal(fill.data[k], original.data[k]);
    }
    const flat = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.4) };
    removeMidBand(flat, mask);
    assert.ok(flat.data.every((v) => Math.abs(v - 0.4) < 1e-6), 'a flat fill stays flat');
    // So does one whose hole touches the image's corner, at either scale.
    const corner: MaskImage = { width: W, height: H, data: new Uint8Array(plane) };
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) corner.data[y * W + x] = 1;
    for (const scale of [1, 2]) {
      const edge = { width: W, height: H, data: new Float32Array(3 * plane).fill(0.4) };
      removeMidBand(edge, corner, undefined, scale);
      assert.ok(edge.data.every((v) => Math.abs(v - 0.4) < 1e-6), `a flat fill stays flat at the image's border (scale ${scale})`);
    }
  });

  it("also takes out the first scale's blotches, as many times larger, from a fill whose coarse band was enlarged", () => {
    const mask = hole();
    const [own, enlarged] = [striped(48), striped(48)];
    removeMidBand(own, mask);
    removeMidBand(enlarged, mask, undefined, 2);
    const before = contrast(striped(48));
    assert.ok(contrast(enlarged) < contrast(own) - 0.2 * before, `48-px waves: ${before} -> ${contrast(own)} (scale 1), ${contrast(enlarged)} (scale 2)`);
    const fine = striped(2);
    removeMidBand(fine, mask, undefined, 2);
    assert.ok(contrast(fine) > 0.95 * contrast(striped(2)), 'the finest detail stays');
  });

  it('weights the removal per pixel', () => {
    const mask = hole();
    const fill = striped(8);
    removeMidBand(fill, mask, new Float32Array(plane));
    assert.deepEqual(fill, striped(8), 'weight 0 changes nothing');
  });
});

describe('mixDiffusion', () => {
  const flat = (value: number): RgbImage => ({ width: W, height: H, data: new Float32Array(3 * plane).fill(value) });

  it("moves the fill's coarse band towards the diffusion's, everywhere, and keeps the fill's finest band", () => {
    const fill = striped(2, 0.6);
    const diffusion = flat(0.4);
    mixDiffusion(fill, diffusion);
    assert.deepEqual(diffusion, flat(0.4), 'the diffusion fill is only read');
    // Half of the coarse band's difference: the mean from 0.6 to 0.5, the 2-px waves as they were
    // (away from the image's edge, where the finest blur's window is clipped).
    const expected = striped(2, 0.6 - DIFFUSION_MIX.coarse * 0.2);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 2; x < W - 2; x++) {
          const k = c * plane + y * W + x;
          assert.ok(Math.abs(fill.data[k] - expected.data[k]) < 0.005, `(${x}, ${y}): ${fill.data[k]}, expected ${expected.data[k]}`);
        }
      }
    }
  });

  it("adds its share of the diffusion's mid band, more at the seam and where the diffusion carries an edge, and at a larger scale counts longer waves in it", () => {
    const { seam, flat: noEdge, edge } = DIFFUSION_MIX.mid;
    // Deep in the hole (no depth given) with no edge carried, with a clear edge, and half of one;
    // at the seam (depth 0), whatever the diffusion carries.
    const [deep, atSeam] = [new Float32Array(plane).fill(1), new Float32Array(plane)];
    for (const [depth, coherence, share] of [
      [undefined, undefined, noEdge],
      [deep, new Float32Array(plane), noEdge],
      [deep, new Float32Array(plane).fill(1), edge],
      [undefined, new Float32Array(plane).fill(0.5), (noEdge + edge) / 2],
      [atSeam, undefined, seam],
      [atSeam, new Float32Array(plane).fill(1), seam],
    ] as const) {
      const fill = flat(0.5);
      mixDiffusion(fill, striped(16), 1, depth, coherence);
      const ratio = contrast(fill) / contrast(striped(16));
      assert.ok(Math.abs(ratio - share) < 0.05, `16-px waves: ${ratio} of the diffusion's, expected ${share}`);
      // The fill's own mid band gives way as much.
      const waves = striped(16);
      mixDiffusion(waves, flat(0.5), 1, depth, coherence);
      const left = contrast(waves) / contrast(striped(16));
      assert.ok(Math.abs(left - (1 - share)) < 0.05, `16-px waves: ${left} of the fill's own kept, expected ${1 - share}`);
    }
    // 48-px waves lie partly in the coarse band at scale 1 (which gets the larger share), in the
    // mid band at scale 2.
    const [own, enlarged] = [flat(0.5), flat(0.5)];
    mixDiffusion(own, striped(48));
    mixDiffusion(enlarged, striped(48), 2);
    assert.ok(contrast(enlarged) < contrast(own) - 0.05 * contrast(striped(48)), `48-px waves: ${contrast(own)} (scale 1), ${contrast(enlarged)} (scale 2)`);
  });
});
