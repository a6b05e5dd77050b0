import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { loadVggWeights } from '../features/vgg-weights.ts';
import { Engine } from '../runtime/engine.ts';
import { resolveTrainConfig } from './config.ts';
import { exportBundle } from './export.ts';
import { hasKnownPatch } from '../patchswap/index.ts';
import { FeatureSwapper } from './swapped-inputs.ts';
import { train } from './loop.ts';

const VGG = new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url).pathname;
const PHOTOS = new URL('../../../shared/data/photos/enlightenment-data/', import.meta.url).pathname;

describe('G2 training features', () => {
  it('hasKnownPatch finds a complete known 3x3 patch or reports none', () => {
    const m = new Float32Array(25).fill(1);
    assert.equal(hasKnownPatch(m, 5, 5), false);
    for (const i of [6, 7, 8, 11, 12, 13, 16, 17, 18]) m[i] = 0;
    assert.equal(hasKnownPatch(m, 5, 5), true);
    m[12] = 1;
    assert.equal(hasKnownPatch(m, 5, 5), false);
  });

  it('g1Mix swaps the features of a trained G1 fill (from a checkpoint or a bundle) instead of the ground truth', async () => {
    const data = mkdtempSync(join(tmpdir(), 'mix-data-'));
    for (const f of readdirSync(PHOTOS).sort().slice(0, 4)) copyFileSync(join(PHOTOS, f), join(data, f));
    const g1Run = mkdtempSync(join(tmpdir(), 'mix-g1-'));
    const quiet = { log: () => {}, progress: Object.assign(new PassThrough(), { isTTY: false }) };
    const base = { data, model: { preset: 'tiny' }, vggWeights: VGG, valImages: 1, valEvery: 1000 };
    await train(resolveTrainConfig('g1', { ...base, out: g1Run, size: 64, batch: 1, steps: 2, checkpointEvery: 2 }), quiet);
    const g1From = join(g1Run, 'step-00000002.ckpt');

    const vgg = await loadVggWeights(VGG);
    const engine = await Engine.create();
    try {
      const S = 256;
      const rng = new Rng(3);
      const images = Float32Array.from({ length: 3 * S * S }, () => rng.next());
      const masks = new Float32Array(S * S);
      for (let y = 96; y < 160; y++) masks.fill(1, y * S + 96, y * S + 160);
      const config = (g1Mix: number) => resolveTrainConfig('g2', { ...base, out: g1Run, g1Mix, g1From: g1Mix > 0 ? g1From : undefined });
      const gt = await FeatureSwapper.create(engine, vgg, config(0));
      const mixed = await FeatureSwapper.create(engine, vgg, config(1));
      const swapped = await gt.swap(images, masks, 1);
      assert.deepEqual(swapped.shape, [1, 256, S / 4, S / 4]);
      const a = swapped.data as Float32Array;
      const b = (await mixed.swap(images, masks, 1)).data as Float32Array;
      const again = await gt.swap(images, masks, 1);
      assert.deepEqual(again.data, a, 'deterministic');
      assert.deepEqual((await mixed.swap(images, masks, 1, { mix: 0 })).data, a, 'a mix of 0 (validation) swaps the ground truth');
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
      assert.ok(diff / a.length > 1e-3, `features from G1's fill differ from the ground truth's (${diff / a.length})`);
      // The same G1 from a model bundle folder gives the same features; a checkpoint of G2 is not a G1.
      const g2Run = mkdtempSync(join(tmpdir(), 'mix-g2-'));
      await train(resolveTrainConfig('g2', { ...base, out: g2Run, batch: 1, steps: 1, checkpointEvery: 1 }), quiet);
      const g2From = join(g2Run, 'step-00000001.ckpt');
      const bundle = join(g1Run, 'bundle');
      await exportBundle({ g1: g1From, g2: { 256: g2From }, out: bundle });
      const fromBundle = await FeatureSwapper.create(engine, vgg, resolveTrainConfig('g2', { ...base, out: g1Run, g1Mix: 1, g1From: bundle }));
      assert.deepEqual((await fromBundle.swap(images, masks, 1)).data, b);
      fromBundle.dispose();
      const wrong = resolveTrainConfig('g2', { ...base, out: g1Run, g1Mix: 1, g1From: g2From });
      await assert.rejects(FeatureSwapper.create(engine, vgg, wrong), (e: Error) => e instanceof InputError && /give a G1 checkpoint or a model bundle/.test(e.message));
      gt.dispose();
      mixed.dispose();
    } finally {
      await engine.dispose();
    }
  });
});
