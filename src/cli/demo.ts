/** `inpaint demo`: the main job on a built-in photo and mask, with no arguments needed. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readImage, readMask, writeImage, type RgbImage } from '../core/image.ts';
import { load } from '../inference/inpainter.ts';
import type { Command } from './args.ts';

const ASSETS = fileURLToPath(new URL('../../assets/', import.meta.url));

export const demoCommand: Command = {
  summary: 'inpaint the built-in demo photo with the default model (writes demo/output.png)',
  help: `Usage: inpaint demo [-o DIR] [--model DIR] [--vgg FILE]

Fills two holes in a built-in photo (assets/demo.jpg, assets/demo-mask.png) with the default model
and writes DIR/output.png and DIR/comparison.png (input with the hole greyed | result | original).
DIR defaults to ./demo.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { out: { type: 'string', short: 'o', default: 'demo' }, model: { type: 'string' }, vgg: { type: 'string' } } });
    const image = await readImage(join(ASSETS, 'demo.jpg'));
    const mask = await readMask(join(ASSETS, 'demo-mask.png'));
    const t0 = performance.now();
    const inpainter = await load({ bundle: values.model, vggWeights: values.vgg });
    try {
      const result = await inpainter.inpaint(image, mask);
      for (const n of [...inpainter.notices, ...result.notices]) console.log(`note: ${n}`);
      await mkdir(values.out, { recursive: true });
      await writeImage(join(values.out, 'output.png'), result.image);
      const holed = { ...image, data: image.data.map((v, i) => (mask.data[i % (image.width * image.height)] ? 0.5 : v)) };
      await writeImage(join(values.out, 'comparison.png'), sideBySide([holed, result.image, image]));
      console.log(`wrote ${join(values.out, 'output.png')} and ${join(values.out, 'comparison.png')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      inpainter.dispose();
    }
  },
};

/** Images of one size placed left to right with a 4-pixel white gap. */
function sideBySide(images: RgbImage[]): RgbImage {
  const { width: w, height: h } = images[0];
  const gap = 4;
  const W = images.length * w + (images.length - 1) * gap;
  const data = new Float32Array(3 * W * h).fill(1);
  images.forEach((img, k) => {
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) data.set(img.data.subarray((c * h + y) * w, (c * h + y + 1) * w), (c * h + y) * W + k * (w + gap));
  });
  return { width: W, height: h, data };
}
