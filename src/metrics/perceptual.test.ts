import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import type { RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { FrozenVgg } from '../features/vgg.ts';
import { vggReference } from '../features/vgg-reference.ts';
import { loadVggWeights, type VggWeights } from '../features/vgg-weights.ts';
import { TEST_VGG_WEIGHTS } from '../inference/testing.ts';
import { Engine } from '../runtime/engine.ts';
import { PerceptualDistance } from './perceptual.ts';

function randomImage(width: number, height: number, rng: Rng): RgbImage {
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.next()) };
}

describe('PerceptualDistance', () => {
  let weights: VggWeights;
  let vgg: FrozenVgg;
  let engine: Engine;

  before(async () => {
    weights = await loadVggWeights(TEST_VGG_WEIGHTS);
    vgg = new FrozenVgg(weights);
    engine = await Engine.create({ threads: 1 });
  });

  after(async () => {
    await vgg.dispose();
    await engine.dispose();
  });

  it('is 0 for identical images and the mean squared relu3_1 difference of the float64 reference otherwise', async () => {
    const rng = new Rng(1);
    const a = randomImage(13, 10, rng);
    const b = randomImage(13, 10, rng);
    const metric = new PerceptualDistance(vgg, engine);
    assert.equal(await metric.update(a, a), 0);
    const fa = vggReference(weights, a.data, a.height, a.width).relu3_1;
    const fb = vggReference(weights, b.data, b.height, b.width).relu3_1;
    let want = 0;
    for (let i = 0; i < fa.data.length; i++) want += (fa.data[i] - fb.data[i]) ** 2;
    want /= fa.data.length;
    const got = await metric.update(a, b);
    assert.ok(want > 0 && Math.abs(got - want) <= 1e-4 * want, `${got} vs reference ${want}`);
    assert.ok(Math.abs(metric.compute() - want / 2) <= 1e-4 * want);
  });

  it('refuses mismatched sizes and pixels outside [0, 1]', async () => {
    const rng = new Rng(2);
    const metric = new PerceptualDistance(vgg, engine);
    await assert.rejects(metric.update(randomImage(8, 8, rng), randomImage(8, 9, rng)), UsageError);
    const bright = randomImage(8, 8, rng);
    bright.data[0] = 2;
    await assert.rejects(metric.update(bright, randomImage(8, 8, rng)), /values from/);
    assert.equal(metric.count, 0);
  });
});
