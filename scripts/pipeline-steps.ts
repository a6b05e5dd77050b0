/**
 * Draws docs/results/pipeline-steps.png: what each step of the pipeline makes of a few validation
 * photos (G1's coarse fill, G2's rendering before blending, the result, the truth), with a 64x64
 * centre hole at 256 pixels, using the shipped default model.
 *
 *   npx tsx scripts/pipeline-steps.ts [OUT.png] [PHOTOS_DIR]
 */
import { readImage } from '../src/core/image.ts';
import { ImageFolder } from '../src/data/dataset.ts';
import { prepareImage } from '../src/evaluation/protocols.ts';
import { load } from '../src/inference/inpainter.ts';
import { rectMask, TEST_PHOTOS, TEST_VGG_WEIGHTS } from '../src/inference/testing.ts';
import { writeSampleGrid } from '../src/core/sample-grid.ts';

const out = process.argv[2] ?? 'docs/results/pipeline-steps.png';
const photos = process.argv[3] ?? TEST_PHOTOS;
// The training runs' split: these photos were never trained on.
const { val } = (await ImageFolder.open(photos)).split(0.1, 0);
const inpainter = await load({ vggWeights: TEST_VGG_WEIGHTS });
const rows = [];
for (const file of val.slice(0, 3)) {
  const truth = prepareImage(await readImage(file), 256);
  const mask = rectMask(256, 256, { x: 96, y: 96, width: 64, height: 64 });
  const { image, debug } = await inpainter.inpaint(truth, mask, { debug: true });
  const [region] = debug!.regions;
  rows.push([region.coarse, region.beforeBlend, image, truth]);
}
inpainter.dispose();
await writeSampleGrid(out, rows, { labels: ['coarse', 'G2 before blend', 'result', 'truth'] });
console.log(`wrote ${out}`);
