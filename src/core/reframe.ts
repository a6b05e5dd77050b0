/**
 * A photo straightened or given a wider canvas, with the pixels that leaves empty as the hole
 * (`inpaint run --rotate / --extend`, the API's `rotate` and `extend`): the corners a tilted
 * horizon's correction leaves, or a border added for a looser crop, are then filled as any hole is.
 *
 * - `rotate` turns the photo about its centre and keeps its size. Its pixels are resampled with a
 *   cubic kernel (Keys, a = -0.5); a pixel whose centre comes from outside the photo is empty.
 * - `extend` adds a border on each side, then the photo's pixels are copied as they are.
 * - A hole the caller gave (a mask, boxes, transparency), in the photo's own pixels, goes the same
 *   way and is united with the empty pixels. An alpha channel is turned too; the empty pixels are
 *   opaque, since they will be filled.
 */
import { UsageError } from './errors.ts';
import type { ImageWithAlpha, MaskImage, RgbImage } from './raster.ts';

/** Pixels added on each side of a photo. */
export interface Margins {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** A side's border as given: pixels, or a share of the photo's width (left, right) or height (top, bottom). */
export interface Margin {
  value: number;
  percent: boolean;
}

/** `extend` as given: one margin for every side, or four (left, top, right, bottom). */
export type MarginsInput = [Margin, Margin, Margin, Margin];

export interface ReframeOptions {
  /** Degrees to turn the photo clockwise (negative: counter-clockwise), at most 45 either way. */
  rotate?: number;
  /** The border to add, after the turn. */
  extend?: MarginsInput;
}

/** The most a photo may be turned: past it a quarter turn and a smaller one do it with less to fill. */
export const MAX_ROTATION = 45;
/** The most a side may grow, as a share of the photo's size across it: the fill copies what the photo holds. */
export const MAX_EXTEND_SHARE = 1;

/**
 * `extend` from text: "PX" or "P%" for every side, or "L,T,R,B", each in pixels or in % (of the
 * photo's width at the left and right, of its height at the top and bottom).
 * @throws UsageError a value that is not a number of pixels (a whole number) or of percent, or is negative
 */
export function parseMargins(text: string, name = 'extend'): MarginsInput {
  const parts = text.split(',').map((p) => p.trim());
  const margins = parts.map((part): Margin | undefined => {
    const percent = part.endsWith('%');
    const body = percent ? part.slice(0, -1).trim() : part;
    const value = body === '' ? Number.NaN : Number(body);
    if (!Number.isFinite(value) || value < 0 || (!percent && !Number.isInteger(value))) return undefined;
    return { value, percent };
  });
  if ((parts.length !== 1 && parts.length !== 4) || margins.some((m) => m === undefined)) {
    throw new UsageError(`Expected PX, P% or L,T,R,B for ${name} (the border to add: whole pixels or a percentage of the photo's size, on every side or on the left, top, right and bottom in turn) but received ${JSON.stringify(text)}`);
  }
  const [m] = margins as Margin[];
  return (parts.length === 1 ? [m, m, m, m] : margins) as MarginsInput;
}

/**
 * `rotate` from text: degrees, clockwise.
 * @throws UsageError not a number, or beyond `MAX_ROTATION`
 */
export function parseRotation(text: string, name = 'rotate'): number {
  const degrees = text.trim() === '' ? Number.NaN : Number(text);
  checkRotation(degrees, name, JSON.stringify(text));
  return degrees;
}

function checkRotation(degrees: number, name: string, given: string): void {
  if (!Number.isFinite(degrees) || Math.abs(degrees) > MAX_ROTATION) {
    throw new UsageError(`Expected degrees from -${MAX_ROTATION} to ${MAX_ROTATION} for ${name} (clockwise; negative turns counter-clockwise) but received ${given}${Number.isFinite(degrees) ? ': for a quarter turn, turn the photo in an image viewer first, then straighten what is left' : ''}`);
  }
}

/**
 * The border `extend` gives a `width` x `height` photo, in whole pixels.
 * @throws UsageError a side grown by more than the photo's own size across it
 */
export function resolveMargins(input: MarginsInput, width: number, height: number, name = 'extend'): Margins {
  const sides = ['left', 'top', 'right', 'bottom'] as const;
  const margins = {} as Margins;
  input.forEach((m, i) => {
    const across = i % 2 === 0 ? width : height;
    const px = m.percent ? Math.round((m.value / 100) * across) : m.value;
    if (px > MAX_EXTEND_SHARE * across) {
      throw new UsageError(`${name}: the ${sides[i]} border of ${px} px is more than the photo is ${i % 2 === 0 ? 'wide' : 'tall'} (${across} px); the fill copies what the photo holds, so add at most that much, or extend the result again`);
    }
    margins[sides[i]] = px;
  });
  return margins;
}

/** Whether `options` change the frame at all. */
export function reframes(options: ReframeOptions): boolean {
  return (options.rotate !== undefined && options.rotate !== 0) || (options.extend?.some((m) => m.value > 0) ?? false);
}

/**
 * The photo turned and given a border as `options` say, and its hole: the pixels left empty, united
 * with `hole` (in the photo's own pixels) moved the same way.
 * @param alongside other masks of the photo's pixels (where the fill may copy from, or not) to move
 *   with it; the empty pixels are not in them
 * @param maxPixels refuse a result with more pixels than this
 * @param flags the names `options` were given by, for the messages
 * @returns the new photo, its hole, the masks `alongside` moved, and how many pixels were left empty
 * @throws UsageError a bad angle or border (`parseRotation`, `resolveMargins`), a mask of another
 *   size than the photo, or a result over `maxPixels`
 */
export function reframe(
  photo: ImageWithAlpha,
  hole: MaskImage | undefined,
  options: ReframeOptions,
  { maxPixels = Number.POSITIVE_INFINITY, alongside = [], flags = { rotate: 'rotate', extend: 'extend' } }: { maxPixels?: number; alongside?: MaskImage[]; flags?: { rotate: string; extend: string } } = {},
): { photo: ImageWithAlpha; hole: MaskImage; alongside: MaskImage[]; empty: number } {
  const { width, height } = photo.image;
  for (const m of [hole, ...alongside]) {
    if (m && (m.width !== width || m.height !== height)) throw new UsageError(`A mask (${m.width}x${m.height}) is not the photo's size (${width}x${height})`);
  }
  const degrees = options.rotate ?? 0;
  checkRotation(degrees, flags.rotate, String(degrees));
  const margins = options.extend ? resolveMargins(options.extend, width, height, flags.extend) : { left: 0, top: 0, right: 0, bottom: 0 };
  const outW = width + margins.left + margins.right;
  const outH = height + margins.top + margins.bottom;
  if (outW * outH > maxPixels) {
    throw new UsageError(`${flags.extend}: the result would be ${outW}x${outH} (${outW * outH} pixels), over the limit of ${maxPixels}; add a narrower border, or raise the limit (--max-pixels)`);
  }
  const turned = degrees === 0 ? { photo, masks: [hole, ...alongside], empty: undefined } : rotate(photo, [hole, ...alongside], degrees);
  const [turnedHole, ...turnedOthers] = turned.masks;
  const empty = new Uint8Array(outW * outH).fill(1);
  const image: RgbImage = { width: outW, height: outH, data: new Float32Array(3 * outW * outH) };
  const alpha = turned.photo.alpha && new Float32Array(outW * outH).fill(1);
  const mask: MaskImage = { width: outW, height: outH, data: new Uint8Array(outW * outH).fill(1) };
  const others = alongside.map(() => ({ width: outW, height: outH, data: new Uint8Array(outW * outH) }));
  const [src, dst] = [width * height, outW * outH];
  for (let y = 0; y < height; y++) {
    const from = y * width;
    const to = (y + margins.top) * outW + margins.left;
    for (let c = 0; c < 3; c++) image.data.set(turned.photo.image.data.subarray(c * src + from, c * src + from + width), c * dst + to);
    if (alpha) alpha.set(turned.photo.alpha!.subarray(from, from + width), to);
    for (let x = 0; x < width; x++) {
      const outside = turned.empty?.[from + x] ?? 0;
      empty[to + x] = outside;
      mask.data[to + x] = outside | (turnedHole?.data[from + x] ?? 0);
      for (let k = 0; k < others.length; k++) others[k].data[to + x] = outside ? 0 : turnedOthers[k]!.data[from + x];
    }
  }
  let count = 0;
  for (let i = 0; i < dst; i++) count += empty[i];
  return { photo: alpha ? { image, alpha } : { image }, hole: mask, alongside: others, empty: count };
}

/**
 * The photo turned `degrees` clockwise about its centre, at its own size: each pixel sampled where
 * it comes from with a cubic kernel (the photo's edge pixels repeated for the kernel's reach), and
 * those whose centre comes from outside the photo's pixel centres marked empty (their colour
 * is the nearest edge pixel's, for the fill to start from). Each mask takes its nearest pixel's
 * value, and 0 where empty.
 */
function rotate(photo: ImageWithAlpha, masks: (MaskImage | undefined)[], degrees: number): { photo: ImageWithAlpha; masks: (MaskImage | undefined)[]; empty: Uint8Array } {
  const { width, height, data } = photo.image;
  const n = width * height;
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const theta = (degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(theta), Math.sin(theta)];
  const out = new Float32Array(3 * n);
  const alpha = photo.alpha && new Float32Array(n);
  const turned = masks.map((m) => m && { width, height, data: new Uint8Array(n) });
  const empty = new Uint8Array(n);
  const wx = new Float64Array(4);
  const wy = new Float64Array(4);
  const xs = new Int32Array(4);
  const ys = new Int32Array(4);
  // A hair of tolerance, so that a pixel centre that lands on the photo's edge counts as inside.
  const eps = 1e-6;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      // The inverse turn: where this pixel's centre comes from (y grows downwards).
      const [dx, dy] = [x - cx, y - cy];
      const sx = cos * dx + sin * dy + cx;
      const sy = -sin * dx + cos * dy + cy;
      if (sx < -eps || sy < -eps || sx > width - 1 + eps || sy > height - 1 + eps) empty[i] = 1;
      const [px, py] = [Math.min(width - 1, Math.max(0, sx)), Math.min(height - 1, Math.max(0, sy))];
      const [x0, y0] = [Math.floor(px), Math.floor(py)];
      cubicWeights(px - x0, wx);
      cubicWeights(py - y0, wy);
      for (let k = 0; k < 4; k++) {
        xs[k] = Math.min(width - 1, Math.max(0, x0 - 1 + k));
        ys[k] = Math.min(height - 1, Math.max(0, y0 - 1 + k));
      }
      for (let c = 0; c < 3; c++) out[c * n + i] = clamp01(sample(data, c * n, width, xs, ys, wx, wy));
      if (alpha) alpha[i] = empty[i] ? 1 : clamp01(sample(photo.alpha!, 0, width, xs, ys, wx, wy));
      const nearest = Math.round(py) * width + Math.round(px);
      for (let k = 0; k < masks.length; k++) if (turned[k] && !empty[i]) turned[k]!.data[i] = masks[k]!.data[nearest];
    }
  }
  return { photo: alpha ? { image: { width, height, data: out }, alpha } : { image: { width, height, data: out } }, masks: turned, empty };
}

function sample(plane: Float32Array, offset: number, width: number, xs: Int32Array, ys: Int32Array, wx: Float64Array, wy: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < 4; j++) {
    const row = offset + ys[j] * width;
    let line = 0;
    for (let k = 0; k < 4; k++) line += wx[k] * plane[row + xs[k]];
    sum += wy[j] * line;
  }
  return sum;
}

/** Keys' cubic convolution weights (a = -0.5) of the four pixels around a point `t` in [0, 1) past the second. */
function cubicWeights(t: number, w: Float64Array): void {
  const a = -0.5;
  const far = (d: number) => a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a; // 1 <= d < 2
  const near = (d: number) => (a + 2) * d * d * d - (a + 3) * d * d + 1; // d < 1
  w[0] = far(1 + t);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
