import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readImage, type RgbImage } from '../core/image.ts';
import { featureSize, mapMaskToFeatures } from '../features/grid.ts';
import { FrozenVgg } from '../features/vgg.ts';
import { runOnce } from '../graph/run-once.ts';
import { readBundle } from '../models/bundle.ts';
import { buildNetworkGraph, createNetwork } from '../models/registry.ts';
import { lookup } from '../nn/params.ts';
import { Engine } from '../runtime/engine.ts';
import { load } from './inpainter.ts';
import { Networks } from './networks.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from './testing.ts';

describe('the feature guide (random-weight tiny networks, a real photo)', () => {
  let dir: string;
  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'guide-'));
    // The same seed: the same G1 and G2, with and without a guide.
    await writeRandomBundle(join(dir, 'plain'), { preset: 'tiny', g2Scales: [256] });
    await writeRandomBundle(join(dir, 'guided'), { preset: 'tiny', g2Scales: [256], guide: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("replaces the hole's cells, and only those, by the guide's prediction from the grey-holed photo, clamped at 0", async () => {
    const engine = await Engine.create();
    const vgg = await FrozenVgg.load({ path: TEST_VGG_WEIGHTS });
    const bundle = await readBundle(join(dir, 'guided'));
    const nets = await Networks.create(engine, bundle, vgg);
    try {
      const photo = await readImage(await photoPixels(96, 64));
      const mask = rectMask(96, 64, { x: 30, y: 20, width: 30, height: 24 });
      const [fh, fw] = [featureSize(64), featureSize(96)];
      const cells = mapMaskToFeatures(mask, fh, fw);
      // The photo itself as the composite: its hole holds other pixels than the guide's grey.
      const { features, guided } = await nets.guided(photo, photo, mask, cells);
      const whole = await nets.vggFeatures(photo);
      let worst = 0;
      for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(features.data[i] - whole.data[i]));
      assert.ok(worst < 1e-4, `the composite's features are its own (max |difference| ${worst})`);

      // What the guide should see: VGG of the photo with the hole's pixels at mid grey.
      const grey: RgbImage = { ...photo, data: photo.data.slice() };
      for (let i = 0; i < 96 * 64; i++) if (mask.data[i]) for (let c = 0; c < 3; c++) grey.data[c * 96 * 64 + i] = 0.5;
      const masked = await nets.vggFeatures(grey);
      const { graph } = buildNetworkGraph(createNetwork('guide', bundle.manifest.model), { batch: 1, height: 'H', width: 'W' }, 'infer', lookup(bundle.guide!));
      const predicted = (await runOnce(graph, { masked: { data: masked.data, shape: [1, 256, fh, fw] }, cells: { data: cells.data as Float32Array, shape: [1, 1, fh, fw] } })).features.data;

      const hole = cells.data as Float32Array;
      let holeValues = 0;
      let negative = 0;
      for (let c = 0; c < 256; c++) {
        for (let k = 0; k < fh * fw; k++) {
          const i = c * fh * fw + k;
          if (hole[k] > 0.5) {
            holeValues++;
            if (predicted[i] < 0) negative++;
            assert.ok(Math.abs(guided.data[i] - Math.max(0, predicted[i])) < 1e-5, `hole value ${i}: ${guided.data[i]} vs ${predicted[i]}`);
          } else {
            assert.equal(guided.data[i], features.data[i], `known value ${i}`);
          }
        }
      }
      assert.ok(holeValues > 0 && negative > 0, `the clamp is exercised: ${negative} of ${holeValues} predictions negative`);
    } finally {
      await nets.dispose();
      await engine.dispose();
    }
  });

  it('changes the fill when the bundle has one; without it, or with guide: false, the fill is the paper pipeline\'s', async () => {
    const plain = await load({ bundle: join(dir, 'plain'), vggWeights: TEST_VGG_WEIGHTS });
    const guided = await load({ bundle: join(dir, 'guided'), vggWeights: TEST_VGG_WEIGHTS });
    try {
      const photo = await readImage(await photoPixels(256, 256));
      const mask = rectMask(256, 256, { x: 64, y: 64, width: 128, height: 128 });
      const reference = (await plain.inpaint(photo, mask)).image.data;
      assert.deepEqual((await plain.inpaint(photo, mask, { guide: false })).image.data, reference, 'guide: false is a no-op without a guide');
      assert.deepEqual((await guided.inpaint(photo, mask, { guide: false })).image.data, reference, 'guide: false ignores the guide');
      // The match itself changes (without the sources' detail, which only guided fills get at their own resolution).
      const matchedOnGuide = (await guided.inpaint(photo, mask, { nativeDetail: false })).image.data;
      let changed = 0;
      for (let i = 0; i < matchedOnGuide.length; i++) if (Math.abs(matchedOnGuide[i] - reference[i]) > 1e-3) changed++;
      assert.ok(changed > 1000, `${changed} values changed by the guide`);
      assert.notDeepEqual((await guided.inpaint(photo, mask)).image.data, matchedOnGuide, "a guided fill gets the sources' detail");
      await assert.rejects(guided.inpaint(photo, mask, { guide: 1 as never }), /options\.guide/);
    } finally {
      await plain.dispose();
      await guided.dispose();
    }
  });

  it("does not carry what the user excluded into the hole: a dark bar that ends at the hole is not continued across it", async () => {
    // A guided fill's last step mixes a diffusion of the hole into it, which continues the edges
    // that reach the hole: here a bar's, as a dark streak. Excluded, the bar is neither copied nor
    // read. At 256 the diffusion is the first scale's; at 512 the last step makes its own.
    const guided = await load({ bundle: join(dir, 'guided'), vggWeights: TEST_VGG_WEIGHTS });
    try {
      for (const size of [256, 512]) {
        const k = size / 256;
        const plane = size * size;
        const data = new Float32Array(3 * plane);
        let seed = 7;
        for (let i = 0; i < plane; i++) {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          const [x, y] = [i % size, Math.floor(i / size)];
          const inBar = y >= 120 * k && y < 136 * k && x < 112 * k;
          for (let c = 0; c < 3; c++) data[c * plane + i] = inBar ? 0.05 : 0.65 + (0.1 * seed) / 2147483648;
        }
        const photo = { width: size, height: size, data };
        const hole = { x: 112 * k, y: 96 * k, width: 64 * k, height: 64 * k };
        const mask = rectMask(size, size, hole);
        const bar = rectMask(size, size, { x: 0, y: 120 * k, width: 112 * k, height: 16 * k });
        /** How much darker the hole is in the bar's rows than in its others. */
        const streak = (image: RgbImage) => {
          const [sums, counts] = [[0, 0], [0, 0]];
          for (let y = hole.y; y < hole.y + hole.height; y++) {
            const row = y >= 120 * k && y < 136 * k ? 0 : 1;
            for (let x = hole.x; x < hole.x + hole.width; x++) {
              sums[row] += image.data[y * size + x];
              counts[row]++;
            }
          }
          return sums[1] / counts[1] - sums[0] / counts[0];
        };
        const free = streak((await guided.inpaint(photo, mask)).image);
        const excluded = streak((await guided.inpaint(photo, mask, { exclude: bar })).image);
        assert.ok(free > 0.2, `${size}: the bar is continued when not excluded (its rows ${free.toFixed(3)} darker)`);
        assert.ok(excluded < 0.1, `${size}: excluded, its rows are ${excluded.toFixed(3)} darker (reading it: 0.26 at 256)`);
      }
    } finally {
      await guided.dispose();
    }
  });
});
