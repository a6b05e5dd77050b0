/**
 * The inference API: `load()` a model bundle, then `inpainter.inpaint(image, mask)` any photo. This
 * module is the `Inpainter` itself, with no platform in it: `load()` is inpainter.ts's in Node (files,
 * sharp, a worker thread) and web.ts's in the browser (fetch, canvas, onnxruntime-web).
 *
 * What `inpaint` does, in order:
 *  1. reads the image and the mask (paths, encoded bytes, raw pixels or decoded images) and checks
 *     that their sizes agree (or resizes the mask when asked);
 *  2. dilates the mask (people brush imprecisely; the dilation band is also the feathered seam);
 *  3. plans regions: the whole image when it is small, else a context crop per group of holes
 *     (`regions.ts`), and the scales of each; refuses a hole that leaves nothing to copy from
 *     before any network runs;
 *  4. runs the pyramid on each region (`pipeline.ts`): G1 at the base scale, then VGG, patch-swap
 *     and G2 at every scale (with `stage: 'g1'`, G1 alone: the "w/o Feature2Image" ablation), once
 *     per orientation of the self-ensemble, and averages the fills;
 *  5. blends each region's fill into a copy of the input (`blend.ts`): known pixels keep their exact
 *     values, the fill's tone is aligned at the boundary and the seam is feathered.
 */
import { expect, UsageError } from '../core/errors.ts';
import {
  type Box,
  cropImage,
  dilateMask,
  greyInside,
  type ImageSource,
  type ImageWithAlpha,
  isGrey,
  type MaskImage,
  maskBoundingBox,
  opaqueWhereFilled,
  type ReadOptions,
  resizeMask,
  type RgbImage,
  withTransparentAsHole,
} from '../core/raster.ts';
import { type ReframeOptions, reframe } from '../core/reframe.ts';
import type { ModelConfig } from '../models/config.ts';
import type { InferenceEngine } from '../runtime/session.ts';
import { blendRegion, blendRing } from './blend.ts';
import { DEFAULT_MATCH_COLOUR } from './match-colour.ts';
import type { Networks } from './networks.ts';
import { checkHoleSize, ENSEMBLE_ORIENTATIONS, fillRegion, planViews } from './pipeline.ts';
import { markSources, type SourceCells } from './pixels.ts';
import { BASE_SCALE, defaultScales, fillMemory, LARGEST_SCALE, MAX_ENLARGEMENT, memoryCap, planRegions } from './regions.ts';
import { resolveStylizeOptions, type StylizeOptions, type StylizeResult, stylizeImages } from './stylize.ts';

/**
 * How a platform decodes images given as paths, URLs or encoded bytes (raw pixels too, with the
 * same checks everywhere: `decodeRawPixels`): sharp in Node (core/image.ts), the browser's decoders
 * in web.ts.
 */
export interface ImageReader {
  readImageWithAlpha(source: ImageSource, options: ReadOptions): Promise<ImageWithAlpha>;
  readMask(source: ImageSource, options: ReadOptions): Promise<MaskImage>;
}

/**
 * A photo: a file path, encoded JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC bytes (a Buffer is one),
 * raw 8-bit pixels (RGBA keeps its alpha), a decoded `RgbImage`, or one with its alpha as
 * `readImageWithAlpha` gives.
 */
export type ImageInput = ImageSource | RgbImage | ImageWithAlpha;

/**
 * A mask (hole = white, or opaque on a transparent layer): a file path, encoded bytes, raw 8-bit
 * pixels, or a `MaskImage` (one byte a pixel, nonzero = hole).
 */
export type MaskInput = ImageSource | MaskImage;

export interface InpaintOptions {
  /**
   * The pyramid: each region is resized so that its longer side is the first scale for G1 and
   * G2, then each later scale refines it. Strictly increasing integers in [64, 65536]. Default per
   * region (`defaultScales`): [256] (for a strip over 2:1, the scale that keeps it 128 px across:
   * `firstScale`), then more, each at most twice the last, until the region's
   * longer side is less than 1.5 times the last: [256, 512] for a 600 px region, [256, 512, 900]
   * for a 900 px one; past 2048 only as far as that needs ([256, 512, 1024, 2667] for 4000 px), up
   * to `maxScale`. A scale with no G2 trained at it renders only its fine band (`keepCoarseBand`);
   * a notice says so for the scales given here, not for the default ones, which are planned so.
   */
  scales?: readonly number[];
  /**
   * The largest scale of the default pyramid (ignored with `scales`): a region of 1.5 times it or
   * more is enlarged from it (with a notice). A lower one bounds a large region's time and memory:
   * a 3012x2712 region (a 1000x700 hole in a 4000x3000 photo) took 1.9 GB and 1.5 times as long
   * at 2048 as at 1024 (1.6 GB) or 512 (1.5 GB); an 8000x6000 one (a 2700x2000 hole) 6.9 GB in 1.5
   * times as long at 5334, its default, as at 4096 (5.8 GB). An integer in [256, 65536]; default
   * `LARGEST_SCALE` (65536), which only regions of 98304 px or more reach, lowered for a region
   * whose fill would take more than the inpainter's memory budget (`memoryBudget` of `load()`: in
   * Node three quarters of the machine's memory, in the browser half the device's, at most 4 GB;
   * with a notice).
   * `--max-scale` on the command line.
   */
  maxScale?: number;
  /** Extra VGG -> patch-swap -> G2 passes at the last scale: sharper texture, sometimes at the boundary's cost. Default 0. */
  refine?: number;
  /**
   * The self-ensemble: fill each region in this many orientations (1, 2, 4 or 8: the identity; a
   * mirror; a transpose and a quarter turn; all eight) and average the fills. Each costs one run
   * of the networks. More is closer to the original (hole l1, SSIM) and smoother: 8 is as smooth
   * as diffusion inpainting; 1, the paper's method, keeps the most texture (see
   * `ENSEMBLE_ORIENTATIONS`). Default 1.
   */
  ensemble?: number;
  /**
   * How strongly patch-swap prefers nearby patches among near-equal matches [ours]: each hole
   * patch's match scores, relative to its best one, lose `locality` x distance / the feature map's
   * longer side. 0 is the paper's patch-swap. Default 1: on the validation split it lowers hole l1
   * and raises SSIM with the texture unchanged (docs/decisions/patch-locality.md).
   */
  locality?: number;
  /**
   * How much patch-swap's match weighs colour [ours; `match-colour.ts`]: the guide's mean colour per
   * feature cell, times this weight, joins the relu3_1 features for the match only, so that among
   * patches of a similar pattern the one of the guide's colour wins. 0 is the paper's colour-blind
   * match. Default 60: on photos-other it takes hole l1 below Telea's and halves the SSIM gap
   * (docs/results.md, "Colour in the match").
   */
  matchColour?: number;
  /**
   * Add the full-resolution detail of each hole patch's patch-swap source [ours; `detail.ts`] to
   * a fill enlarged from its last working scale, to a guided fill, and to the enlarged fill a
   * second scale without its own G2 matches on: the fill keeps the photo's own grain instead of
   * looking blurred. A guided fill then loses its mid band, the blotches and edges of the patch
   * collage, a few to a few tens of pixels across (`removeMidBand`), and gets part of a diffusion
   * fill (coherence transport, `coherence.ts`) in its coarse and mid bands (`mixDiffusion`).
   * Default true; false leaves every fill as rendered.
   */
  nativeDetail?: boolean;
  /**
   * Match the hole on the bundle's feature guide, when it has one [ours;
   * docs/decisions/feature-guide.md]: relu3_1 of the hole predicted from VGG features of the photo
   * itself, instead of VGG of G1's coarse fill (the paper's guide, which `false` restores). No
   * effect with a bundle that has no guide. Default true.
   */
  guide?: boolean;
  /**
   * Where the fill may copy from [ours; as in Content-Aware Fill]: a mask of the image's size whose
   * white (nonzero) pixels are the only ones patch-swap may take patches from, at every scale and
   * in every view. Default: every known pixel. Only the crop around each hole is searched (the
   * whole photo up to 512 px; about 3x the hole beyond).
   */
  sampleFrom?: MaskInput;
  /**
   * Pixels the fill must never copy from (white), nor continue into the hole by its diffusion: a
   * person beside the object removed, a second object of the kind removed. Default none.
   */
  exclude?: MaskInput;
  /** Grow the hole by this many pixels (a disc) before filling; the band is also the feathered seam. Default 2. */
  dilate?: number;
  /** Resize a mask of another size to the image's (nearest, hole-preserving) instead of refusing it. Default false. */
  resizeMask?: boolean;
  /** Also return the intermediate images (`InpaintResult.debug`); not with `stage: 'g1'`, which has none. Default false. */
  debug?: boolean;
  /**
   * Also return where the fill copied from (`InpaintResult.sources`): to see which place a
   * wrong-looking fill took its patches from, and exclude it on the next try. Not with `stage:
   * 'g1'`, which copies nothing. Default false.
   */
  sources?: boolean;
  /**
   * 'full': the whole pipeline. 'g1': G1's coarse fill alone, at the first scale, blended like the
   * full result: the paper's "w/o Feature2Image" ablation (`refine` does not apply). Default 'full'.
   */
  stage?: InpaintStage;
  /**
   * Write the result into the `RgbImage` given as `image` (which then becomes `result.image`)
   * instead of into a copy of it: for a caller that no longer needs the original, such as the
   * command line. Saves a copy of the whole photo, 0.4 s for a 4000x3000 one here. Images given
   * as paths, bytes or raw pixels are decoded into memory of the call's own and never copied.
   * Default false.
   */
  inPlace?: boolean;
  /** Refuse photos and masks given as files or bytes with more pixels than this, before decoding them. Default 100 million (`DEFAULT_MAX_PIXELS`). */
  maxPixels?: number;
  /**
   * Told before each step of the work (one scale of one region, per orientation of the
   * self-ensemble) and once when every step is done (`done` = `total`): what a long fill shows
   * while it runs (the command line's progress line). Default none.
   */
  onProgress?: (progress: InpaintProgress) => void;
  /**
   * Told after each scale of a region but its last: the region as that scale left it (`InpaintPreview`),
   * for a preview while the finer scales run (the page shows it over the hole: in the browser, a
   * 1600x1200 photo's at 256 px came 3.6 s into a 13.7 s fill). With the self-ensemble, of the first
   * orientation only. Default none.
   */
  onPreview?: (preview: InpaintPreview) => void;
}

/** A region as a scale that is not its last left it (`InpaintOptions.onPreview`). */
export interface InpaintPreview {
  /** The region (1-based) of `regions`, and where it lies in the photo. */
  region: number;
  regions: number;
  box: Box;
  /** The scale (px) just done. */
  scale: number;
  /**
   * The region at that scale's working size (its longer side `scale` px, or the size that keeps a
   * thin one 16 px across): the fill over the known pixels, resized, before the blending and the
   * last steps that the final result gets. The fill goes on from it: read it, never change it.
   */
  image: RgbImage;
}

/** Where an `inpaint` call stands (`InpaintOptions.onProgress`). */
export interface InpaintProgress {
  /** Steps finished, of `total`. */
  done: number;
  total: number;
  /** The region (1-based) of `regions` being filled, and the scale (px) of the step starting. */
  region: number;
  regions: number;
  scale: number;
}

/**
 * What `load()` is told when the VGG19 file (`where`, sha256 `digest`) is not the one the bundle was
 * trained with (`expected`), else nothing.
 */
export const vggMismatchNotice = (where: string, digest: string, expected: string): string[] =>
  digest === expected
    ? []
    : [
        `the VGG19 weights ${where} (sha256 ${digest.slice(0, 12)}...) are not the file the model was trained with ` +
          `(sha256 ${expected.slice(0, 12)}...); results may suffer unless it holds the same tensors`,
      ];

/** What the caller is told when transparent pixels joined the hole. */
export const transparentNotice = (n: number) =>
  `${n} fully transparent pixels were filled too (their stored colour is not content); they stay transparent in the result`;

/**
 * What the caller is told when a region (`box`) is filled at `scales` and enlarged 1.5x or more
 * from the last: the default scales do that only to regions of 1.5 x `maxScale` or more
 * (`defaultScales`).
 */
export function enlargedNotice(box: Box, scales: readonly number[], o: Pick<Resolved, 'nativeDetail' | 'stage'>): string[] {
  const last = scales[scales.length - 1];
  const enlarged = Math.max(box.width, box.height) / last;
  if (enlarged < MAX_ENLARGEMENT) return [];
  const detail = o.nativeDetail && o.stage === 'full' ? ', its finest detail taken from the photo where its patches came from, matched again at full resolution' : '; expect it softer than the photo';
  return [`the ${box.width}x${box.height} area at (${box.x}, ${box.y}) was inpainted at ${last} px and enlarged ${enlarged.toFixed(1)}x${detail}`];
}

/** How far the pipeline runs: see `InpaintOptions.stage`. */
export type InpaintStage = 'full' | 'g1';

/** The intermediate images of one region, for looking at what each step did. */
export interface DebugRegion {
  /** The crop of the input the networks worked on. */
  box: Box;
  /** The scales it was processed at. */
  scales: number[];
  /** G1's coarse fill, composited into the known pixels, at the base scale. */
  coarse: RgbImage;
  /** G2's final image of the crop at full resolution, before blending (enlarged: the photo beyond the part the fill's last steps needed). */
  beforeBlend: RgbImage;
  /** Where each hole pixel's patch came from (a colour wheel over the source position; known pixels dimmed), at the last scale. */
  provenance: RgbImage;
  /** The same as numbers: each feature cell's source cell at the last scale. */
  sources: SourceCells;
}

export interface InpaintResult {
  /** The completed image, the input's size: known pixels exactly the input's. */
  image: RgbImage;
  /** Things the caller should know about this call (mask resized or empty, a scale without its own G2...). */
  notices: string[];
  /** With `debug: true`: the intermediates of every region. */
  debug?: { regions: DebugRegion[] };
  /**
   * With `sources: true`: the pixels the fill copied its patches from (1), the input's size: each
   * hole patch's source at the last scale of its region (with `ensemble`, the first orientation's).
   * Empty when nothing was filled. `writeMask(path, sources)` saves it (white = copied from).
   */
  sources?: MaskImage;
  /**
   * The input's alpha channel (one value a pixel in [0, 1]) when it had one that is not fully
   * opaque, made opaque where the mask asked for a fill (`opaqueWhereFilled`); write it with the
   * image: `writeImage(path, image, { alpha })`.
   */
  alpha?: Float32Array;
}

const DEFAULTS = { maxScale: LARGEST_SCALE, refine: 0, ensemble: 1, locality: 1, matchColour: DEFAULT_MATCH_COLOUR, nativeDetail: true, guide: true, dilate: 2, resizeMask: false, debug: false, sources: false, stage: 'full' as InpaintStage, inPlace: false };
const OPTION_KEYS = ['scales', 'maxScale', 'refine', 'ensemble', 'locality', 'matchColour', 'nativeDetail', 'guide', 'sampleFrom', 'exclude', 'dilate', 'resizeMask', 'debug', 'sources', 'stage', 'inPlace', 'maxPixels', 'onProgress', 'onPreview'];

type Resolved = Omit<Required<InpaintOptions>, 'scales' | 'sampleFrom' | 'exclude' | 'maxPixels' | 'onProgress' | 'onPreview'> &
  Pick<InpaintOptions, 'scales' | 'sampleFrom' | 'exclude' | 'maxPixels' | 'onProgress' | 'onPreview'>;

/**
 * Checks inpaint options and fills in the defaults (`inpaint` does this itself; a caller with many
 * images, such as the CLI's batch mode, can check once up front).
 * @example
 * resolveInpaintOptions({ scales: [256, 512] }); // { maxScale: 65536, refine: 0, ensemble: 1, locality: 1, matchColour: 60, nativeDetail: true, guide: true, dilate: 2, resizeMask: false, debug: false, sources: false, stage: 'full', inPlace: false, scales: [256, 512] }
 * @throws UsageError for an unknown option or a value out of range
 */
export function resolveInpaintOptions(options: InpaintOptions): Resolved {
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new UsageError(`Unknown inpaint option ${JSON.stringify(key)}; expected ${OPTION_KEYS.join(', ')}`);
  }
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Resolved;
  const { scales } = o;
  if (scales !== undefined) {
    const ok =
      Array.isArray(scales) &&
      scales.length > 0 &&
      scales.every((s, i) => Number.isSafeInteger(s) && s >= 64 && s <= LARGEST_SCALE && (i === 0 || s > scales[i - 1]));
    expect(ok, 'options.scales', `a non-empty, strictly increasing list of integers in [64, ${LARGEST_SCALE}] (e.g. [256, 512])`, scales);
  }
  expect(Number.isSafeInteger(o.maxScale) && o.maxScale >= BASE_SCALE && o.maxScale <= LARGEST_SCALE, 'options.maxScale', `an integer from ${BASE_SCALE} to ${LARGEST_SCALE}`, o.maxScale);
  expect(Number.isSafeInteger(o.refine) && o.refine >= 0 && o.refine <= 8, 'options.refine', 'an integer from 0 to 8', o.refine);
  expect(typeof o.ensemble === 'number' && o.ensemble in ENSEMBLE_ORIENTATIONS, 'options.ensemble', `one of ${Object.keys(ENSEMBLE_ORIENTATIONS).join(', ')}`, o.ensemble);
  expect(typeof o.locality === 'number' && o.locality >= 0 && o.locality <= 100, 'options.locality', 'a number from 0 to 100', o.locality);
  expect(typeof o.matchColour === 'number' && o.matchColour >= 0 && o.matchColour <= 1000, 'options.matchColour', 'a number from 0 to 1000', o.matchColour);
  expect(Number.isSafeInteger(o.dilate) && o.dilate >= 0 && o.dilate <= 256, 'options.dilate', 'an integer from 0 to 256', o.dilate);
  expect(typeof o.nativeDetail === 'boolean', 'options.nativeDetail', 'a boolean', o.nativeDetail);
  expect(typeof o.guide === 'boolean', 'options.guide', 'a boolean', o.guide);
  expect(typeof o.resizeMask === 'boolean', 'options.resizeMask', 'a boolean', o.resizeMask);
  expect(typeof o.debug === 'boolean', 'options.debug', 'a boolean', o.debug);
  expect(typeof o.sources === 'boolean', 'options.sources', 'a boolean', o.sources);
  expect(typeof o.inPlace === 'boolean', 'options.inPlace', 'a boolean', o.inPlace);
  expect(o.stage === 'full' || o.stage === 'g1', 'options.stage', "'full' or 'g1'", o.stage);
  expect(o.maxPixels === undefined || (Number.isSafeInteger(o.maxPixels) && o.maxPixels > 0), 'options.maxPixels', 'a positive integer', o.maxPixels);
  expect(o.onProgress === undefined || typeof o.onProgress === 'function', 'options.onProgress', 'a function', o.onProgress);
  expect(o.onPreview === undefined || typeof o.onPreview === 'function', 'options.onPreview', 'a function', o.onPreview);
  if (o.stage === 'g1' && o.debug) throw new UsageError("debug pictures show the full pipeline's intermediates, which stage 'g1' does not run: drop one of the two");
  if (o.stage === 'g1' && o.sources) throw new UsageError("stage 'g1' copies no patches, so it has no sources to show: drop one of the two");
  return o;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Decodes or checks an image argument (`name` is how error messages call it).
 * @returns the image, and whether it was decoded here (so that no caller holds its pixels)
 */
async function toImage(reader: ImageReader, input: ImageInput, read: ReadOptions, name = 'image'): Promise<{ image: RgbImage; decoded: boolean; alpha?: Float32Array }> {
  if (typeof input === 'string' || input instanceof Uint8Array || (isObject(input) && 'channels' in input)) {
    return { ...(await reader.readImageWithAlpha(input as ImageSource, read)), decoded: true };
  }
  const what = 'a file path, encoded image bytes, raw pixels { data, width, height, channels }, an RgbImage or { image, alpha }';
  expect(isObject(input), name, what, input);
  if ('image' in input) {
    const { image, alpha } = input as ImageWithAlpha;
    const checked = await toImage(reader, image, read, name);
    expect(alpha === undefined || (alpha instanceof Float32Array && alpha.length === checked.image.width * checked.image.height), 'alpha', 'a Float32Array of one value a pixel', alpha);
    return { ...checked, ...(alpha ? { alpha } : {}) };
  }
  const { width, height, data } = input as RgbImage;
  expect(Number.isSafeInteger(width) && width > 0 && Number.isSafeInteger(height) && height > 0, `${name} width and height`, 'positive integers', [width, height]);
  expect(data instanceof Float32Array && data.length === 3 * width * height, `${name}.data`, `a Float32Array of 3 * ${width} * ${height} values (planar RGB)`, data);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // Written so that NaN fails too.
    if (!(v >= 0 && v <= 1)) throw new UsageError(`Expected RGB values in [0, 1] for ${name}.data but received ${v} at index ${i}`);
  }
  return { image: input as RgbImage, decoded: false };
}

/** Decodes or checks the mask argument; a MaskImage is normalised to 0/1. */
async function toMask(reader: ImageReader, input: MaskInput, read: ReadOptions): Promise<MaskImage> {
  if (typeof input === 'string' || input instanceof Uint8Array || (isObject(input) && 'channels' in input)) return reader.readMask(input as ImageSource, read);
  expect(isObject(input), 'mask', 'a file path, encoded image bytes, raw pixels { data, width, height, channels } or a MaskImage', input);
  const { width, height, data } = input as MaskImage;
  expect(Number.isSafeInteger(width) && width > 0 && Number.isSafeInteger(height) && height > 0, 'mask width and height', 'positive integers', [width, height]);
  expect(data instanceof Uint8Array && data.length === width * height, 'mask.data', `a Uint8Array of ${width} * ${height} bytes (nonzero = hole)`, data);
  const hole = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) if (data[i]) hole[i] = 1;
  return { width, height, data: hole };
}

/**
 * The pixels the fill may not copy from besides the hole, from `sampleFrom` and `exclude` (each the
 * image's size, or resized with `resizeMask`), and the excluded ones alone, which the diffusion
 * does not read either (a person beside the object removed, whose colours it would carry into the
 * hole; the hole's surroundings outside a sampling region are still what it continues); undefined
 * when neither is given.
 * @throws UsageError a mask of another size, or an allowed region that lies entirely in the hole
 */
async function sourceRestriction(reader: ImageReader, o: Resolved, hole: MaskImage, reading: ReadOptions, notices: string[]): Promise<{ noSource: MaskImage; unread?: MaskImage } | undefined> {
  if (o.sampleFrom === undefined && o.exclude === undefined) return undefined;
  const read = async (input: MaskInput, name: string, flag: string): Promise<MaskImage> =>
    fitMask(await toMask(reader, input, reading), hole, o.resizeMask, notices, `the ${name} mask (${flag})`);
  const data = new Uint8Array(hole.data.length);
  if (o.sampleFrom !== undefined) {
    const allowed = await read(o.sampleFrom, 'sample-from', '--sample-from');
    let usable = 0;
    for (let i = 0; i < data.length; i++) {
      if (!allowed.data[i]) data[i] = 1;
      else if (!hole.data[i]) usable++;
    }
    if (usable === 0) {
      throw new UsageError('the region to sample from (--sample-from) lies entirely in the hole (or is empty): paint where the fill may copy from, outside what is removed');
    }
  }
  let unread: MaskImage | undefined;
  if (o.exclude !== undefined) {
    unread = await read(o.exclude, 'exclude', '--exclude');
    for (let i = 0; i < data.length; i++) if (unread.data[i]) data[i] = 1;
  }
  return { noSource: { width: hole.width, height: hole.height, data }, unread };
}

/**
 * `mask` at the image's size: as it is, or resized when `resize` (`resizeMask`), with a notice.
 * @param what the mask as messages name it
 * @throws UsageError a mask of another size, without `resize`
 */
export function fitMask(mask: MaskImage, image: { width: number; height: number }, resize: boolean, notices: string[], what = 'the mask'): MaskImage {
  const { width, height } = image;
  if (mask.width === width && mask.height === height) return mask;
  const sizes = `${what} is ${mask.width}x${mask.height} but the image is ${width}x${height}`;
  if (!resize) throw new UsageError(`${sizes}; pass resizeMask: true (--resize-mask) to resize ${what} to the image`);
  notices.push(`${sizes}: ${what} was resized to ${width}x${height}`);
  return resizeMask(mask, width, height);
}

/**
 * A photo turned and given a border (`ReframeOptions`: `inpaint run --rotate / --extend`, the API's
 * `rotate` and `extend`), and with it its hole and the masks of where the fill may copy from or
 * not, all given in the photo's own pixels and each first fitted to it (`fitMask`). The pixels left
 * empty join the hole; a notice says how many.
 * @param flags the names the options were given by, for the messages
 * @throws UsageError a mask of another size without `resize`, a bad angle or border, or a result over `maxPixels`
 */
export function reframeHole(
  photo: ImageWithAlpha,
  hole: MaskImage | undefined,
  masks: { sampleFrom?: MaskImage; exclude?: MaskImage },
  frame: ReframeOptions,
  options: { resize: boolean; maxPixels: number; flags: { rotate: string; extend: string } },
  notices: string[],
): { photo: ImageWithAlpha; hole: MaskImage; sampleFrom?: MaskImage; exclude?: MaskImage } {
  const fit = (mask: MaskImage | undefined, what: string) => mask && fitMask(mask, photo.image, options.resize, notices, what);
  const sampleFrom = fit(masks.sampleFrom, 'the sample-from mask');
  const exclude = fit(masks.exclude, 'the exclude mask');
  const alongside = [sampleFrom, exclude].filter((m) => m !== undefined);
  const out = reframe(photo, fit(hole, 'the mask'), frame, { maxPixels: options.maxPixels, alongside, flags: options.flags });
  const { width, height } = out.photo.image;
  const { extend } = frame;
  const grown = width !== photo.image.width || height !== photo.image.height;
  const shape = extend && 'aspect' in extend && !grown ? `already ${extend.aspect.join(':')}, so given no border` : '';
  const what = [frame.rotate ? `turned ${frame.rotate} degrees` : '', grown ? `extended to ${width}x${height}` : shape].filter(Boolean).join(' and ');
  notices.push(out.empty > 0 ? `${what}: the ${out.empty} pixels left empty are filled` : `${what}: no pixel was left empty`);
  return { photo: out.photo, hole: out.hole, sampleFrom: sampleFrom && out.alongside.shift(), exclude: exclude && out.alongside.shift() };
}

/**
 * The hole every method fills, from the user's mask: resized to the image (with `resizeMask`) or
 * refused when its size differs; grown by the image's fully transparent pixels (their stored colour,
 * usually black, is nobody's content: they are filled too, and the output keeps the alpha, so they
 * stay transparent); dilated by `dilate`. Shared by `inpaint` and the callers of the baselines, so
 * that every method fills the same pixels with the same messages.
 * @returns the hole and the box it lies in, or null for an empty mask (with a notice)
 * @throws UsageError when the mask's size differs from the image's and `resizeMask` is false
 */
export function prepareHole(
  image: { width: number; height: number },
  mask: MaskImage,
  alpha: Float32Array | undefined,
  options: { resizeMask: boolean; dilate: number },
  notices: string[],
): { mask: MaskImage; box: Box } | null {
  let hole = fitMask(mask, image, options.resizeMask, notices);
  if (!maskBoundingBox(hole)) {
    notices.push('the mask is empty: the image is returned unchanged');
    return null;
  }
  if (alpha) {
    const grown = withTransparentAsHole(hole, alpha);
    hole = grown.mask;
    if (grown.added > 0) notices.push(transparentNotice(grown.added));
  }
  return dilateAround(hole, maskBoundingBox(hole)!, options.dilate);
}

/** The hole grown by `radius` (`dilateMask`), and the box it can hold holes in. */
function dilateAround(mask: MaskImage, hole: Box, radius: number): { mask: MaskImage; box: Box } {
  const x = Math.max(0, hole.x - radius);
  const y = Math.max(0, hole.y - radius);
  const box = { x, y, width: Math.min(mask.width, hole.x + hole.width + radius) - x, height: Math.min(mask.height, hole.y + hole.height + radius) - y };
  return { mask: radius === 0 ? mask : dilateMask(mask, radius), box };
}

/** What an `Inpainter` is made of; a platform's `load()` assembles it. */
export interface InpainterState {
  networks: Networks;
  engine: InferenceEngine;
  /** Decodes the images and masks given as paths, URLs or bytes. */
  reader: ImageReader;
  ownsEngine: boolean;
  bundleDir: string;
  model: ModelConfig;
  notices: string[];
  /**
   * About how many bytes a fill may take (`fillMemory`): without the caller's `maxScale`, a large
   * region's last scale is lowered to fit, with a notice that ends with `advice` (how to fill it
   * nearer its own size). Absent: no bound.
   */
  memory?: { budget: number; advice: string };
}

/** A loaded model; make one with `load()`. */
export class Inpainter {
  /** The bundle folder (or URL) it was loaded from. */
  readonly bundleDir: string;
  /** The networks' configuration. */
  readonly model: ModelConfig;
  /** Warnings from loading (e.g. VGG weights other than the ones the model was trained with). */
  readonly notices: readonly string[];
  readonly #state: InpainterState;
  #disposed = false;

  /** @internal Inpainters come from `load()` (Node's inpainter.ts, or web.ts). */
  constructor(state: InpainterState) {
    this.#state = state;
    this.bundleDir = state.bundleDir;
    this.model = state.model;
    this.notices = Object.freeze([...state.notices]);
  }

  /**
   * The largest default scale of a region: the caller's, or without one the largest at which its
   * fill stays within the memory budget (`InpainterState.memory`, `memoryCap`), said in a
   * notice when that is less than the region needs.
   */
  #scaleCap(photo: RgbImage, box: Box, maxScale: number, automatic: boolean, notices: string[]): number {
    const memory = this.#state.memory;
    if (!automatic || memory === undefined) return maxScale;
    const pixels = photo.width * photo.height;
    const cap = memoryCap(pixels, box, memory.budget, maxScale);
    const needed = defaultScales(box, maxScale).at(-1)!;
    if (cap < needed) {
      const [gb, estimate] = [(memory.budget / 1e9).toFixed(1), fillMemory(pixels, box, cap)];
      const why = estimate <= memory.budget ? `to stay within about ${gb} GB of memory` : `and still takes about ${(estimate / 1e9).toFixed(1)} GB, over the ${gb} GB budget`;
      notices.push(`the ${box.width}x${box.height} area at (${box.x}, ${box.y}) was inpainted at up to ${cap} px, not ${needed}, ${why}; ${memory.advice}`);
    }
    return cap;
  }

  /** The scales the bundle has a G2 trained at, ascending. */
  get trainedScales(): number[] {
    return this.#state.networks.trainedScales;
  }

  /**
   * Fills the holes of `mask` in `image`.
   * @returns the completed image (the input's size, known pixels bit-identical to the input's),
   *   notices, and with `debug` the intermediates
   * @example
   * const { image } = await inpainter.inpaint('photo.jpg', 'mask.png', { dilate: 4 });
   * await writeImage('filled.png', image);
   * @example
   * // Raw RGBA from a canvas, a mask drawn as a MaskImage, the paper's two scales:
   * const out = await inpainter.inpaint({ data: rgba, width, height, channels: 4 }, { width, height, data: hole }, { scales: [256, 512] });
   * @throws UsageError when the mask's size differs from the image's (without `resizeMask`), the
   *   hole leaves no complete known patch to copy from (the message gives the hole's fraction), an
   *   option is invalid, or the inpainter was disposed
   * @throws InputError when the image or the mask cannot be read
   * @throws EngineError when ONNX Runtime fails
   */
  async inpaint(image: ImageInput, mask: MaskInput, options: InpaintOptions = {}): Promise<InpaintResult> {
    this.#checkOpen();
    const o = resolveInpaintOptions(options);
    const notices: string[] = [];
    const read: ReadOptions = { maxPixels: o.maxPixels, onNotice: (n) => notices.push(n) };
    const { reader } = this.#state;
    const { image: photo, decoded, alpha } = await toImage(reader, image, read);
    const asked = await toMask(reader, mask, read);
    const prepared = prepareHole(photo, asked, alpha, o, notices);
    // The result is the photo with its holes filled. A photo decoded here is nobody else's, and with
    // inPlace the caller gives theirs up, so the fill is written into it; otherwise it is copied
    // first. (Copying a 4000x3000 photo costs 0.4 s here, most of it the operating system providing
    // 144 MB of fresh memory.) Writing in place is safe: each region reads the photo only inside its
    // own box, the boxes do not overlap, and blendRegion reads what it needs of a pixel before
    // writing it.
    const out: RgbImage = decoded || o.inPlace ? photo : { width: photo.width, height: photo.height, data: photo.data.slice() };
    const kept = alpha ? { alpha: opaqueWhereFilled(alpha, asked, photo.width, photo.height) } : {};
    const sources = o.sources ? { width: photo.width, height: photo.height, data: new Uint8Array(photo.width * photo.height) } : undefined;
    if (!prepared) return { image: out, notices, ...(o.debug ? { debug: { regions: [] } } : {}), ...(sources ? { sources } : {}), ...kept };
    const { mask: hole, box: holeArea } = prepared;
    const restriction = await sourceRestriction(reader, o, hole, read, notices);

    const { networks } = this.#state;
    const regions = planRegions(hole, holeArea);
    const whole = regions.length === 1 && regions[0].box.width === photo.width && regions[0].box.height === photo.height;
    // Plan and check everything before the first network runs.
    const jobs = regions.map(({ box, holeBox }) => {
      const mask = whole ? hole : cropImage(hole, box);
      // G1 runs at the first scale only: the later ones are G2's.
      const automatic = options.maxScale === undefined && o.stage === 'full';
      const scales = (o.scales ?? defaultScales(box, this.#scaleCap(photo, box, o.maxScale, automatic, notices))).slice(0, o.stage === 'g1' ? 1 : undefined);
      const region = (m: MaskImage | undefined) => m && (whole ? m : cropImage(m, box));
      const views = planViews(mask, scales, o.ensemble, region(restriction?.noSource), region(restriction?.unread));
      for (const { plans } of views) checkHoleSize(mask, plans, o.dilate, whole ? 'the image' : `the ${box.width}x${box.height} region around it`);
      const enlarged = Math.max(box.width, box.height) / scales[scales.length - 1];
      notices.push(...enlargedNotice(box, scales, o));
      return { box, holeBox, mask, scales, views, ring: blendRing(enlarged) };
    });
    // The default scales past the model's G2s render only their fine band by design
    // (`keepCoarseBand`): only scales the caller chose are worth a word.
    for (const s of o.stage === 'g1' || !o.scales ? [] : new Set(o.scales)) {
      const used = networks.g2ScaleFor(s);
      if (used !== s) notices.push(`the model has no G2 trained at ${s} px: the one trained at ${used} px renders that scale`);
    }

    const debugRegions: DebugRegion[] = [];
    const total = jobs.reduce((n, job) => n + job.views.length * (o.stage === 'g1' ? 1 : job.scales.length), 0);
    let done = 0;
    for (const [r, job] of jobs.entries()) {
      const crop = whole ? photo : cropImage(photo, job.box);
      // The networks colour what they fill: where all they can copy from is grey (a black-and-white
      // photo), the fill is made grey. Read before the fill, which may be written into the photo.
      const grey = isGrey(crop, job.mask);
      const onScale = o.onProgress && ((k: number) => o.onProgress!({ done: done++, total, region: r + 1, regions: jobs.length, scale: job.scales[k] }));
      const onScaleDone = o.onPreview && ((k: number, image: RgbImage) => o.onPreview!({ region: r + 1, regions: jobs.length, box: job.box, scale: job.scales[k], image }));
      const result = await fillRegion(networks, crop, job.views, { ...o, onScale, onScaleDone });
      blendRegion(out, photo, hole, job.box, result.fill, job.holeBox, { feather: o.dilate, ring: job.ring });
      if (grey) greyInside(out, hole, job.box);
      if (sources) markSources(sources, result.sources!, job.box);
      if (o.debug) debugRegions.push({ box: job.box, scales: job.scales, coarse: result.coarse!, beforeBlend: result.fill, provenance: result.provenance!, sources: result.sources! });
    }
    o.onProgress?.({ done, total, region: jobs.length, regions: jobs.length, scale: jobs[jobs.length - 1].scales.at(-1)! });
    return { image: out, notices, ...(o.debug ? { debug: { regions: debugRegions } } : {}), ...(sources ? { sources } : {}), ...kept };
  }

  /**
   * Style transfer with the same networks (paper §4.4): every 3x3 patch of the content's VGG
   * features is swapped for the most similar patch of the style's, and G2 renders the result
   * (`stylize.ts`). Any sizes: the content is worked on at `options.size` (default 256) and the
   * result resized to the content's size.
   * @returns the stylized image (the content's size) and notices
   * @example
   * const { image } = await inpainter.stylize('photo.jpg', 'painting.jpg', { size: 512, strength: 0.8 });
   * await writeImage('styled.png', image);
   * @throws UsageError when an option is invalid, or the inpainter was disposed
   * @throws InputError when the content or the style cannot be read
   * @throws EngineError when ONNX Runtime fails
   */
  async stylize(content: ImageInput, style: ImageInput, options: StylizeOptions = {}): Promise<StylizeResult> {
    this.#checkOpen();
    const o = resolveStylizeOptions(options);
    const read: ReadOptions = {};
    const { image: contentImage } = await toImage(this.#state.reader, content, read, 'content');
    const { image: styleImage } = await toImage(this.#state.reader, style, read, 'style');
    return stylizeImages(this.#state.networks, contentImage, styleImage, o);
  }

  /**
   * Releases the sessions (and the engine, when `load` created it). Idempotent; `inpaint` fails afterwards.
   * @example
   * await inpainter.dispose();
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#state.networks.dispose();
    if (this.#state.ownsEngine) await this.#state.engine.dispose();
  }

  #checkOpen(): void {
    if (this.#disposed) throw new UsageError('this inpainter was disposed; load() a new one');
  }
}
