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

/**
 * `extend` as a shape: the border that gives the photo this width to height ("4:5", "16:9"), added
 * on the two sides that need it, half on each: a photo made square, or 4:5, without cropping it.
 */
export interface AspectInput {
  aspect: [width: number, height: number];
}

export interface ReframeOptions {
  /** Degrees to turn the photo clockwise (negative: counter-clockwise), at most 45 either way. */
  rotate?: number;
  /** The border to add, after the turn: its sides, or the shape it gives the photo. */
  extend?: MarginsInput | AspectInput;
}

/** The most a photo may be turned: past it a quarter turn and a smaller one do it with less to fill. */
export const MAX_ROTATION = 45;
/** The most a side may grow, as a share of the photo's size across it: the fill copies what the photo holds. */
export const MAX_EXTEND_SHARE = 1;

/**
 * `extend` from text: "PX" or "P%" for every side, or "L,T,R,B", each in pixels or in % (of the
 * photo's width at the left and right, of its height at the top and bottom); or "W:H", the width to
 * height the border gives the photo (`AspectInput`).
 * @throws UsageError a value that is not a number of pixels (a whole number) or of percent, or is
 *   negative; a shape whose width or height is not a positive number
 */
export function parseMargins(text: string, name = 'extend'): MarginsInput | AspectInput {
  const shape = /^\s*([^:,]+):([^:,]+)$/.exec(text);
  if (shape) {
    const aspect = [Number(shape[1].trim()), Number(shape[2].trim())] as [number, number];
    if (aspect.every((v, i) => shape[i + 1].trim() !== '' && Number.isFinite(v) && v > 0)) return { aspect };
  }
  const parts = text.split(',').map((p) => p.trim());
  const margins = parts.map((part): Margin | undefined => {
    const percent = part.endsWith('%');
    const body = percent ? part.slice(0, -1).trim() : part;
    const value = body === '' ? Number.NaN : Number(body);
    if (!Number.isFinite(value) || value < 0 || (!percent && !Number.isInteger(value))) return undefined;
    return { value, percent };
  });
  if (shape || (parts.length !== 1 && parts.length !== 4) || margins.some((m) => m === undefined)) {
    throw new UsageError(`Expected PX, P%, L,T,R,B or W:H for ${name} (the border to add: whole pixels or a percentage of the photo's size, on every side or on the left, top, right and bottom in turn; or the width to height it gives the photo, e.g. 1:1 or 4:5) but received ${JSON.stringify(text)}`);
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
 * The border `extend` gives a `width` x `height` photo, in whole pixels. A shape (`AspectInput`)
 * widens a photo narrower than it, half on the left and half on the right (the odd pixel on the
 * right), or heightens a wider one, top and bottom; a photo of that shape already gets none.
 * @throws UsageError a side grown by more than the photo's own size across it
 */
export function resolveMargins(input: MarginsInput | AspectInput, width: number, height: number, name = 'extend'): Margins {
  const sides = ['left', 'top', 'right', 'bottom'] as const;
  const pixels = 'aspect' in input ? aspectBorder(input.aspect, width, height) : input.map((m, i) => (m.percent ? Math.round((m.value / 100) * (i % 2 === 0 ? width : height)) : m.value));
  const margins = {} as Margins;
  pixels.forEach((px, i) => {
    const across = i % 2 === 0 ? width : height;
    if (px > MAX_EXTEND_SHARE * across) {
      const shape = 'aspect' in input ? ` to make it ${input.aspect.join(':')}` : '';
      throw new UsageError(`${name}: the ${sides[i]} border of ${px} px${shape} is more than the photo is ${i % 2 === 0 ? 'wide' : 'tall'} (${across} px); the fill copies what the photo holds, so add at most that much, or extend the result again`);
    }
    margins[sides[i]] = px;
  });
  return margins;
}

/** The border, left, top, right and bottom, that gives a `width` x `height` photo the shape `aspect`. */
function aspectBorder([w, h]: [number, number], width: number, height: number): number[] {
  const wide = Math.max(width, Math.round((height * w) / h)) - width;
  const tall = wide > 0 ? 0 : Math.max(height, Math.round((width * h) / w)) - height;
  return [Math.floor(wide / 2), Math.floor(tall / 2), wide - Math.floor(wide / 2), tall - Math.floor(tall / 2)];
}

/** Whether `options` may change the frame (a shape leaves one that has it unchanged). */
export function reframes(options: ReframeOptions): boolean {
  const { extend } = options;
  return (options.rotate !== undefined && options.rotate !== 0) || (extend !== undefined && ('aspect' in extend || extend.some((m) => m.value > 0)));
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
    const [from, to] = [y * width, (y + margins.top) * outW + margins.left];
    const row = (plane: Uint8Array | Float32Array) => plane.subarray(from, from + width);
    for (let c = 0; c < 3; c++) image.data.set(turned.photo.image.data.subarray(c * src + from, c * src + from + width), c * dst + to);
    if (alpha) alpha.set(row(turned.photo.alpha!), to);
    // The turn leaves the masks 0 where it left the photo empty.
    for (let k = 0; k < others.length; k++) others[k].data.set(row(turnedOthers[k]!.data), to);
    if (turnedHole) mask.data.set(row(turnedHole.data), to);
    else mask.data.fill(0, to, to + width);
    if (!turned.empty) {
      empty.fill(0, to, to + width);
      continue;
    }
    const gone = row(turned.empty);
    empty.set(gone, to);
    for (let x = 0; x < width; x++) mask.data[to + x] |= gone[x];
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
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const planes = photo.alpha ? [data.subarray(0, n), data.subarray(n, 2 * n), data.subarray(2 * n), photo.alpha] : [data.subarray(0, n), data.subarray(n, 2 * n), data.subarray(2 * n)];
  const outs = planes.map(() => new Float32Array(n));
  const turned = masks.map((m) => m && { width, height, data: new Uint8Array(n) });
  const empty = new Uint8Array(n);
  const [xMax, yMax] = [width - 1, height - 1];
  // A hair of tolerance, so that a pixel centre that lands on the photo's edge counts as inside.
  const eps = 1e-6;
  for (let y = 0; y < height; y++) {
    // The inverse turn: where each pixel's centre comes from (y grows downwards), a step along the row at a time.
    let sx = -cos * cx + sin * (y - cy) + cx;
    let sy = sin * cx + cos * (y - cy) + cy;
    for (let x = 0; x < width; x++, sx += cos, sy -= sin) {
      const i = y * width + x;
      const outside = sx < -eps || sy < -eps || sx > xMax + eps || sy > yMax + eps;
      if (outside) empty[i] = 1;
      const px = sx < 0 ? 0 : sx > xMax ? xMax : sx;
      const py = sy < 0 ? 0 : sy > yMax ? yMax : sy;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const tx = px - x0;
      const ty = py - y0;
      // Keys' cubic weights (a = -0.5) of the pixels at -1, 0, 1 and 2 from (x0, y0).
      const wx0 = ((-0.5 * tx + 1) * tx - 0.5) * tx;
      const wx1 = (1.5 * tx - 2.5) * tx * tx + 1;
      const wx2 = ((-1.5 * tx + 2) * tx + 0.5) * tx;
      const wx3 = (0.5 * tx - 0.5) * tx * tx;
      const wy0 = ((-0.5 * ty + 1) * ty - 0.5) * ty;
      const wy1 = (1.5 * ty - 2.5) * ty * ty + 1;
      const wy2 = ((-1.5 * ty + 2) * ty + 0.5) * ty;
      const wy3 = (0.5 * ty - 0.5) * ty * ty;
      // The photo's edge pixels repeated for the kernel's reach.
      const c0 = x0 > 0 ? x0 - 1 : 0;
      const c2 = x0 < xMax ? x0 + 1 : xMax;
      const c3 = x0 + 2 < xMax ? x0 + 2 : xMax;
      const r0 = (y0 > 0 ? y0 - 1 : 0) * width;
      const r1 = y0 * width;
      const r2 = (y0 < yMax ? y0 + 1 : yMax) * width;
      const r3 = (y0 + 2 < yMax ? y0 + 2 : yMax) * width;
      for (let k = 0; k < planes.length; k++) {
        const p = planes[k];
        const v =
          wy0 * (wx0 * p[r0 + c0] + wx1 * p[r0 + x0] + wx2 * p[r0 + c2] + wx3 * p[r0 + c3]) +
          wy1 * (wx0 * p[r1 + c0] + wx1 * p[r1 + x0] + wx2 * p[r1 + c2] + wx3 * p[r1 + c3]) +
          wy2 * (wx0 * p[r2 + c0] + wx1 * p[r2 + x0] + wx2 * p[r2 + c2] + wx3 * p[r2 + c3]) +
          wy3 * (wx0 * p[r3 + c0] + wx1 * p[r3 + x0] + wx2 * p[r3 + c2] + wx3 * p[r3 + c3]);
        outs[k][i] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
      if (outside) {
        if (photo.alpha) outs[3][i] = 1;
        continue;
      }
      const nearest = Math.round(py) * width + Math.round(px);
      for (let k = 0; k < masks.length; k++) if (turned[k]) turned[k]!.data[i] = masks[k]!.data[nearest];
    }
  }
  const image = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) image.set(outs[c], c * n);
  return { photo: photo.alpha ? { image: { width, height, data: image }, alpha: outs[3] } : { image: { width, height, data: image } }, masks: turned, empty };
}

