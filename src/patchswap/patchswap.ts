/**
 * Patch-swap (paper §3.3.2) as ONNX ops: every 3x3 feature patch overlapping the hole is replaced
 * by the known 3x3 patch with the highest normalised cross-correlation, and overlapping patches are
 * averaged.
 *
 * Definitions (shared with `reference.ts`, which the tests compare against):
 * - A patch is a 3x3 window lying entirely inside its map; it is named by its top-left cell (y, x),
 *   0 <= y <= H - 3, 0 <= x <= W - 3. A cell is a hole cell where the mask is > 0.5.
 * - Query patches: the patches of `features` that contain at least one hole cell (all patches when
 *   there is no mask). Candidates: the patches of the source map (`features` itself unless `source`
 *   is given) whose 9 cells are all known (all patches when the source has no mask); with a
 *   `sourceMask` on `features` itself, known and not excluded.
 * - Score of candidate q for query p: <p, q> / (|q| + epsilon) over the C*9 values. |p| is left out:
 *   it does not change which q wins. The best candidate wins; on equal scores the one with the
 *   lowest row-major position y * Ws + x (ONNX ArgMax keeps the first maximum).
 * - Locality [ours, off unless `locality` > 0; the inpainter turns it on]: the scores of a query are
 *   divided by the magnitude of its best score (plus 1e-6), and `locality` x (distance between the two patches'
 *   top-left cells) / (the map's longer side) is subtracted, so that of near-equal matches the
 *   nearer one wins. Only for a map swapped against its own known region.
 * - Every hole cell becomes the mean of the values the chosen patches of all query patches covering
 *   it put there; known cells keep their features. Every patch covering a hole cell is a query
 *   patch, so the number averaged depends only on the cell's position (1 to 9, fewer at the border).
 * - Provenance, for a provenance picture: for a hole cell c, the source cell that the patch centred
 *   on c (its centre clamped into the map, so that it is a complete patch) put there, as the flat
 *   index sy * Ws + sx into the source map; -1 for known cells.
 *
 * Why it is fast. Style-swap (Chen & Schmidt) computes all correlations as one convolution with the
 * candidates as filters: for 64x64x256 with a 32x32 hole that is 2 * 1156 queries * 2688 candidates *
 * 2304 = 14 GFLOP even when restricted to the hole, about 0.1 s at this machine's 150 GFLOP/s before
 * anything else is done. But a patch correlation is a sum of 9 cell correlations,
 *   <p(y, x), q(y', x')> = sum over (dy, dx) in 3x3 of <F[y+dy, x+dx], S[y'+dy, x'+dx]>,
 * so one cell-by-cell Gram matrix (the cells of the query patches' bounding box against every
 * source cell: 2 * 1296 * 4096 * 256 = 2.7 GFLOP) holds every product once, and the 9 terms are
 * shifted copies of it. Stored row-major with box rows padded to a fixed stride, a shift by
 * (dy, dx) on both axes is one constant offset into the flattened matrix, so the patch scores are
 * sums of contiguous 1-D slices (separably: 3 slices for dy, then 3 for dx). These passes are
 * memory-bound; they run in bands of rows small enough to stay in the CPU cache. Pasting gathers the
 * 9 cells of each chosen patch and folds them back with 9 pads and one Sum, instead of a transposed
 * convolution of a one-hot map (which would cost as much as the matching itself).
 *
 * The work is restricted at run time to the bounding box of the query patches, found with ArgMax
 * over the mask rows and columns. For one compact hole the box is the hole; holes far apart make the
 * box, and the cost, grow towards a whole-map swap. Memory: the Gram matrix holds
 * (box cells) x (source cells) float32 values, 21 MB for 64x64 with a 32x32 hole, 236 MB for
 * 128x128 with a 56x56 hole, 1 GB for swapping all of a 128x128 map against another.
 */
import { GraphError } from '../core/errors.ts';
import type { Dim, DType, Graph, Shape, Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';

export interface PatchSwapOptions {
  /**
   * Match against this map [1, C, Hs, Ws] instead of the known region of `features` (style
   * transfer). Sizes may differ from `features`; C must agree.
   */
  source?: Tensor;
  /**
   * The source's own mask [1, 1, Hs, Ws] (> 0.5 = not to be copied from); none means every source
   * patch is a candidate. Without `source`, cells of `features` (its size) not to copy from besides
   * the hole: a user's "sample only from here" or "never from there" [ours].
   */
  sourceMask?: Tensor;
  /** Added to |q| before dividing, so that an all-zero candidate scores 0. Default 1e-6. */
  epsilon?: number;
  /**
   * The matching runs in this many bands of query rows, each small enough to stay in the CPU cache
   * (the work is memory-bound). Fixed when the graph is built; the rows are split at run time.
   * More bands add 12 small nodes each. Default 16; `PatchSwapper` picks it from the sizes.
   */
  bands?: number;
  /** The weight of the distance penalty (see the file comment); 0, the default, is the paper's patch-swap. Not with `source`. */
  locality?: number;
}

export interface PatchSwapResult {
  /** The swapped features [1, C, H, W], float32. */
  swapped: Tensor;
  /** For every cell the flat source index sy * Ws + sx its value comes from, or -1 (known); int64 [1, 1, H, W]. */
  provenance: Tensor;
}

// ---------------------------------------------------------------------------------------------
// Run-time shape arithmetic. ops.ts takes static shape arguments, so the data-dependent slices,
// pads and reshapes are added here as plain nodes whose shape inputs are int64 tensors.

type Scalar = Tensor | number;

/** An int64 scalar tensor for `x`. */
function int(g: Graph, x: Scalar): Tensor {
  return typeof x === 'number' ? g.constant(x, [], 'int64') : x;
}

/** The run-time size of axis `axis` of x, as an int64 scalar. */
function dimOf(x: Tensor, axis: number): Tensor {
  return op.gather(op.shapeOf(x), int(x.graph, axis));
}

/** An int64 vector [a, b, ...] from scalars and numbers. */
function vec(g: Graph, items: readonly Scalar[]): Tensor {
  if (items.every((v) => typeof v === 'number')) return g.ints(items as number[]);
  return op.concat(
    items.map((v) => op.unsqueeze(int(g, v), [0])),
    0,
  );
}

function dynSlice(x: Tensor, starts: Tensor, ends: Tensor, axes: readonly number[], shape: Shape): Tensor {
  return x.graph.addNode('Slice', [x, starts, ends, x.graph.ints(axes)], {}, [{ shape, dtype: x.dtype }])[0];
}

function dynPad(x: Tensor, pads: Tensor, value: number, shape: Shape): Tensor {
  return x.graph.addNode('Pad', [x, pads, x.graph.constant(value, [], x.dtype)], { mode: { s: 'constant' } }, [{ shape, dtype: x.dtype }])[0];
}

function dynReshape(x: Tensor, shape: Tensor, dims: Shape): Tensor {
  return x.graph.addNode('Reshape', [x, shape], {}, [{ shape: dims, dtype: x.dtype }])[0];
}

/** 0, 1, ..., n - 1 (int64). */
function range(g: Graph, n: Tensor, name: Dim): Tensor {
  return g.addNode('Range', [int(g, 0), n, int(g, 1)], {}, [{ shape: [name], dtype: 'int64' }])[0];
}

/** Elementwise sum of several same-shaped tensors in one node. */
function sum(xs: readonly Tensor[]): Tensor {
  return xs[0].graph.addNode('Sum', xs, {}, [{ shape: xs[0].shape, dtype: xs[0].dtype }])[0];
}

/** A float32 tensor of zeros shaped like x. */
function zerosLike(x: Tensor): Tensor {
  const value = { t: { dtype: 'float32' as DType, shape: [1], data: Float32Array.of(0) } };
  return x.graph.addNode('ConstantOfShape', [op.shapeOf(x)], { value }, [{ shape: x.shape, dtype: 'float32' }])[0];
}

/** 1 where the mask is a hole (> 0.5), else 0, as float32: masks may hold any float values. */
function binary(mask: Tensor): Tensor {
  return op.cast(op.greater(mask, 0.5), 'float32');
}

/** The max over every complete 3x3 window: > 0 iff the patch at that top-left touches the hole. */
function patchMax(binaryMask: Tensor): Tensor {
  return op.maxPool(binaryMask, { kernel: [3, 3], strides: [1, 1] });
}

/** A map over the complete patches [1, 1, Hs - 2, Ws - 2], padded to the cell grid and flattened. */
function toGrid(x: Tensor, fill: number): Tensor {
  return op.reshape(op.pad(x, [0, 0, 0, 0, 0, 0, 2, 2], 'constant', fill), [-1]);
}

/**
 * Per source position, flat over its cells: `inverse` = 1 / (|q| + epsilon) and `penalty` = 0 for
 * candidates, -inf for the rest (patches touching `blocked` > 0, and positions in the last two rows
 * or columns, which are no complete patch): a candidate's score is correlation * inverse + penalty.
 */
function candidateWeights(source: Tensor, blocked: Tensor | null, epsilon: number): { inverse: Tensor; penalty: Tensor } {
  const g = source.graph;
  const squares = op.reduceSum(op.mul(source, source), [1], true);
  const norms = op.sqrt(op.conv(squares, g.constant(new Float32Array(9).fill(1), [1, 1, 3, 3])));
  const inverse = toGrid(op.reciprocal(op.add(norms, epsilon)), 0);
  const open = blocked ? op.where(op.less(blocked, 0.5), 0, -Infinity) : zerosLike(norms);
  return { inverse, penalty: toGrid(open, -Infinity) };
}

interface Band {
  /** [1] each: where the 3 dy-shifted slices of the flat gram begin and end. */
  dyStarts: Tensor[];
  dyEnds: Tensor[];
  /** [1] each: where the 3 dx-shifted slices of the band's partial sums end. */
  dxEnds: Tensor[];
  /** [2]: the band's scores as a matrix, [rows, N]. */
  shape: Tensor;
  /** [1] each: the band's first box position and the one past its last. */
  rowStart: Tensor;
  rowEnd: Tensor;
}

/**
 * Splits the bh * stride query rows into `bands` contiguous ranges (floor(k * rows / bands)) and
 * computes every slice bound of every band with a few vector ops and one Split, rather than a
 * dozen scalar nodes per band. Bands may be empty when there are fewer rows than bands.
 * @returns the bands, and `dxStarts` ([1] each), the same for every band: 0, N + 1, 2 * (N + 1)
 */
function bandRanges(bh: Tensor, stride: Tensor, N: Tensor, dyStep: Tensor, dxStep: Tensor, bands: number): { bands: Band[]; dxStarts: Tensor[] } {
  const g = bh.graph;
  const column = (x: Tensor) => op.unsqueeze(x, [1]); // [K] -> [K, 1]
  const steps = g.ints([0, 1, 2]);
  const bounds = op.div(op.mul(op.mul(bh, stride), g.ints([...Array(bands + 1).keys()])), bands);
  const first = op.slice(bounds, [0], [bands]);
  const rows = op.sub(op.slice(bounds, [1], [bands + 1]), first);
  const length = op.mul(rows, N);
  // Row r of the flat gram starts at r * N; a band's dy slices also cover the 2 * (N + 1) values its dx slices reach past it.
  const dyStarts = op.add(column(op.mul(first, N)), op.mul(steps, dyStep));
  const dyEnds = op.add(dyStarts, column(op.add(length, op.mul(dxStep, 2))));
  const dxStarts = op.mul(steps, dxStep);
  const dxEnds = op.add(column(length), dxStarts);
  const shape = op.concat([column(rows), op.expand(op.unsqueeze(N, [0, 1]), [bands, 1])], 1);
  const table = op.reshape(op.concat([dyStarts, dyEnds, dxEnds, shape, column(first), column(op.add(first, rows))], 1), [-1]);
  const sizes = Array.from({ length: bands }, () => [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1]).flat(); // per band: 9 bounds, the shape, the rows
  const parts = g.addNode('Split', [table, g.ints(sizes)], { axis: { i: 0 } }, sizes.map((n) => ({ shape: [n], dtype: 'int64' as const })));
  return {
    bands: Array.from({ length: bands }, (_, k) => {
      const p = parts.slice(k * 12, k * 12 + 12);
      return { dyStarts: p.slice(0, 3), dyEnds: p.slice(3, 6), dxEnds: p.slice(6, 9), shape: p[9], rowStart: p[10], rowEnd: p[11] };
    }),
    dxStarts: g.addNode('Split', [dxStarts, g.ints([1, 1, 1])], { axis: { i: 0 } }, [0, 1, 2].map(() => ({ shape: [1], dtype: 'int64' as const }))),
  };
}

/**
 * The first index and the length of the run from the first to the last nonzero of `any` [n]; the
 * whole axis when none is nonzero (the swap then changes nothing, but the graph still runs).
 */
function extent(any: Tensor, n: Tensor): [Tensor, Tensor] {
  const first = op.argMax(any, 0);
  const fromEnd = op.argMax(op.flip(any, [0]), 0);
  return [first, op.sub(op.sub(n, fromEnd), first)];
}

/**
 * The locality penalty's terms that do not depend on the band (see `localised`): the source
 * positions [4, N], rows 1, |q|^2, qy, qx of every source cell q = qy * Ws + qx; the query side
 * [box positions, 4], rows |p|^2, 1, -2 py, -2 px of every box position p (row r of the box is
 * the patch at (y0 + r / stride, x0 + r % stride)); and weight / side.
 */
function localityTerms(at: { N: Tensor; Ws: Tensor; positions: Tensor; stride: Tensor; y0: Scalar; x0: Scalar; side: Tensor }, weight: number) {
  const g = at.N.graph;
  const cells = range(g, at.N, 'source_cells');
  const rowI = op.div(cells, at.Ws);
  const [qy, qx] = [op.cast(rowI, 'float32'), op.cast(op.sub(cells, op.mul(rowI, at.Ws)), 'float32')];
  const columns = (vs: Tensor[], axis: number) => op.concat(vs.map((v) => op.unsqueeze(v, [axis])), axis);
  const box = range(g, at.positions, 'box_positions');
  const boxRow = op.div(box, at.stride);
  const py = op.cast(op.add(boxRow, at.y0), 'float32');
  const px = op.cast(op.add(op.sub(box, op.mul(boxRow, at.stride)), at.x0), 'float32');
  const ones = (x: Tensor) => op.add(op.mul(x, 0), 1);
  return {
    sources: columns([ones(qy), op.add(op.mul(qy, qy), op.mul(qx, qx)), qy, qx], 0),
    queries: columns([op.add(op.mul(py, py), op.mul(px, px)), ones(py), op.mul(py, -2), op.mul(px, -2)], 1),
    perSide: op.div(g.constant(weight, [], 'float32'), op.cast(at.side, 'float32')),
  };
}

/**
 * A band's scores [rows, N] with the locality penalty, ranked as the definition says (scores over
 * the magnitude of the row's best, minus weight x distance / side) but computed as
 * scores - (weight / side) x |best| x distance, which ranks every row the same (it is the
 * definition times the row's positive scale) in fewer passes over the band: the squared
 * distances of all pairs come from one product, [|p|^2, 1, -2 py, -2 px] x [1, |q|^2, qy, qx],
 * with the row's factor squared folded into its left side. The rows of the box's 2 padding
 * columns are scored too and dropped with the rest of them.
 * Only the scale and the product are per band: the rest is `localityTerms`, once per graph (the
 * nodes of every band make the session slower to create, more than in proportion).
 */
function localised(scores: Tensor, band: Band, terms: ReturnType<typeof localityTerms>): Tensor {
  // Non-candidates score -inf and keep it. The 1e-6 ranks a row of zero scores by distance alone
  // (and keeps its squared factor far from float32's underflow).
  const scale = op.add(op.abs(op.reduceMax(scores, [1], true)), 1e-6); // [rows, 1]
  const factor = op.mul(scale, terms.perSide);
  const left = dynSlice(terms.queries, band.rowStart, band.rowEnd, [0], ['band_rows', 4]);
  const squared = op.matMul(op.mul(left, op.mul(factor, factor)), terms.sources); // (factor x distance)^2, [rows, N]
  return op.sub(scores, op.sqrt(op.relu(squared))); // relu: rounding may take a zero distance below 0
}

function checkMap(t: Tensor, what: string, channels: Dim | null): void {
  if (t.rank !== 4 || t.shape[0] !== 1) throw new GraphError(`patchSwap: ${what} must have shape [1, C, H, W] but ${t.name} has ${JSON.stringify(t.shape)}`);
  if (channels !== null && typeof channels === 'number' && typeof t.shape[1] === 'number' && t.shape[1] !== channels) {
    throw new GraphError(`patchSwap: ${what} has ${t.shape[1]} channels but the features have ${channels}`);
  }
  if (t.dtype !== 'float32') throw new GraphError(`patchSwap: ${what} must be float32 but ${t.name} is ${t.dtype}`);
}

function checkMask(mask: Tensor, map: Tensor, what: string): void {
  checkMap(mask, what, 1);
  for (const axis of [2, 3]) {
    const [a, b] = [mask.shape[axis], map.shape[axis]];
    if (typeof a === 'number' && typeof b === 'number' && a !== b) {
      throw new GraphError(`patchSwap: ${what} ${JSON.stringify(mask.shape)} does not match its map ${JSON.stringify(map.shape)}`);
    }
  }
}

/**
 * Adds patch-swap to the graph of `features`.
 *
 * The graph assumes at least one complete candidate patch exists (otherwise every query picks
 * position 0) and that maps are at least 3x3; `PatchSwapper` in `index.ts` checks both before
 * running it, and skips the run for a mask without a hole.
 * @param features [1, C, H, W] float32, sizes static or symbolic
 * @param mask [1, 1, H, W] float32, > 0.5 = hole; `null` swaps every patch (needs `options.source`)
 * @example
 * const g = new Graph('swap');
 * const { swapped, provenance } = patchSwap(g.input('features', [1, 256, 'H', 'W']), g.input('mask', [1, 1, 'H', 'W']));
 * g.output(swapped, 'swapped');
 * g.output(provenance, 'provenance');
 * @throws GraphError if a shape or dtype is wrong, or neither a mask nor a source is given
 */
export function patchSwap(features: Tensor, mask: Tensor | null, options: PatchSwapOptions = {}): PatchSwapResult {
  const g = features.graph;
  checkMap(features, 'features', null);
  const source = options.source ?? features;
  if (options.source) checkMap(options.source, 'source', features.shape[1]);
  if (mask) checkMask(mask, features, 'mask');
  if (options.sourceMask) {
    if (!options.source && !mask) throw new GraphError('patchSwap: a sourceMask on features needs the mask of its hole');
    checkMask(options.sourceMask, options.source ?? features, 'sourceMask');
  }
  if (!mask && !options.source) {
    throw new GraphError('patchSwap: give a mask, or a source to swap every patch against (a map swapped against itself would not change)');
  }
  const epsilon = options.epsilon ?? 1e-6;
  const locality = options.locality ?? 0;
  if (!(Number.isFinite(locality) && locality >= 0)) throw new GraphError(`patchSwap: locality must be a number >= 0 but is ${locality}`);
  if (locality > 0 && options.source) throw new GraphError('patchSwap: locality compares positions in one map, so it cannot be used with a source');

  const [H, W] = [dimOf(features, 2), dimOf(features, 3)];
  const [Hs, Ws] = [dimOf(source, 2), dimOf(source, 3)];
  const N = op.mul(Hs, Ws);

  // Query patches and their bounding box [y0, y0 + bh) x [x0, x0 + bw), in patch positions.
  const hole = mask ? binary(mask) : null;
  const queryMax = hole ? patchMax(hole) : null;
  let y0: Scalar = 0;
  let x0: Scalar = 0;
  let bh = op.sub(H, 2);
  let bw = op.sub(W, 2);
  if (queryMax) {
    [y0, bh] = extent(op.reduceMax(queryMax, [0, 1, 3]), bh);
    [x0, bw] = extent(op.reduceMax(queryMax, [0, 1, 2]), bw);
  }
  // Box rows are padded to `stride` cells so that a shift by (dy, dx) is a flat offset.
  const stride = op.add(bw, 2);

  // Cell Gram matrix: box cells (plus 3 zero rows, so every shifted slice below stays in bounds)
  // against every source cell.
  const boxCells = dynSlice(features, vec(g, [y0, x0]), vec(g, [op.add(op.add(y0, bh), 2), op.add(stride, x0)]), [2, 3], [1, features.shape[1], 'box_h', 'box_w']);
  const cells = op.pad(op.transpose(op.squeeze(op.reshape(boxCells, [0, 0, -1]), [0]), [1, 0]), [0, 0, 3, 0]);
  const sourceFlat = op.squeeze(op.reshape(source, [0, 0, -1]), [0]);
  const gram = op.reshape(op.matMul(cells, sourceFlat), [-1]);

  // scores[r, q] = sum over (dy, dx) of gram[r + dy * stride + dx, q + dy * Ws + dx], i.e. the flat
  // gram at offset (dy * stride + dx) * N + dy * Ws + dx: first sum the dy terms (offsets
  // dy * (stride * N + Ws)) over a length covering the later dx offsets, then the dx terms (offsets
  // dx * (N + 1)). In this order a band of rows needs only 2 * (N + 1) values beyond its end.
  // Every op here is a memory-bound pass, so the rows are processed in bands small enough for the
  // CPU cache; over the whole box the passes would stream through main memory several times slower.
  const dyStep = op.add(op.mul(stride, N), Ws);
  const dxStep = op.add(N, 1);
  const excluded = options.sourceMask ? binary(options.sourceMask) : null;
  const blocked = options.source ? (excluded ? patchMax(excluded) : null) : excluded ? patchMax(op.max(hole!, excluded)) : queryMax;
  const { inverse, penalty } = candidateWeights(source, blocked, epsilon);
  const bands = options.bands ?? 16;
  if (!Number.isSafeInteger(bands) || bands < 1) throw new GraphError(`patchSwap: bands must be a positive integer but is ${bands}`);
  const ranges = bandRanges(bh, stride, N, dyStep, dxStep, bands);
  const best: Tensor[] = [];
  const terms = locality > 0 ? localityTerms({ N, Ws, positions: op.mul(bh, stride), stride, y0, x0, side: op.max(H, W) }, locality) : null;
  for (const band of ranges.bands) {
    const slices = (x: Tensor, starts: readonly Tensor[], ends: readonly Tensor[], name: string) =>
      sum(starts.map((start, t) => dynSlice(x, start, ends[t], [0], [name])));
    const partial = slices(gram, band.dyStarts, band.dyEnds, 'band_partial');
    const correlation = dynReshape(slices(partial, ranges.dxStarts, band.dxEnds, 'band_scores'), band.shape, ['band_rows', 'source_cells']);
    const scores = op.add(op.mul(correlation, inverse), penalty);
    best.push(op.argMax(terms ? localised(scores, band, terms) : scores, 1));
  }
  const chosenRows = bands === 1 ? best[0] : op.concat(best, 0);
  const chosen = op.slice(dynReshape(chosenRows, vec(g, [bh, stride]), ['box_ph', 'stride']), [0], [-2], [1]); // drop the 2 padding columns of each box row

  // Paste: gather the 9 cells of every chosen patch and fold them back in place. Non-query patches
  // in the box are pasted too; they only reach known cells, which keep their features below.
  const sourceCells = op.transpose(sourceFlat, [1, 0]); // [N, C]: a gather copies whole cells
  const parts: Tensor[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) {
      const cellsAt = dy === 0 && dx === 0 ? chosen : op.add(chosen, op.add(op.mul(Ws, dy), dx));
      parts.push(op.pad(op.gather(sourceCells, cellsAt, 0), [dy, dx, 0, 2 - dy, 2 - dx, 0]));
    }
  }
  // Patches covering box cell i (rows): those at min(i, bh - 1) down to max(i - 2, 0). For a hole
  // cell all of them are query patches inside the box, so this is its full overlap count.
  const coverage = (n: Tensor, name: string) => {
    const i = range(g, op.add(n, 2), name);
    return { i, count: op.cast(op.add(op.sub(op.min(i, op.sub(n, 1)), op.max(op.sub(i, 2), 0)), 1), 'float32') };
  };
  const rows = coverage(bh, 'box_h');
  const cols = coverage(bw, 'box_w');
  const counts = op.mul(op.unsqueeze(rows.count, [1, 2]), op.unsqueeze(cols.count, [0, 2]));
  const boxOut = op.unsqueeze(op.transpose(op.div(sum(parts), counts), [2, 0, 1]), [0]);
  const pads = vec(g, [0, 0, y0, x0, 0, 0, op.sub(op.sub(H, y0), op.add(bh, 2)), op.sub(op.sub(W, x0), stride)]);
  const placed = dynPad(boxOut, pads, 0, features.shape);
  const holeCells = hole ? op.greater(hole, 0.5) : null;
  const swapped = holeCells ? op.where(holeCells, placed, features) : placed;

  // Provenance: cell i of the box takes the patch centred on it, clamped into the box; the source
  // cell is that patch's chosen top-left plus the cell's offset inside the patch.
  const owner = (c: { i: Tensor }, n: Tensor) => {
    const t = op.min(op.max(op.sub(c.i, 1), 0), op.sub(n, 1));
    return { t, offset: op.sub(c.i, t) };
  };
  const r = owner(rows, bh);
  const c = owner(cols, bw);
  const fromPatch = op.gather(op.gather(chosen, r.t, 0), c.t, 1);
  const provBox = op.add(op.add(fromPatch, op.unsqueeze(op.mul(r.offset, Ws), [1])), op.unsqueeze(c.offset, [0]));
  const provPlaced = dynPad(op.unsqueeze(provBox, [0, 1]), pads, -1, [1, 1, features.shape[2], features.shape[3]]);
  const provenance = holeCells ? op.where(holeCells, provPlaced, -1) : provPlaced;
  return { swapped, provenance };
}

/**
 * The FLOPs of the matching step for a query box of bh x bw patches against a source of Hs x Ws
 * cells with C channels: the cell Gram matrix product (multiply-add = 2) plus, per score, the 4 adds
 * of the shifted sums and the scaling and penalty (6 in all).
 * @example
 * matchFlops(34, 34, 64, 64, 256); // 64x64 map, 32x32 hole: about 2.7e9
 */
export function matchFlops(bh: number, bw: number, hs: number, ws: number, channels: number): number {
  const n = hs * ws;
  return 2 * ((bh + 2) * (bw + 2) + 3) * channels * n + 6 * bh * (bw + 2) * n;
}
