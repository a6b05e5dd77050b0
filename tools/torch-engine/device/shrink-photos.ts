/**
 * Copies a folder of photos with each short side scaled down to S pixels (JPEG and WebP at quality
 * 92), same relative paths and formats, so that the training split stays the same. Training crops
 * are taken after scaling the short side to 256 to 384 pixels, so S = 400 changes them little.
 *
 *   npx tsx tools/torch-engine/device/shrink-photos.ts IN_DIR OUT_DIR [S]
 */
import { mkdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import sharp from 'sharp';
import { ImageFolder } from '../../../src/data/dataset.ts';

const [input, output, side = '400'] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: shrink-photos.ts IN_DIR OUT_DIR [S]');
const S = Number(side);
const folder = await ImageFolder.open(input);
for (const file of folder.files) {
  const source = join(folder.root, file);
  const target = join(output, file);
  await mkdir(dirname(target), { recursive: true });
  // 'outside' with both sides S scales the short side to S (after EXIF rotation); never enlarged.
  const resized = sharp(source).rotate().resize({ width: S, height: S, fit: 'outside', withoutEnlargement: true });
  // Same name, same format: the training split is a function of the names.
  const ext = extname(file).toLowerCase();
  await (ext === '.png' ? resized.png() : ext === '.webp' ? resized.webp({ quality: 92 }) : resized.jpeg({ quality: 92 })).toFile(target);
}
console.log(`${folder.files.length} photos -> ${output} (short side at most ${S} px)`);
