import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { cropImage, readImage, resizeImage, type RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { loadVggWeights } from '../features/vgg-weights.ts';
import { FrozenVgg, type VggFeatures } from '../features/vgg.ts';
import { readBundle } from '../models/bundle.ts';
import { featureSize } from '../patchswap/index.ts';
import { referencePatchSwap } from '../patchswap/reference.ts';
import { Engine } from '../runtime/engine.ts';
import { type Inpainter, load } from './inpainter.ts';
import { Networks } from './networks.ts';
import { resolveStylizeOptions, styleSwap } from './stylize.ts';
import { photoPixels, TEST_VGG_WEIGHTS, writeRandomBundle } from './testing.ts';

/** A random non-negative map (like relu features): no two patches parallel, so every best match is unique. */
function randomMap(rng: Rng, channels: number, height: number, width: number): VggFeatures {
  return { channels, height, width, data: Float32Array.from({ length: channels * height * width }, () => rng.uniform()) };
}

/** The window [y0, y0 + h) x [x0, x0 + w) of a map. */
function cropMap(m: VggFeatures, y0: number, x0: number, h: number, w: number): VggFeatures {
  const data = new Float32Array(m.channels * h * w);
  for (let c = 0; c < m.channels; c++) for (let y = 0; y < h; y++) data.set(m.data.subarray((c * m.height + y0 + y) * m.width + x0, (c * m.height + y0 + y) * m.width + x0 + w), (c * h + y) * w);
  return { channels: m.channels, height: h, width: w, data };
}

const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('stylize (random-weight tiny networks, real VGG)', () => {
  let dir: string;
  let engine: Engine;
  let nets: Networks;
  let inpainter: Inpainter;

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'stylize-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    engine = await Engine.create();
    // The test's own networks, to compute what the inpainter should return by another route.
    nets = await Networks.create(engine, await readBundle(join(dir, 'bundle')), new FrozenVgg(await loadVggWeights(TEST_VGG_WEIGHTS)));
    inpainter = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, engine });
  });

  after(async () => {
    await inpainter?.dispose();
    await nets?.dispose();
    await engine?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  describe('styleSwap', () => {
    it('takes every patch from the style: a content cut out of the style gets its own features back, each cell from its place in the style', async () => {
      const style = randomMap(new Rng(3), 8, 12, 10);
      const [y0, x0] = [3, 2];
      const content = cropMap(style, y0, x0, 8, 7);
      const { swapped, provenance } = await styleSwap(nets, content, style);
      assert.ok(meanAbs(swapped.data, content.data) < 1e-6, `swapped differs from the content by ${meanAbs(swapped.data, content.data)}`);
      for (let y = 0; y < 8; y++) for (let x = 0; x < 7; x++) assert.equal(provenance[y * 7 + x], BigInt((y0 + y) * 10 + x0 + x), `cell (${y}, ${x})`);
    });

    it('matches in bands of rows exactly as in one piece, and as the reference patch-swap with the style as source', async () => {
      const rng = new Rng(5);
      const [content, style] = [randomMap(rng, 6, 11, 9), randomMap(rng, 6, 7, 8)];
      const whole = await styleSwap(nets, content, style);
      // Bands of 1 and of 2 rows.
      for (const rows of [1, 2]) {
        const banded = await styleSwap(nets, content, style, (rows + 4) * 9 * 56);
        assert.deepEqual(banded.provenance, whole.provenance);
        assert.ok(meanAbs(banded.swapped.data, whole.swapped.data) < 1e-7);
      }
      const ref = referencePatchSwap(content, null, { source: style });
      assert.deepEqual(Array.from(whole.provenance, Number), Array.from(ref.provenance));
      assert.ok(meanAbs(whole.swapped.data, Float32Array.from(ref.swapped)) < 1e-5);
      // Every cell is the mean of style cells: none keeps the content's value.
      assert.ok(whole.provenance.every((p) => p >= 0n && p < 56n));
    });
  });

  it("with the content as its own style, returns G2's reconstruction of the content", async () => {
    const content = await readImage(await photoPixels(96, 72, 'mate-backgrounds/Dune.jpg'));
    const { image, notices, debug } = await inpainter.stylize(content, content, { size: 96, debug: true });
    const expected = await nets.render(96, await nets.vggFeatures(content), 96, 72);
    assert.deepEqual([image.width, image.height], [96, 72]);
    const diff = meanAbs(image.data, expected.data);
    assert.ok(diff < 1e-4, `mean difference ${diff} from the reconstruction`);
    const own = debug!.provenance.filter((p, i) => p === i).length;
    assert.ok(own > 0.98 * debug!.provenance.length, `${own} of ${debug!.provenance.length} cells come from their own place`);
    assert.match(notices.join('\n'), /no G2 trained at 96 px/);
    // strength 0 is the reconstruction too; a real style at strength 1 is far from it.
    const zero = await inpainter.stylize(content, 'no-such-style-is-read.png', { size: 96, strength: 0 }).catch((err) => err);
    assert.ok(zero instanceof InputError, 'the style is read even at strength 0: a bad path is an error');
    const none = await inpainter.stylize(content, await photoPixels(80, 80, 'tuxpaint-data/ocean_waves.jpg'), { size: 96, strength: 0 });
    assert.ok(meanAbs(none.image.data, expected.data) < 1e-6);
    const styled = await inpainter.stylize(content, await photoPixels(80, 80, 'tuxpaint-data/ocean_waves.jpg'), { size: 96 });
    assert.ok(meanAbs(styled.image.data, expected.data) > 10 * diff + 1e-3);
  });

  it("renders strength x the swapped features + (1 - strength) x the content's", async () => {
    const content = await readImage(await photoPixels(64, 48, 'mate-backgrounds/Dune.jpg'));
    const style = await readImage(await photoPixels(64, 64, 'tuxpaint-data/ocean_waves.jpg'));
    const fc = await nets.vggFeatures(content);
    const { swapped } = await styleSwap(nets, fc, await nets.vggFeatures(style));
    const mixed = { ...fc, data: fc.data.map((v, i) => 0.3 * swapped.data[i] + 0.7 * v) };
    const expected = await nets.render(64, mixed, 64, 48);
    const { image } = await inpainter.stylize(content, style, { size: 64, strength: 0.3 });
    assert.ok(meanAbs(image.data, expected.data) < 1e-5, `mean difference ${meanAbs(image.data, expected.data)}`);
  });

  it('finds each patch of a photo cut out of the style where it was cut from', async () => {
    const style = await readImage(await photoPixels(160, 128, 'tuxpaint-data/mossy_bark.jpg'));
    // At a multiple of 4 pixels, so that the cut's feature cells are the style's cells (16, 8) further on.
    const content = cropImage(style, { x: 64, y: 32, width: 80, height: 64 });
    const { debug } = await inpainter.stylize(content, style, { size: 80, styleSize: 160, debug: true });
    const { width, height, styleWidth, styleHeight, provenance } = debug!;
    assert.deepEqual([width, height, styleWidth, styleHeight], [20, 16, 40, 32]);
    // Cells near the content's border see its edge (VGG pads there), not the style's pixels around it.
    let interior = 0;
    let found = 0;
    for (let y = 4; y < height - 4; y++) {
      for (let x = 4; x < width - 4; x++) {
        interior++;
        if (provenance[y * width + x] === (y + 8) * styleWidth + x + 16) found++;
      }
    }
    assert.ok(found > 0.9 * interior, `${found} of ${interior} interior cells come from their place in the style`);
  });

  it('returns the content size for any content and style size, and says when it enlarged a lot', async () => {
    const style = await photoPixels(700, 300, 'tuxpaint-data/rocks.jpg');
    for (const [w, h] of [[300, 40], [20, 10], [600, 450]]) {
      const { image, notices } = await inpainter.stylize(await photoPixels(w, h), style, { size: 64 });
      assert.deepEqual([image.width, image.height], [w, h]);
      assert.ok(image.data.every((v) => v >= 0 && v <= 1));
      assert.equal(notices.some((n) => /enlarged 9\.4x/.test(n)), w === 600, notices.join('\n'));
    }
    // The style is taken at its own size, at most MAX_STYLE_SIZE (512), and never below 3x3 cells.
    const { debug } = await inpainter.stylize(await photoPixels(64, 64), await photoPixels(2000, 30, 'tuxpaint-data/rocks.jpg'), { size: 64, debug: true });
    assert.deepEqual([debug!.styleWidth, debug!.styleHeight], [featureSize(64), featureSize(16)]);
    const big = resolveStylizeOptions({ size: 1024 });
    assert.equal(big.styleSize, 512);
  });

  it('refuses bad options and unusable images with typed errors', async () => {
    const photo = await photoPixels(40, 30);
    for (const bad of [{ size: 32 }, { size: 4096 }, { size: 100.5 }, { styleSize: 1024 }, { strength: 1.5 }, { strength: Number.NaN }, { debug: 1 }, { colour: true }]) {
      await assert.rejects(inpainter.stylize(photo, photo, bad as never), UsageError, JSON.stringify(bad));
    }
    await assert.rejects(inpainter.stylize(join(dir, 'missing.jpg'), photo), InputError);
    await assert.rejects(inpainter.stylize(photo, Buffer.from('not an image')), InputError);
    const broken: RgbImage = { width: 2, height: 2, data: new Float32Array(3) };
    await assert.rejects(inpainter.stylize(photo, broken), (err: Error) => err instanceof UsageError && /style\.data/.test(err.message));
    const shrunk = resizeImage(await readImage(photo), 20, 15);
    shrunk.data[7] = 2;
    await assert.rejects(inpainter.stylize(shrunk, photo), (err: Error) => err instanceof UsageError && /content\.data/.test(err.message));
  });

  it('refuses to run after dispose', async () => {
    const other = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, engine });
    await other.dispose();
    const photo = await photoPixels(40, 30);
    await assert.rejects(other.stylize(photo, photo), (err: Error) => err instanceof UsageError && /disposed/.test(err.message));
  });
});
