/**
 * Draws the figures of docs/stylize.md with the shipped default model:
 *   gallery.jpg    three contents x three styles at the default working size (256), shown at 256
 *   strength.jpg   one pair at strength 0 (G2's rendering of the content), 0.5, 0.8 and 1
 *   size.jpg       256x256 details of a 512-pixel result made at working size 256 (enlarged),
 *                  512, and 512 with the style's patches taken at 256
 * and prints the time of every call (this machine is shared: the times are indicative).
 *
 *   npx tsx scripts/stylize-gallery.ts [OUT_DIR]      (default docs/stylize)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { cropImage, readImage, resizeImage, type RgbImage } from '../src/core/image.ts';
import { load } from '../src/inference/inpainter.ts';
import type { StylizeOptions } from '../src/inference/stylize.ts';
import { TEST_PHOTOS, TEST_VGG_WEIGHTS } from '../src/inference/testing.ts';
import { renderSampleGrid } from '../src/core/sample-grid.ts';

const out = process.argv[2] ?? 'docs/stylize';
// Licences: docs/stylize.md (from ../shared/data/README.md).
const CONTENTS = ['python3-sklearn/china.jpg', 'python3-skimage/chelsea.jpg', 'darknet/dog.jpg'];
const STYLES = ['enlightenment-data/Sea-of-Lanterns.jpg', 'tuxpaint-data/ocean_waves.jpg', 'enlightenment-data/Red-Maple.jpg'];
const name = (file: string) => file.split('/')[1].replace(/\.jpg$/, '');

/** A photo with its longer side `side` pixels. */
async function photo(file: string, side: number): Promise<RgbImage> {
  const img = await readImage(join(TEST_PHOTOS, file));
  const f = side / Math.max(img.width, img.height);
  return resizeImage(img, Math.round(img.width * f), Math.round(img.height * f));
}

async function writeJpeg(path: string, rows: RgbImage[][], labels: string[], quality = 82): Promise<void> {
  const { bitmap } = renderSampleGrid(rows, { labels });
  await sharp(Buffer.from(bitmap.data.buffer), { raw: { width: bitmap.width, height: bitmap.height, channels: 4 } })
    .removeAlpha()
    .jpeg({ quality, mozjpeg: true })
    .toFile(path);
  console.log(`wrote ${path}`);
}

await mkdir(out, { recursive: true });
const inpainter = await load({ vggWeights: TEST_VGG_WEIGHTS });
const timed = async (label: string, content: RgbImage, style: RgbImage, options: StylizeOptions = {}) => {
  const t = performance.now();
  const { image } = await inpainter.stylize(content, style, options);
  console.log(`${label}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  return image;
};
try {
  // Each photo at 256: the working size, so every cell is the rendering itself, neither enlarged nor reduced.
  const contents = await Promise.all(CONTENTS.map((f) => photo(f, 256)));
  const styles = await Promise.all(STYLES.map((f) => photo(f, 256)));
  const blank: RgbImage = { width: 1, height: 1, data: new Float32Array(3).fill(1) };
  const rows: RgbImage[][] = [[blank, ...styles]];
  for (const [i, content] of contents.entries()) {
    const row = [content];
    for (const [j, style] of styles.entries()) row.push(await timed(`${name(CONTENTS[i])} x ${name(STYLES[j])}`, content, style));
    rows.push(row);
  }
  await writeJpeg(join(out, 'gallery.jpg'), rows, ['content', ...STYLES.map(name)]);

  const [content, style] = [contents[0], styles[1]];
  const strengths = [0, 0.5, 0.8, 1];
  const byStrength = [content];
  for (const s of strengths) byStrength.push(await timed(`strength ${s}`, content, style, { strength: s }));
  await writeJpeg(join(out, 'strength.jpg'), [byStrength], ['content', ...strengths.map((s) => `strength ${s}`)]);

  // A 512-pixel content: what each working size makes of it, a 256x256 detail at full resolution.
  const big = await photo(CONTENTS[0], 512);
  const bigStyle = await photo(STYLES[1], 512);
  const detail = (img: RgbImage) => cropImage(img, { x: 96, y: 40, width: 256, height: 256 });
  const sizes: [string, StylizeOptions][] = [
    ['size 256', { size: 256 }],
    ['size 512', { size: 512 }],
    ['512, style 256', { size: 512, styleSize: 256 }],
  ];
  const bySize = [detail(big)];
  for (const [label, options] of sizes) bySize.push(detail(await timed(label, big, bigStyle, options)));
  await writeJpeg(join(out, 'size.jpg'), [bySize], ['content', ...sizes.map(([l]) => l)]);
} finally {
  await inpainter.dispose();
}
