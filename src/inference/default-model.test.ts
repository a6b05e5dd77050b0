import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readImage, type RgbImage } from '../core/image.ts';
import { ImageFolder } from '../data/dataset.ts';
import { prepareImage } from '../evaluation/protocols.ts';
import { TEST_PHOTOS, TEST_VGG_WEIGHTS, rectMask } from './testing.ts';
import { load } from './inpainter.ts';

/** Mean absolute error over the hole, in [0, 1]. */
function holeL1(a: RgbImage, b: RgbImage, hole: Uint8Array): number {
  const plane = a.width * a.height;
  let sum = 0;
  let n = 0;
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) if (hole[i]) {
    sum += Math.abs(a.data[c * plane + i] - b.data[c * plane + i]);
    n++;
  }
  return sum / n;
}

/** The hole filled with the mean colour of the known pixels. */
function meanFill(img: RgbImage, hole: Uint8Array): RgbImage {
  const plane = img.width * img.height;
  const data = img.data.slice();
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let n = 0;
    for (let i = 0; i < plane; i++) if (!hole[i]) {
      s += img.data[c * plane + i];
      n++;
    }
    for (let i = 0; i < plane; i++) if (hole[i]) data[c * plane + i] = s / n;
  }
  return { ...img, data };
}

describe('the shipped default model', () => {
  it('loads with no flags and fills validation images closer to the truth than a mean-colour fill', async () => {
    // Validation images are the ones training never saw (the training runs' split).
    const folder = await ImageFolder.open(TEST_PHOTOS);
    const { val } = folder.split(0.1, 0);
    const inpainter = await load({ vggWeights: TEST_VGG_WEIGHTS });
    try {
      const results: { file: string; ours: number; mean: number }[] = [];
      for (const file of val.slice(0, 4)) {
        const image = prepareImage(await readImage(file), 256);
        const mask = rectMask(256, 256, { x: 96, y: 96, width: 64, height: 64 });
        const { image: filled } = await inpainter.inpaint(image, mask);
        results.push({
          file,
          ours: holeL1(filled, image, mask.data),
          mean: holeL1(meanFill(image, mask.data), image, mask.data),
        });
      }
      const avg = (k: 'ours' | 'mean') => results.reduce((a, r) => a + r[k], 0) / results.length;
      assert.ok(avg('ours') < avg('mean'), `hole l1: ours ${avg('ours')}, mean fill ${avg('mean')}`);
    } finally {
      inpainter.dispose();
    }
  });
});
