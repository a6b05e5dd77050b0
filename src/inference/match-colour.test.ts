import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RgbImage } from '../core/raster.ts';
import type { VggFeatures } from '../features/frozen-vgg.ts';
import { PatchSwapper } from '../patchswap/index.ts';
import { Engine } from '../runtime/engine.ts';
import { hostTensor } from '../runtime/tensor.ts';
import { colourGuide, MATCH_COLOUR_DIFFUSION, withCellColour, withoutCellColour } from './match-colour.ts';

/** An image whose pixel (x, y) of channel c is `at(c, x, y)`. */
function image(width: number, height: number, at: (c: number, x: number, y: number) => number): RgbImage {
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[(c * height + y) * width + x] = at(c, x, y);
  return { width, height, data };
}

describe('colourGuide', () => {
  it("mixes the diffusion's fill into G1's by MATCH_COLOUR_DIFFUSION, reading both and changing neither", () => {
    const [coarse, diffusion] = [image(6, 5, (c, x) => 0.1 * c + x / 10), image(6, 5, (c, _, y) => 0.9 - 0.1 * c - y / 10)];
    const [a, b] = [coarse.data.slice(), diffusion.data.slice()];
    const mixed = colourGuide(coarse, diffusion);
    assert.equal(mixed.width, 6);
    assert.equal(mixed.height, 5);
    mixed.data.forEach((v, k) => assert.ok(Math.abs(v - ((1 - MATCH_COLOUR_DIFFUSION) * a[k] + MATCH_COLOUR_DIFFUSION * b[k])) < 1e-6, `value ${k}: ${v}`));
    assert.deepEqual(coarse.data, a);
    assert.deepEqual(diffusion.data, b);
    assert.ok(MATCH_COLOUR_DIFFUSION > 0 && MATCH_COLOUR_DIFFUSION < 1);
  });
});

describe('withCellColour', () => {
  it("appends each cell's mean colour, centred on the map's mean and weighted; withoutCellColour gives back the features", () => {
    // 10x4 pixels: cells of 4x4, 4x4 and 2x4 (the last one cut by the image's edge).
    const guide = image(10, 4, (c, x) => (c === 0 ? x / 10 : c === 1 ? 0.5 : x < 4 ? 1 : 0));
    const features: VggFeatures = { channels: 2, height: 1, width: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const out = withCellColour(features, guide, 10);
    assert.equal(out.channels, 5);
    assert.deepEqual(Array.from(out.data.subarray(0, 6)), [1, 2, 3, 4, 5, 6]);
    const red = [0.15, 0.55, 0.85]; // the means of x / 10 over x in 0..3, 4..7, 8..9
    const redMean = (0.15 + 0.55 + 0.85) / 3;
    red.forEach((v, i) => assert.ok(Math.abs(out.data[6 + i] - 10 * (v - redMean)) < 1e-5, `red of cell ${i}`));
    assert.deepEqual(Array.from(out.data.subarray(9, 12)), [0, 0, 0], 'a constant channel centres to 0');
    const blueMean = 1 / 3;
    [1, 0, 0].forEach((v, i) => assert.ok(Math.abs(out.data[12 + i] - 10 * (v - blueMean)) < 1e-5, `blue of cell ${i}`));
    assert.deepEqual(withoutCellColour(out, 2), features);
  });
});

describe('colour in the match', () => {
  let engine: Engine;
  let swapper: PatchSwapper;
  before(async () => {
    engine = await Engine.create({ threads: 2 });
    swapper = await PatchSwapper.create(engine);
  });
  after(async () => {
    swapper.dispose();
    await engine.dispose();
  });

  // 16x16 cells whose relu3_1 features are all the same pattern: patch-swap's score ties everywhere,
  // and locality picks the nearest patch. The photo is red on the left (cells 0-10) and blue on the
  // right; the hole (rows 5-9, columns 3-7) lies in the red part, and the guide fills it blue. The
  // hole cells whose centred 3x3 patch is all hole (rows 6-8, columns 4-6) are looked at.
  const cells = 16;
  const hole = (y: number, x: number) => y >= 5 && y <= 9 && x >= 3 && x <= 7;
  const inner = (y: number, x: number) => y >= 6 && y <= 8 && x >= 4 && x <= 6;
  const pattern = [0.3, 1.2, 0, 0.7, 2.1, 0.4];
  const features: VggFeatures = { channels: 6, height: cells, width: cells, data: new Float32Array(6 * cells * cells) };
  for (let c = 0; c < 6; c++) features.data.fill(pattern[c], c * cells * cells, (c + 1) * cells * cells);
  const guide = image(4 * cells, 4 * cells, (c, x, y) => {
    const blue = x >= 44 || hole(Math.floor(y / 4), Math.floor(x / 4));
    return c === 2 ? (blue ? 0.9 : 0.1) : c === 0 ? (blue ? 0.1 : 0.9) : 0.3;
  });
  const mask = new Float32Array(cells * cells).map((_, i) => (hole(Math.floor(i / cells), i % cells) ? 1 : 0));
  const sourceColumns = async (weight: number) => {
    const matched = weight > 0 ? withCellColour(features, guide, weight) : features;
    const out = await swapper.swap({
      features: hostTensor(matched.data, [1, matched.channels, cells, cells]),
      mask: hostTensor(mask, [1, 1, cells, cells]),
      locality: 1,
    });
    const provenance = out.provenance.data as BigInt64Array;
    return [...mask.keys()].filter((i) => inner(Math.floor(i / cells), i % cells)).map((i) => Number(provenance[i]) % cells);
  };

  it("takes the guide's colour from the other side of the photo, where the colour-blind match takes the nearest patch", async () => {
    const blind = await sourceColumns(0);
    assert.ok(blind.every((x) => x <= 9), `without colour, sources whose 3x3 patch is all red: columns ${blind}`);
    const coloured = await sourceColumns(60);
    assert.ok(coloured.every((x) => x >= 12), `with colour, sources whose 3x3 patch is all blue: columns ${coloured}`);
  });
});
