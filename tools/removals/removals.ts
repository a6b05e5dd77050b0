/**
 * Draws the grids of docs/removals.md and docs/sampling-region.md: each photo of removals.json with
 * its hand-drawn mask, cropped to the part worth looking at, filled by
 *  - ours (every default of `inpaint run`, but the entry's `dilate` if it has one), Telea and
 *    PatchMatch (the mask dilated as ours dilates it), or
 *  - for an entry with `exclude` or `sampleFrom` masks: ours by default, where it copied from
 *    (`sources`, yellow), and ours steered by the masks.
 *
 *   npx tsx tools/removals/removals.ts [../shared/data/photos-other] [docs/removals]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod, type InpaintMethod } from '../../src/baselines/index.ts';
import { type Box, cropImage, dilateMask, readImage, readMask, type RgbImage } from '../../src/core/image.ts';
import { type InpaintOptions, load, resolveInpaintOptions } from '../../src/inference/inpainter.ts';
import { writeSampleGrid } from '../../src/core/sample-grid.ts';

interface Removal {
  photo: string;
  mask: string;
  /** Masks of the sampling region (white: copy only from here) and of the excluded region. */
  sampleFrom?: string;
  exclude?: string;
  grid: string;
  crop: Box;
  /** How far to grow the hole (`inpaint run --dilate`), for a mask that leaves the object's edge; default 2. */
  dilate?: number;
}

const [photos = '../shared/data/photos-other', out = 'docs/removals'] = process.argv.slice(2);
const removals: Removal[] = JSON.parse(readFileSync(new URL('./removals.json', import.meta.url), 'utf8'));
const DILATE = resolveInpaintOptions({}).dilate; // `inpaint run`'s default
const baselines = [await createMethod('telea'), await createMethod('patchmatch')];

/** The input as shown: each mask's pixels tinted with its colour (red: the hole). */
function tinted(img: RgbImage, masks: readonly (readonly [Uint8Array, readonly number[]])[]): RgbImage {
  const plane = img.width * img.height;
  const data = img.data.slice();
  for (const [mask, rgb] of masks) {
    for (let i = 0; i < plane; i++) if (mask[i]) for (let c = 0; c < 3; c++) data[c * plane + i] = 0.5 * data[c * plane + i] + 0.5 * rgb[c];
  }
  return { ...img, data };
}
const [RED, GREEN, BLUE, YELLOW] = [[1, 0, 0], [0, 1, 0], [0, 0.3, 1], [1, 0.85, 0]];

const inpainter = await load();
for (const r of removals) {
  const photo = await readImage(join(photos, r.photo));
  const mask = await readMask(join(out, r.mask));
  const dilate = r.dilate ?? DILATE;
  // Ours dilates the mask itself (and feathers its seam as wide); the baselines fill exactly the pixels they are given.
  const ours = async (steer: InpaintOptions = {}) => cropImage((await inpainter.inpaint(photo, mask, { dilate, ...steer })).image, r.crop);
  const hole = dilateMask(mask, dilate);
  const baseline = async (method: InpaintMethod) => cropImage(await method.inpaint({ ...photo, data: photo.data.slice() }, hole), r.crop);
  if (r.sampleFrom || r.exclude) {
    const sampleFrom = r.sampleFrom ? await readMask(join(out, r.sampleFrom)) : undefined;
    const exclude = r.exclude ? await readMask(join(out, r.exclude)) : undefined;
    const shown = tinted(photo, [[mask.data, RED], ...(sampleFrom ? [[sampleFrom.data, GREEN] as const] : []), ...(exclude ? [[exclude.data, BLUE] as const] : [])]);
    const label = `ours, ${sampleFrom ? 'sampling from green' : 'excluding blue'}`;
    const first = await inpainter.inpaint(photo, mask, { dilate, sources: true });
    const copied = cropImage(tinted(first.image, [[first.sources!.data, YELLOW]]), r.crop);
    await writeSampleGrid(join(out, r.grid), [[cropImage(shown, r.crop), cropImage(first.image, r.crop), copied, await ours({ sampleFrom, exclude })]], {
      labels: ['input', 'ours', 'ours copied from (yellow)', label],
    });
  } else {
    const row = [cropImage(tinted(photo, [[mask.data, RED]]), r.crop), await ours()];
    for (const method of baselines) row.push(await baseline(method));
    const input = r.dilate === undefined ? 'input (hole in red)' : `input (hole in red, grown ${r.dilate} px)`;
    await writeSampleGrid(join(out, r.grid), [row], { labels: [input, 'ours', 'Telea', 'PatchMatch'] });
  }
  console.log(`wrote ${join(out, r.grid)}`);
}
for (const method of baselines) await method.dispose();
await inpainter.dispose();
