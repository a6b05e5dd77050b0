/**
 * `inpaint run`: fills the holes of one photo, or of every photo in a folder, with a model bundle
 * or, with `--method`, one of the baselines (PatchMatch, Telea, Navier-Stokes), which need no
 * weights. Flags, output paths, the input files (single mode) and the pairing (batch mode) are
 * checked before the model loads, so a typo costs no computation.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkMethodName, createMethod, type InpaintMethod, METHOD_NAMES, MODEL_STAGES } from '../baselines/index.ts';
import { InpaintError, InputError, UsageError } from '../core/errors.ts';
import { removeStaleTemporaryFiles } from '../core/files.ts';
import { type BoxInput, objectsInBoxes, parseBox } from '../core/grabcut.ts';
import { DEFAULT_MAX_PIXELS, opaqueWhereFilled, toRgba8, transparentHole } from '../core/raster.ts';
import { parseMargins, parseRotation, type ReframeOptions, reframes } from '../core/reframe.ts';
import { maskOfAreas } from '../core/select.ts';
import { formatFromPath, IMAGE_EXTENSIONS, type ImageWithAlpha, type MaskImage, READABLE_FORMATS, type ReadOptions, readImageWithAlpha, readMask, writeImage, writeMask } from '../core/image.ts';
import { fitMask, type InpaintOptions, type InpaintProgress, type InpaintResult, load, prepareHole, reframeHole, resolveInpaintOptions } from '../inference/index.ts';
import { checkWritableFile, checkWritableFolder, isImageFile, resultPath, sameFile, stemOf, writeResult } from './files.ts';
import { type Command, integer, joinNegativeValues, nonNegativeInt, nonNegativeNumber, parseScales, positiveInt } from './args.ts';

export const inpaintCommand: Command = {
  summary: 'fill the holes of a photo given a mask or a box around each object (or of a folder of photos, given masks)',
  help: `Usage:
  inpaint run IMAGE [--mask MASK] [--box X,Y,W,H] [-o OUT] [options]
  inpaint run --input DIR [--masks DIR] -o OUT_DIR [options]

Fills the holes a mask marks (white, or opaque on a transparent layer) in a photo of any size with
the paper's pipeline: G1's coarse fill, VGG19 features, patch-swap and G2, at one or more scales.
Known pixels are kept exactly; the fill is tone-matched and feathered into its surroundings. Large
photos are processed as crops around the holes, so they cost about as much as small ones.

--method picks another way to fill: g1-only (the paper's ablation without Feature2Image: G1's
coarse fill alone, from the same model), or a baseline that needs no model at all: patchmatch
(PatchMatch completion, like Content-Aware Fill), telea or navier-stokes (OpenCV's diffusion
inpainting). The baselines take only --dilate and --resize-mask of the model's options; g1-only
takes all but --max-scale, --refine, --locality, --match-colour, --sample-from, --exclude,
--no-native-detail, --no-guide and --debug.

Photos and masks may be JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC (an iPhone's photos). Batch mode
pairs each image in --input with a mask in --masks named <stem>_mask.<ext> or <stem>.<ext>, writes
OUT_DIR/<stem>.png (or the --format asked for), prints one line per image with the time the rest
will take at the pace so far, carries on past a failed pair and exits with 1 if any failed. A
batch that was stopped (Ctrl-C, a closed terminal) goes on where it stopped when run again with
--skip-existing. On a terminal, a line on stderr shows where a fill of the networks stands (the
scale, step 3 of 4), erased when it ends.

Outputs are written to a temporary file beside the target and renamed into place when complete, so
an interrupted run never leaves a truncated file (the next run removes the temporary file a killed
one left). -o may not be the photo or its mask (in batch mode: the --input or --masks folder)
unless --overwrite is given. A photo's alpha channel is kept in the output (PNG, WebP, TIFF), opaque
where the mask asks for a fill; its other fully transparent pixels are filled too, since their
stored colour is not content, and stay transparent. Its EXIF (the
date, camera and place) is kept too, in every output format, without the thumbnail that would
show what was removed, and its XMP's description (title, caption, keywords, creator, copyright,
rating; not its thumbnails, face regions or edit settings); --strip-metadata leaves both out. So
are its colour profile (an iPhone's Display P3: the photo is filled in its own colours, none
clipped to sRGB), and its 16 bits a channel, in a PNG or TIFF output. A black-and-white photo is
filled in grey, and a greyscale file's PNG, JPEG or TIFF output is greyscale. Notes say when an
animated image (or a TIFF of several pages) was read as its first frame, a 16-bit one read, or a
mask with grey pixels thresholded at 50%.

Options:
  --mask FILE         the mask of IMAGE (same size as the image unless --resize-mask). Without it,
                      IMAGE's transparent pixels are the hole (what was erased in an image editor,
                      saved as PNG, WebP or TIFF with transparency) and the result is opaque. In
                      batch mode: one mask for every photo, instead of --masks (a watermark, a date
                      stamp, a logo in the same place on each)
  --box X,Y,W,H       the hole is the object inside this box: its left and top edges, its width and
                      height, in IMAGE's pixels as shown (as a mask's). GrabCut tells the object from
                      what surrounds the box, and grows it by 1% of the box's longer side (at least
                      2 px); a note says how many pixels it took. Repeat it for several objects. With
                      --mask, both are the hole; without, so are IMAGE's transparent pixels, if any.
                      One IMAGE only
  --rotate DEG        straighten IMAGE: turn it DEG degrees clockwise about its centre (negative:
                      counter-clockwise; at most 45), keep its size, and fill the corners that leaves
                      empty. Any other hole (--mask, --box, transparency) is given in IMAGE's pixels
                      before the turn and is filled too. In batch mode, every photo is turned (its
                      mask, if it has one, in its own pixels)
  --extend PX|P%|L,T,R,B|W:H
                      add a border to IMAGE and fill it: PX pixels on every side, P% of the width at
                      the left and right and of the height at the top and bottom, or each side in
                      turn (left, top, right, bottom: e.g. 0,0,200,0 for 200 px on the right); or
                      W:H, the border that gives the photo that width to height, half on each of
                      the two sides that need it (1:1 square, 4:5 a portrait for a feed, 16:9 a
                      screen; none for a photo of that shape). Each side at most the photo's own
                      width or height. After --rotate; with or without another hole. In batch mode,
                      for every photo (a photo without a mask gets only the border)
  -o, --out PATH      the output image (.png, .jpg, .webp or .tif; PNG and TIFF keep the known pixels
                      exact), or the output folder in batch mode. Without it, one IMAGE's result goes
                      beside it as <stem>-inpainted.<ext>, in IMAGE's format (PNG for a GIF, AVIF or
                      HEIC), or -inpainted-2 and so on where that file exists: nothing is replaced.
                      A folder (one that exists, or a path ending in /) gets that name inside it
  --input DIR         batch mode: the folder of photos
  --masks DIR         batch mode: the folder of masks (default --input, where masks are named
                      <stem>_mask); a photo with no mask there is filled where it is transparent
  --format EXT        batch mode: the results' format, png, jpg, webp or tif (default png: every
                      known pixel exact)
  --skip-existing     batch mode: leave out the photos whose result is already in OUT_DIR (to go
                      on with a batch that was stopped); without it such results are replaced
  --method NAME       ${METHOD_NAMES.join(', ')} (default ours)
  --model DIR         the model bundle folder (default: models/default of this package)
  --vgg FILE          the VGG19 weights (default: INPAINT_VGG_WEIGHTS, the cache, else downloaded once)
  --scales LIST       working scales, comma separated, e.g. 256,512 (default: 256, then more, each
                      at most twice the last, until the area around the hole is less than 1.5x
                      the last: 256,512 for a 600 px area, 256,512,900 for a 900 px one; past
                      2048 only as far as that needs: 256,512,1024,2667 for 4000 px; an area
                      over twice as long as it is wide starts where it is 128 px across: 384 for
                      3000x1000; without a G2 trained there, a scale renders only the finest detail)
  --max-scale N       the largest default scale, 256 to 65536 (default 65536, lowered for an area
                      whose fill would take more than 3/4 of this machine's memory, with a note):
                      an area of 1.5 x N px or more is enlarged from N (with a note). A lower N
                      bounds the time and memory of large areas: a 3000 px area takes 1.9 GB at
                      2048, 1.6 at 1024; an 8000 px one 6.9 GB at its default 5334, 5.8 at 4096
  --refine N          extra VGG -> patch-swap -> G2 passes at the last scale (default 0)
  --ensemble N        fill in N orientations (1, 2, 4 or 8: mirrored and turned) and average the
                      fills, at N times the work: more is closer to the original but smoother (8 is
                      as smooth as diffusion inpainting); 1 keeps the most texture (default 1)
  --locality X        how strongly patch-swap prefers nearby patches among near-equal matches; 0 is
                      the paper's patch-swap (default 1, see docs/decisions/patch-locality.md)
  --match-colour W    how much patch-swap's match weighs the guide's colour beside the features'
                      pattern; 0 is the paper's colour-blind match (default 60, see docs/results.md)
  --dilate PX         grow the hole by PX pixels first; also the width of the feathered seam (default 2)
  --resize-mask       resize a mask of another size to the image instead of refusing it
  --overwrite         allow -o to be the input photo or mask (batch: the --input or --masks folder)
  --strip-metadata    write the result without the photo's EXIF and XMP (by default its date,
                      camera, exposure and place are kept in the result, never its
                      thumbnail, and its title, caption, keywords, creator and copyright in any)
  --max-pixels N      read photos and masks of up to N pixels (default 100000000; e.g. 120000000 for
                      a 108-megapixel photo)
  --sample-from MASK  copy only from the white pixels of MASK (the image's size): steer a fill that
                      copied the wrong thing (docs/sampling-region.md); one IMAGE only
  --exclude MASK      never copy from the white pixels of MASK, nor continue their colours into
                      the hole: a person beside the object removed, a second object of the kind
                      removed; one IMAGE only
  --no-native-detail  never add the photo's own detail from where the fill's patches came (to fills
                      enlarged from their working scale, to guided fills, and to what the second
                      scale matches on), nor take the patch collage's mid band (its blotches and
                      edges) out of guided fills and mix a diffusion fill (coherence transport)
                      into their coarse and mid bands: leave the fill as rendered
                      (docs/decisions/native-detail.md, diffusion-mix.md)
  --no-guide          match the hole on VGG features of G1's coarse fill (the paper's guide) even when
                      the model has a feature guide (docs/decisions/feature-guide.md)
  --sources FILE      also write where the fill copied its patches from, as a mask (white = copied
                      from): if a fill took the wrong thing, pass it (or the part of it that was
                      wrong) as --exclude on the next run. In batch mode a folder, of
                      <stem>.sources.png
  --debug DIR         also write each region's intermediates: <stem>.r<i>.coarse.png (G1's fill),
                      .before-blend.png (G2's result) and .provenance.png (where patches came from)

Exit codes: 0 done, 1 a file could not be read or written (or, in batch mode, some pair failed),
2 bad flags, a mask that cannot be used (wrong size, hole too large) or a --box in which nothing was
found.

Examples:
  inpaint run photo.jpg --mask mask.png -o filled.png
  inpaint run photo.jpg --mask mask.png -o filled.png --model models/paper --scales 256,512 --dilate 4
  inpaint run photo.jpg --mask mask.png -o filled.png --method patchmatch
  inpaint run photo.jpg --box 120,80,60,140 -o filled.png   # remove what the box holds
  inpaint run photo.jpg --rotate -2.5 -o straight.jpg       # level a horizon, fill the corners
  inpaint run photo.jpg --extend 0,0,15%,0 -o wider.jpg     # more room on the right
  inpaint run --input photos/ --extend 1:1 -o square/       # every photo square, nothing cropped
  inpaint run --input photos/ --masks masks/ -o filled/ --debug filled/debug`,
  run: runInpaint,
};

/** One image to do: where to read it and its mask, where to write the result. */
interface Pair {
  name: string;
  image: string;
  mask?: string;
  out: string;
  /** Why the pair cannot be done (a name clash), found while pairing. */
  problem?: string;
  /** Where its mask was looked for, when none was found (it is then filled where it is transparent). */
  noMask?: string;
}

/**
 * A photo given without a mask, whose hole is its own transparency (what was erased in an image
 * editor): the photo without its alpha, so that the result is opaque, and that hole. A note says so.
 * @throws UsageError `none` when nothing in it is transparent; another when all of it is
 */
async function erasedPhoto(path: string, read: ReadOptions, none: string): Promise<{ image: ImageWithAlpha; mask: MaskImage }> {
  const erased = erasedHole(path, await readPhoto(path, read), read);
  if (!erased) throw new UsageError(none);
  return erased;
}

/**
 * `erasedPhoto` of a photo read: undefined when nothing in it is transparent.
 * @throws UsageError when every pixel is: as the hole it would leave nothing to fill from
 */
function erasedHole(path: string, { image, alpha }: ImageWithAlpha, read: ReadOptions): { image: ImageWithAlpha; mask: MaskImage } | undefined {
  const hole = alpha && transparentHole(alpha, image.width, image.height);
  if (!hole?.count) return undefined;
  if (hole.count === image.width * image.height) {
    throw new UsageError(
      `every pixel of ${path} is transparent or mostly (alpha under one half), so as the hole it leaves nothing to fill from: ` +
        'give the hole with --mask or --box, or flatten the image onto a background first',
    );
  }
  read.onNotice?.(`no mask: the ${hole.count} transparent pixels of ${path} are the hole, and the result is opaque`);
  return { image: { image }, mask: hole.mask };
}

/**
 * One IMAGE and its hole: --mask, else its transparent pixels (the result then opaque); with --box,
 * united with the object found in each box. Read before the model loads, so that a box in which
 * nothing is found costs no more than reading the photo.
 * @param framed whether --rotate or --extend will add a hole of their own, so that none is needed here
 * @throws UsageError no hole at all, a --mask of another size to unite with (without --resize-mask),
 *   or a box that cannot be used (`objectsInBoxes`)
 */
async function photoAndHole(path: string, maskPath: string | undefined, boxes: BoxInput[], read: ReadOptions, resize: boolean, framed: boolean): Promise<{ image: ImageWithAlpha; mask: MaskImage }> {
  if (boxes.length === 0 && !framed) {
    if (maskPath !== undefined) return { image: await readPhoto(path, read), mask: await readMask(maskPath, read) };
    return erasedPhoto(path, read, `missing --mask MASK: ${path} has no transparent area to fill (give a mask, or --box X,Y,W,H around what should go; or paint over it in the page that \`npx inpaint serve\` opens; or erase it in an image editor and save the photo with its transparency, as PNG, WebP or TIFF)`);
  }
  const photo = await readPhoto(path, read);
  const { width, height } = photo.image;
  const notices: string[] = [];
  const painted = maskPath === undefined ? undefined : fitMask(await readMask(maskPath, read), photo.image, resize, notices, `the mask ${maskPath}`);
  for (const n of notices) read.onNotice?.(n);
  const objects = objectsInBoxes({ width, height, data: toRgba8(photo.image) }, boxes, '--box', read.onNotice);
  const erased = painted ? undefined : erasedHole(path, photo, read);
  return { image: erased?.image ?? photo, mask: maskOfAreas(objects, width, height, painted ?? erased?.mask) };
}

const FRAME_FLAGS = { rotate: '--rotate', extend: '--extend' };

/**
 * A photo of a batch turned and/or given a border as --rotate and --extend say, and its hole: the
 * pixels that leaves empty, with its mask or transparent pixels (in its own pixels), if any.
 * @param masksGiven whether the batch has a --masks folder, so that a photo without one there is worth a note
 * @throws UsageError a border too wide for this photo, a result over --max-pixels, a mask of another size
 */
async function framedPhoto(pair: Pair, frame: ReframeOptions, read: ReadOptions, resize: boolean, masksGiven: boolean): Promise<{ image: ImageWithAlpha; mask: MaskImage }> {
  const { image, mask } = await photoAndHole(pair.image, pair.mask, [], read, resize, true);
  if (masksGiven && pair.mask === undefined) read.onNotice?.(`${pair.noMask}: only what --rotate and --extend leave empty (and any transparent pixels) is filled`);
  const notices: string[] = [];
  const framed = reframeHole(image, mask, {}, frame, { resize, maxPixels: read.maxPixels ?? DEFAULT_MAX_PIXELS, flags: FRAME_FLAGS }, notices);
  for (const n of notices) read.onNotice?.(n);
  return { image: framed.photo, mask: framed.hole };
}

/**
 * A photo to fill, in its own colour space: the result is written with its ICC profile
 * (`writeResult`), so that what is outside the hole keeps the colours sRGB cannot show.
 */
const readPhoto = (path: string, read: ReadOptions): Promise<ImageWithAlpha> => readImageWithAlpha(path, { ...read, keepProfile: true });

async function runInpaint(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(args, ['--rotate']),
    allowPositionals: true,
    options: {
      mask: { type: 'string' },
      box: { type: 'string', multiple: true },
      method: { type: 'string' },
      out: { type: 'string', short: 'o' },
      input: { type: 'string' },
      masks: { type: 'string' },
      model: { type: 'string' },
      vgg: { type: 'string' },
      scales: { type: 'string' },
      'max-scale': { type: 'string' },
      refine: { type: 'string' },
      ensemble: { type: 'string' },
      locality: { type: 'string' },
      'match-colour': { type: 'string' },
      dilate: { type: 'string' },
      'resize-mask': { type: 'boolean' },
      overwrite: { type: 'boolean' },
      'skip-existing': { type: 'boolean' },
      'strip-metadata': { type: 'boolean' },
      'max-pixels': { type: 'string' },
      rotate: { type: 'string' },
      extend: { type: 'string' },
      format: { type: 'string' },
      'sample-from': { type: 'string' },
      exclude: { type: 'string' },
      'no-native-detail': { type: 'boolean' },
      'no-guide': { type: 'boolean' },
      debug: { type: 'string' },
      sources: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new UsageError(`Expected one IMAGE but received ${positionals.length}: ${positionals.join(' ')} (use --input DIR for a folder)`);
  const [single] = positionals;
  if (single !== undefined && values.input !== undefined) throw new UsageError('give either IMAGE or --input DIR, not both');
  if (single === undefined && values.input === undefined) throw new UsageError('missing IMAGE (or --input DIR for a folder of photos)');
  const boxes: BoxInput[] = (values.box ?? []).map((text) => ({ text, box: parseBox(text, '--box') }));
  const frame: ReframeOptions = {
    rotate: values.rotate === undefined ? undefined : parseRotation(values.rotate, '--rotate'),
    extend: values.extend === undefined ? undefined : parseMargins(values.extend, '--extend'),
  };
  const method = checkMethodName(values.method ?? 'ours');
  const stage = MODEL_STAGES[method];
  const matchFlags = ['locality', 'match-colour', 'sample-from', 'exclude', 'no-native-detail', 'no-guide'];
  const modelFlags = stage === undefined ? ['model', 'vgg', 'scales', 'max-scale', 'refine', 'ensemble', 'debug', 'sources', ...matchFlags] : stage === 'g1' ? ['max-scale', 'refine', 'sources', ...matchFlags] : [];
  for (const flag of modelFlags) {
    if (values[flag as keyof typeof values] !== undefined) throw new UsageError(`--${flag} does not apply to --method ${method}`);
  }
  const options: InpaintOptions = {
    scales: values.scales === undefined ? undefined : parseScales(values.scales),
    maxScale: values['max-scale'] === undefined ? undefined : integer(values['max-scale'], '--max-scale'),
    refine: values.refine === undefined ? undefined : nonNegativeInt(values.refine, '--refine'),
    ensemble: values.ensemble === undefined ? undefined : nonNegativeInt(values.ensemble, '--ensemble'),
    locality: values.locality === undefined ? undefined : nonNegativeNumber(values.locality, '--locality'),
    matchColour: values['match-colour'] === undefined ? undefined : nonNegativeNumber(values['match-colour'], '--match-colour'),
    dilate: values.dilate === undefined ? undefined : nonNegativeInt(values.dilate, '--dilate'),
    resizeMask: values['resize-mask'] ?? false,
    debug: values.debug !== undefined,
    sources: values.sources !== undefined,
    stage,
    maxPixels: values['max-pixels'] === undefined ? undefined : positiveInt(values['max-pixels'], '--max-pixels'),
    nativeDetail: values['no-native-detail'] ? false : undefined,
    guide: values['no-guide'] ? false : undefined,
  };
  const overwrite = values.overwrite ?? false;
  const keepMetadata = !(values['strip-metadata'] ?? false);
  resolveInpaintOptions(options);
  if (values.debug !== undefined) await checkWritableFolder(values.debug);

  if (single !== undefined) {
    if (values['skip-existing']) throw new UsageError('--skip-existing is for batch mode (--input DIR); one IMAGE without -o never replaces a result');
    if (values.masks !== undefined) throw new UsageError('--masks is for batch mode (--input DIR); give the mask of IMAGE with --mask');
    if (values.format !== undefined) throw new UsageError("--format is for batch mode (--input DIR); -o's extension names the format of one IMAGE's result");
    const out = await resultPath(values.out, single, 'inpainted');
    formatFromPath(out);
    for (const [path, flag] of [[out, '-o'], [values.sources, '--sources']] as const) {
      if (path === undefined) continue;
      if (!overwrite) {
        for (const [input, what] of [[single, 'the input photo'], [values.mask, 'its mask']]) {
          if (input !== undefined && (await sameFile(path, input))) throw new UsageError(`${flag} ${path} is ${what}: writing it would replace the original; choose another ${flag}, or pass --overwrite`);
        }
      }
      await checkWritableFile(path);
    }
    if (values.sources !== undefined) {
      formatFromPath(values.sources);
      if (resolve(values.sources) === resolve(out)) throw new UsageError(`--sources ${values.sources} is the result's own path (-o): choose another file for the mask`);
    }
    await removeStaleTemporaryFiles(dirname(resolve(out)));
    // Read the inputs first: a bad file should fail before the model loads.
    const readNotes: string[] = [];
    const read: ReadOptions = { maxPixels: options.maxPixels, onNotice: (n) => readNotes.push(n) };
    let { image, mask } = await photoAndHole(single, values.mask, boxes, read, options.resizeMask ?? false, reframes(frame));
    let sampleFrom = values['sample-from'] === undefined ? undefined : await readMask(values['sample-from'], read);
    let exclude = values.exclude === undefined ? undefined : await readMask(values.exclude, read);
    if (reframes(frame)) {
      const notices: string[] = [];
      ({ photo: image, hole: mask, sampleFrom, exclude } = reframeHole(image, mask, { sampleFrom, exclude }, frame, { resize: options.resizeMask ?? false, maxPixels: read.maxPixels ?? DEFAULT_MAX_PIXELS, flags: FRAME_FLAGS }, notices));
      for (const n of notices) read.onNotice?.(n);
    }
    if (sampleFrom) options.sampleFrom = sampleFrom;
    if (exclude) options.exclude = exclude;
    const filler = await createFiller(method, options, values.model, values.vgg);
    try {
      const result = await filler.fill(image, mask);
      await save(out, result, values.debug, stemOf(single), single, keepMetadata);
      if (values.sources !== undefined) await writeMask(values.sources, result.sources!);
      for (const n of [...readNotes, ...result.notices]) console.error(`note: ${n}`);
      console.log(`${single} -> ${out}${values.sources === undefined ? '' : ` (copied from: ${values.sources})`}`);
    } finally {
      await filler.dispose();
    }
    return;
  }

  if (values.mask !== undefined && values.masks !== undefined) throw new UsageError('give --mask FILE (one mask for every photo) or --masks DIR (a mask for each), not both');
  // GrabCut finds an object in one photo's box; in another photo the same box holds something else.
  if (boxes.length > 0) throw new UsageError("--box takes a box in one IMAGE; for a batch, give each photo's hole as a mask (--masks DIR), or one --mask FILE for every photo");
  const skipExisting = values['skip-existing'] ?? false;
  const ext = (values.format ?? 'png').toLowerCase().replace(/^\./, '');
  try {
    formatFromPath(`result.${ext}`);
  } catch {
    throw new UsageError(`Expected png, jpg, webp or tif for --format but received ${JSON.stringify(values.format)}`);
  }
  for (const flag of ['sample-from', 'exclude'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} takes the mask of one IMAGE; in batch mode each photo would need its own`);
  }
  if (values.sources !== undefined) await checkWritableFolder(values.sources);
  const maskDir = values.masks ?? values.input!;
  if (!values.out) throw new UsageError('missing -o OUT_DIR (the folder for the results)');
  const outDir = values.out;
  if (!overwrite) {
    for (const [dir, flag] of [[values.input!, '--input'], [maskDir, '--masks']]) {
      if (await sameFile(outDir, dir)) throw new UsageError(`-o ${outDir} is the ${flag} folder: results would replace the originals; choose another -o, or pass --overwrite`);
    }
  }
  await checkWritableFolder(outDir);
  await removeStaleTemporaryFiles(outDir);
  const all = await pairFolder(values.input!, maskDir, outDir, ext, values.mask);
  const pairs = skipExisting ? all.filter((pair) => !existsSync(pair.out)) : all;
  const skipped = all.length - pairs.length;
  if (skipped > 0) console.log(`${skipped} of ${all.length} images skipped: their results are in ${outDir} (--skip-existing)`);
  // One mask for every photo: a bad one is said before the model loads, not once per photo.
  if (values.mask !== undefined) await readMask(values.mask, { maxPixels: options.maxPixels });
  const framed = reframes(frame);
  const filler = await createFiller(method, options, values.model, values.vgg);
  const failed: string[] = [];
  const batchStarted = performance.now();
  try {
    for (const [i, pair] of pairs.entries()) {
      const tag = `[${i + 1}/${pairs.length}] ${pair.name}`;
      const started = performance.now();
      try {
        if (pair.problem) throw new InputError(pair.problem);
        // A photo without a mask is filled where it is transparent, if anywhere.
        const notes: string[] = [];
        const read: ReadOptions = { maxPixels: options.maxPixels, onNotice: (n) => notes.push(n) };
        const { image, mask } = framed
          ? await framedPhoto(pair, frame, read, options.resizeMask ?? false, values.masks !== undefined)
          : pair.mask !== undefined
            ? { image: await readPhoto(pair.image, read), mask: pair.mask }
            : await erasedPhoto(pair.image, read, `${pair.noMask}, and it has no transparent area to fill`);
        const result = await filler.fill(image, mask);
        result.notices.unshift(...notes);
        await save(pair.out, result, values.debug, stemOf(pair.name), pair.image, keepMetadata);
        if (values.sources !== undefined) await writeMask(join(values.sources, `${stemOf(pair.name)}.sources.png`), result.sources!);
        // How long the rest will take, at the pace so far: a batch of hundreds runs for hours.
        const left = pairs.length - (i + 1);
        const eta = left > 0 ? `; about ${roughDuration((((performance.now() - batchStarted) / (i + 1)) * left) / 1000)} left` : '';
        console.log(`${tag} -> ${pair.out} (${((performance.now() - started) / 1000).toFixed(2)} s${eta})`);
        for (const n of result.notices) console.log(`  note: ${n}`);
      } catch (err) {
        if (!(err instanceof InpaintError)) throw err;
        failed.push(pair.name);
        console.log(`${tag}: FAILED: ${err.message}`);
      }
    }
  } finally {
    await filler.dispose();
  }
  console.log(`${pairs.length - failed.length} of ${pairs.length} images inpainted into ${outDir}`);
  if (failed.length > 0) throw new InputError(`${failed.length} of ${pairs.length} images failed: ${failed.join(', ')}`);
}

/** Seconds as a person reads a wait: 40 s, 12 min, 3 h 5 min. */
export function roughDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Fills one photo given its mask, with our networks or a baseline. */
interface Filler {
  fill(image: ImageWithAlpha, mask: string | MaskImage): Promise<InpaintResult>;
  dispose(): void | Promise<void>;
}

/**
 * Our networks (`stage` set: the model loads, with its warnings printed) or a baseline. A baseline
 * gets the mask prepared as the inpainter prepares its own: resized (with `resizeMask`) or refused
 * when its size differs, then dilated, so that all methods fill the same pixels.
 */
async function createFiller(method: string, options: InpaintOptions, model: string | undefined, vgg: string | undefined): Promise<Filler> {
  if (options.stage !== undefined) {
    const inpainter = await load({ bundle: model, vggWeights: vgg });
    for (const n of inpainter.notices) console.error(`warning: ${n}`);
    const progress = progressLine(process.stderr);
    const fill = async (image: ImageWithAlpha, mask: string | MaskImage) => {
      try {
        // The command reads each image for this one call: the result may be written into it.
        return await inpainter.inpaint(image, mask, { ...options, inPlace: true, onProgress: progress.onProgress });
      } finally {
        progress.clear();
      }
    };
    return { fill, dispose: () => inpainter.dispose() };
  }
  const { dilate, resizeMask: resize, maxPixels } = resolveInpaintOptions(options);
  const baseline: InpaintMethod = await createMethod(method);
  const fill = async ({ image: photo, alpha }: ImageWithAlpha, mask: string | MaskImage): Promise<InpaintResult> => {
    const notices: string[] = [];
    const asked = typeof mask === 'string' ? await readMask(mask, { maxPixels, onNotice: (n) => notices.push(n) }) : mask;
    const hole = prepareHole(photo, asked, alpha, { resizeMask: resize, dilate }, notices);
    return { image: hole ? await baseline.inpaint(photo, hole.mask) : photo, notices, ...(alpha ? { alpha: opaqueWhereFilled(alpha, asked, photo.width, photo.height) } : {}) };
  };
  return { fill, dispose: () => baseline.dispose() };
}

/**
 * A long fill's progress on a terminal: one line on `stream` ("inpainting: 1024 px, step 3 of 4"),
 * rewritten at each step and erased when the fill ends, so that what is printed after it starts on
 * a clean line. Nothing where `stream` is not a terminal (a log file, a pipe).
 */
export function progressLine(stream: NodeJS.WritableStream & { isTTY?: boolean }): { onProgress?: (p: InpaintProgress) => void; clear: () => void } {
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  if (!stream.isTTY) return { clear };
  const onProgress = (p: InpaintProgress) => {
    if (p.done === p.total) return clear();
    const area = p.regions > 1 ? ` area ${p.region} of ${p.regions},` : '';
    stream.write(`\r\x1b[Kinpainting:${area} ${p.scale} px, step ${p.done + 1} of ${p.total}`);
    shown = true;
  };
  return { onProgress, clear };
}

/**
 * Writes the result with the alpha, the bit depth and (unless `keepMetadata` is false) the EXIF and XMP of its
 * photo; then the debug images.
 */
async function save(out: string, result: InpaintResult, debugDir: string | undefined, stem: string, photo: string, keepMetadata: boolean): Promise<void> {
  await writeResult(out, result.image, photo, { alpha: result.alpha, keepMetadata, keepProfile: true, notices: result.notices });
  if (debugDir === undefined || !result.debug) return;
  for (const [i, r] of result.debug.regions.entries()) {
    await writeImage(join(debugDir, `${stem}.r${i}.coarse.png`), r.coarse);
    await writeImage(join(debugDir, `${stem}.r${i}.before-blend.png`), r.beforeBlend);
    await writeImage(join(debugDir, `${stem}.r${i}.provenance.png`), r.provenance);
  }
}

/**
 * Pairs every image of `inputDir` with its mask in `maskDir`: `<stem>_mask.<ext>` first, else
 * `<stem>.<ext>` (not the image itself when both folders are one). Files named `*_mask.<ext>` are
 * masks, never inputs.
 * @throws UsageError when a folder cannot be listed or holds no image
 */
async function pairFolder(inputDir: string, maskDir: string, outDir: string, ext: string, shared?: string): Promise<Pair[]> {
  const list = async (dir: string, what: string) => {
    try {
      return (await readdir(dir)).filter(isImageFile).sort();
    } catch (err) {
      throw new UsageError(`cannot list the ${what} folder ${dir}: ${(err as Error).message}`);
    }
  };
  // The shared mask is no photo, even when it lies among them.
  const images = (await list(inputDir, '--input')).filter((f) => !stemOf(f).endsWith('_mask') && (shared === undefined || resolve(inputDir, f) !== resolve(shared)));
  if (images.length === 0) throw new UsageError(`no ${READABLE_FORMATS} images in ${inputDir}`);
  const masks = new Map<string, string>(); // lower-cased name without extension -> file name
  for (const f of await list(maskDir, '--masks')) {
    const key = stemOf(f).toLowerCase();
    if (!masks.has(key)) masks.set(key, f);
  }
  const sameFolder = resolve(inputDir) === resolve(maskDir);
  const stems = new Map<string, number>();
  for (const f of images) stems.set(stemOf(f), (stems.get(stemOf(f)) ?? 0) + 1);
  return images.map((name) => {
    const stem = stemOf(name);
    const own = shared ?? masks.get(`${stem}_mask`.toLowerCase()) ?? (sameFolder ? undefined : masks.get(stem.toLowerCase()));
    const pair: Pair = { name, image: join(inputDir, name), out: join(outDir, `${stem}.${ext}`) };
    if (own) pair.mask = shared ?? join(maskDir, own);
    else pair.noMask = `no mask for it in ${maskDir} (looked for ${stem}_mask${sameFolder ? '' : ` and ${stem}`} with an image extension: ${IMAGE_EXTENSIONS.join(', ')})`;
    if (stems.get(stem)! > 1) pair.problem = `another image in ${inputDir} has the stem "${stem}", and both would be written to ${pair.out}`;
    return pair;
  });
}

