import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blurredFill, holeError, meanColourFill } from '../baselines/testing.ts';
import { readImage } from '../core/image.ts';
import { ImageFolder } from '../data/dataset.ts';
import { prepareImage } from '../evaluation/protocols.ts';
import { TEST_VGG_WEIGHTS, VALIDATION_PHOTOS, rectMask } from './testing.ts';
import { load } from './inpainter.ts';

describe('the shipped default model', () => {
  it('loads with no flags and fills the validation photos closer to the truth than a mean-colour or a blurred fill', async (t) => {
    // The validation photos: no network of the bundle has seen them. (The held-out split of
    // shared/data/photos no longer is that: the feature guide learned from all of those.)
    const val = (await ImageFolder.open(VALIDATION_PHOTOS)).paths;
    const inpainter = await load({ vggWeights: TEST_VGG_WEIGHTS });
    try {
      const results: { file: string; ours: number; mean: number; blurred: number }[] = [];
      for (const file of val) {
        const image = prepareImage(await readImage(file), 256);
        const mask = rectMask(256, 256, { x: 96, y: 96, width: 64, height: 64 });
        const { image: filled } = await inpainter.inpaint(image, mask);
        results.push({
          file,
          ours: holeError(filled, image, mask),
          mean: holeError(meanColourFill(image, mask), image, mask),
          blurred: holeError(blurredFill(image, mask, 8), image, mask),
        });
      }
      const avg = (k: 'ours' | 'mean' | 'blurred') => results.reduce((a, r) => a + r[k], 0) / results.length;
      t.diagnostic(`hole l1: ours ${avg('ours').toFixed(4)}, blurred fill ${avg('blurred').toFixed(4)}, mean fill ${avg('mean').toFixed(4)}`);
      assert.ok(avg('ours') < avg('mean'), `hole l1: ours ${avg('ours')}, mean fill ${avg('mean')}`);
      // The blurred fill (sigma 8, the best sigma on the old validation split) is the harder bar,
      // close to ours: the mean over all 38 photos, not a few, decides (12.61% against 12.77% when
      // written; docs/results.md has the figures).
      assert.ok(avg('ours') < avg('blurred'), `hole l1: ours ${avg('ours')}, blurred fill ${avg('blurred')}`);
    } finally {
      inpainter.dispose();
    }
  });
});
