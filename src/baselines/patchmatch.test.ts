import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { readImage } from '../core/image.ts';
import { photoPixels, rectMask } from '../inference/testing.ts';
import { patchMatchInpaint, patchMatchMethod, resolvePatchMatchOptions } from './patchmatch.ts';
import { changedKnownValues, holeError, meanColourFill, stripes, withHoleValue } from './testing.ts';

describe('patchMatchInpaint', () => {
  it('restores a hole in a periodic texture almost exactly, far better than the mean colour', () => {
    const image = stripes(64, 64);
    const mask = rectMask(64, 64, { x: 26, y: 26, width: 12, height: 12 });
    const filled = patchMatchInpaint(image, mask);
    const error = holeError(filled, image, mask);
    const naive = holeError(meanColourFill(image, mask), image, mask);
    assert.ok(error < 0.05, `hole error ${error}`);
    assert.ok(naive > 0.15, `mean-colour error ${naive}`);
  });

  it('returns known pixels bit-identical and never reads the hole of its input', () => {
    const image = stripes(64, 48);
    const mask = rectMask(64, 48, { x: 20, y: 10, width: 14, height: 9 });
    const filled = patchMatchInpaint(image, mask, { seed: 5 });
    assert.deepEqual(changedKnownValues(image, filled, mask), []);
    // NaN in the hole would spread into any value computed from it.
    const poisoned = patchMatchInpaint(withHoleValue(image, mask, Number.NaN), mask, { seed: 5 });
    assert.deepEqual(poisoned.data, filled.data);
  });

  it('fills holes touching the border and several holes at once', () => {
    const image = stripes(64, 64);
    const mask = rectMask(64, 64, { x: 0, y: 0, width: 14, height: 12 }, { x: 50, y: 30, width: 14, height: 10 }, { x: 30, y: 54, width: 10, height: 10 });
    const filled = patchMatchInpaint(image, mask, { seed: 2 });
    assert.deepEqual(changedKnownValues(image, filled, mask), []);
    const error = holeError(filled, image, mask);
    assert.ok(error < 0.05, `hole error ${error}`);
  });

  it('is reproducible for a seed and varies with it', async () => {
    const photo = await readImage(await photoPixels(96, 96));
    const mask = rectMask(96, 96, { x: 30, y: 30, width: 36, height: 30 });
    const a = patchMatchInpaint(photo, mask, { seed: 11 });
    const b = patchMatchInpaint(photo, mask, { seed: 11 });
    const c = patchMatchInpaint(photo, mask, { seed: 12 });
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
  });

  it('works shrunk on a region larger than maxSide, writing only the hole at full resolution', () => {
    const image = stripes(128, 128);
    const mask = rectMask(128, 128, { x: 50, y: 50, width: 24, height: 24 });
    const filled = patchMatchInpaint(image, mask, { maxSide: 64 });
    assert.deepEqual(changedKnownValues(image, filled, mask), []);
    const error = holeError(filled, image, mask);
    // Half the resolution blurs the 8-10 px stripes, but they are still there.
    assert.ok(error < 0.5 * holeError(meanColourFill(image, mask), image, mask), `hole error ${error}`);
  });

  it('returns an unchanged copy for an empty mask', () => {
    const image = stripes(32, 32);
    const filled = patchMatchInpaint(image, rectMask(32, 32));
    assert.notEqual(filled.data, image.data);
    assert.deepEqual(filled.data, image.data);
  });

  it('refuses a hole that leaves no known patch, bad sizes and bad options', () => {
    const image = stripes(32, 32);
    assert.throws(() => patchMatchInpaint(image, rectMask(32, 32, { x: 4, y: 4, width: 26, height: 26 })), (err: Error) => err instanceof UsageError && /too large.*no 7x7 patch/.test(err.message));
    assert.throws(() => patchMatchInpaint(image, rectMask(16, 32, { x: 1, y: 1, width: 2, height: 2 })), /16x32/);
    assert.throws(() => resolvePatchMatchOptions({ patchSize: 8 }), /odd integer/);
    assert.throws(() => resolvePatchMatchOptions({ seeds: 1 } as never), /Unknown PatchMatch option "seeds"/);
    assert.throws(() => patchMatchMethod({ iterations: 0 }), UsageError);
  });

  it('is an InpaintMethod named patchmatch', async () => {
    const image = stripes(48, 48);
    const mask = rectMask(48, 48, { x: 20, y: 20, width: 8, height: 8 });
    const method = patchMatchMethod({ seed: 3 });
    assert.equal(method.name, 'patchmatch');
    assert.deepEqual((await method.inpaint(image, mask)).data, patchMatchInpaint(image, mask, { seed: 3 }).data);
  });
});
