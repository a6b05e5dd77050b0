/**
 * Draws the grids of docs/removals.md: each photo of removals.json with its hand-drawn mask, filled
 * by ours (every default of `inpaint run`), Telea and PatchMatch (the mask dilated as ours dilates
 * it), cropped to the part worth looking at.
 *
 *   npx tsx tools/removals/removals.ts [../shared/data/photos-other] [docs/removals]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod } from '../../src/baselines/index.ts';
import { type Box, cropImage, dilateMask, readImage, readMask, type RgbImage } from '../../src/core/image.ts';
import { writeSampleGrid } from '../../src/training/samples.ts';

interface Removal {
  photo: string;
  mask: string;
  grid: string;
  crop: Box;
}

const [photos = '../shared/data/photos-other', out = 'docs/removals'] = process.argv.slice(2);
const removals: Removal[] = JSON.parse(readFileSync(new URL('./removals.json', import.meta.url), 'utf8'));
const DILATE = 2; // `inpaint run`'s default
const methods = [await createMethod('ours', { inpaint: { dilate: DILATE } }), await createMethod('telea'), await createMethod('patchmatch')];

/** The input as shown: the hole tinted red. */
function tinted(img: RgbImage, hole: Uint8Array): RgbImage {
  const plane = img.width * img.height;
  const data = img.data.slice();
  for (let i = 0; i < plane; i++) {
    if (!hole[i]) continue;
    data[i] = 0.5 * data[i] + 0.5;
    data[plane + i] *= 0.5;
    data[2 * plane + i] *= 0.5;
  }
  return { ...img, data };
}

for (const r of removals) {
  const photo = await readImage(join(photos, r.photo));
  const mask = await readMask(join(out, r.mask));
  const dilated = dilateMask(mask, DILATE);
  const row = [cropImage(tinted(photo, mask.data), r.crop)];
  for (const method of methods) {
    // Ours dilates the mask itself; the baselines fill exactly the pixels they are given.
    const filled = await method.inpaint({ ...photo, data: photo.data.slice() }, method.name === 'ours' ? mask : dilated);
    row.push(cropImage(filled, r.crop));
  }
  await writeSampleGrid(join(out, r.grid), [row], { labels: ['input (hole in red)', 'ours', 'Telea', 'PatchMatch'] });
  console.log(`wrote ${join(out, r.grid)}`);
}
for (const method of methods) await method.dispose();
