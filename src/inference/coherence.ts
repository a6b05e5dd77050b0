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
 * Only the hole's bounding box grown by the reach of the smoothing and the neighbourhood is worked
 * on: beyond copying the image and scanning the mask, a large photo with a small hole costs what
 * the hole does.
 */
import { smooth } from '../core/blur.ts';
import { expect, UsageError } from '../core/errors.ts';
import { checkImage, checkMask, type MaskImage, maskBoundingBox, type RgbImage } from '../core/raster.ts';
import { chamferDistance } from './blend.ts';

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
}

/** The paper's suggested parameters, as box radii of `smooth` where they are blurs. */
export const COHERENCE: Required<CoherenceOptions> = { radius: 5, sharpness: 25, sigma: 1, rho: 4 };

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
 * surroundings, a smear, and where the fronts from two sides meet, a seam.
 * @returns a new image: known pixels bit-identical to the input's, hole pixels filled, in [0, 1]
 *   (the input is not modified, and what its hole pixels hold is never read); and the coherence
 * @example
 * const { image: filled, coherence } = coherenceTransport(image, mask);
 * @throws UsageError when the image or mask is malformed, their sizes differ, a parameter is out of
 *   range, or the mask covers the whole image (there is nothing to fill from)
 */
export function coherenceTransport(image: RgbImage, mask: MaskImage, options: CoherenceOptions = {}): CoherenceResult {
  checkImage(image, 'image');
  checkMask(mask, 'mask');
  const { width, height } = image;
  expect(mask.width === width && mask.height === height, 'the mask size', `${width}x${height} like the image`, `${mask.width}x${mask.height}`);
  const { radius, sharpness, sigma, rho } = { ...COHERENCE, ...options };
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

  // The work box: the hole's box grown by the smoothings' reach (three box passes each) and the
  // neighbourhood's, clipped to the image; the grid adds a ring of `reach` cells that are never known,
  // so that no neighbour access needs a bounds check.
  const reach = Math.floor(radius);
  const grow = 3 * (sigma + rho) + reach + 2;
  const x0 = Math.max(0, hole.x - grow);
  const y0 = Math.max(0, hole.y - grow);
  const x1 = Math.min(width, hole.x + hole.width + grow);
  const y1 = Math.min(height, hole.y + hole.height + grow);
  const gw = x1 - x0 + 2 * reach;
  const gh = y1 - y0 + 2 * reach;
  const cells = gw * gh;
  const plane = width * height;
  const known = new Float32Array(cells);
  const inside = new Uint8Array(cells);
  const value = new Float32Array(3 * cells);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
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

  const [txx, txy, tyy, hasTensor] = structureTensor(value, known, gw, gh, sigma, rho);

  // The neighbourhood: offsets within `radius`, with their 1 / |q - p|.
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
  const taps = offDx.length;
  const offset = Int32Array.from(offDx, (dx, k) => offDy[k] * gw + dx);
  const invLength = Float64Array.from(offDx, (dx, k) => 1 / Math.hypot(dx, offDy[k]));
  const tapX = Float64Array.from(offDx);
  const tapY = Float64Array.from(offDy);
  const spread = (sharpness * sharpness) / (2 * radius * radius);

  const filled = new Uint8Array(cells);
  const carried = new Float32Array(cells);
  for (let i = 0; i < cells; i++) filled[i] = known[i] ? 1 : 0;
  for (const p of fillOrder(filled, inside, gw, gh)) {
    // The tensor here: the mean of those around it, carried inward with the fill.
    let a = 0;
    let b = 0;
    let d = 0;
    let total = 0;
    for (let k = 0; k < taps; k++) {
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
    const k2 = spread * strength;
    let r = 0;
    let g = 0;
    let bl = 0;
    total = 0;
    for (let k = 0; k < taps; k++) {
      const q = p + offset[k];
      if (!filled[q]) continue;
      const across = tapX[k] * nx + tapY[k] * ny;
      const w = invLength[k] * Math.exp(-k2 * across * across);
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

  for (let y = hole.y; y < hole.y + hole.height; y++) {
    for (let x = hole.x; x < hole.x + hole.width; x++) {
      const p = y * width + x;
      if (!mask.data[p]) continue;
      const i = (y - y0 + reach) * gw + x - x0 + reach;
      for (let c = 0; c < 3; c++) out.data[c * plane + p] = Math.min(1, Math.max(0, value[c * cells + i]));
      coherence[p] = carried[i];
    }
  }
  return { image: out, coherence };
}

/**
 * The structure tensor of the known pixels: the image smoothed over them alone (normalised
 * convolution, box radius `sigma`), its central-difference gradients where a pixel and its four
 * neighbours are known, their outer products summed over the channels and smoothed the same way
 * (`rho`). Returns its three planes and where it has a value (1).
 */
function structureTensor(value: Float32Array, known: Float32Array, gw: number, gh: number, sigma: number, rho: number): [Float32Array, Float32Array, Float32Array, Uint8Array] {
  const cells = gw * gh;
  const norm = known.slice();
  smooth(norm, gw, gh, sigma);
  const smoothed = new Float32Array(3 * cells);
  for (let c = 0; c < 3; c++) {
    const channel = smoothed.subarray(c * cells, (c + 1) * cells);
    for (let i = 0; i < cells; i++) channel[i] = value[c * cells + i] * known[i];
    smooth(channel, gw, gh, sigma);
    for (let i = 0; i < cells; i++) channel[i] = norm[i] > MIN_WEIGHT ? channel[i] / norm[i] : 0;
  }
  const [txx, txy, tyy, weight] = [new Float32Array(cells), new Float32Array(cells), new Float32Array(cells), new Float32Array(cells)];
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
  for (const t of [txx, txy, tyy, weight]) smooth(t, gw, gh, rho);
  const has = new Uint8Array(cells);
  for (let i = 0; i < cells; i++) {
    if (known[i] && weight[i] > MIN_WEIGHT) {
      txx[i] /= weight[i];
      txy[i] /= weight[i];
      tyy[i] /= weight[i];
      has[i] = 1;
    } else {
      txx[i] = txy[i] = tyy[i] = 0;
    }
  }
  return [txx, txy, tyy, has];
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
