/**
 * `inpaint eval`: compares inpainting methods on a folder of photos under fixed protocols and writes
 * the report (results.csv, summary.md, index.html). Every flag is checked before any model loads.
 */
import { parseArgs } from 'node:util';
import { checkMethodName, createMethod, METHOD_NAMES } from '../baselines/index.ts';
import type { InpaintMethod } from '../baselines/method.ts';
import { UsageError } from '../core/errors.ts';
import { evaluate, PROTOCOL_NAMES, PROTOCOLS, checkProtocols, SPLIT_SEED, VAL_FRACTION } from '../evaluation/index.ts';
import { FrozenVgg } from '../features/vgg.ts';
import { loadVggWeights } from '../features/vgg-weights.ts';
import { findVggWeights } from '../features/weights-location.ts';
import { resolveInpaintOptions } from '../inference/inpainter.ts';
import { defaultEngine } from '../runtime/engine.ts';
import { type Command, nonNegativeNumber, parseScales, positiveInt } from './args.ts';

/** The protocols run when --protocols is not given: the paper's two settings and random rectangles. */
export const DEFAULT_PROTOCOLS = ['centre-256', 'rectangles-256', 'centre-512'] as const;

export const evalCommand: Command = {
  summary: 'compare inpainting methods on a folder of photos (l1, PSNR, SSIM, detail, perceptual; CSV, markdown and HTML report)',
  help: `Usage: inpaint eval --data DIR [--methods LIST] [--protocols LIST] [--split val|all] [--limit N]
                    [--model DIR] [--vgg FILE] [--ensemble N] [--scales LIST] [--locality X] [--match-colour W]
                    [--no-guide] [--no-native-detail] [--seed N]
                    [--grids N] [--reference METHOD] -o OUT_DIR

Runs every method on exactly the same inputs and scores each output against the ground truth:
mean l1 error in % over the hole and over the whole image, PSNR (dB), SSIM over the whole image and
over the hole's bounding box (scikit-image's Gaussian SSIM), the VGG19 relu3_1 perceptual distance,
and the fill's detail: its pixel-to-pixel variation in the hole in % of the original's (not ranked:
smooth fills score low and score well on l1 and SSIM; noise can score over 100). Each photo is
resized (short side) and centre-cropped to the protocol's size; each mask is seeded by (seed,
protocol, image index) and saved under OUT_DIR/masks/<protocol>/, and a saved mask is reused, so
later runs into the same OUT_DIR see identical inputs.

Writes OUT_DIR/results.csv (one line per image and method), OUT_DIR/summary.md (means per protocol
and method, with seconds per image) and OUT_DIR/index.html (the table and image grids: input | each
method | ground truth) with the grids as PNG files in OUT_DIR/grids/. With a reference method (Telea
when it is evaluated), both summaries also compare every other method with it image by image: the
mean per-image difference and its paired bootstrap 95% interval over the photos. An interval that
excludes 0 (bold) is a difference beyond the noise of which photos happen to be in the folder.

Options:
  --data DIR        the folder of photos (searched recursively)
  --methods LIST    comma separated, from ${METHOD_NAMES.join(', ')} (default: all)
  --protocols LIST  comma separated (default: ${DEFAULT_PROTOCOLS.join(',')}):
${PROTOCOL_NAMES.map((p) => `                      ${p.padEnd(15)} ${PROTOCOLS[p].description}`).join('\n')}
  --split S         val: the held-out split training used (valFraction ${VAL_FRACTION}, seed ${SPLIT_SEED}),
                    never trained on (default); all: every photo in DIR
  --limit N         score only the first N photos of the split
  --max-pixels N    read photos of up to N pixels (default 100000000)
  --model DIR       the model bundle of ours and g1-only (default: models/default of this package)
  --vgg FILE        the VGG19 weights (default: INPAINT_VGG_WEIGHTS, the checkout's, the cache, else
                    downloaded once)
  --ensemble N      the self-ensemble of ours and g1-only: 1, 2, 4 or 8 orientations averaged
                    (default 1, as inpaint)
  --scales LIST     the working scales of ours and g1-only, e.g. 256 (default: as inpaint, 256 plus
                    each region's own size up to 512 from 384 px on, and past 512 up to 65536 so
                    that no fill is enlarged 1.5x or more); 256 on centre-512 scores a fill made
                    at 256 and enlarged
  --locality X      patch-swap's preference for nearby patches in ours (default 1, as inpaint;
                    0 is the paper's patch-swap)
  --match-colour W  the weight of colour in ours' match (default 60, as inpaint; 0 is the paper's
                    colour-blind match)
  --no-guide        match ours' hole on VGG features of G1's coarse fill (the paper's guide), as
                    inpaint --no-guide
  --no-native-detail
                    leave ours' fill as G2 renders it, as inpaint --no-native-detail: none of the
                    photo's own detail, mid band or diffusion fill added (with --no-guide,
                    --locality 0 and --match-colour 0: the paper's pipeline)
  --seed N          the mask seed (default 0)
  --grids N         photos per protocol shown as grids in index.html (default 4)
  --reference M     the method the others are compared with, image by image (default: telea when
                    among --methods; none: no comparison)
  -o, --out DIR     the report folder (created if missing)

Exit codes: 0 done (a method failing on some image is reported in the files, not an error),
1 a photo, mask, model or weights file could not be read, 2 bad flags.

Examples:
  inpaint eval --data photos -o eval
  inpaint eval --data photos --methods ours,patchmatch --protocols centre-256,strokes-256 --limit 20 -o eval-quick`,
  run: runEval,
};

function list(text: string, flag: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`Expected a comma-separated list for ${flag} but received ${JSON.stringify(text)}`);
  return items;
}

async function runEval(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      methods: { type: 'string', default: METHOD_NAMES.join(',') },
      protocols: { type: 'string', default: DEFAULT_PROTOCOLS.join(',') },
      split: { type: 'string', default: 'val' },
      limit: { type: 'string' },
      model: { type: 'string' },
      vgg: { type: 'string' },
      ensemble: { type: 'string' },
      scales: { type: 'string' },
      locality: { type: 'string' },
      'match-colour': { type: 'string' },
      'no-guide': { type: 'boolean' },
      'no-native-detail': { type: 'boolean' },
      seed: { type: 'string', default: '0' },
      grids: { type: 'string', default: '4' },
      reference: { type: 'string' },
      'max-pixels': { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
  });
  // The evaluation's readers take the process-wide limit (see defaultMaxPixels).
  if (values['max-pixels'] !== undefined) process.env.INPAINT_MAX_PIXELS = String(positiveInt(values['max-pixels'], '--max-pixels'));
  if (!values.data) throw new UsageError('missing --data DIR (the folder of photos)');
  if (!values.out) throw new UsageError('missing -o OUT_DIR');
  const names = list(values.methods, '--methods').map(checkMethodName);
  if (new Set(names).size !== names.length) throw new UsageError(`--methods names a method twice: ${values.methods}`);
  const protocols = checkProtocols(list(values.protocols, '--protocols'));
  const split = values.split;
  if (split !== 'val' && split !== 'all') throw new UsageError(`Expected val or all for --split but received ${JSON.stringify(split)}`);
  const limit = values.limit === undefined ? undefined : positiveInt(values.limit, '--limit');
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`Expected an integer for --seed but received ${JSON.stringify(values.seed)}`);
  const grids = values.grids === '0' ? 0 : positiveInt(values.grids, '--grids');
  const ensemble = values.ensemble === undefined ? undefined : positiveInt(values.ensemble, '--ensemble');
  const locality = values.locality === undefined ? undefined : nonNegativeNumber(values.locality, '--locality');
  const matchColour = values['match-colour'] === undefined ? undefined : nonNegativeNumber(values['match-colour'], '--match-colour');
  const scales = values.scales === undefined ? undefined : parseScales(values.scales);
  const guide = values['no-guide'] ? false : undefined;
  const nativeDetail = values['no-native-detail'] ? false : undefined;
  const inpaint = { ensemble, scales, locality, matchColour, guide, nativeDetail };
  resolveInpaintOptions(inpaint);
  const reference = values.reference === undefined ? undefined : values.reference === 'none' ? null : checkMethodName(values.reference);
  if (reference && !names.includes(reference)) throw new UsageError(`--reference ${reference} is not among --methods (${names.join(', ')})`);

  const vggPath = await findVggWeights(values.vgg);
  const vgg = new FrozenVgg(await loadVggWeights(vggPath));
  const methods: InpaintMethod[] = [];
  try {
    for (const name of names) {
      console.log(`loading ${name}`);
      methods.push(await createMethod(name, { bundle: values.model, vggWeights: vggPath, inpaint }));
    }
    await evaluate({ folder: values.data, methods, protocols, out: values.out, seed, split, limit, gridImages: grids, reference, perceptual: { vgg, engine: await defaultEngine() } });
  } finally {
    for (const method of methods) await method.dispose();
    await vgg.dispose();
  }
}
