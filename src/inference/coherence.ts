/**
 * Coherence transport inpainting (F. Bornemann and T. März, "Fast Image Inpainting Based on
 * Coherence Transport", J. Math. Imaging Vis. 28, 2007), in plain TypeScript: Node and the browser
 * run the same code, in float.
 *
 * The hole is filled from its edge inward, in the order of each pixel's distance from the known
 * region. A hole pixel p takes a weighted mean of the pixels q within `radius` that have a value
 * (known, or filled before it):
 *
 *   I(p) = sum w(p,q) I(q) / sum w(p,q),   w = exp(-(mu^2 / 2 radius^2) s(p) ((q - p) . n(p))^2) / |q - p|
 *
 * n is the direction across the edges at p and s in [0, 1] how clearly there is one (the squared
 * coherence (l1 - l2) / (l1 + l2) of the structure tensor's eigenvalues): where an edge reaches the
 * hole, the weights lie along it, so the edge is carried on straight, at its angle and sharp; where
 * there is none (s near 0), the mean is isotropic. Telea's fast marching (OpenCV's `inpaint`, this
 * pipeline's diffusion until session 42) instead weighs the pixels along the front's normal, which
 * smears an edge that meets the hole obliquely into a fan of streaks.
 *
 * The structure tensor (the sum over the colour channels of grad I grad I^T, I smoothed first over
 * the known pixels only, then the tensor smoothed the same way) is measured on the known region and
 * carried into the hole with the fill: each hole pixel's tensor is the mean of the tensors within
 * `radius`, weighted by 1 / |q - p|, before its colour is computed.
 *
 * Where fronts from different parts of the hole's edge meet (its medial axis, the middle of a hole
 * against the frame), each carried its own values in and the fill steps; those steps are then
 * spread over the hole by a Poisson fit (`smoothSeams`) [ours].
 *
 * Only the hole's bounding box grown by the reach of the smoothing and the neighbourhood is worked
 * on: beyond copying the image and scanning the mask, a large photo with a small hole costs what
 * the hole does.
 */
import { smooth } from '../core/blur.ts';
import { expect, UsageError } from '../core/errors.ts';
import { type Box, checkImage, checkMask, type MaskImage, maskBoundingBox, type RgbImage } from '../core/raster.ts';
import { chamferDistance } from './blend.ts';
import { KNOWN, OUTSIDE, solvePoisson, UNKNOWN } from './poisson.ts';

/** The method's parameters, in pixels where they are lengths. */
export interface CoherenceOptions {
  /** The neighbourhood each hole pixel is computed from (the paper's epsilon). */
  radius?: number;
  /** How narrowly the weights follow an edge (the paper's mu). */
  sharpness?: number;
  /** The box radius of the smoothing before the gradients (the paper's sigma, about radius + 0.5). */
  sigma?: number;
  /** The box radius of the structure tensor's smoothing (the paper's rho). */
  rho?: number;
  /** Whether the seams where fronts from different parts of the hole's edge meet are smoothed (`smoothSeams`) [ours]. */
  seams?: boolean;
}

/** What else a fill is told besides the method's parameters. */
export interface CoherenceInput extends CoherenceOptions {
  /**
   * Known pixels (nonzero) the fill may not read: a user's exclusion (`--exclude`), such as a
   * person beside the object removed, whose colours the fill would otherwise carry into the hole.
   * Those of them that reach the hole (`unreadNear`) are filled with it, from what lies around
   * them, and keep their own values in the result [ours].
   */
  unread?: MaskImage;
}

/** The paper's suggested parameters, as box radii of `smooth` where they are blurs. */
export const COHERENCE: Required<CoherenceOptions> = { radius: 5, sharpness: 25, sigma: 1, rho: 4, seams: true };

/**
 * Below this trace (the squared gradients summed over the channels: 1e-4 a pixel, a fortieth of an
 * 8-bit level) the structure tensor says nothing of a direction; the blurs' rounding leaves a flat
 * area's trace a hair from 0, either side.
 */
const MIN_TRACE = 1e-8;

/**
 * A normalised convolution's weight below this (the share of the blur's window that held a value)
 * is too little to divide by: the blurs' rounding, or a pixel at the far tail of their reach.
 */
const MIN_WEIGHT = 1e-4;

/** Distances are ordered in steps of 1/16 px: finer than the chamfer distance is exact. */
const ORDER_STEPS = 16;

/**
 * exp(-t) for t up to EXP_SPAN, in steps of 1 / EXP_STEPS (within 0.8% of it, rounded to the
 * nearest step): a weight's exponent needs no more, and a table is faster than `Math.exp` in the
 * fill's inner loop. Beyond, exp(-EXP_SPAN) (2e-28): where every neighbour with a value lies that
 * far off the edge's line, they are weighed alike, by their distance alone.
 */
const EXP_SPAN = 64;
const EXP_STEPS = 64;
const EXP_LAST = EXP_SPAN * EXP_STEPS;
const expTable = Float64Array.from({ length: EXP_LAST + 1 }, (_, i) => Math.exp(-i / EXP_STEPS));

/** What `coherenceTransport` returns. */
export interface CoherenceResult {
  /** The image with its holes filled. */
  image: RgbImage;
  /**
   * Per pixel of the image, how clearly an edge was carried into it: the squared coherence in
   * [0, 1] of the structure tensor its value was computed with (s in the formula above); 0 at the
   * known pixels.
   */
  coherence: Float32Array;
}

/**
 * Fills the holes of `mask` (nonzero = hole) by coherence transport, in float, and says how clearly
 * each hole pixel continues an edge: where that is near 0 the fill there is an isotropic mean of its
 * surroundings, a smear (and where the fronts from two sides meet, the seam's step spread by
 * `smoothSeams`, unless `options.seams` is false).
 * @returns a new image: known pixels bit-identical to the input's, hole pixels filled, in [0, 1]
 *   (the input is not modified, and what its hole pixels hold is never read); and the coherence
 * @example
 * const { image: filled, coherence } = coherenceTransport(image, mask);
 * @throws UsageError when the image or mask is malformed, their sizes differ, a parameter is out of
 *   range, or the mask covers the whole image (there is nothing to fill from)
 */
export function coherenceTransport(image: RgbImage, mask: MaskImage, options: CoherenceInput = {}): CoherenceResult {
  checkImage(image, 'image');
  checkMask(mask, 'mask');
  const { width, height } = image;
  expect(mask.width === width && mask.height === height, 'the mask size', `${width}x${height} like the image`, `${mask.width}x${mask.height}`);
  const { radius, sharpness, sigma, rho, seams, unread } = { ...COHERENCE, ...options };
  if (unread) {
    checkMask(unread, 'unread');
    expect(unread.width === width && unread.height === height, 'the unread mask size', `${width}x${height} like the image`, `${unread.width}x${unread.height}`);
  }
  expect(Number.isFinite(radius) && radius >= 1, 'radius', 'a finite number >= 1', radius);
  expect(Number.isFinite(sharpness) && sharpness >= 0, 'sharpness', 'a finite number >= 0', sharpness);
  expect(Number.isInteger(sigma) && sigma >= 1, 'sigma', 'an integer >= 1', sigma);
  expect(Number.isInteger(rho) && rho >= 1, 'rho', 'an integer >= 1', rho);
  const out: RgbImage = { width, height, data: image.data.slice() };
  const coherence = new Float32Array(width * height);
  const hole = maskBoundingBox(mask);
  if (!hole) return { image: out, coherence };
  if (hole.width === width && hole.height === height && mask.data.every((v) => v !== 0)) {
    throw new UsageError(`the mask covers the whole ${width}x${height} image: coherence transport needs known pixels to fill the hole from`);
  }
  // Filled: the hole and the unread pixels that reach it, unless that leaves nothing to read.
  const near = unread && unreadNear(mask, hole, unread);
  const filled = near && near.data.some((v) => v === 0) ? near : mask;
  const box = filled === mask ? hole : maskBoundingBox(filled)!;

  // The work box: the filled box grown by the smoothings' reach (three box passes each) and the
  // neighbourhood's, clipped to the image; the grid adds a ring of `reach` cells that are never known,
  // so that no neighbour access needs a bounds check.
  const reach = Math.floor(radius);
  const grow = 3 * (sigma + rho) + reach + 2;
  const x0 = Math.max(0, box.x - grow);
  const y0 = Math.max(0, box.y - grow);
  const x1 = Math.min(width, box.x + box.width + grow);
  const y1 = Math.min(height, box.y + box.height + grow);
  const gw = x1 - x0 + 2 * reach;
  const gh = y1 - y0 + 2 * reach;
  const cells = gw * gh;
  const known = new Float32Array(cells);
  const inside = new Uint8Array(cells);
  const value = new Float32Array(3 * cells);
  toGrid(image, filled, x0, y0, reach, gw, gh, known, inside, value);
  const tensor = structureTensor(value, known, gw, gh, sigma, rho);
  const fill = transport(value, known, inside, tensor, gw, gh, radius, sharpness);
  if (seams) smoothSeams(value, fill.normalX, fill.normalY, inside, known, gw, gh, radius);
  fromGrid(value, fill.carried, mask, hole, x0 - reach, y0 - reach, gw, gh, out, coherence);
  return { image: out, coherence };
}

/**
 * The hole and the pixels of `unread` that reach it: those joined to it through other pixels of
 * `unread` (8-connected), within the hole's box grown by its longer side. An excluded person
 * beside the hole is filled with it, whole where the box holds them; an exclusion that goes on
 * further is read past that distance, where a diffusion only smears anyway, so that the fill's
 * work stays in proportion to the hole's.
 */
export function unreadNear(mask: MaskImage, hole: Box, unread: MaskImage): MaskImage {
  const { width, height } = mask;
  const side = Math.max(hole.width, hole.height);
  const bx0 = Math.max(0, hole.x - side);
  const by0 = Math.max(0, hole.y - side);
  const bx1 = Math.min(width, hole.x + hole.width + side);
  const by1 = Math.min(height, hole.y + hole.height + side);
  const data = mask.data.slice();
  // The seeds: unread pixels beside the hole.
  const stack: number[] = [];
  const touches = (px: number, py: number): boolean => {
    for (let y = Math.max(0, py - 1); y <= Math.min(height - 1, py + 1); y++) {
      for (let x = Math.max(0, px - 1); x <= Math.min(width - 1, px + 1); x++) if (mask.data[y * width + x]) return true;
    }
    return false;
  };
  for (let y = Math.max(0, hole.y - 1); y < Math.min(height, hole.y + hole.height + 1); y++) {
    for (let x = Math.max(0, hole.x - 1); x < Math.min(width, hole.x + hole.width + 1); x++) {
      const q = y * width + x;
      if (data[q] || !unread.data[q] || !touches(x, y)) continue;
      data[q] = 1;
      stack.push(q);
    }
  }
  while (stack.length > 0) {
    const p = stack.pop()!;
    const px = p % width;
    const py = (p - px) / width;
    for (let y = Math.max(by0, py - 1); y <= Math.min(by1 - 1, py + 1); y++) {
      for (let x = Math.max(bx0, px - 1); x <= Math.min(bx1 - 1, px + 1); x++) {
        const q = y * width + x;
        if (data[q] || !unread.data[q]) continue;
        data[q] = 1;
        stack.push(q);
      }
    }
  }
  return { width, height, data };
}

// coherenceTransport's steps. Each loop is a function of its own: V8 optimises a long loop while it
// runs, and code after it in the same function that has not run yet throws that away, on every
// call (the first fills of a process ran the steps two to three times slower for it).

/**
 * The grid's cells from the image's pixels in the work box (its corner at (x0, y0) of the image, at
 * (`reach`, `reach`) of the grid): `known` 1 and the value, or `inside` 1 where the mask is set.
 * The grid's ring stays neither.
 */
function toGrid(image: RgbImage, mask: MaskImage, x0: number, y0: number, reach: number, gw: number, gh: number, known: Float32Array, inside: Uint8Array, value: Float32Array): void {
  const { width, height } = image;
  const cells = gw * gh;
  const plane = width * height;
  for (let y = y0; y < y0 + gh - 2 * reach; y++) {
    for (let x = x0; x < x0 + gw - 2 * reach; x++) {
      const p = y * width + x;
      const i = (y - y0 + reach) * gw + x - x0 + reach;
      if (mask.data[p]) {
        inside[i] = 1;
        continue;
      }
      known[i] = 1;
      value[i] = image.data[p];
      value[cells + i] = image.data[plane + p];
      value[2 * cells + i] = image.data[2 * plane + p];
    }
  }
}

/** The hole's pixels of `out` and `coherence` from the grid (its corner at (left, top) of the image), clamped to [0, 1]. */
function fromGrid(value: Float32Array, carried: Float32Array, mask: MaskImage, hole: Box, left: number, top: number, gw: number, gh: number, out: RgbImage, coherence: Float32Array): void {
  const { width, height } = out;
  const cells = gw * gh;
  const plane = width * height;
  for (let y = hole.y; y < hole.y + hole.height; y++) {
    for (let x = hole.x; x < hole.x + hole.width; x++) {
      const p = y * width + x;
      if (!mask.data[p]) continue;
      const i = (y - top) * gw + x - left;
      for (let c = 0; c < 3; c++) out.data[c * plane + p] = Math.min(1, Math.max(0, value[c * cells + i]));
      coherence[p] = carried[i];
    }
  }
}

/** What `transport` leaves per cell of the grid: the direction across the edge carried there (0, 0 where none), and the squared coherence it was carried with. */
interface Transported {
  normalX: Float32Array;
  normalY: Float32Array;
  carried: Float32Array;
}

/**
 * The fill itself: the hole's cells in order of their distance from the known ones, each the
 * weighted mean of its filled neighbours within `radius`, weighed by the structure tensor carried in
 * with the fill (the formula in the file comment). Writes the hole's `value`s; the tensor's planes
 * are extended over the hole.
 */
function transport(value: Float32Array, known: Float32Array, inside: Uint8Array, tensor: Tensor, gw: number, gh: number, radius: number, sharpness: number): Transported {
  const { txx, txy, tyy, has: hasTensor } = tensor;
  const cells = gw * gh;
  const taps = neighbourhood(radius, gw);
  const { offset, invLength, tapX, tapY } = taps;
  const count = offset.length;
  const spread = (sharpness * sharpness) / (2 * radius * radius);
  const filled = new Uint8Array(cells);
  const carried = new Float32Array(cells);
  const normalX = new Float32Array(cells);
  const normalY = new Float32Array(cells);
  for (let i = 0; i < cells; i++) filled[i] = known[i] ? 1 : 0;
  const order = fillOrder(filled, inside, gw, gh);
  for (let n = 0; n < order.length; n++) {
    const p = order[n];
    // The tensor here: the mean of those around it, carried inward with the fill.
    let a = 0;
    let b = 0;
    let d = 0;
    let total = 0;
    for (let k = 0; k < count; k++) {
      const q = p + offset[k];
      if (!hasTensor[q]) continue;
      const w = invLength[k];
      a += w * txx[q];
      b += w * txy[q];
      d += w * tyy[q];
      total += w;
    }
    let nx = 0;
    let ny = 0;
    let strength = 0;
    if (total > 0) {
      a /= total;
      b /= total;
      d /= total;
      txx[p] = a;
      txy[p] = b;
      tyy[p] = d;
      hasTensor[p] = 1;
      // The larger eigenvalue's eigenvector: the direction across the edge.
      const trace = a + d;
      if (trace > MIN_TRACE) {
        const root = Math.sqrt((a - d) * (a - d) + 4 * b * b);
        const coherence = Math.min(1, root / trace);
        strength = coherence * coherence;
        if (b !== 0) {
          nx = b;
          ny = (trace + root) / 2 - a;
        } else if (a >= d) nx = 1;
        else ny = 1;
        const norm = Math.hypot(nx, ny);
        nx /= norm;
        ny /= norm;
      }
    }
    carried[p] = strength;
    normalX[p] = nx;
    normalY[p] = ny;
    const k2 = spread * strength;
    let r = 0;
    let g = 0;
    let bl = 0;
    total = 0;
    for (let k = 0; k < count; k++) {
      const q = p + offset[k];
      if (!filled[q]) continue;
      const across = tapX[k] * nx + tapY[k] * ny;
      const w = invLength[k] * expTable[Math.min(EXP_LAST, Math.round(k2 * across * across * EXP_STEPS))];
      total += w;
      r += w * value[q];
      g += w * value[cells + q];
      bl += w * value[2 * cells + q];
    }
    // A pixel is reached from a neighbour with a value, within the radius: total > 0.
    value[p] = r / total;
    value[cells + p] = g / total;
    value[2 * cells + p] = bl / total;
    filled[p] = 1;
  }
  return { normalX, normalY, carried };
}

/** The neighbourhood: the offsets within `radius` on a grid with rows `gw` long, their 1 / length, and their x and y. */
function neighbourhood(radius: number, gw: number): { offset: Int32Array; invLength: Float64Array; tapX: Float64Array; tapY: Float64Array } {
  const reach = Math.floor(radius);
  const offDx: number[] = [];
  const offDy: number[] = [];
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 === 0 || d2 > radius * radius) continue;
      offDx.push(dx);
      offDy.push(dy);
    }
  }
  return {
    offset: Int32Array.from(offDx, (dx, k) => offDy[k] * gw + dx),
    invLength: Float64Array.from(offDx, (dx, k) => 1 / Math.hypot(dx, offDy[k])),
    tapX: Float64Array.from(offDx),
    tapY: Float64Array.from(offDy),
  };
}

/** The structure tensor's planes on the grid, and where it has a value (1). */
interface Tensor {
  txx: Float32Array;
  txy: Float32Array;
  tyy: Float32Array;
  has: Uint8Array;
}

/**
 * The structure tensor of the known pixels: the image smoothed over them alone (normalised
 * convolution, box radius `sigma`), its central-difference gradients where a pixel and its four
 * neighbours are known, their outer products summed over the channels and smoothed the same way
 * (`rho`). Returns its three planes and where it has a value (1).
 */
function structureTensor(value: Float32Array, known: Float32Array, gw: number, gh: number, sigma: number, rho: number): Tensor {
  const cells = gw * gh;
  const norm = known.slice();
  smooth(norm, gw, gh, sigma);
  const smoothed = new Float32Array(3 * cells);
  for (let c = 0; c < 3; c++) smoothKnown(value.subarray(c * cells, (c + 1) * cells), known, norm, smoothed.subarray(c * cells, (c + 1) * cells), gw, gh, sigma);
  const txx = new Float32Array(cells);
  const txy = new Float32Array(cells);
  const tyy = new Float32Array(cells);
  const weight = new Float32Array(cells);
  gradientProducts(smoothed, known, gw, gh, txx, txy, tyy, weight);
  smooth(txx, gw, gh, rho);
  smooth(txy, gw, gh, rho);
  smooth(tyy, gw, gh, rho);
  smooth(weight, gw, gh, rho);
  const has = new Uint8Array(cells);
  normaliseTensor(known, weight, txx, txy, tyy, has);
  return { txx, txy, tyy, has };
}

// The structure tensor's steps, each loop a function of its own: V8 optimises a long loop while it
// runs, and code after it that has not run yet would throw that away on every call.

/** `out` = one channel smoothed over the known pixels alone (normalised convolution; `norm`: `known` smoothed). */
function smoothKnown(channel: Float32Array, known: Float32Array, norm: Float32Array, out: Float32Array, gw: number, gh: number, sigma: number): void {
  for (let i = 0; i < out.length; i++) out[i] = channel[i] * known[i];
  smooth(out, gw, gh, sigma);
  for (let i = 0; i < out.length; i++) out[i] = norm[i] > MIN_WEIGHT ? out[i] / norm[i] : 0;
}

/** The central-difference gradients' outer products, summed over the channels, where a pixel and its four neighbours are known (`weight` 1 there). */
function gradientProducts(smoothed: Float32Array, known: Float32Array, gw: number, gh: number, txx: Float32Array, txy: Float32Array, tyy: Float32Array, weight: Float32Array): void {
  const cells = gw * gh;
  for (let y = 1; y < gh - 1; y++) {
    for (let x = 1; x < gw - 1; x++) {
      const i = y * gw + x;
      if (!(known[i] && known[i - 1] && known[i + 1] && known[i - gw] && known[i + gw])) continue;
      let a = 0;
      let b = 0;
      let d = 0;
      for (let c = 0; c < 3; c++) {
        const at = c * cells + i;
        const gx = (smoothed[at + 1] - smoothed[at - 1]) / 2;
        const gy = (smoothed[at + gw] - smoothed[at - gw]) / 2;
        a += gx * gx;
        b += gx * gy;
        d += gy * gy;
      }
      txx[i] = a;
      txy[i] = b;
      tyy[i] = d;
      weight[i] = 1;
    }
  }
}

/** The smoothed tensor divided by the smoothed weight at the known pixels where that is enough (`has` 1), 0 elsewhere. */
function normaliseTensor(known: Float32Array, weight: Float32Array, txx: Float32Array, txy: Float32Array, tyy: Float32Array, has: Uint8Array): void {
  for (let i = 0; i < known.length; i++) {
    if (known[i] && weight[i] > MIN_WEIGHT) {
      txx[i] /= weight[i];
      txy[i] /= weight[i];
      tyy[i] /= weight[i];
      has[i] = 1;
    } else {
      txx[i] = txy[i] = tyy[i] = 0;
    }
  }
}

/** The cells of `inside`, nearest the known ones (`filled`) first: a counting sort of their distances. */
function fillOrder(filled: Uint8Array, inside: Uint8Array, gw: number, gh: number): Int32Array {
  const distance = chamferDistance(filled, gw, gh);
  let most = 0;
  let count = 0;
  for (let i = 0; i < inside.length; i++) {
    if (!inside[i]) continue;
    count++;
    most = Math.max(most, Math.round(distance[i] * ORDER_STEPS));
  }
  const start = new Int32Array(most + 2);
  for (let i = 0; i < inside.length; i++) if (inside[i]) start[Math.round(distance[i] * ORDER_STEPS) + 1]++;
  for (let k = 1; k < start.length; k++) start[k] += start[k - 1];
  const order = new Int32Array(count);
  for (let i = 0; i < inside.length; i++) if (inside[i]) order[start[Math.round(distance[i] * ORDER_STEPS)]++] = i;
  return order;
}

/**
 * Per cell of the grid, the column and row of the known cell nearest it: two raster passes that
 * each take a neighbour's nearest where it is nearer (as 8SSEDT does: not always the exact nearest,
 * but enough to tell fronts from different parts of a hole's edge apart).
 */
function nearestKnown(known: Float32Array, gw: number, gh: number): { originX: Int32Array; originY: Int32Array } {
  const cells = gw * gh;
  const originX = new Int32Array(cells).fill(-1);
  const originY = new Int32Array(cells).fill(-1);
  const best = new Float64Array(cells).fill(Infinity);
  for (let i = 0; i < cells; i++) {
    if (!known[i]) continue;
    originX[i] = i % gw;
    originY[i] = (i - originX[i]) / gw;
    best[i] = 0;
  }
  const nearest: Nearest = { originX, originY, best };
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const i = y * gw + x;
      if (x > 0) take(nearest, i, i - 1, x, y);
      if (y > 0) {
        take(nearest, i, i - gw, x, y);
        if (x > 0) take(nearest, i, i - gw - 1, x, y);
        if (x < gw - 1) take(nearest, i, i - gw + 1, x, y);
      }
    }
    for (let x = gw - 2; x >= 0; x--) take(nearest, y * gw + x, y * gw + x + 1, x, y);
  }
  for (let y = gh - 1; y >= 0; y--) {
    for (let x = gw - 1; x >= 0; x--) {
      const i = y * gw + x;
      if (x < gw - 1) take(nearest, i, i + 1, x, y);
      if (y < gh - 1) {
        take(nearest, i, i + gw, x, y);
        if (x < gw - 1) take(nearest, i, i + gw + 1, x, y);
        if (x > 0) take(nearest, i, i + gw - 1, x, y);
      }
    }
    for (let x = 1; x < gw; x++) take(nearest, y * gw + x, y * gw + x - 1, x, y);
  }
  return { originX, originY };
}

/** `nearestKnown`'s state: per cell, its nearest known cell so far and that one's squared distance. */
interface Nearest {
  originX: Int32Array;
  originY: Int32Array;
  best: Float64Array;
}

/** Cell i (at x, y) takes cell j's nearest known cell where that is nearer than its own. */
function take(n: Nearest, i: number, j: number, x: number, y: number): void {
  if (n.originX[j] < 0) return;
  const dx = n.originX[j] - x;
  const dy = n.originY[j] - y;
  if (dx * dx + dy * dy >= n.best[i]) return;
  n.best[i] = dx * dx + dy * dy;
  n.originX[i] = n.originX[j];
  n.originY[i] = n.originY[j];
}

/**
 * Two neighbouring hole pixels meet at a seam when the known pixels nearest them lie further apart
 * than this many times their mean distance from them (at least `radius`): fronts from
 * different parts of the hole's edge, not one front. Along one front the sources drift apart
 * slowly with depth; across the hole's medial axis they lie about sqrt(2) times the depth apart
 * (at a right-angled corner) or more.
 */
const SEAM_SPREAD = 1;

/**
 * Where the fill's fronts meet, the seams' steps spread over the hole [ours]. Coherence transport,
 * like Telea's fast marching, fills inward from every side at once, each pixel from its filled
 * neighbours within the radius: where fronts from different parts of the edge meet (the hole's
 * medial axis, the middle of a hole against the frame), the values each carried in differ, and the
 * fill steps there (a sky's gradient, carried in from its left and its right, meets in a vertical
 * edge). So the fill is corrected by the least-squares fit of its differences between neighbours
 * (Poisson image editing; `solvePoisson`), where every difference is to be the fill's own but
 * across a seam, where it is to be what the fill does across the same pair moved along the edge
 * carried there (0 where there is none): the step is spread over the hole, an edge that crosses
 * where the fronts meet kept, the known pixels held, and the fill unchanged where no fronts meet.
 * In place, on the work grid.
 * @param normalX per cell, the normal of the edge the fill carried there (`normalY`; 0, 0 where none)
 */
function smoothSeams(value: Float32Array, normalX: Float32Array, normalY: Float32Array, inside: Uint8Array, known: Float32Array, gw: number, gh: number, radius: number): void {
  const { originX, originY } = nearestKnown(known, gw, gh);
  const grid: SeamGrid = { inside, seam: new Uint8Array(gw * gh), gw, gh };
  const box = findSeams(grid, originX, originY, radius);
  if (box.x1 <= box.x0) return;
  // The right-hand side on the box: where a seam's step is more than an edge carried across it
  // explains, that excess, to be fit to 0.
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const kind = new Uint8Array(bw * bh);
  const rhs = [new Float32Array(bw * bh), new Float32Array(bw * bh), new Float32Array(bw * bh)];
  if (!seamSteps(grid, box, value, normalX, normalY, known, radius, kind, rhs)) return;
  const corrections = solvePoisson(kind, bw, bh, rhs, SEAM_TOLERANCE);
  for (let c = 0; c < 3; c++) addBox(value.subarray(c * gw * gh, (c + 1) * gw * gh), gw, box, corrections[c]);
}

// smoothSeams' steps, each loop a function of its own (see `gradientProducts`).

/** The hole and its seams on coherenceTransport's grid. */
interface SeamGrid {
  inside: Uint8Array;
  /** Per cell, bit 0: its pair with its east neighbour is a seam; bit 1: with its south one. */
  seam: Uint8Array;
  gw: number;
  gh: number;
}

/** A box of the grid, [x0, x1) x [y0, y1). */
interface GridBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Marks the seams in `grid.seam`; returns the hole's box on the grid with a ring of one around it (empty where there is no hole). */
function findSeams(grid: SeamGrid, originX: Int32Array, originY: Int32Array, radius: number): GridBox {
  const { inside, seam, gw, gh } = grid;
  const box: GridBox = { x0: gw, y0: gh, x1: 0, y1: 0 };
  for (let p = 0; p < gw * gh; p++) {
    if (!inside[p]) continue;
    const x = p % gw;
    const y = (p - x) / gw;
    box.x0 = Math.min(box.x0, x - 1);
    box.y0 = Math.min(box.y0, y - 1);
    box.x1 = Math.max(box.x1, x + 2);
    box.y1 = Math.max(box.y1, y + 2);
    for (let bit = 1; bit <= 2; bit++) {
      const step = bit === 1 ? 1 : gw;
      const q = p + step;
      if (!inside[q]) continue;
      // A pixel where the fronts meet may hold a mean of both: the pair is compared by the pixels
      // on either side of it, when they are in the hole.
      const a = inside[p - step] ? p - step : p;
      const b = inside[q + step] ? q + step : q;
      const dx = originX[a] - originX[b];
      const dy = originY[a] - originY[b];
      const apart = SEAM_SPREAD * Math.max(radius, (depth(originX, originY, gw, a) + depth(originX, originY, gw, b)) / 2);
      if (dx * dx + dy * dy > apart * apart) seam[p] |= bit;
    }
  }
  return box;
}

/** Cell p's distance from its nearest known cell. */
function depth(originX: Int32Array, originY: Int32Array, gw: number, p: number): number {
  const dx = originX[p] - (p % gw);
  const dy = originY[p] - Math.floor(p / gw);
  return Math.sqrt(dx * dx + dy * dy);
}

/**
 * Fills `kind` (the box's cells for `solvePoisson`) and `rhs` (per channel, each seam's excess step
 * added at its first cell and taken from its second); returns whether there is any seam.
 */
function seamSteps(grid: SeamGrid, box: GridBox, value: Float32Array, normalX: Float32Array, normalY: Float32Array, known: Float32Array, radius: number, kind: Uint8Array, rhs: Float32Array[]): boolean {
  const { inside, seam, gw } = grid;
  const { x0, y0 } = box;
  const bw = box.x1 - x0;
  const bh = box.y1 - y0;
  const cells = gw * grid.gh;
  const reach = Math.floor(radius);
  const expected = new Float64Array(3);
  let any = false;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const p = (y + y0) * gw + x + x0;
      kind[y * bw + x] = inside[p] ? UNKNOWN : known[p] ? KNOWN : OUTSIDE;
      if (!seam[p]) continue;
      for (let bit = 1; bit <= 2; bit++) {
        if (!(seam[p] & bit)) continue;
        any = true;
        const step = bit === 1 ? 1 : gw;
        const q = p + step;
        // What the fill does across the same pair moved along the edge carried here (across the
        // pair where none is), where that is no seam: an edge that crosses where fronts meet
        // keeps its step; a step the fronts made alone has no such pairs, and is fit to 0.
        let tx = -normalY[p];
        let ty = normalX[p];
        if (tx === 0 && ty === 0) {
          tx = step === 1 ? 0 : 1;
          ty = step === 1 ? 1 : 0;
        }
        expected.fill(0);
        let count = 0;
        for (let side = -1; side <= 1; side += 2) {
          for (let j = 2, found = 0; j <= SEAM_SEARCH * reach && found < 2; j++) {
            // The pair moved by j along the edge, between pixels: its corner and its weights.
            const sx = x + x0 + side * j * tx;
            const sy = y + y0 + side * j * ty;
            const cx = Math.floor(sx);
            const cy = Math.floor(sy);
            if (cx < 0 || cy < 0 || cx + 1 >= gw || cy + 1 >= grid.gh) break;
            const o = cy * gw + cx;
            if (!clear(grid, o, step, bit) || !clear(grid, o + 1, step, bit) || !clear(grid, o + gw, step, bit) || !clear(grid, o + gw + 1, step, bit)) continue;
            const u = sx - cx;
            const v = sy - cy;
            for (let c = 0; c < 3; c++) expected[c] += bilinear(value, c * cells + o + step, gw, u, v) - bilinear(value, c * cells + o, gw, u, v);
            count++;
            found++;
          }
        }
        const i = y * bw + x;
        const k = i + (bit === 1 ? 1 : bw);
        for (let c = 0; c < 3; c++) {
          const excess = value[c * cells + q] - value[c * cells + p] - (count ? expected[c] / count : 0);
          rhs[c][i] += excess;
          rhs[c][k] -= excess;
        }
      }
    }
  }
  return any;
}

/** Whether cell i and its neighbour `step` on are both in the hole, their pair no seam. */
function clear(grid: SeamGrid, i: number, step: number, bit: number): boolean {
  return grid.inside[i] === 1 && grid.inside[i + step] === 1 && !(grid.seam[i] & bit);
}

/** `plane` (rows `gw` long) += `add` (the box's size) on the box. */
function addBox(plane: Float32Array, gw: number, box: GridBox, add: Float32Array): void {
  const bw = box.x1 - box.x0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) plane[y * gw + x] += add[(y - box.y0) * bw + x - box.x0];
}

/** `plane`'s value between cell i, its east, south and south-east neighbours, at (u, v) from i, rows `width` long. */
function bilinear(plane: Float32Array, i: number, width: number, u: number, v: number): number {
  return (1 - v) * ((1 - u) * plane[i] + u * plane[i + 1]) + v * ((1 - u) * plane[i + width] + u * plane[i + width + 1]);
}

/** How far along an edge, in radii, a seam's step looks for the same pair away from any seam. */
const SEAM_SEARCH = 4;

/**
 * The solver's tolerance, its residual's share of the steps': 3% takes 5 iterations at 256 and 512;
 * 1% (7 iterations) gave the same fills within the noise, 10% a quarter less of the VGG distance's
 * gain (docs/results-history.md, "Session 44").
 */
const SEAM_TOLERANCE = 3e-2;
