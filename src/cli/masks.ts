/** `inpaint masks`: writes sample masks of a generator so people can see what training uses. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { holeFraction, writeMask } from '../core/image.ts';
import { MASK_KINDS, MaskFolder, makeMask } from '../data/masks.ts';
import { type Command, positiveInt } from './args.ts';

export const masksCommand: Command = {
  summary: 'write sample masks of a mask generator (to see what training uses)',
  help: `Usage: inpaint masks [--kind KIND] [--count N] [--size S] [--seed N] [--folder DIR] -o OUT_DIR

Writes N masks as PNG files (white = hole) into OUT_DIR and prints each one's hole fraction.

Options:
  --kind KIND    ${MASK_KINDS.join(', ')} (default rectangles)
  --count N      how many masks (default 8)
  --size S       width and height in pixels (default 256)
  --seed N       random seed (default 0); the same seed gives the same masks
  --folder DIR   with --kind folder: the folder of user masks to sample from
  -o, --out DIR  where to write (created if missing)

Example:
  inpaint masks --kind strokes-medium --count 4 -o /tmp/masks`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        kind: { type: 'string', default: 'rectangles' },
        count: { type: 'string', default: '8' },
        size: { type: 'string', default: '256' },
        seed: { type: 'string', default: '0' },
        folder: { type: 'string' },
        out: { type: 'string', short: 'o' },
      },
    });
    if (!values.out) throw new UsageError('missing -o OUT_DIR');
    const count = positiveInt(values.count, '--count');
    const size = positiveInt(values.size, '--size');
    const rng = new Rng(Number(values.seed));
    const folder = values.folder ? await MaskFolder.open(values.folder) : undefined;
    await mkdir(values.out, { recursive: true });
    for (let i = 0; i < count; i++) {
      const mask = await makeMask(values.kind, size, size, rng, { folder });
      const path = join(values.out, `${values.kind}-${String(i).padStart(3, '0')}.png`);
      await writeMask(path, mask);
      console.log(`${path}  hole ${(100 * holeFraction(mask)).toFixed(1)}%`);
    }
  },
};
