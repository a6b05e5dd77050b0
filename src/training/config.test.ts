import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { resolveTrainConfig } from './config.ts';

const base = { data: 'photos', out: 'runs/x' };

describe('training configuration', () => {
  it("has each task's defaults: the paper's loss lambdas plus our pixel term", () => {
    const g1 = resolveTrainConfig('g1', base);
    const g2 = resolveTrainConfig('g2', base);
    assert.deepEqual([g1.size, g1.batch, g1.lrG], [128, 4, 2e-3]);
    assert.deepEqual([g2.size, g2.batch, g2.lrG], [256, 2, 2e-4]);
    assert.deepEqual(g1.loss, { perceptual: 10, adversarial: 1, pixel: 10 });
  });

  it("gives the guide the prototype's settings: batch 4 at 256, Adam 5e-4 (0.9, 0.999), patch cosine 1, colours 10, no adversary", () => {
    const guide = resolveTrainConfig('guide', base);
    const g1 = resolveTrainConfig('g1', base);
    assert.deepEqual([guide.task, guide.size, guide.batch, guide.lrG, guide.beta1, guide.beta2], ['guide', 256, 4, 5e-4, 0.9, 0.999]);
    assert.deepEqual(guide.loss, { perceptual: 1, adversarial: 0, pixel: 10 });
    assert.deepEqual([guide.steps, guide.masks, guide.valEvery, guide.model], [g1.steps, g1.masks, g1.valEvery, g1.model]);
    assert.equal(resolveTrainConfig('guide', base, { loss: { pixel: 3 } as never }).loss.perceptual, 1, 'merged key by key');
    assert.equal(resolveTrainConfig('guide', base, { size: 68 }).size, 68, 'any multiple of a feature cell');
  });

  it('layers a file and flags over the defaults, merging the loss weights key by key', () => {
    const c = resolveTrainConfig('g2', base, { loss: { perceptual: 5 } as never, steps: 10 }, { loss: { pixel: 0 } as never, steps: 20 });
    assert.deepEqual(c.loss, { perceptual: 5, adversarial: 1, pixel: 0 });
    assert.equal(c.steps, 20);
  });

  it('takes the scale jitter of the training crops, 1.5 unless given', () => {
    assert.equal(resolveTrainConfig('guide', base).jitter, 1.5);
    assert.equal(resolveTrainConfig('guide', base, { jitter: 4 }).jitter, 4);
  });

  it('refuses both resumeFrom and initFrom: continuing a run and starting one from its weights differ', () => {
    assert.throws(() => resolveTrainConfig('g1', { data: 'd', out: 'o', resumeFrom: 'a.ckpt', initFrom: 'models/default' }), /either resumeFrom .* or initFrom/);
    assert.equal(resolveTrainConfig('g1', { data: 'd', out: 'o', initFrom: 'models/default' }).initFrom, 'models/default');
  });

  it('names the invalid field', () => {
    const bad = (task: 'g1' | 'g2' | 'guide', layer: object, pattern: RegExp) => assert.throws(() => resolveTrainConfig(task, base, layer), (e: Error) => e instanceof UsageError && pattern.test(e.message));
    bad('g1', { loss: { pixel: -1 } }, /loss\.pixel/);
    bad('g1', { loss: { pixle: 1 } }, /loss\.pixle/);
    bad('g1', { learningRate: 1 }, /unknown training option "learningRate"/);
    bad('g2', { size: 128 }, /multiple of 256/);
    bad('g2', { g1Mix: 0.5 }, /g1From/);
    bad('g1', { g1Mix: 1.5 }, /g1Mix/);
    bad('guide', { jitter: 0.5 }, /a number >= 1 for jitter/);
    bad('guide', { loss: { adversarial: 1 } }, /0 for the guide \(it trains without a discriminator\) for loss\.adversarial/);
    bad('guide', { size: 66 }, /multiple of 4 for guide/);
    assert.throws(() => resolveTrainConfig('d1' as never, base), (e: Error) => e instanceof UsageError && /'g1', 'g2', 'guide'/.test(e.message));
  });
});
