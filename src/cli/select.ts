/**
 * `inpaint select`: the mask of the object GrabCut finds in a box drawn around it (`selectObject`),
 * written to look at or edit before a fill, or to give to `inpaint run --mask` (a batch's `--masks`).
 * The same hole `inpaint run --box` fills, before its `--dilate`.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { type BoxInput, objectsInBoxes, parseBox } from '../core/grabcut.ts';
import { formatFromPath, readImage, writeMask } from '../core/image.ts';
import { toRgba8 } from '../core/raster.ts';
import { maskOfAreas } from '../core/select.ts';
import { type Command, nonNegativeInt, positiveInt } from './args.ts';
import { checkNotInput, checkWritableFile } from './files.ts';

export const selectCommand: Command = {
  summary: 'write the mask of the object in a box drawn around it (GrabCut), for --mask',
  help: `Usage: inpaint select IMAGE --box X,Y,W,H [--box X,Y,W,H ...] -o MASK [options]

Writes a mask of IMAGE's size, white where the object in each box is: what in the box stands apart
from a ring around it (GrabCut), grown by a margin to take its soft outline. It is the hole
'inpaint run --box' fills; written, it can be looked at and touched up in any image editor, then
given to 'inpaint run --mask' (or, one per photo, to a batch's --masks).

Options:
  --box X,Y,W,H       the box around an object: its left and top edges, its width and height, in
                      IMAGE's pixels as shown (after its EXIF orientation); repeat it for several
  -o, --out MASK      the mask to write (.png, .jpg, .webp or .tif; PNG keeps it exact)
  --margin PX         grow each object by PX pixels (default: 1% of its box's longer side, at least
                      2 px)
  --max-pixels N      read photos of up to N pixels (default 100000000)

A note on stderr says how many pixels each box took. Exit codes: 0 done, 1 IMAGE could not be read
or MASK written, 2 bad flags or a box in which nothing was found (or one outside the photo, or over
all of it).

Examples:
  inpaint select photo.jpg --box 120,80,60,140 -o mask.png
  inpaint run photo.jpg --mask mask.png -o filled.png`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        box: { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
        margin: { type: 'string' },
        'max-pixels': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing IMAGE' : `one IMAGE at a time, not ${positionals.length}`);
    const [image] = positionals;
    if (!values.box?.length) throw new UsageError('missing --box X,Y,W,H: the box drawn around the object to select');
    if (values.out === undefined) throw new UsageError('missing -o MASK: where to write the mask');
    const boxes: BoxInput[] = values.box.map((text) => ({ text, box: parseBox(text, '--box') }));
    const margin = values.margin === undefined ? undefined : nonNegativeInt(values.margin, '--margin');
    const maxPixels = values['max-pixels'] === undefined ? undefined : positiveInt(values['max-pixels'], '--max-pixels');
    formatFromPath(values.out);
    await checkNotInput([values.out], [image]);
    await checkWritableFile(values.out);

    const photo = await readImage(image, { maxPixels });
    const notes: string[] = [];
    const objects = objectsInBoxes({ width: photo.width, height: photo.height, data: toRgba8(photo) }, boxes, '--box', (n) => notes.push(n), { margin });
    const mask = maskOfAreas(objects, photo.width, photo.height);
    await writeMask(values.out, mask);
    for (const n of notes) console.error(`note: ${n}`);
    const selected = mask.data.reduce((sum, v) => sum + v, 0);
    console.log(`${image} -> ${values.out} (${selected.toLocaleString('en-US')} px, ${((100 * selected) / (photo.width * photo.height)).toFixed(1)}% of the photo)`);
  },
};
