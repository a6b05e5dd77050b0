/**
 * Style transfer with the inpainting networks (paper §4.4, Fig. 7): Feature2Image (G2) learnt to
 * render swapped relu3_1 feature maps, so it renders a content photo's features with every patch
 * swapped for a style image's patch too, in one forward pass, with no training for the style
 * (Chen and Schmidt's style-swap, rendered by G2 instead of an inverse network):
 *
 *   content -> resized to the working size -> VGG relu3_1 -> Fc
 *   style   -> resized to the style size   -> VGG relu3_1 -> Fs
 *   Fc' = patch-swap of every 3x3 patch of Fc against the patches of Fs (the same graph as inpainting,
 *         with Fs as its source; overlaps averaged)
 *   F   = strength x Fc' + (1 - strength) x Fc                                   [ours: the blend]
 *   image = G2(F), resized to the content's size
 *
 * Cost. Matching is a (content cells) x (style cells) correlation: at the default working size,
 * 256 (64x64 cells against 64x64), 8.6 GFLOP; at 512 against 512, 16 times that. The style's
 * working size is capped at MAX_STYLE_SIZE, so the cost grows only with the content's working size
 * [ours, the bound]; the content's rows are matched in bands whose correlation matrix stays under
 * MAX_GRAM_VALUES, which bounds the memory too (the banded swap equals the whole-map swap exactly:
 * a cell's value depends only on the original features of the patches covering it).
 */
import { expect, UsageError } from '../core/errors.ts';
import { resizeImage, type RgbImage } from '../core/raster.ts';
import type { VggFeatures } from '../features/frozen-vgg.ts';
import { hostTensor, type HostTensor } from '../runtime/tensor.ts';
import type { Networks } from './networks.ts';
import { workingSize } from './regions.ts';

/** The default working size: the longer side at which the content is matched and rendered. The shipped G2 is trained at 256. */
export const STYLIZE_SIZE = 256;
/** The largest working size: G2 then renders a 2048-pixel image in one pass (about 1 GB of activations for the `paper` G2). */
export const MAX_STYLIZE_SIZE = 2048;
/** The largest style size: at most 128x128 style cells (16384 candidate patches), which bounds matching's cost per content cell. */
export const MAX_STYLE_SIZE = 512;
/** The smallest working and style size. */
export const MIN_STYLIZE_SIZE = 64;
/**
 * The most correlation values (float32) one patch-swap call may hold: 2^26, 256 MB. A 512 content
 * against a 512 style (128x128 cells each) would need 1 GB at once; it is matched in 5 bands.
 */
export const MAX_GRAM_VALUES = 2 ** 26;

export interface StylizeOptions {
  /**
   * The working size: the content is resized so that its longer side is this many pixels, matched,
   * rendered, and the result resized back to the content's size. Larger keeps more of the
   * content's detail and makes the style's texture finer, at about the square of the cost.
   * An integer in [64, 2048]; default 256, the size the shipped G2 was trained at.
   */
  size?: number;
  /**
   * The style image's longer side when its patches are taken: the scale of its texture. Larger
   * styles show finer strokes; the cost of matching grows with its square. An integer in
   * [64, 512]; default the working size, at most 512.
   */
  styleSize?: number;
  /**
   * How much of the content's features is swapped: 1 renders the swapped features alone (the
   * paper's style transfer); 0, the content's own features (G2's reconstruction of the content);
   * between, the weighted mean of the two. Default 1.
   */
  strength?: number;
  /** Also return where each feature cell's value came from in the style (`StylizeResult.debug`). Default false. */
  debug?: boolean;
}

export interface StylizeResult {
  /** The stylized content, the content's size. */
  image: RgbImage;
  /** Things the caller should know (a working size without its own G2, a large enlargement...). */
  notices: string[];
  /** With `debug: true`. */
  debug?: StylizeDebug;
}

export interface StylizeDebug {
  /** The content's relu3_1 grid at the working size. */
  width: number;
  height: number;
  /** The style's relu3_1 grid (0 x 0 at strength 0: the style is then not used). */
  styleWidth: number;
  styleHeight: number;
  /** Per content cell, row-major: the flat index sy * styleWidth + sx of the style cell its swapped value comes from (-1 everywhere at strength 0). */
  provenance: Int32Array;
}

const OPTION_KEYS = ['size', 'styleSize', 'strength', 'debug'];

type ResolvedStylize = Required<StylizeOptions>;

/**
 * Checks stylize options and fills in the defaults (a caller with many images, such as the CLI's
 * batch mode, can check once up front).
 * @example
 * resolveStylizeOptions({ size: 512 }); // { size: 512, styleSize: 512, strength: 1, debug: false }
 * @throws UsageError for an unknown option or a value out of range
 */
export function resolveStylizeOptions(options: StylizeOptions): ResolvedStylize {
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new UsageError(`Unknown stylize option ${JSON.stringify(key)}; expected ${OPTION_KEYS.join(', ')}`);
  }
  const { size = STYLIZE_SIZE, strength = 1, debug = false } = options;
  const sizeOk = (s: unknown, max: number) => Number.isSafeInteger(s) && (s as number) >= MIN_STYLIZE_SIZE && (s as number) <= max;
  expect(sizeOk(size, MAX_STYLIZE_SIZE), 'options.size', `an integer from ${MIN_STYLIZE_SIZE} to ${MAX_STYLIZE_SIZE}`, size);
  const styleSize = options.styleSize ?? Math.min(size, MAX_STYLE_SIZE);
  expect(
    sizeOk(styleSize, MAX_STYLE_SIZE),
    'options.styleSize',
    `an integer from ${MIN_STYLIZE_SIZE} to ${MAX_STYLE_SIZE} (matching costs (content cells) x (style cells); larger styles are reduced to this)`,
    styleSize,
  );
  expect(typeof strength === 'number' && strength >= 0 && strength <= 1, 'options.strength', 'a number from 0 to 1', strength);
  expect(typeof debug === 'boolean', 'options.debug', 'a boolean', debug);
  return { size, styleSize, strength, debug };
}

/**
 * Stylizes `content` with `style` (both decoded and checked); `Inpainter.stylize` is the public entry.
 * @param options resolved by `resolveStylizeOptions`
 */
export async function stylizeImages(nets: Networks, content: RgbImage, style: RgbImage, options: ResolvedStylize): Promise<StylizeResult> {
  const { size, styleSize, strength } = options;
  const notices: string[] = [];
  const work = workingSize(content.width, content.height, size);
  const styleWork = workingSize(style.width, style.height, styleSize);
  const resized = (img: RgbImage, { width, height }: { width: number; height: number }) =>
    img.width === width && img.height === height ? img : resizeImage(img, width, height);

  const contentFeatures = await nets.vggFeatures(resized(content, work));
  let features = contentFeatures;
  let debug: StylizeDebug | undefined;
  if (strength > 0) {
    const styleFeatures = await nets.vggFeatures(resized(style, styleWork));
    const { swapped, provenance } = await styleSwap(nets, contentFeatures, styleFeatures);
    features = strength === 1 ? swapped : blend(swapped, contentFeatures, strength);
    if (options.debug) {
      debug = { width: contentFeatures.width, height: contentFeatures.height, styleWidth: styleFeatures.width, styleHeight: styleFeatures.height, provenance: Int32Array.from(provenance, Number) };
    }
  } else if (options.debug) {
    debug = { width: contentFeatures.width, height: contentFeatures.height, styleWidth: 0, styleHeight: 0, provenance: new Int32Array(contentFeatures.width * contentFeatures.height).fill(-1) };
  }

  const g2 = nets.g2ScaleFor(size);
  if (g2 !== size) notices.push(`the model has no G2 trained at ${size} px: the one trained at ${g2} px renders it`);
  const rendered = await nets.render(size, features, work.width, work.height);
  const enlarged = Math.max(content.width / work.width, content.height / work.height);
  if (enlarged > 2) {
    const advice = size < MAX_STYLIZE_SIZE ? `; a larger size (e.g. ${Math.min(MAX_STYLIZE_SIZE, 2 * size)}) keeps more detail, at about 4 times the cost` : '';
    notices.push(`the ${content.width}x${content.height} content was stylized at ${work.width}x${work.height} and enlarged ${enlarged.toFixed(1)}x${advice}`);
  }
  // Lanczos when enlarging, as the inpainter does: the whole image is the rendering here.
  const image = rendered.width === content.width && rendered.height === content.height ? rendered : resizeImage(rendered, content.width, content.height, enlarged > 1 ? 'lanczos' : 'bilinear');
  return { image, notices, ...(debug ? { debug } : {}) };
}

/** strength x swapped + (1 - strength) x content, into `swapped`'s buffer. */
function blend(swapped: VggFeatures, content: VggFeatures, strength: number): VggFeatures {
  const out = swapped.data;
  for (let i = 0; i < out.length; i++) out[i] = strength * out[i] + (1 - strength) * content.data[i];
  return swapped;
}

/**
 * Every 3x3 patch of `content` swapped against the patches of `style`, in bands of content rows
 * small enough that one call's correlation matrix holds at most `maxGram` values. A band's call
 * gets its rows and the 2 rows on either side, with its own rows marked as the hole: the patches
 * touching them are matched (with the neighbouring rows' original features), so each band's rows
 * come out exactly as the whole-map swap would give them.
 * @returns the swapped map and, per content cell, the flat index of its style cell
 */
export async function styleSwap(
  nets: Pick<Networks, 'swapAgainst'>,
  content: VggFeatures,
  style: VggFeatures,
  maxGram: number = MAX_GRAM_VALUES,
): Promise<{ swapped: VggFeatures; provenance: BigInt64Array }> {
  const { channels, height, width } = content;
  // A band of r rows is matched as the patches touching it: r + 4 rows of cells (see patchswap.ts).
  const rows = Math.max(1, Math.floor(maxGram / (width * style.width * style.height)) - 4);
  if (rows >= height) return nets.swapAgainst(content, style);
  const plane = height * width;
  const swapped = new Float32Array(content.data.length);
  const provenance = new BigInt64Array(plane);
  for (let y0 = 0; y0 < height; y0 += rows) {
    const y1 = Math.min(height, y0 + rows);
    // The rows whose patches can touch the band; at least 3, so that a patch fits.
    const top = Math.max(0, Math.min(y0 - 2, height - 3));
    const bottom = Math.min(height, Math.max(y1 + 2, top + 3));
    const band = await nets.swapAgainst(cropRows(content, top, bottom), style, rowMask(bottom - top, width, y0 - top, y1 - top));
    const bandPlane = (bottom - top) * width;
    for (let c = 0; c < channels; c++) {
      swapped.set(band.swapped.data.subarray(c * bandPlane + (y0 - top) * width, c * bandPlane + (y1 - top) * width), c * plane + y0 * width);
    }
    provenance.set(band.provenance.subarray((y0 - top) * width, (y1 - top) * width), y0 * width);
  }
  return { swapped: { ...content, data: swapped }, provenance };
}

/** Rows [top, bottom) of a map. */
function cropRows(m: VggFeatures, top: number, bottom: number): VggFeatures {
  const { channels, height, width } = m;
  const data = new Float32Array(channels * (bottom - top) * width);
  for (let c = 0; c < channels; c++) data.set(m.data.subarray((c * height + top) * width, (c * height + bottom) * width), c * (bottom - top) * width);
  return { channels, height: bottom - top, width, data };
}

/** A [1, 1, H, W] mask marking rows [y0, y1). */
function rowMask(height: number, width: number, y0: number, y1: number): HostTensor {
  const data = new Float32Array(height * width);
  data.fill(1, y0 * width, y1 * width);
  return hostTensor(data, [1, 1, height, width]);
}
