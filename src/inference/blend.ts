/**
 * Blending a network fill into the photo at full resolution (paper §4.3: "by aligning the color of
 * the boundary..."; the method is ours).
 *
 * 1. Known pixels are never written: the output starts as a copy of the input and only hole pixels
 *    change, so the known region is preserved bit for bit.
 * 2. Tone: G2 renders the whole crop, known part included, and its colours drift from the photo's.
 *    The drift D = photo - fill is carried into the hole as an offset field, the membrane of
 *    seamless cloning (Pérez et al. 2003, "Poisson image editing"): the smooth (harmonic) field that
 *    equals D exactly on the known pixels touching the hole. The fill keeps its own detail, and its
 *    edge meets the photo's edge pixel for pixel, so there is no step at the seam. The membrane is
 *    relaxed iteratively, in a band along the seam (deep inside a large hole the guess stands), from
 *    a guess that is already close: a normalised convolution of D over a thin ring of known pixels
 *    (a near-Gaussian made of three box blurs, wide as the hole is thick), with the ring's mean as a
 *    weak prior where the ring is out of reach. On the validation split the exact seam took hole l1
 *    from 13.8% to 13.5% (centre-256) and 10.6% to 10.2% (rectangles), and SSIM from 0.835 to 0.839
 *    and 0.877 to 0.882, against the guess alone.
 * 3. Seam: the `feather` outermost hole pixels (the band added by dilating the user's mask, which is
 *    background more likely than object) cross-fade from the photo to the fill, so the texture
 *    change is spread over the band instead of being an edge. The user's own stroke is always
 *    filled completely.
 */
import { smooth } from '../core/blur.ts';
import type { Box, MaskImage, RgbImage } from '../core/raster.ts';

export interface BlendOptions {
  /** Hole pixels within this distance (px) of the known region are cross-faded; 0 = none. */
  feather: number;
  /** Width (px) of the ring of known pixels the tone drift is measured on. */
  ring: number;
}

/**
 * The ring of a region's blend (`BlendOptions.ring`) when its fill was enlarged `enlargement` times
 * from its last working scale: 3 working pixels, and at least 2 of the photo's.
 */
export function blendRing(enlargement: number): number {
  return Math.max(2, Math.ceil(3 * enlargement));
}

/**
 * Distance (chamfer, steps 1 and sqrt 2) from every pixel to the nearest pixel where `source` is 1;
 * Infinity when there is none.
 */
export function chamferDistance(source: Uint8Array, width: number, height: number): Float32Array {
  const d = new Float32Array(width * height);
  for (let i = 0; i < d.length; i++) d[i] = source[i] ? 0 : Infinity;
  const diag = Math.SQRT2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + 1);
      if (y > 0) {
        v = Math.min(v, d[i - width] + 1);
        if (x > 0) v = Math.min(v, d[i - width - 1] + diag);
        if (x < width - 1) v = Math.min(v, d[i - width + 1] + diag);
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      let v = d[i];
      if (x < width - 1) v = Math.min(v, d[i + 1] + 1);
      if (y < height - 1) {
        v = Math.min(v, d[i + width] + 1);
        if (x < width - 1) v = Math.min(v, d[i + width + 1] + diag);
        if (x > 0) v = Math.min(v, d[i + width - 1] + diag);
      }
      d[i] = v;
    }
  }
  return d;
}

/** Pixel updates per plane the relaxation may spend: a 1200x800 hole takes 0.1 to 0.2 s here. */
const RELAX_BUDGET = 3e6;

/**
 * Over-relaxed Gauss-Seidel sweeps of Laplace's equation on the hole pixels of each plane: every hole
 * value moves towards the mean of its 4 neighbours, the known pixels around the hole stay fixed
 * (Dirichlet), the window's edge is a mirror (Neumann). Started from a smooth guess, k sweeps move
 * the values about k pixels from the seam, where the guess is furthest off; so only the band of hole
 * pixels within k of the seam is relaxed (deeper ones keep the guess), with k as wide as the hole
 * (at most 128, fewer for a long seam: the work is the seam's length x k x k).
 * @param toKnown each pixel's distance to the known region (0 on it)
 */
function relaxMembrane(planes: readonly [Float32Array, Float32Array, Float32Array], hole: Uint8Array, toKnown: Float32Array, width: number, height: number, thickness: number): void {
  let seam = 0;
  for (let i = 0; i < hole.length; i++) if (hole[i] && toKnown[i] < 2) seam++;
  if (seam === 0) return;
  const sweeps = Math.max(8, Math.min(128, Math.ceil(2 * thickness), Math.floor(Math.sqrt(RELAX_BUDGET / seam))));
  // The optimal over-relaxation for a square as wide as the band; more would oscillate.
  const omega = 2 / (1 + Math.sin(Math.PI / sweeps));
  // The pixels to relax off the window's edge, as runs [start, end) of consecutive indices in
  // row-major order; those on it, which have fewer neighbours, apart.
  const runs: number[] = [];
  const edge: number[] = [];
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      if (!hole[i] || toKnown[i] > sweeps) continue;
      if (x === 0 || x === width - 1 || y === 0 || y === height - 1) edge.push(i);
      else if (runs.length > 0 && runs[runs.length - 1] === i) runs[runs.length - 1] = i + 1;
      else runs.push(i, i + 1);
    }
  }
  const spans = Int32Array.from(runs);
  // The three planes are relaxed in the same loop: each update waits for its left neighbour's, so
  // one plane alone is bound by that chain's latency, and three independent chains run side by side
  // (about 2.8x faster; each plane's order of updates, hence its result, is unchanged).
  const [a, b, c] = planes;
  const w = width;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let r = 0; r < spans.length; r += 2) {
      for (let i = spans[r], end = spans[r + 1]; i < end; i++) {
        a[i] += omega * (0.25 * (a[i - 1] + a[i + 1] + a[i - w] + a[i + w]) - a[i]);
        b[i] += omega * (0.25 * (b[i - 1] + b[i + 1] + b[i - w] + b[i + w]) - b[i]);
        c[i] += omega * (0.25 * (c[i - 1] + c[i + 1] + c[i - w] + c[i + w]) - c[i]);
      }
    }
    for (const i of edge) {
      const x = i % width;
      const y = (i - x) / width;
      for (const o of planes) {
        let sum = 0;
        let n = 0;
        if (x > 0) (sum += o[i - 1]), n++;
        if (x < width - 1) (sum += o[i + 1]), n++;
        if (y > 0) (sum += o[i - width]), n++;
        if (y < height - 1) (sum += o[i + width]), n++;
        o[i] += omega * (sum / n - o[i]);
      }
    }
  }
}

/**
 * Writes the hole pixels of `box` into `out`, from `fill` (the network result for that box, at its
 * size) aligned in tone and feathered as the file comment says. Pixels outside the hole are not
 * touched. The work is limited to `holeBox` grown by the ring: no ring pixel lies outside it.
 * @param out the output image (a copy of `original`), modified in place
 * @param original the input photo
 * @param mask the hole (1) at the photo's size
 * @param holeBox holds every hole pixel of `box`
 */
export function blendRegion(out: RgbImage, original: RgbImage, mask: MaskImage, box: Box, fill: RgbImage, holeBox: Box, options: BlendOptions): void {
  const grow = Math.ceil(options.ring) + 1;
  const x0 = Math.max(box.x, holeBox.x - grow);
  const y0 = Math.max(box.y, holeBox.y - grow);
  const w = Math.min(box.x + box.width, holeBox.x + holeBox.width + grow) - x0;
  const h = Math.min(box.y + box.height, holeBox.y + holeBox.height + grow) - y0;
  const n = w * h;
  const plane = original.width * original.height;
  const fillPlane = fill.width * fill.height;
  // Window index i (row-major) is pixel at[i] of the photo and pixel from[i] of the fill.
  const at = new Int32Array(n);
  const from = new Int32Array(n);
  const hole = new Uint8Array(n);
  const known = new Uint8Array(n);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0, p = (y0 + y) * original.width + x0, f = (y0 + y - box.y) * fill.width + x0 - box.x; x < w; x++, i++, p++, f++) {
      at[i] = p;
      from[i] = f;
      hole[i] = mask.data[p];
      known[i] = 1 - hole[i];
    }
  }
  const toKnown = chamferDistance(known, w, h);
  const toHole = chamferDistance(hole, w, h);

  // The drift on the ring, as numerator planes (D * weight) and the weight plane.
  const planes = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const mean = [0, 0, 0];
  let ringCount = 0;
  let thickness = 0;
  for (let i = 0; i < n; i++) {
    if (hole[i]) {
      if (toKnown[i] !== Infinity && toKnown[i] > thickness) thickness = toKnown[i];
    } else if (toHole[i] <= options.ring) {
      for (let c = 0; c < 3; c++) {
        const drift = original.data[c * plane + at[i]] - fill.data[c * fillPlane + from[i]];
        planes[c][i] = drift;
        mean[c] += drift;
      }
      planes[3][i] = 1;
      ringCount++;
    }
  }
  if (ringCount > 0) for (let c = 0; c < 3; c++) mean[c] /= ringCount;
  // Wide as the hole is thick, so that three passes reach its middle from the ring.
  const radius = Math.max(2, Math.min(64, Math.round(thickness / 2)));
  for (const p of planes) smooth(p, w, h, radius);
  // Where no ring pixel is in reach, the ring's mean drift takes over.
  const prior = 1e-4;

  // The offset starts as that smooth field in the hole and as the exact drift on the known pixels
  // touching it; relaxing it towards a membrane then makes it meet the exact drift at the seam.
  const offset = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
  for (let i = 0; i < n; i++) {
    if (hole[i]) {
      const weight = planes[3][i] + prior;
      for (let c = 0; c < 3; c++) offset[c][i] = (planes[c][i] + prior * mean[c]) / weight;
    } else if (toHole[i] < 2) {
      for (let c = 0; c < 3; c++) offset[c][i] = original.data[c * plane + at[i]] - fill.data[c * fillPlane + from[i]];
    }
  }
  relaxMembrane(offset, hole, toKnown, w, h, thickness);

  for (let i = 0; i < n; i++) {
    if (!hole[i]) continue;
    const alpha = Math.min(1, toKnown[i] / (options.feather + 1));
    for (let c = 0; c < 3; c++) {
      const p = c * plane + at[i];
      const v = Math.min(1, Math.max(0, fill.data[c * fillPlane + from[i]] + offset[c][i]));
      out.data[p] = alpha * v + (1 - alpha) * original.data[p];
    }
  }
}
