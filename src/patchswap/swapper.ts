/**
 * `PatchSwapper` runs the patch-swap graph on an Engine after checking its inputs (the graph itself
 * assumes they are sane); the feature-cell geometry it reads masks by is `features/grid.ts`.
 */
import { UsageError, expect } from '../core/errors.ts';
import { Graph } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import type { InferenceEngine as Engine, Session } from '../runtime/session.ts';
import { type HostTensor, checkHostTensor, hostTensor } from '../runtime/tensor.ts';
import { FEATURE_STRIDE, hasKnownPatch } from '../features/grid.ts';
import { patchSwap } from './patchswap.ts';

export interface PatchSwapperOptions {
  /** See `PatchSwapOptions.epsilon`. */
  epsilon?: number;
  /**
   * Target number of scores per band of the matching (see `PatchSwapOptions.bands`): the band
   * count is the power of two that brings a band to about this size, while that makes 16 bands or
   * fewer; past that, the power of two that brings a band to four times this size (at least 16).
   * Default 2^18 (1 MiB of float32). Smaller bands stay in the CPU caches: the inpainter's first
   * match at 256 (a 64x64 map, a 32x32 hole) takes 41 to 44 ms as 16 bands against 56 to 62 as 4
   * (bands of 2^20). But few enough bands that ONNX Runtime creates the graph's session quickly:
   * its allocation planner takes time growing faster than the node count (a 128x128 map with a
   * 56x56 hole is created in 1.6 to 2.8 s as 64 bands, 17 to 27 s as 256, about 30 s as 256 before
   * each band's nodes were cut from 49 to 24), hence bands four times larger past 16.
   * `npm run bench -- patchswap` reports the first run with its session as "cold s".
   */
  bandSize?: number;
}

export interface SwapInput {
  /** [1, C, H, W] float32, e.g. relu3_1 of the coarse result. */
  features: HostTensor;
  /** [1, 1, H, W] float32, > 0.5 = hole (see `mapMaskToFeatures`). Without `source` it is required. */
  mask?: HostTensor;
  /** Match against this map [1, C, Hs, Ws] instead of the known region of `features` (style transfer). */
  source?: HostTensor;
  /**
   * [1, 1, Hs, Ws], > 0.5 = not to be copied from; none: the whole source may be. Without `source`,
   * [1, 1, H, W]: cells of `features` not to copy from besides the hole (a user's sampling region).
   */
  sourceMask?: HostTensor;
  /** Prefer nearer patches among near-equal matches (`PatchSwapOptions.locality`); default 0, the paper's patch-swap. Not with `source`. */
  locality?: number;
}

export interface SwapOutput {
  /** [1, C, H, W] float32: hole cells replaced, known cells as they were. */
  swapped: HostTensor;
  /** int64 [1, 1, H, W]: per hole cell the flat source index sy * Ws + sx of its value, else -1. */
  provenance: HostTensor;
}

/**
 * The graphs: matching within `features`; within it but not from the cells of a source mask; or
 * against a separate source (then masks are always fed).
 */
type Variant = 'self' | 'excluding' | 'source';

interface Grid {
  height: number;
  width: number;
  /** 1 = hole, per cell. */
  hole: Uint8Array;
}

/**
 * Runs patch-swap on an Engine. Sessions (one per graph variant and band count) are made on first
 * use and kept until `dispose()`.
 * @example
 * const swapper = await PatchSwapper.create(engine);
 * const { swapped, provenance } = await swapper.swap({ features, mask: mapMaskToFeatures(pixelMask, 64, 64) });
 * swapper.dispose();
 */
export class PatchSwapper {
  readonly #engine: Engine;
  readonly #epsilon: number;
  readonly #bandSize: number;
  readonly #sessions = new Map<string, Promise<Session>>();

  private constructor(engine: Engine, epsilon: number, bandSize: number) {
    this.#engine = engine;
    this.#epsilon = epsilon;
    this.#bandSize = bandSize;
  }

  /**
   * Makes a swapper that runs on `engine`; its graphs are built and loaded on first use.
   * @example
   * const swapper = await PatchSwapper.create(engine, { bandSize: 1 << 18 }); // more, smaller bands
   * @throws UsageError if an option is out of range
   */
  static async create(engine: Engine, options: PatchSwapperOptions = {}): Promise<PatchSwapper> {
    const epsilon = options.epsilon ?? 1e-6;
    const bandSize = options.bandSize ?? 1 << 18;
    expect(Number.isFinite(epsilon) && epsilon > 0, 'options.epsilon', 'a positive number', epsilon);
    expect(Number.isSafeInteger(bandSize) && bandSize > 0, 'options.bandSize', 'a positive integer', bandSize);
    return new PatchSwapper(engine, epsilon, bandSize);
  }

  /**
   * Replaces every hole cell of `features` by patch-swap (definition in `patchswap.ts`). A mask
   * without a hole returns a copy of the features and an all -1 provenance without running anything.
   * @example
   * const { swapped } = await swapper.swap({ features, mask });
   * const styled = await swapper.swap({ features: content, source: style });
   * @throws UsageError if a tensor has the wrong dtype or shape, a map is smaller than 3x3, neither
   *   `mask` nor `source` is given, or no 3x3 patch of the source is entirely known (the hole covers
   *   too much of the image)
   * @throws EngineError if ONNX Runtime fails
   */
  async swap(input: SwapInput): Promise<SwapOutput> {
    const features = checkMap(input.features, 'features');
    const [, channels, height, width] = features.shape;
    if (!input.mask && !input.source) throw new UsageError('patch-swap needs a mask (which cells to fill) or a source to swap every patch against');
    const locality = input.locality ?? 0;
    expect(Number.isFinite(locality) && locality >= 0, 'locality', 'a number >= 0', locality);
    if (locality > 0 && input.source) throw new UsageError('locality compares positions within one map: it cannot be used with a source');
    const query = input.mask ? readMask(input.mask, 'mask', height, width) : fullMask(height, width);
    const source = input.source ? checkMap(input.source, 'source') : features;
    if (source.shape[1] !== channels) throw new UsageError(`the source has ${source.shape[1]} channels but the features have ${channels}`);
    const [sh, sw] = [source.shape[2], source.shape[3]];
    if (input.sourceMask && !input.source && !input.mask) throw new UsageError('a sourceMask on the features needs the mask of their hole');
    const excluded = input.sourceMask ? readMask(input.sourceMask, 'sourceMask', sh, sw) : undefined;
    const blocked = input.source ? (excluded ?? emptyMask(sh, sw)) : excluded ? union(query, excluded) : query;
    const box = queryBox(query);
    if (!box) return { swapped: hostTensor(features.data.slice(), features.shape), provenance: hostTensor(new BigInt64Array(height * width).fill(-1n), [1, 1, height, width]) };
    if (!hasCompletePatch(blocked)) {
      throw new UsageError(
        input.source
          ? `the source mask leaves no 3x3 block of source cells entirely usable, so there is nothing to copy from`
          : excluded
            ? `the region to copy from leaves no 3x3 block of feature cells (${3 * FEATURE_STRIDE}x${3 * FEATURE_STRIDE} pixels) that is both known and allowed, so there is nothing to copy from; allow a larger known area`
            : `the hole covers too much of the image: no 3x3 block of feature cells (${3 * FEATURE_STRIDE}x${3 * FEATURE_STRIDE} pixels) lies entirely outside it, so there is nothing to copy from; use a smaller hole or a larger image`,
      );
    }

    const bands = bandCount(box.rows * (box.cols + 2) * sh * sw, this.#bandSize);
    const variant: Variant = input.source ? 'source' : excluded ? 'excluding' : 'self';
    const session = await this.#session(variant, bands, locality);
    const maskFeed = hostTensor(toFloat(query.hole), [1, 1, height, width]);
    const feeds: Record<string, HostTensor> = { features, mask: maskFeed };
    if (input.source) feeds.source = source;
    if (variant !== 'self') feeds.source_mask = hostTensor(toFloat(blocked.hole), [1, 1, sh, sw]);
    const out = await session.run(feeds);
    return { swapped: out.swapped, provenance: out.provenance };
  }

  /**
   * Releases the sessions. Idempotent; the swapper must not be used afterwards.
   * @example
   * swapper.dispose();
   */
  dispose(): void {
    for (const session of this.#sessions.values()) session.then((s) => s.dispose(), () => undefined);
    this.#sessions.clear();
  }

  #session(variant: Variant, bands: number, locality: number): Promise<Session> {
    const key = `${variant}/${bands}/${locality}`;
    let session = this.#sessions.get(key);
    if (!session) {
      const graph = swapGraph(variant, bands, this.#epsilon, locality);
      session = this.#engine.load(toOnnx(graph), graph.name);
      // A failed load must not stay cached: the next call should try again.
      session.catch(() => this.#sessions.get(key) === session && this.#sessions.delete(key));
      this.#sessions.set(key, session);
    }
    return session;
  }
}

/** The patch-swap graph with symbolic sizes: inputs features, mask (and source, source_mask). */
function swapGraph(variant: Variant, bands: number, epsilon: number, locality: number): Graph {
  const g = new Graph(`patchswap_${variant}_${bands}${locality > 0 ? `_local${locality}` : ''}`);
  const features = g.input('features', [1, 'C', 'H', 'W']);
  const mask = g.input('mask', [1, 1, 'H', 'W']);
  const source =
    variant === 'source'
      ? { source: g.input('source', [1, 'C', 'Hs', 'Ws']), sourceMask: g.input('source_mask', [1, 1, 'Hs', 'Ws']) }
      : variant === 'excluding'
        ? { sourceMask: g.input('source_mask', [1, 1, 'H', 'W']) }
        : {};
  const { swapped, provenance } = patchSwap(features, mask, { ...source, epsilon, bands, locality });
  g.output(swapped, 'swapped');
  g.output(provenance, 'provenance');
  return g;
}

/**
 * The power of two that splits `scores` values into bands of about `bandSize`, if that is at most
 * `FEW_BANDS`; else the one for bands of 4 x `bandSize`, at least `FEW_BANDS` (see
 * `PatchSwapperOptions.bandSize`). At most 1024.
 */
function bandCount(scores: number, bandSize: number): number {
  const powerFor = (size: number) => 2 ** Math.min(10, Math.max(0, Math.round(Math.log2(scores / size))));
  const fine = powerFor(bandSize);
  return fine <= FEW_BANDS ? fine : Math.max(FEW_BANDS, powerFor(4 * bandSize));
}

/** Up to this many bands, they are as small as `bandSize` asks. */
const FEW_BANDS = 16;

function checkMap(t: HostTensor, what: string): HostTensor {
  checkHostTensor(t, what);
  if (t.dtype !== 'float32' || t.shape.length !== 4 || t.shape[0] !== 1 || t.shape[2] < 3 || t.shape[3] < 3) {
    throw new UsageError(`${what} must be float32 [1, C, H, W] with H, W >= 3 (a 3x3 patch must fit) but is ${t.dtype}[${t.shape.join(', ')}]`);
  }
  return t;
}

function readMask(t: HostTensor, what: string, height: number, width: number): Grid {
  checkHostTensor(t, what);
  if (t.dtype !== 'float32' || t.shape.join() !== [1, 1, height, width].join()) {
    throw new UsageError(`${what} must be float32 [1, 1, ${height}, ${width}] to match its map but is ${t.dtype}[${t.shape.join(', ')}]`);
  }
  const values = t.data as Float32Array;
  const bad = values.findIndex((v) => Number.isNaN(v));
  if (bad >= 0) throw new UsageError(`${what} holds NaN at index ${bad}; expected numbers, > 0.5 meaning hole`);
  return { height, width, hole: Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0)) };
}

const emptyMask = (height: number, width: number): Grid => ({ height, width, hole: new Uint8Array(height * width) });
const fullMask = (height: number, width: number): Grid => ({ height, width, hole: new Uint8Array(height * width).fill(1) });
const toFloat = (hole: Uint8Array) => Float32Array.from(hole);

/** The number of query patch rows and columns in the bounding box of the patches touching the hole; null if none does. */
function queryBox(m: Grid): { rows: number; cols: number } | null {
  let [y0, y1, x0, x1] = [Infinity, -1, Infinity, -1];
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.hole[y * m.width + x]) continue;
      // The patches containing (y, x) have top-left rows y - 2 .. y and columns x - 2 .. x, clipped.
      y0 = Math.min(y0, Math.max(0, y - 2));
      y1 = Math.max(y1, Math.min(y, m.height - 3));
      x0 = Math.min(x0, Math.max(0, x - 2));
      x1 = Math.max(x1, Math.min(x, m.width - 3));
    }
  }
  return y1 < 0 ? null : { rows: y1 - y0 + 1, cols: x1 - x0 + 1 };
}

/** Cells that are in either grid (same size). */
function union(a: Grid, b: Grid): Grid {
  return { ...a, hole: a.hole.map((v, i) => v | b.hole[i]) };
}

function hasCompletePatch(m: Grid): boolean {
  return hasKnownPatch(m.hole, m.height, m.width);
}

