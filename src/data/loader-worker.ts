/**
 * The batch loader's deterministic core and its worker thread.
 *
 * Every random choice of the training stream is made here by one `Planner`, in one fixed order:
 * the file order of each epoch and, per sample, the numbers that fix its crop, flip and mask. The
 * rest — decoding, resizing, cropping, drawing the mask from its seed — is a pure function of those
 * numbers. So the batches depend only on (files, seed, options), never on timing, and the planner's
 * position is all a checkpoint needs.
 *
 * Importing this module has no side effects; loader.ts starts a worker whose bootstrap calls
 * `serve()`, and uses `cropPhoto` itself for validation crops.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, UsageError } from '../core/errors.ts';
import { cropImage, readImage, resizeImage, type RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { makeMask } from './masks.ts';

/** A place in the training stream: what `BatchLoader.state()` returns and `resume` takes. */
export interface LoaderState {
  /** The current epoch, from 0: the file order in use is that epoch's shuffle. */
  epoch: number;
  /** The next position in this epoch's file order. */
  index: number;
  /** The per-sample rng's state (`Rng.state()`); may hold null where JSON turned a NaN into it. */
  rng: (number | null)[];
  /** Identifies the file list and seed the state belongs to, so resuming with other ones is caught. */
  fingerprint: string;
}

/**
 * One planned sample: a file and the uniform numbers in [0, 1) that fix its augmentation. The
 * numbers are drawn whatever the options are, so every option reads them the same way and changing
 * one (say `jitterMax`) on resume does not shift the stream.
 */
export interface SamplePlan {
  path: string;
  /** Scale jitter: the short side becomes size * (1 + scale * (jitterMax - 1)). */
  scale: number;
  /** Crop position along the free width / height. */
  x: number;
  y: number;
  /** Flip horizontally when below 0.5 (and flips are on). */
  flip: number;
  /** Picks the mask kind from the cumulative weights. */
  kind: number;
  /** Seeds the mask generator. */
  maskSeed: number;
}

/** How samples are rendered: the options that turn a `SamplePlan` into pixels. */
export interface RenderOptions {
  /** The crop side S. */
  size: number;
  /** Largest scale jitter, >= 1. */
  jitterMax: number;
  flip: boolean;
  /** Mask kinds with positive weights, in `MASK_KINDS` order. */
  masks: readonly (readonly [kind: string, weight: number])[];
}

export interface WorkerConfig extends RenderOptions {
  files: readonly string[];
  seed: number;
  batchSize: number;
  prefetch: number;
  start: LoaderState;
}

/** Worker to main thread. Batch buffers are transferred, not copied. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'batch'; images: Float32Array; masks: Float32Array; paths: string[]; state: LoaderState }
  | { type: 'warning'; message: string }
  | { type: 'fatal'; name: string; message: string };

/** Main thread to worker: one more batch may be made (the caller took one off the queue). */
export type ToWorker = { type: 'credit' };

/**
 * Decodes run this many at a time: enough to keep libuv's default four threads busy, few enough
 * that full-size decoded photos (12 MB each as float at 1024²) do not pile up for large batches.
 */
const DECODE_CONCURRENCY = 4;

/** The fingerprint of a file list and seed (16 hex digits of a SHA-256). */
export function fingerprintOf(files: readonly string[], seed: number): string {
  // Relative to the files' common folder, so a data set moved or mounted elsewhere resumes alike.
  let common = files.length > 0 ? files[0].slice(0, files[0].lastIndexOf('/') + 1) : '';
  for (const f of files) while (!f.startsWith(common)) common = common.slice(0, common.slice(0, -1).lastIndexOf('/') + 1);
  const relative = files.map((f) => f.slice(common.length));
  return createHash('sha256').update(JSON.stringify([seed, relative])).digest('hex').slice(0, 16);
}

/** Where a stream with this file list and seed starts. */
export function initialState(files: readonly string[], seed: number): LoaderState {
  return { epoch: 0, index: 0, rng: new Rng(seed).state(), fingerprint: fingerprintOf(files, seed) };
}

/**
 * The single source of randomness of the training stream. Epoch e's order is a shuffle by an rng
 * seeded from (seed, e), so a state need not carry the order; the per-sample numbers come from one
 * rng that runs on across epochs, whose state the state carries.
 */
class Planner {
  readonly #files: readonly string[];
  readonly #seed: number;
  readonly #rng: Rng;
  #epoch: number;
  #index: number;
  #order: number[];

  constructor(files: readonly string[], seed: number, start: LoaderState) {
    this.#files = files;
    this.#seed = seed;
    this.#rng = Rng.fromState(start.rng.map((v) => v ?? Number.NaN));
    this.#epoch = start.epoch;
    this.#index = start.index;
    this.#order = this.#shuffled(start.epoch);
  }

  /** The next sample of the stream; moves to the next epoch, reshuffled, after the last file. */
  next(): SamplePlan {
    if (this.#index >= this.#files.length) {
      this.#epoch++;
      this.#index = 0;
      this.#order = this.#shuffled(this.#epoch);
    }
    const path = this.#files[this.#order[this.#index++]];
    const r = this.#rng;
    return { path, scale: r.next(), x: r.next(), y: r.next(), flip: r.next(), kind: r.next(), maskSeed: r.uint32() };
  }

  state(): LoaderState {
    return { epoch: this.#epoch, index: this.#index, rng: this.#rng.state(), fingerprint: fingerprintOf(this.#files, this.#seed) };
  }

  #shuffled(epoch: number): number[] {
    // Golden-ratio multiples spread consecutive epochs over the seed space; Rng's splitmix seeding
    // decorrelates the rest.
    const rng = new Rng((this.#seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0);
    return rng.shuffle(Array.from(this.#files, (_, i) => i));
  }
}

/**
 * The mask kind that `u` in [0, 1) selects from weighted kinds.
 * @example
 * pickKind([['centre', 1], ['rectangles', 3]], 0.3); // 'rectangles'
 */
export function pickKind(masks: RenderOptions['masks'], u: number): string {
  const total = masks.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  for (const [kind, weight] of masks) {
    acc += weight;
    if (u * total < acc) return kind;
  }
  // Only rounding can get here (u * total just below total, acc summed just below it).
  return masks[masks.length - 1][0];
}

/**
 * Reads a photo, resizes it so its short side is `size * zoom` (never below the crop, so small
 * photos are enlarged; never above the photo's own, so a larger zoom crops at full resolution),
 * and crops `size` x `size` at fractions `x`, `y` of the free width and height (0.5, 0.5 is the
 * centre), flipped horizontally if asked. Planar RGB in [0, 1].
 * @example
 * const centre = await cropPhoto('photo.jpg', 256, 1, 0.5, 0.5, false); // 3*256*256 floats
 * @throws InputError the photo cannot be read
 */
export async function cropPhoto(path: string, size: number, zoom: number, x: number, y: number, flip: boolean): Promise<Float32Array> {
  const decoded = await readImage(path);
  // Enlarging past the photo's own pixels adds no detail, only blur unlike any photo's.
  zoom = Math.min(zoom, Math.max(1, Math.min(decoded.width, decoded.height) / size));
  // resizeImage costs a few multiply-adds per input pixel when shrinking (its antialiasing kernel
  // widens with the ratio), and photos are often shrunk 3x or more here. Averaging k x k blocks
  // first, down to no less than twice the target, divides that by k² at no visible loss: PIL's
  // "reducing gap" of 2.
  const k = Math.floor(Math.min(decoded.width, decoded.height) / (2 * size * zoom));
  const photo = k >= 2 ? boxReduce(decoded, k) : decoded;
  const f = (size * zoom) / Math.min(photo.width, photo.height);
  const width = Math.max(size, Math.round(photo.width * f));
  const height = Math.max(size, Math.round(photo.height * f));
  const resized = resizeImage(photo, width, height);
  const box = { x: Math.floor(x * (width - size + 1)), y: Math.floor(y * (height - size + 1)), width: size, height: size };
  const image = cropImage(resized, box).data;
  if (flip) for (let row = 0; row < 3 * size; row++) image.subarray(row * size, (row + 1) * size).reverse();
  return image;
}

/**
 * Averages k x k blocks. The last partial row and column of blocks (under k pixels of the photo) are
 * dropped, which keeps every block's centre exactly where resizing puts it.
 * @example
 * const half = boxReduce(photo, 2); // 1024x768 -> 512x384
 */
export function boxReduce(img: RgbImage, k: number): RgbImage {
  const width = Math.floor(img.width / k);
  const height = Math.floor(img.height / k);
  const out = new Float32Array(3 * width * height);
  const row = new Float32Array(width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      row.fill(0);
      for (let dy = 0; dy < k; dy++) {
        const src = (c * img.height + y * k + dy) * img.width;
        for (let x = 0; x < width; x++) {
          let acc = 0;
          for (let dx = 0; dx < k; dx++) acc += img.data[src + x * k + dx];
          row[x] += acc;
        }
      }
      const dst = (c * height + y) * width;
      for (let x = 0; x < width; x++) out[dst + x] = row[x] / (k * k);
    }
  }
  return { width, height, data: out };
}

/**
 * Renders one planned sample: its jittered, flipped crop and its mask. Deterministic in (plan, options).
 * @throws InputError the photo cannot be read
 */
async function renderSample(plan: SamplePlan, options: RenderOptions): Promise<{ image: Float32Array; mask: Uint8Array }> {
  const { size } = options;
  const zoom = 1 + plan.scale * (options.jitterMax - 1);
  const image = await cropPhoto(plan.path, size, zoom, plan.x, plan.y, options.flip && plan.flip < 0.5);
  const mask = await makeMask(pickKind(options.masks, plan.kind), size, size, new Rng(plan.maskSeed));
  return { image, mask: mask.data };
}

/** `fn` over `items` with at most `limit` calls in flight; results in the order of `items`. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * Makes batches from the plan stream. A sample whose photo cannot be read is dropped and the next
 * planned sample takes its place, so a batch is always full; the file is reported once and never
 * decoded again. Which files are bad is a property of the files, and dropping consumes the plan the
 * same whether the failure was found now or earlier, so the batches stay deterministic.
 */
class BatchMaker {
  readonly #config: WorkerConfig;
  readonly #planner: Planner;
  readonly #bad = new Set<string>();
  readonly #distinct: number;
  readonly #warn: (message: string) => void;

  constructor(config: WorkerConfig, warn: (message: string) => void) {
    this.#config = config;
    this.#planner = new Planner(config.files, config.seed, config.start);
    this.#distinct = new Set(config.files).size;
    this.#warn = warn;
  }

  /**
   * The next batch and the stream's state after it.
   * @throws InputError once every file has turned out unreadable
   */
  async next(): Promise<Extract<FromWorker, { type: 'batch' }>> {
    const { batchSize: n, size } = this.#config;
    const plane = size * size;
    const images = new Float32Array(n * 3 * plane);
    const masks = new Float32Array(n * plane);
    const paths: string[] = [];
    while (paths.length < n) {
      const plans: SamplePlan[] = [];
      while (plans.length < n - paths.length) {
        const plan = this.#planner.next();
        if (!this.#bad.has(plan.path)) plans.push(plan);
      }
      const results = await mapLimited(plans, DECODE_CONCURRENCY, (plan) =>
        renderSample(plan, this.#config).catch((err: unknown) => {
          // Only an unreadable photo is skipped; anything else is a bug and must not be hidden.
          if (err instanceof InputError) return err;
          throw err;
        }),
      );
      results.forEach((result, i) => {
        const { path } = plans[i];
        if (result instanceof InputError) {
          // The same bad file can be planned twice in one round when the round spans two epochs.
          if (!this.#bad.has(path)) this.#warn(`Skipping ${path} for the rest of this run: ${result.message}`);
          this.#bad.add(path);
          return;
        }
        images.set(result.image, paths.length * 3 * plane);
        for (let p = 0; p < plane; p++) masks[paths.length * plane + p] = result.mask[p];
        paths.push(path);
      });
      if (this.#bad.size === this.#distinct) {
        throw new InputError(`None of the ${this.#distinct} training images could be read (the reasons were reported as warnings); check the image folder`);
      }
    }
    return { type: 'batch', images, masks, paths, state: this.#planner.state() };
  }
}

/**
 * The worker's entry point, called by loader.ts's bootstrap: makes up to `prefetch` batches ahead of
 * what the main thread has taken, one more per credit, and stops for good on a fatal error.
 */
export function serve(): void {
  const port = parentPort;
  if (!port) throw new UsageError('loader-worker.ts serve() must run in the worker thread that BatchLoader starts');
  const config = workerData as WorkerConfig;
  const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  const maker = new BatchMaker(config, (message) => post({ type: 'warning', message }));
  let credits = config.prefetch;
  let running = false;
  let failed = false;
  const pump = async () => {
    if (running || failed) return;
    running = true;
    try {
      while (credits > 0) {
        const batch = await maker.next();
        credits--;
        post(batch, [batch.images.buffer as ArrayBuffer, batch.masks.buffer as ArrayBuffer]);
      }
    } catch (err) {
      failed = true;
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'fatal', name: e.name, message: e.message });
    } finally {
      running = false;
    }
  };
  port.on('message', (msg: ToWorker) => {
    if (msg.type !== 'credit') return;
    credits++;
    void pump();
  });
  post({ type: 'ready' });
  void pump();
}
