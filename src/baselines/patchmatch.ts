/**
 * PatchMatch image completion, the no-network baseline in the spirit of Photoshop's Content-Aware
 * Fill: Wexler, Shechtman & Irani, "Space-Time Completion of Video" (PAMI 2007) with the nearest
 * neighbour search of Barnes et al., "PatchMatch" (SIGGRAPH 2009).
 *
 * The hole is filled coarse to fine on an image pyramid whose coarsest level shrinks the hole to a
 * few pixels across. At each level, a few EM iterations alternate
 *  - search: for every target patch (a patch overlapping the hole), PatchMatch finds a source patch
 *    (one entirely in the known region) of least SSD to the current estimate, known and filled
 *    pixels alike (Wexler et al.), from random candidates, from its neighbours' matches shifted by
 *    one (propagation, alternating scan order) and from random tries in a halving radius;
 *  - vote: every hole pixel becomes the weighted mean of the pixels the overlapping patches' matches
 *    put there, a patch weighing exp(-d / 2 sigma^2) with sigma^2 the 75th percentile of the
 *    distances, so that well-matched patches dominate.
 * The coarsest estimate starts from an onion-peel fill (each ring the mean of the ring outside it);
 * each finer level starts from its parent's matches, shifted twice as far, and a vote.
 *
 * Regions are those of our pipeline (`planRegions`): a photo of up to 512 pixels is worked on whole,
 * a larger one as crops around its holes, and a crop larger than `maxSide` is shrunk for the
 * synthesis, its fill enlarged back (Lanczos). Only hole pixels are ever written, and hole pixels of
 * the input are never read.
 */
import { expect, UsageError } from '../core/errors.ts';
import { cropImage, dilateMask, holeFraction, type MaskImage, maskBoundingBox, resizeImage, resizeMask, type RgbImage } from '../core/raster.ts';
import { Rng } from '../core/random.ts';
import { planRegions } from '../inference/regions.ts';
import type { InpaintMethod } from './method.ts';

export interface PatchMatchOptions {
  /** The side of the square patches in pixels: odd, 3 to 15. Default 7. */
  patchSize?: number;
  /** EM iterations (search, then vote) at each pyramid level: 1 to 50. Default 5. */
  iterations?: number;
  /** PatchMatch sweeps per search, alternating scan order: 1 to 20. Default 2. */
  searchIterations?: number;
  /** A region whose longer side exceeds this is synthesised shrunk to it: 32 to 4096. Default 512. */
  maxSide?: number;
  /** The seed of the random initialisation and search; equal seeds give equal results. Default 0. */
  seed?: number;
}

const DEFAULTS: Required<PatchMatchOptions> = { patchSize: 7, iterations: 5, searchIterations: 2, maxSide: 512, seed: 0 };

/** The coarsest level shrinks the hole until its deepest pixel is at most this far from the known region. */
const COARSEST_DEPTH = 4;
/**
 * A patch's vote weight is exp(-min(d / 2 sigma^2, WEIGHT_EXPONENT_CAP)): patches much worse than
 * the typical one count alike instead of underflowing to zero, so a pixel covered only by such
 * patches still gets their average.
 */
const WEIGHT_EXPONENT_CAP = 50;
/**
 * The least sigma^2 per patch value: a mean squared difference of half a grey level. Below it,
 * differences are quantisation noise, and a perfectly matching majority must not silence the rest.
 */
const SIGMA2_FLOOR_PER_VALUE = 0.5 / (255 * 255);

/**
 * Checks PatchMatch options and fills in the defaults.
 * @example
 * resolvePatchMatchOptions({ seed: 3 }); // { patchSize: 7, iterations: 5, searchIterations: 2, maxSide: 512, seed: 3 }
 * @throws UsageError for an unknown option or a value out of range
 */
export function resolvePatchMatchOptions(options: PatchMatchOptions = {}): Required<PatchMatchOptions> {
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(DEFAULTS, key)) throw new UsageError(`Unknown PatchMatch option ${JSON.stringify(key)}; expected ${Object.keys(DEFAULTS).join(', ')}`);
  }
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<PatchMatchOptions>;
  const within = (v: number, lo: number, hi: number) => Number.isSafeInteger(v) && v >= lo && v <= hi;
  expect(within(o.patchSize, 3, 15) && o.patchSize % 2 === 1, 'options.patchSize', 'an odd integer from 3 to 15', o.patchSize);
  expect(within(o.iterations, 1, 50), 'options.iterations', 'an integer from 1 to 50', o.iterations);
  expect(within(o.searchIterations, 1, 20), 'options.searchIterations', 'an integer from 1 to 20', o.searchIterations);
  expect(within(o.maxSide, 32, 4096), 'options.maxSide', 'an integer from 32 to 4096', o.maxSide);
  expect(Number.isSafeInteger(o.seed), 'options.seed', 'an integer', o.seed);
  return o;
}

/**
 * Fills the holes of `mask` (nonzero = hole) in `image` by PatchMatch completion (see the file
 * comment). Deterministic for a given seed.
 * @returns a new image: known pixels bit-identical to the input's, hole pixels synthesised from
 *   known patches
 * @example
 * const filled = patchMatchInpaint(await readImage('photo.jpg'), await readMask('mask.png'), { seed: 1 });
 * await writeImage('filled.png', filled);
 * @throws UsageError when the image or the mask is malformed, their sizes differ, an option is
 *   invalid, or a hole leaves no patch entirely outside it to copy from
 */
export function patchMatchInpaint(image: RgbImage, mask: MaskImage, options: PatchMatchOptions = {}): RgbImage {
  const o = resolvePatchMatchOptions(options);
  const { width, height } = image;
  expect(Number.isSafeInteger(width) && width > 0 && Number.isSafeInteger(height) && height > 0, 'image width and height', 'positive integers', [width, height]);
  expect(image.data instanceof Float32Array && image.data.length === 3 * width * height, 'image.data', `a Float32Array of 3 * ${width} * ${height} values (planar RGB)`, image.data);
  expect(mask.width === width && mask.height === height, 'the mask size', `${width}x${height} like the image`, `${mask.width}x${mask.height}`);
  expect(mask.data instanceof Uint8Array && mask.data.length === width * height, 'mask.data', `a Uint8Array of ${width} * ${height} bytes`, mask.data);
  const hole: MaskImage = { width, height, data: Uint8Array.from(mask.data, (v) => (v ? 1 : 0)) };
  const out: RgbImage = { width, height, data: image.data.slice() };
  const holeBox = maskBoundingBox(hole);
  if (!holeBox) return out;
  const rng = new Rng(o.seed);
  const plane = width * height;
  for (const { box } of planRegions(hole, holeBox)) {
    const crop = cropImage(image, box);
    const cropHole = cropImage(hole, box);
    const shrink = o.maxSide / Math.max(box.width, box.height);
    let work = crop;
    let workHole = cropHole;
    if (shrink < 1) {
      const [w, h] = [Math.max(1, Math.round(box.width * shrink)), Math.max(1, Math.round(box.height * shrink))];
      work = resizeImage(crop, w, h);
      // resizeMask keeps every pixel the hole touches; the resampling filter spreads hole colours
      // about one working pixel further, so those are not trusted as known either.
      workHole = dilateMask(resizeMask(cropHole, w, h), 1);
    }
    let fill = complete(work, workHole, o, rng);
    if (shrink < 1) fill = resizeImage(fill, box.width, box.height, 'lanczos');
    const cropPlane = box.width * box.height;
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        const i = y * box.width + x;
        if (!cropHole.data[i]) continue;
        const j = (box.y + y) * width + box.x + x;
        for (let c = 0; c < 3; c++) out.data[c * plane + j] = fill.data[c * cropPlane + i];
      }
    }
  }
  return out;
}

/**
 * An `InpaintMethod` running `patchMatchInpaint` with fixed options (so every call with the same
 * input gives the same result).
 * @example
 * const method = patchMatchMethod({ seed: 7 });
 * const filled = await method.inpaint(image, mask);
 * @throws UsageError for invalid options (checked here, not at the first call)
 */
export function patchMatchMethod(options: PatchMatchOptions = {}): InpaintMethod {
  const resolved = resolvePatchMatchOptions(options);
  return {
    name: 'patchmatch',
    inpaint: async (image, mask) => patchMatchInpaint(image, mask, resolved),
    dispose: () => {},
  };
}

// ---------------------------------------------------------------------------------------------
// One region

/** One pyramid level. Pixel arrays are row-major; `image` is interleaved RGB, so patch rows are contiguous. */
interface Level {
  width: number;
  height: number;
  /** The current estimate: known pixels exact, hole pixels the latest vote. */
  image: Float32Array;
  hole: Uint8Array;
  /** Per pixel: 1 when the patch centred there lies inside the image and entirely in the known region. */
  sourceOk: Uint8Array;
  /** The centres of the source patches. */
  sources: Int32Array;
  /** The centres of the target patches: inside the image and overlapping the hole. */
  targets: Int32Array;
  /** Per pixel: its index in `targets`, or -1. */
  targetAt: Int32Array;
  /** Per target: the centre of its source patch, and the SSD between the two. */
  nnf: Int32Array;
  dist: Float32Array;
}

/** Fills the hole of one working image; returns the completed image (planar, the input's size). */
function complete(image: RgbImage, hole: MaskImage, o: Required<PatchMatchOptions>, rng: Rng): RgbImage {
  const { width, height } = image;
  const plane = width * height;
  const finest = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    if (hole.data[i]) continue;
    for (let c = 0; c < 3; c++) finest[3 * i + c] = image.data[c * plane + i];
  }
  const levels = [makeLevel(width, height, finest, hole.data, o.patchSize)];
  if (levels[0].sources.length === 0) {
    throw new UsageError(
      `the hole is too large: it covers ${(100 * holeFraction(hole)).toFixed(1)}% of the ${width}x${height} area around it, ` +
        `and no ${o.patchSize}x${o.patchSize} patch lies entirely outside it to copy from; use a smaller mask`,
    );
  }
  const depth = holeDepth(hole.data, width, height);
  while (depth / 2 ** (levels.length - 1) > COARSEST_DEPTH) {
    const coarser = downsample(levels[levels.length - 1], o.patchSize);
    // Stop where the image gets smaller than a patch or leaves nothing known to copy.
    if (!coarser || coarser.sources.length === 0) break;
    levels.push(coarser);
  }

  const r = o.patchSize >> 1;
  const scratch = new Float64Array(4 * plane);
  const sorted = new Float32Array(Math.max(...levels.map((l) => l.targets.length)));
  for (let l = levels.length - 1; l >= 0; l--) {
    const level = levels[l];
    if (l === levels.length - 1) {
      onionPeel(level);
      for (let k = 0; k < level.targets.length; k++) level.nnf[k] = level.sources[rng.int(0, level.sources.length - 1)];
    } else {
      upsampleMatches(levels[l + 1], level, r, rng);
      // Nothing is known yet about the hole at this level, so this first vote weighs all patches alike.
      vote(level, r, scratch, Infinity);
    }
    for (let em = 0; em < o.iterations; em++) {
      for (let k = 0; k < level.targets.length; k++) level.dist[k] = patchDistance(level.image, level.width, level.targets[k], level.nnf[k], o.patchSize, Infinity);
      for (let s = 0; s < o.searchIterations; s++) sweep(level, o.patchSize, rng, s % 2 === 0);
      vote(level, r, scratch, votingSigma2(level, sorted, o.patchSize));
    }
  }

  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = levels[0].image[3 * i + c];
  }
  return { width, height, data: out };
}

/** The level for an estimate and a hole: source and target patches, empty matches. */
function makeLevel(width: number, height: number, image: Float32Array, hole: Uint8Array, patchSize: number): Level {
  const r = patchSize >> 1;
  // Hole counts over every patch in O(1) each, from a summed-area table.
  const stride = width + 1;
  const table = new Int32Array(stride * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += hole[y * width + x];
      table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row;
    }
  }
  const sourceOk = new Uint8Array(width * height);
  const targetAt = new Int32Array(width * height).fill(-1);
  const sources: number[] = [];
  const targets: number[] = [];
  for (let y = r; y < height - r; y++) {
    for (let x = r; x < width - r; x++) {
      const top = (y - r) * stride;
      const bottom = (y + r + 1) * stride;
      const holes = table[bottom + x + r + 1] - table[top + x + r + 1] - table[bottom + x - r] + table[top + x - r];
      const i = y * width + x;
      if (holes === 0) {
        sourceOk[i] = 1;
        sources.push(i);
      } else {
        targetAt[i] = targets.length;
        targets.push(i);
      }
    }
  }
  return {
    width,
    height,
    image,
    hole,
    sourceOk,
    sources: Int32Array.from(sources),
    targets: Int32Array.from(targets),
    targetAt,
    nnf: new Int32Array(targets.length),
    dist: new Float32Array(targets.length),
  };
}

/** The largest chessboard distance from a hole pixel to the known region (or the image's edge, which is no help, so not counted). */
function holeDepth(hole: Uint8Array, width: number, height: number): number {
  const d = new Float32Array(width * height);
  for (let i = 0; i < d.length; i++) d[i] = hole[i] ? Infinity : 0;
  // Two raster passes of the 3x3 chamfer with unit steps: exact chessboard distance.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (d[i] === 0) continue;
      let m = d[i];
      if (x > 0) m = Math.min(m, d[i - 1] + 1);
      if (y > 0) {
        m = Math.min(m, d[i - width] + 1);
        if (x > 0) m = Math.min(m, d[i - width - 1] + 1);
        if (x < width - 1) m = Math.min(m, d[i - width + 1] + 1);
      }
      d[i] = m;
    }
  }
  let deepest = 0;
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (d[i] === 0) continue;
      let m = d[i];
      if (x < width - 1) m = Math.min(m, d[i + 1] + 1);
      if (y < height - 1) {
        m = Math.min(m, d[i + width] + 1);
        if (x < width - 1) m = Math.min(m, d[i + width + 1] + 1);
        if (x > 0) m = Math.min(m, d[i + width - 1] + 1);
      }
      d[i] = m;
      if (m > deepest) deepest = m;
    }
  }
  return deepest;
}

/**
 * The next coarser level: each pixel the mean of a 2x2 block, known only when the whole block is,
 * so no hole value ever leaks into a coarse known pixel. Null when it would be smaller than a patch.
 */
function downsample(fine: Level, patchSize: number): Level | null {
  const [width, height] = [Math.ceil(fine.width / 2), Math.ceil(fine.height / 2)];
  if (width < patchSize || height < patchSize) return null;
  const image = new Float32Array(3 * width * height);
  const hole = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const ys = Math.min(2, fine.height - 2 * y);
      const xs = Math.min(2, fine.width - 2 * x);
      let n = 0;
      for (let dy = 0; dy < ys; dy++) {
        for (let dx = 0; dx < xs; dx++) {
          const j = (2 * y + dy) * fine.width + 2 * x + dx;
          if (fine.hole[j]) hole[i] = 1;
          for (let c = 0; c < 3; c++) image[3 * i + c] += fine.image[3 * j + c];
          n++;
        }
      }
      if (hole[i]) image.fill(0, 3 * i, 3 * i + 3);
      else for (let c = 0; c < 3; c++) image[3 * i + c] /= n;
    }
  }
  return makeLevel(width, height, image, hole, patchSize);
}

/** The coarsest estimate: rings of hole pixels, outside in, each the mean of its filled 8-neighbours. */
function onionPeel(level: Level): void {
  const { width, height, image, hole } = level;
  const filled = Uint8Array.from(hole, (h) => 1 - h);
  let pending = Int32Array.from(hole.keys()).filter((i) => hole[i] === 1);
  const ring = new Int32Array(pending.length);
  while (pending.length > 0) {
    let ringSize = 0;
    let restSize = 0;
    for (const i of pending) {
      const x = i % width;
      const y = (i - x) / width;
      let n = 0;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const j = ny * width + nx;
          if (!filled[j]) continue;
          r += image[3 * j];
          g += image[3 * j + 1];
          b += image[3 * j + 2];
          n++;
        }
      }
      if (n === 0) {
        // Kept for a later round, compacted in place (the write index never passes the read one).
        pending[restSize++] = i;
        continue;
      }
      ring[ringSize++] = i;
      image[3 * i] = r / n;
      image[3 * i + 1] = g / n;
      image[3 * i + 2] = b / n;
    }
    // The level has source patches, so something is known and every round fills a ring.
    for (let k = 0; k < ringSize; k++) filled[ring[k]] = 1;
    pending = pending.subarray(0, restSize);
  }
}

/** Initial matches of a finer level: the parent's displacement, doubled; a random source where that is not one. */
function upsampleMatches(coarse: Level, fine: Level, r: number, rng: Rng): void {
  const { width, sourceOk, sources, targets, nnf } = fine;
  for (let k = 0; k < targets.length; k++) {
    const t = targets[k];
    const x = t % width;
    const y = (t - x) / width;
    const cx = Math.min(Math.max(x >> 1, r), coarse.width - 1 - r);
    const cy = Math.min(Math.max(y >> 1, r), coarse.height - 1 - r);
    const parent = coarse.targetAt[cy * coarse.width + cx];
    let candidate = -1;
    if (parent >= 0) {
      const s = coarse.nnf[parent];
      const sx = x + 2 * ((s % coarse.width) - cx);
      const sy = y + 2 * (Math.floor(s / coarse.width) - cy);
      if (sx >= 0 && sy >= 0 && sx < width && sy < fine.height && sourceOk[sy * width + sx]) candidate = sy * width + sx;
    }
    nnf[k] = candidate >= 0 ? candidate : sources[rng.int(0, sources.length - 1)];
  }
}

/**
 * SSD between the patches centred at `a` and `b` of an interleaved image, stopping (with a sum at
 * least `bound`) once a row takes it there: most candidates are rejected after a row or two.
 */
function patchDistance(image: Float32Array, width: number, a: number, b: number, patchSize: number, bound: number): number {
  const r = patchSize >> 1;
  const rowLength = 3 * patchSize;
  const stride = 3 * width;
  let pa = 3 * (a - r * width - r);
  let pb = 3 * (b - r * width - r);
  let sum = 0;
  for (let row = 0; row < patchSize; row++) {
    for (let k = 0; k < rowLength; k++) {
      const d = image[pa + k] - image[pb + k];
      sum += d * d;
    }
    if (sum >= bound) return sum;
    pa += stride;
    pb += stride;
  }
  return sum;
}

/** One PatchMatch sweep over the targets: propagation from the previous neighbours, then random search. */
function sweep(level: Level, patchSize: number, rng: Rng, forward: boolean): void {
  const { width, height, image, sourceOk, targets, targetAt, nnf, dist } = level;
  const r = patchSize >> 1;
  const step = forward ? 1 : -1;
  const maxRadius = Math.max(width, height);
  const n = targets.length;
  for (let j = 0; j < n; j++) {
    const k = forward ? j : n - 1 - j;
    const t = targets[k];
    let best = nnf[k];
    let bestDist = dist[k];
    // Propagation: the neighbours already visited in this scan order (left and above going
    // forward, right and below going back) suggest their own matches shifted by one. Centres lie
    // at least r >= 1 from the edges, so both neighbours are pixels of the image.
    for (let side = 0; side < 2; side++) {
      const shift = side === 0 ? step : step * width;
      const m = targetAt[t - shift];
      if (m < 0) continue;
      const candidate = nnf[m] + shift;
      if (candidate === best || !sourceOk[candidate]) continue;
      const d = patchDistance(image, width, t, candidate, patchSize, bestDist);
      if (d < bestDist) {
        best = candidate;
        bestDist = d;
      }
    }
    // Random search around the best match, in a window halving from the whole image down to one pixel.
    for (let radius = maxRadius; radius >= 1; radius >>= 1) {
      const bx = best % width;
      const by = (best - bx) / width;
      const x = Math.min(Math.max(bx + rng.int(-radius, radius), r), width - 1 - r);
      const y = Math.min(Math.max(by + rng.int(-radius, radius), r), height - 1 - r);
      const candidate = y * width + x;
      if (candidate === best || !sourceOk[candidate]) continue;
      const d = patchDistance(image, width, t, candidate, patchSize, bestDist);
      if (d < bestDist) {
        best = candidate;
        bestDist = d;
      }
    }
    nnf[k] = best;
    dist[k] = bestDist;
  }
}

/**
 * Wexler et al.'s sigma^2: the 75th percentile of the match distances, floored (see
 * `SIGMA2_FLOOR_PER_VALUE`). `sorted` is scratch space of at least the level's target count.
 */
function votingSigma2(level: Level, sorted: Float32Array, patchSize: number): number {
  const n = level.targets.length;
  const view = sorted.subarray(0, n);
  view.set(level.dist);
  view.sort();
  return Math.max(view[Math.floor(0.75 * (n - 1))], SIGMA2_FLOOR_PER_VALUE * 3 * patchSize * patchSize);
}

/**
 * Sets every hole pixel to the weighted mean of what the overlapping target patches' matches put
 * there. With `sigma2` Infinity all patches weigh the same. `scratch` holds at least 4 values a pixel.
 */
function vote(level: Level, r: number, scratch: Float64Array, sigma2: number): void {
  const { width, image, hole, targets, nnf, dist } = level;
  const plane = width * level.height;
  const acc = scratch.subarray(0, 4 * plane);
  acc.fill(0);
  for (let k = 0; k < targets.length; k++) {
    const t = targets[k];
    const offset = nnf[k] - t;
    const w = Math.exp(-Math.min(dist[k] / (2 * sigma2), WEIGHT_EXPONENT_CAP));
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const q = t + dy * width + dx;
        if (!hole[q]) continue;
        const s = 3 * (q + offset);
        acc[4 * q] += w * image[s];
        acc[4 * q + 1] += w * image[s + 1];
        acc[4 * q + 2] += w * image[s + 2];
        acc[4 * q + 3] += w;
      }
    }
  }
  for (let q = 0; q < plane; q++) {
    if (!hole[q]) continue;
    // Every hole pixel lies in some target patch (the one centred at it, clamped into the image).
    const w = acc[4 * q + 3];
    image[3 * q] = acc[4 * q] / w;
    image[3 * q + 1] = acc[4 * q + 1] / w;
    image[3 * q + 2] = acc[4 * q + 2] / w;
  }
}
