/**
 * Prints the sha256 of the default fill of three photos of `photos-other` at three sizes (256,
 * 512 and a 1200-pixel photo with two holes), one JSON object: a refactoring that claims "no
 * behaviour change" must leave every hash as it was (issue 21). Compare runs on one machine: ONNX
 * Runtime may round differently on another CPU.
 *
 *   npx tsx tools/fill-hashes/fill-hashes.ts [../shared/data/photos-other] > before.json
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type MaskImage, readImage, resizeImage } from '../../src/core/image.ts';
import { load } from '../../src/inference/inpainter.ts';

const [photos = '../shared/data/photos-other'] = process.argv.slice(2);
const CASES = [
  { photo: 'kphotoalbum/cold_water.jpg', width: 256, height: 256, holes: [[96, 80, 64, 96]] },
  { photo: 'jigzo-data/castle-6x3.jpg', width: 512, height: 384, holes: [[200, 120, 120, 100]] },
  { photo: 'sddm-theme-maldives/background.jpg', width: 1200, height: 800, holes: [[300, 300, 150, 220], [800, 200, 120, 90]] },
];

const inpainter = await load();
const hashes: Record<string, string> = {};
try {
  for (const c of CASES) {
    const img = resizeImage(await readImage(join(photos, c.photo)), c.width, c.height, 'lanczos');
    const mask: MaskImage = { width: c.width, height: c.height, data: new Uint8Array(c.width * c.height) };
    for (const [x0, y0, w, h] of c.holes) for (let y = y0; y < y0 + h; y++) mask.data.fill(255, y * c.width + x0, y * c.width + x0 + w);
    const { image } = await inpainter.inpaint(img, mask);
    hashes[`${c.photo}@${c.width}x${c.height}`] = createHash('sha256').update(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength)).digest('hex');
  }
} finally {
  await inpainter.dispose();
}
console.log(JSON.stringify(hashes, null, 2));
