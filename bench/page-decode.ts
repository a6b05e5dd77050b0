/**
 * `npm run bench -- page-decode`: the page's own pixel work on a 4000x3000 photo, in Node (the same
 * code runs in the browser's main thread, where it must not freeze the page):
 *
 *   wand, small   `selectSimilar` on an object of about 300x200 (a click on it)
 *   wand, large   `selectSimilar` on the sky, about half the photo
 *   object, small `selectObject` in a 400x400 box around the object (a drag around it)
 *   object, large `selectObject` in a 2000x1500 box (a drag around a quarter of the photo)
 *   grow          `dilateMask` by 20 px of a 700x1000 hole (the page's Grow, the object tool's margin)
 *   rotate        `reframe` turning the photo 3 degrees (Straighten, `--rotate`), cubic resampling
 *   extend        `reframe` adding 10% on every side (`--extend`): copies
 *   tiff, lzw     `decodeTiff` of the photo as an LZW TIFF with the predictor (what Lightroom writes)
 *   tiff, none    `decodeTiff` of an uncompressed TIFF
 *   sharp         sharp (libvips, libtiff) decoding the LZW TIFF to RGBA, for scale
 *
 * The median of --runs calls (default 5) after one warm-up. The last line is one JSON object.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { selectObject } from '../src/core/grabcut.ts';
import { dilateMask, imageFromPixels } from '../src/core/raster.ts';
import { parseMargins, reframe } from '../src/core/reframe.ts';
import { selectSimilar } from '../src/core/select.ts';
import { decodeTiff } from '../src/core/tiff.ts';
import { photoPixels } from '../src/inference/testing.ts';
import { printTable, timeMedian } from './util.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const [W, H] = [4000, 3000];
// A real photo enlarged, with a flat red object painted on it.
const { data: rgb } = await photoPixels(W, H, 'enlightenment-data/Mountain.jpg');
const rgba = new Uint8ClampedArray(W * H * 4);
for (let i = 0; i < W * H; i++) {
  const inObject = Math.hypot((i % W) - 2000, Math.floor(i / W) - 2000) < 150;
  rgba.set(inObject ? [200, 30, 30] : rgb.subarray(3 * i, 3 * i + 3), 4 * i);
  rgba[4 * i + 3] = 255;
}
const pixels = { width: W, height: H, data: rgba };
const tiff = (compression: 'lzw' | 'none') =>
  sharp(Buffer.from(rgba.buffer), { raw: { width: W, height: H, channels: 4 } }).removeAlpha().tiff({ compression, predictor: compression === 'lzw' ? 'horizontal' : 'none' }).toBuffer();
const [lzwTiff, plainTiff] = [new Uint8Array(await tiff('lzw')), new Uint8Array(await tiff('none'))];

const sky = selectSimilar(pixels, 2000, 100, 40)!;
const image = imageFromPixels({ width: W, height: H, channels: 4, data: rgba, max: 255 }).image;
const hole = { width: W, height: H, data: new Uint8Array(W * H) };
for (let y = 1000; y < 2000; y++) for (let x = 1500; x < 2200; x++) if (((x - 1850) / 350) ** 2 + ((y - 1500) / 500) ** 2 <= 1) hole.data[y * W + x] = 1;
const cases: [string, () => Promise<unknown>, string][] = [
  ['wand, small', async () => selectSimilar(pixels, 2000, 2000, 32), '1 object'],
  ['wand, large', async () => selectSimilar(pixels, 2000, 100, 40), `${Math.round((100 * sky.runs.reduce((n, v, k) => (k % 2 ? n + v : n), 0)) / (W * H))}% of the photo`],
  ['object, small', async () => selectObject(pixels, { x: 1800, y: 1800, width: 400, height: 400 }), 'GrabCut, 5 rounds at most'],
  ['object, large', async () => selectObject(pixels, { x: 1000, y: 1200, width: 2000, height: 1500 }), 'on a grid of 90000 cells'],
  ['grow', async () => dilateMask(hole, 20), 'disc of 20 px'],
  ['rotate', async () => reframe({ image }, undefined, { rotate: 3 }), 'the same size, corners empty'],
  ['extend', async () => reframe({ image }, undefined, { extend: parseMargins('10%') }), '4800x3600'],
  ['tiff, lzw', () => decodeTiff(lzwTiff), `${(lzwTiff.length / 1e6).toFixed(1)} MB`],
  ['tiff, none', () => decodeTiff(plainTiff), `${(plainTiff.length / 1e6).toFixed(1)} MB`],
  ['sharp, lzw', () => sharp(lzwTiff).ensureAlpha().raw().toBuffer(), 'libvips'],
];
const figures: Record<string, number> = {};
const rows: string[][] = [];
for (const [name, run, note] of cases) {
  const s = await timeMedian(run, runs, 1);
  figures[name] = +s.toFixed(4);
  rows.push([name, s.toFixed(3), note]);
}
printTable(['4000x3000', 'seconds', ''], rows);
console.log(JSON.stringify({ bench: 'page-decode', runs, seconds: figures }));
