/**
 * Patch-swap with a local search [ours]: the definition of `patchswap.ts` (score <p, q> / (|q| + eps),
 * the locality ranking, the averaged paste, the provenance), but each query patch is compared only
 * with candidates near a starting guess, and with its neighbours' choices, as multi-scale PatchMatch
 * carries its nearest-neighbour field to a finer level (Barnes et al. 2009): search a window around
 * the upsampled match, then propagate good matches to neighbouring patches.
 *
 * The guess comes from the previous scale's swap (`offsetsFrom`): a pass at 512 over a 256 fill
 * looks near where the 256 match took each patch from, rather than at every known patch of the
 * map. That costs a few dozen patch comparisons per query, in plain TypeScript, instead of the full
 * swap's (box cells x source cells) Gram matrix and a session per band count, whose first run at a
 * size also pays for ONNX Runtime's planning.
 *
 * Where the window holds every candidate (a radius as large as the map) it is the full swap, ties
 * aside: the tests compare it with `reference.ts`.
 */

/** A previous swap's provenance: per cell of a `width` x `height` grid, its source cell's flat index, or -1. */
export interface Provenance {
  width: number;
  height: number;
  data: BigInt64Array;
}

/** A feature map [C, H, W], row-major. */
export interface CellMap {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

export interface LocalSwapInput {
  features: CellMap;
  /** Per cell, > 0.5 = hole. */
  hole: Float32Array;
  /** Per cell, > 0.5 = not to copy from besides the hole (a user's sampling region). */
  excluded?: Float32Array;
  /** The weight of the locality penalty (`PatchSwapOptions.locality`); 0: none. */
  locality: number;
  /**
   * Per cell, the offset (dy, dx) in cells from it to its guessed source (2 values per cell), or
   * NaN where there is no guess; from `offsetsFrom`. A query patch starts at its centre cell's guess,
   * else at the first guess among its cells, else at itself.
   */
  offsets: Float32Array;
  /** How far the search goes around the guess, in cells, each way. Default 2. */
  radius?: number;
  /** Added to |q| before dividing. Default 1e-6, as `patchSwap`. */
  epsilon?: number;
  /**
   * The longer side, in cells, of the map the locality penalty is counted against (`PatchSwapOptions.locality`
   * divides by it). Default: this map's. A window cut from a larger map (`swapWindow`) passes that map's.
   */
  side?: number;
}

export interface LocalSwapOutput {
  /** The features with every hole cell replaced, [C, H, W]. */
  swapped: Float32Array;
  /** Per cell, the flat index sy * W + sx of its source cell, or -1 for known cells (as `patchSwap`). */
  provenance: BigInt64Array;
}

/** The most cell products kept at once (float32 values, 64 MB). */
const PRODUCT_BUDGET = 1 << 24;

/** The side, in cells, of the tiles the cell products are kept in. */
const TILE = 16;

/** The 4 neighbours of a patch, as (dy, dx); the forward sweep reads the first 2, the backward the last 2. */
const NEIGHBOURS = [
  [0, -1],
  [-1, 0],
  [0, 1],
  [1, 0],
] as const;

/**
 * Local patch-swap of the hole cells of `features`.
 * @throws Error if no 3x3 block of cells is known and allowed (the caller checks that first, as for
 *   the full swap: `checkHoleSize`)
 */
export function localPatchSwap(input: LocalSwapInput): LocalSwapOutput {
  const { features, hole, excluded, locality, offsets } = input;
  const radius = input.radius ?? 2;
  const eps = input.epsilon ?? 1e-6;
  const { channels: C, height: H, width: W } = features;
  const P = H * W;
  const [PH, PW] = [H - 2, W - 2];
  // Cell-major copy: a patch product is 9 contiguous dot products of C values.
  const cells = new Float32Array(P * C);
  for (let c = 0; c < C; c++) for (let i = 0; i < P; i++) cells[i * C + c] = features.data[c * P + i];
  const squares = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    let s = 0;
    for (let c = i * C; c < (i + 1) * C; c++) s += cells[c] * cells[c];
    squares[i] = s;
  }

  // Per patch (top-left, PH x PW): query (touches the hole), candidate (all 9 cells known and allowed).
  const isQuery = new Uint8Array(PH * PW);
  const inverse = new Float64Array(PH * PW); // 1 / (|q| + eps) for candidates, 0 otherwise
  let anyCandidate = false;
  for (let y = 0; y < PH; y++) {
    for (let x = 0; x < PW; x++) {
      let [touches, blocked, norm] = [false, false, 0];
      for (let dy = 0; dy < 3; dy++) {
        for (let dx = 0; dx < 3; dx++) {
          const i = (y + dy) * W + x + dx;
          if (hole[i] > 0.5) touches = blocked = true;
          else if (excluded && excluded[i] > 0.5) blocked = true;
          norm += squares[i];
        }
      }
      isQuery[y * PW + x] = touches ? 1 : 0;
      if (!blocked) {
        inverse[y * PW + x] = 1 / (Math.sqrt(norm) + eps);
        anyCandidate = true;
      }
    }
  }
  if (!isQuery.includes(1)) return { swapped: features.data.slice(), provenance: new BigInt64Array(P).fill(-1n) };
  if (!anyCandidate) throw new Error('localPatchSwap: no 3x3 block of cells is known and allowed');

  // A patch product is the sum of 9 cell products at one offset, and the queries around a cell
  // mostly try the same offsets (their guesses come from one coarser cell): each cell's product at
  // an offset is computed once, kept per offset and per tile of TILE x TILE cells of the queries'
  // box. A tile, not the box: each offset is tried only near the queries whose guesses lead to it,
  // so a row over the whole box was mostly never read, and at a large region's own size (a box of
  // 250 x 175 cells) filling and dropping those rows took most of the swap's time.
  let [by0, by1, bx0, bx1] = [H, 0, W, 0];
  for (let p = 0; p < PH * PW; p++) {
    if (!isQuery[p]) continue;
    const [y, x] = [Math.floor(p / PW), p % PW];
    [by0, by1, bx0, bx1] = [Math.min(by0, y), Math.max(by1, y + 3), Math.min(bx0, x), Math.max(bx1, x + 3)];
  }
  const tilesAcross = Math.ceil((bx1 - bx0) / TILE);
  const tileCount = tilesAcross * Math.ceil((by1 - by0) / TILE);
  /** <F[i], F[i + offset]>: one cell's product at a flat offset, rounded to float32 as the cache keeps it. */
  const directProduct = (i: number, offset: number): number => {
    const [a, b] = [i * C, (i + offset) * C];
    let v = 0;
    for (let c = 0; c < C; c++) v += cells[a + c] * cells[b + c];
    return Math.fround(v);
  };
  const products = new Map<number, Float32Array>();
  /** The cached products of one tile (box-relative tile row and column) at one offset. */
  const tileProducts = (ty: number, tx: number, offset: number): Float32Array => {
    const key = (offset + P) * tileCount + ty * tilesAcross + tx;
    let tile = products.get(key);
    if (!tile) {
      // Queries run in raster order, so the offsets that pay are recent ones: past the budget,
      // start again rather than grow.
      if ((products.size + 1) * TILE * TILE > PRODUCT_BUDGET) products.clear();
      products.set(key, (tile = new Float32Array(TILE * TILE).fill(Number.NaN)));
    }
    return tile;
  };
  /** One cell's product at an offset, from (or into) its tile's cache; (y, x) relative to the box. */
  const cachedProduct = (tile: Float32Array, y: number, x: number, offset: number): number => {
    const k = (y % TILE) * TILE + (x % TILE);
    let v = tile[k];
    if (Number.isNaN(v)) tile[k] = v = directProduct((y + by0) * W + x + bx0, offset);
    return v;
  };
  /**
   * <p, q> / (|q| + eps) for query patch p and candidate q (flat patch indices).
   * @param cached keep the cell products for other queries (not for a widened window's far offsets)
   */
  const score = (p: number, q: number, cached = true): number => {
    const [py, px, qy, qx] = [Math.floor(p / PW), p % PW, Math.floor(q / PW), q % PW];
    const offset = (qy - py) * W + qx - px;
    let s = 0;
    if (!cached) {
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += directProduct((py + dy) * W + px + dx, offset);
      return s * inverse[q];
    }
    const [y, x] = [py - by0, px - bx0];
    const [ty, tx] = [Math.floor(y / TILE), Math.floor(x / TILE)];
    if (Math.floor((y + 2) / TILE) === ty && Math.floor((x + 2) / TILE) === tx) {
      // The patch lies in one tile (most do): one lookup for its 9 products.
      const tile = tileProducts(ty, tx, offset);
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += cachedProduct(tile, y + dy, x + dx, offset);
    } else {
      for (let dy = 0; dy < 3; dy++) {
        for (let dx = 0; dx < 3; dx++) s += cachedProduct(tileProducts(Math.floor((y + dy) / TILE), Math.floor((x + dx) / TILE), offset), y + dy, x + dx, offset);
      }
    }
    return s * inverse[q];
  };
  const side = Math.max(H, W);
  const weight = locality / (input.side ?? side);
  const distance = (p: number, q: number) => Math.hypot(Math.floor(p / PW) - Math.floor(q / PW), (p % PW) - (q % PW));

  // Per query: the chosen candidate, its raw score, and the best raw score seen (the locality's scale).
  const choice = new Int32Array(PH * PW).fill(-1);
  const chosenScore = new Float64Array(PH * PW);
  const bestScore = new Float64Array(PH * PW).fill(-Infinity);
  const rank = (p: number, q: number, s: number) => s - weight * (Math.abs(bestScore[p]) + 1e-6) * distance(p, q);
  /** Compares q with p's choice; keeps the better (on equal ranks, the lower index, as ArgMax). */
  const consider = (p: number, q: number, s: number) => {
    if (s > bestScore[p]) bestScore[p] = s;
    const current = choice[p];
    if (current < 0) {
      [choice[p], chosenScore[p]] = [q, s];
      return;
    }
    const [a, b] = [rank(p, q, s), rank(p, current, chosenScore[p])];
    if (a > b || (a === b && q < current)) [choice[p], chosenScore[p]] = [q, s];
  };

  const guess = (p: number): [number, number] => {
    const [py, px] = [Math.floor(p / PW), p % PW];
    const centre = (py + 1) * W + px + 1;
    if (!Number.isNaN(offsets[2 * centre])) return [py + offsets[2 * centre], px + offsets[2 * centre + 1]];
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 3; dx++) {
        const i = (py + dy) * W + px + dx;
        if (!Number.isNaN(offsets[2 * i])) return [py + offsets[2 * i], px + offsets[2 * i + 1]];
      }
    }
    return [py, px];
  };

  // The window around each guess (widened until it holds a candidate), scored whole before ranking,
  // so that the locality's scale is the window's best.
  for (let p = 0; p < PH * PW; p++) {
    if (!isQuery[p]) continue;
    const [gy, gx] = guess(p).map(Math.round);
    for (let r = radius; choice[p] < 0; r = 2 * r + 1) {
      const found: [number, number][] = [];
      for (let y = Math.max(0, gy - r); y <= Math.min(PH - 1, gy + r); y++) {
        for (let x = Math.max(0, gx - r); x <= Math.min(PW - 1, gx + r); x++) {
          const q = y * PW + x;
          if (inverse[q] > 0) found.push([q, score(p, q, r === radius)]);
        }
      }
      for (const [, s] of found) if (s > bestScore[p]) bestScore[p] = s;
      for (const [q, s] of found) consider(p, q, s);
      if (r > 2 * side) break;
    }
  }

  // Propagation: each query tries its neighbours' choices, shifted by the step between them; one
  // sweep down and right, one up and left.
  for (const forward of [true, false]) {
    for (let k = 0; k < PH * PW; k++) {
      const p = forward ? k : PH * PW - 1 - k;
      if (!isQuery[p]) continue;
      const [py, px] = [Math.floor(p / PW), p % PW];
      for (const [dy, dx] of forward ? NEIGHBOURS.slice(0, 2) : NEIGHBOURS.slice(2)) {
        const [ny, nx] = [py + dy, px + dx];
        if (ny < 0 || nx < 0 || ny >= PH || nx >= PW) continue;
        const n = choice[ny * PW + nx];
        if (n < 0) continue;
        const [qy, qx] = [Math.floor(n / PW) - dy, (n % PW) - dx];
        if (qy < 0 || qx < 0 || qy >= PH || qx >= PW) continue;
        const q = qy * PW + qx;
        if (inverse[q] > 0 && q !== choice[p]) consider(p, q, score(p, q));
      }
    }
  }

  // Paste: each hole cell the mean of what the query patches covering it put there.
  const swapped = features.data.slice();
  const provenance = new BigInt64Array(P).fill(-1n);
  const sums = new Float64Array(C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (hole[i] <= 0.5) continue;
      sums.fill(0);
      let count = 0;
      for (let ty = Math.max(0, y - 2); ty <= Math.min(y, PH - 1); ty++) {
        for (let tx = Math.max(0, x - 2); tx <= Math.min(x, PW - 1); tx++) {
          const q = choice[ty * PW + tx];
          const s = ((Math.floor(q / PW) + y - ty) * W + (q % PW) + x - tx) * C;
          for (let c = 0; c < C; c++) sums[c] += cells[s + c];
          count++;
        }
      }
      for (let c = 0; c < C; c++) swapped[c * P + i] = sums[c] / count;
      const [ty, tx] = [Math.min(Math.max(y - 1, 0), PH - 1), Math.min(Math.max(x - 1, 0), PW - 1)];
      const q = choice[ty * PW + tx];
      provenance[i] = BigInt((Math.floor(q / PW) + y - ty) * W + (q % PW) + x - tx);
    }
  }
  return { swapped, provenance };
}

/** A box of cells: rows y0 <= y < y1, columns x0 <= x < x1. */
export interface CellBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/**
 * The cells a local swap of `hole` reads, grown by `margin` on each side and clipped to the map:
 * the hole's cells and, for each, the window of `radius` around its guessed source, with the 3x3
 * patch around each. Run on that window alone (its cells within `margin` of a cut edge excluded as
 * sources, and `side` the whole map's), the swap compares the patches it would on the whole map,
 * but for a guess so deep in the hole that its window widens, and a neighbour's choice carried past
 * the window's edge by propagation [ours]. Its cost, and that of the features under it, follows
 * the hole and its sources rather than the region.
 * @param offsets per cell, from `offsetsFrom`
 */
export function swapWindow(hole: Float32Array, offsets: Float32Array, height: number, width: number, radius: number, margin: number): CellBox {
  let [y0, y1, x0, x1] = [height, 0, width, 0];
  const reach = radius + 2 + margin; // the window around a guessed centre, the patch around that, and the margin
  for (let i = 0; i < height * width; i++) {
    if (hole[i] <= 0.5) continue;
    const [y, x] = [Math.floor(i / width), i % width];
    const [dy, dx] = [offsets[2 * i], offsets[2 * i + 1]];
    for (const [cy, cx] of Number.isNaN(dy) ? [[y, x]] : [[y, x], [Math.round(y + dy), Math.round(x + dx)]]) {
      [y0, y1, x0, x1] = [Math.min(y0, cy - reach), Math.max(y1, cy + reach + 1), Math.min(x0, cx - reach), Math.max(x1, cx + reach + 1)];
    }
  }
  return { y0: Math.max(0, y0), y1: Math.min(height, y1), x0: Math.max(0, x0), x1: Math.min(width, x1) };
}

/** A map's hole, sources and guesses, as `LocalSwapInput` takes them (`features` aside). */
export type WholeMap = Pick<LocalSwapInput, 'hole' | 'excluded' | 'offsets'> & { height: number; width: number };

/**
 * `localPatchSwap` of a window of a larger map (`swapWindow`): `features` are the window's alone
 * (VGG of that part of the image), the hole, the sources and the guesses the whole map's. The
 * window's cells within `margin` of a cut edge are no sources, and the locality counts against
 * the whole map's side.
 * @returns the window's swapped features, and the provenance on the whole map's grid
 */
export function localPatchSwapIn(
  features: CellMap,
  window: CellBox,
  whole: WholeMap,
  options: Pick<LocalSwapInput, 'locality' | 'radius'> & { margin: number },
): LocalSwapOutput {
  const { y0, y1, x0, x1 } = window;
  const [h, w] = [y1 - y0, x1 - x0];
  if (features.height !== h || features.width !== w) throw new Error(`localPatchSwapIn: features are ${features.height}x${features.width} cells, the window ${h}x${w}`);
  const { margin, ...search } = options;
  const nearCut = (v: number, from: number, to: number, size: number) => (from > 0 && v < margin) || (to < size && v >= to - from - margin);
  const [hole, excluded, offsets] = [new Float32Array(h * w), new Float32Array(h * w), new Float32Array(2 * h * w)];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [k, i] = [y * w + x, (y + y0) * whole.width + x + x0];
      hole[k] = whole.hole[i];
      excluded[k] = nearCut(y, y0, y1, whole.height) || nearCut(x, x0, x1, whole.width) ? 1 : whole.excluded ? whole.excluded[i] : 0;
      [offsets[2 * k], offsets[2 * k + 1]] = [whole.offsets[2 * i], whole.offsets[2 * i + 1]];
    }
  }
  const out = localPatchSwap({ ...search, features, hole, excluded, offsets, side: Math.max(whole.height, whole.width) });
  const provenance = new BigInt64Array(whole.height * whole.width).fill(-1n);
  for (let k = 0; k < h * w; k++) {
    const s = Number(out.provenance[k]);
    if (s >= 0) provenance[(Math.floor(k / w) + y0) * whole.width + (k % w) + x0] = BigInt((Math.floor(s / w) + y0) * whole.width + (s % w) + x0);
  }
  return { swapped: out.swapped, provenance };
}

/**
 * The offsets of a previous swap's provenance, carried to a map of `height` x `width` cells: each
 * cell looks up the previous grid's cell at its place, and a source there becomes an offset scaled
 * by the ratio of the grids. NaN (no guess) where that cell was known.
 */
export function offsetsFrom(previous: Provenance, height: number, width: number): Float32Array {
  const out = new Float32Array(2 * height * width).fill(Number.NaN);
  const [ry, rx] = [previous.height / height, previous.width / width];
  for (let y = 0; y < height; y++) {
    const py = Math.min(previous.height - 1, Math.floor((y + 0.5) * ry));
    for (let x = 0; x < width; x++) {
      const px = Math.min(previous.width - 1, Math.floor((x + 0.5) * rx));
      const s = Number(previous.data[py * previous.width + px]);
      if (s < 0) continue;
      const [sy, sx] = [Math.floor(s / previous.width), s % previous.width];
      out[2 * (y * width + x)] = (sy - py) / ry;
      out[2 * (y * width + x) + 1] = (sx - px) / rx;
    }
  }
  return out;
}
