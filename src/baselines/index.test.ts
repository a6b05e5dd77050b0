import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { readImage, type RgbImage } from '../core/image.ts';
import { load, resolveInpaintOptions } from '../inference/index.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from '../inference/testing.ts';
import { checkMethodName, createMethod, METHOD_NAMES } from './index.ts';
import { changedKnownValues } from './testing.ts';

describe('createMethod', () => {
  let dir: string;
  let bundle: string;
  let photo: RgbImage;
  const mask = rectMask(256, 256, { x: 90, y: 100, width: 60, height: 50 });

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'baselines-'));
    bundle = join(dir, 'bundle');
    await writeRandomBundle(bundle, { preset: 'tiny', g2Scales: [256] });
    photo = await readImage(await photoPixels(256, 256));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses an unknown name, listing the known ones, before loading anything', async () => {
    await assert.rejects(createMethod('criminisi', { bundle: join(dir, 'no-such-bundle') }), (err: Error) => err instanceof UsageError && err.message.includes(METHOD_NAMES.join(', ')));
    assert.throws(() => checkMethodName('Ours'), UsageError);
    assert.equal(checkMethodName('navier-stokes'), 'navier-stokes');
    // Invalid inpaint options are caught before the bundle is looked for (which would be an InputError).
    await assert.rejects(createMethod('ours', { bundle: join(dir, 'no-such-bundle'), inpaint: { refine: -1 } }), UsageError);
  });

  it('creates every method; each fills the hole and keeps the known pixels bit-identical', async () => {
    const results = new Map<string, Float32Array>();
    for (const name of METHOD_NAMES) {
      const method = await createMethod(name, { bundle, vggWeights: TEST_VGG_WEIGHTS, patchMatch: { seed: 4 } });
      try {
        assert.equal(method.name, name);
        const filled = await method.inpaint(photo, mask);
        assert.deepEqual(changedKnownValues(photo, filled, mask), [], name);
        let changed = 0;
        for (let i = 0; i < photo.data.length; i++) if (filled.data[i] !== photo.data[i]) changed++;
        assert.ok(changed > 0.8 * 3 * 60 * 50, `${name}: ${changed} hole values changed`);
        results.set(name, filled.data);
      } finally {
        await method.dispose();
      }
    }
    // Five different fills: no name is silently another method.
    const all = [...results.values()];
    for (let a = 0; a < all.length; a++) for (let b = a + 1; b < all.length; b++) assert.notDeepEqual(all[a], all[b], `${METHOD_NAMES[a]} vs ${METHOD_NAMES[b]}`);
  });

  it("stage 'g1' blends G1's coarse fill alone (the full pipeline's first intermediate)", async () => {
    const inpainter = await load({ bundle, vggWeights: TEST_VGG_WEIGHTS });
    try {
      const full = await inpainter.inpaint(photo, mask, { dilate: 0, debug: true });
      const g1 = await inpainter.inpaint(photo, mask, { dilate: 0, stage: 'g1', scales: [256, 512] });
      assert.deepEqual(g1.notices, []);
      const coarse = full.debug!.regions[0].coarse;
      let worst = 0;
      for (let i = 0; i < photo.data.length; i++) worst = Math.max(worst, Math.abs(g1.image.data[i] - coarse.data[i]));
      assert.ok(worst < 1e-5, `g1 result differs from G1's composite by ${worst}`);
      assert.notDeepEqual(g1.image.data, full.image.data);
      assert.throws(() => resolveInpaintOptions({ stage: 'g1', debug: true }), UsageError);
      assert.throws(() => resolveInpaintOptions({ stage: 'g2' as never }), /'full' or 'g1'/);
    } finally {
      await inpainter.dispose();
    }
  });
});
