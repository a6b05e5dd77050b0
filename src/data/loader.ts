/**
 * Training batches: random crops with scale jitter and flips, with seeded hole masks, decoded on a
 * worker thread a few batches ahead of training; and fixed validation crops.
 *
 * Reproducibility is the point of the design. All random choices come from one planner in the
 * worker, drawn in a fixed order (loader-worker.ts); decoding only carries them out. The batches
 * therefore depend only on the file list, the seed and the options — not on timing, prefetch depth
 * or which files fail — and `state()` after batch k resumes a run at batch k + 1 exactly.
 */
import { Worker } from 'node:worker_threads';
import { expect, InpaintError, InputError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { cropPhoto, type FromWorker, fingerprintOf, initialState, type LoaderState, pickKind, type RenderOptions, type ToWorker, type WorkerConfig } from './loader-worker.ts';
import { MASK_KINDS, makeMask } from './masks.ts';

export type { LoaderState } from './loader-worker.ts';
export { fingerprintOf } from './loader-worker.ts';

/** Images [B,3,S,S] planar RGB in [0, 1], masks [B,1,S,S] with 1 = hole, and each sample's file. */
export interface Batch {
  images: Float32Array;
  masks: Float32Array;
  paths: string[];
}

/** The synthetic mask kinds (`folder` needs a mask folder, which the loader does not take). */
export type SyntheticMaskKind = Exclude<(typeof MASK_KINDS)[number], 'folder'>;

/** Relative weights of mask kinds; kinds left out (or weighted 0) are never drawn. */
export type MaskWeights = Partial<Record<SyntheticMaskKind, number>>;

/** The largest scale jitter by default: crops of photos whose short side is 1 to 1.5 times the crop's. */
export const DEFAULT_JITTER_MAX = 1.5;

/** Half rectangles, some free-form strokes, and the paper's centre hole. */
export const DEFAULT_MASK_WEIGHTS: Readonly<MaskWeights> = { rectangles: 0.5, 'strokes-medium': 0.3, centre: 0.2 };

export interface BatchLoaderOptions {
  /** The training images (e.g. `ImageFolder.split(...).train`); their order is part of the stream. */
  files: readonly string[];
  /** Samples a batch, B. */
  batchSize: number;
  /** Crop side S in pixels. */
  size: number;
  /** Seeds the file order, the augmentation and the masks. */
  seed: number;
  /**
   * Before cropping, the short side is resized to S * uniform(1, jitterMax), at most to the
   * photo's own. Default `DEFAULT_JITTER_MAX`.
   */
  jitterMax?: number;
  /** Random horizontal flips. Default true. */
  flip?: boolean;
  /** Mask kinds and their weights. Default `DEFAULT_MASK_WEIGHTS`. */
  masks?: MaskWeights;
  /** Batches made ahead of training, 1 to 8. Default 3. */
  prefetch?: number;
  /** Where unreadable files are reported, once each. Default `console.warn`. */
  onWarning?: (message: string) => void;
  /** A `state()` saved from a loader over the same files and seed: continue from there. */
  resume?: LoaderState;
}

/** True in the published package (dist/*.js, no tsx installed); false when tsx runs the sources. */
const COMPILED = import.meta.url.endsWith('.js');
const WORKER_URL = new URL(COMPILED ? './loader-worker.js' : './loader-worker.ts', import.meta.url).href;
/**
 * The worker's entry: one line of JavaScript that loads loader-worker and calls its `serve()`.
 * Compiled, it imports loader-worker.js. From the sources it goes through tsx's API: on Node 20 a
 * worker ignores `execArgv: ['--import', 'tsx']` (nodejs/node#47747), so a .ts worker file cannot be
 * started directly; tsx is resolved from this file, so the working directory does not matter.
 */
const WORKER_BOOT = COMPILED
  ? `import(${JSON.stringify(WORKER_URL)}).then((m) => m.serve());`
  : `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_URL)}, ${JSON.stringify(import.meta.url)})).then((m) => m.serve());`;

interface Waiter {
  resolve(batch: Batch): void;
  reject(err: Error): void;
}

/** Checks mask weights and puts them in `MASK_KINDS` order, so that key order in the object does not matter. */
function normaliseWeights(weights: MaskWeights, name: string): RenderOptions['masks'] {
  expect(typeof weights === 'object' && weights !== null, name, 'an object of mask kind weights', weights);
  for (const [kind, w] of Object.entries(weights)) {
    expect(kind !== 'folder' && (MASK_KINDS as readonly string[]).includes(kind), `${name} key`, `a synthetic mask kind (${MASK_KINDS.filter((k) => k !== 'folder').join(', ')})`, kind);
    expect(typeof w === 'number' && Number.isFinite(w) && w >= 0, `${name}.${kind}`, 'a finite weight >= 0', w);
  }
  const list = MASK_KINDS.flatMap((k) => {
    const w = (weights as Record<string, number | undefined>)[k];
    return w !== undefined && w > 0 ? [[k, w] as const] : [];
  });
  expect(list.length > 0, name, 'at least one positive weight', weights);
  return list;
}

function checkState(state: LoaderState, files: readonly string[], seed: number): void {
  expect(typeof state === 'object' && state !== null, 'options.resume', 'a state from BatchLoader.state()', state);
  expect(Number.isSafeInteger(state.epoch) && state.epoch >= 0, 'resume.epoch', 'a non-negative integer', state.epoch);
  expect(Number.isSafeInteger(state.index) && state.index >= 0 && state.index <= files.length, 'resume.index', `an integer from 0 to ${files.length}`, state.index);
  expect(Array.isArray(state.rng) && state.rng.length === 5, 'resume.rng', 'an rng state of 5 numbers', state.rng);
  if (state.fingerprint !== fingerprintOf(files, seed)) {
    throw new UsageError('The resume state was saved by a loader over other files or another seed; resume with the same file list (in the same order) and seed');
  }
}

/**
 * Training batches made on a worker thread, `prefetch` ahead, exactly reproducible and resumable.
 * @example
 * const { train } = (await ImageFolder.open('photos')).split(0.05, 1);
 * const loader = await BatchLoader.create({ files: train, batchSize: 8, size: 256, seed: 1 });
 * for (let step = 0; step < steps; step++) {
 *   const { images, masks } = await loader.next();
 *   // ... train; at a checkpoint, save loader.state() and later pass it back as `resume`.
 * }
 * await loader.dispose();
 */
export class BatchLoader {
  /** B. */
  readonly batchSize: number;
  /** S. */
  readonly size: number;
  readonly #worker: Worker;
  readonly #onWarning: (message: string) => void;
  /** Batches made and not yet taken, with the stream state after each. */
  readonly #ready: { batch: Batch; state: LoaderState }[] = [];
  readonly #waiters: Waiter[] = [];
  #state: LoaderState;
  /** Set once the stream cannot go on (every file bad, worker died, disposed); later calls fail with it. */
  #failure: Error | undefined;

  private constructor(worker: Worker, config: WorkerConfig, onWarning: (message: string) => void) {
    this.#worker = worker;
    this.batchSize = config.batchSize;
    this.size = config.size;
    this.#state = config.start;
    this.#onWarning = onWarning;
  }

  /**
   * Starts the worker, which begins decoding at once.
   * @example
   * const resumed = await BatchLoader.create({ files, batchSize: 8, size: 256, seed: 1, resume: saved });
   * @throws UsageError bad options, or a `resume` state from other files or another seed
   * @throws InpaintError the worker could not start
   */
  static async create(options: BatchLoaderOptions): Promise<BatchLoader> {
    const { files, batchSize, size, seed } = options;
    expect(Array.isArray(files) && files.length > 0 && files.every((f) => typeof f === 'string'), 'options.files', 'a non-empty array of image paths', files);
    expect(Number.isSafeInteger(batchSize) && batchSize >= 1, 'options.batchSize', 'a positive integer', batchSize);
    expect(Number.isSafeInteger(size) && size >= 1, 'options.size', 'a positive integer', size);
    expect(Number.isSafeInteger(seed), 'options.seed', 'a safe integer', seed);
    const jitterMax = options.jitterMax ?? DEFAULT_JITTER_MAX;
    expect(Number.isFinite(jitterMax) && jitterMax >= 1, 'options.jitterMax', 'a number >= 1', jitterMax);
    const flip = options.flip ?? true;
    expect(typeof flip === 'boolean', 'options.flip', 'a boolean', flip);
    const prefetch = options.prefetch ?? 3;
    expect(Number.isSafeInteger(prefetch) && prefetch >= 1 && prefetch <= 8, 'options.prefetch', 'an integer from 1 to 8', prefetch);
    const masks = normaliseWeights(options.masks ?? DEFAULT_MASK_WEIGHTS, 'options.masks');
    if (options.resume !== undefined) checkState(options.resume, files, seed);
    const config: WorkerConfig = { files: [...files], seed, batchSize, size, jitterMax, flip, masks, prefetch, start: options.resume ?? initialState(files, seed) };
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: config });
    const loader = new BatchLoader(worker, config, options.onWarning ?? ((message) => console.warn(message)));
    await loader.#start();
    return loader;
  }

  /**
   * The next batch. Calls may overlap; batches come in stream order.
   * @example
   * const { images, masks, paths } = await loader.next(); // images: B*3*S*S, masks: B*S*S
   * @throws InputError every training file is unreadable
   * @throws UsageError the loader was disposed
   */
  next(): Promise<Batch> {
    if (this.#failure) return Promise.reject(this.#failure);
    const made = this.#ready.shift();
    if (made) return Promise.resolve(this.#take(made));
    return new Promise((resolve, reject) => {
      // Keep the process alive while someone waits for a batch, and only then.
      if (this.#waiters.length === 0) this.#worker.ref();
      this.#waiters.push({ resolve, reject });
    });
  }

  /** Where the stream stands after the last batch `next()` returned: pass it as `resume` to go on from there. */
  state(): LoaderState {
    return structuredClone(this.#state);
  }

  /**
   * Ends the worker. Waiting and later `next()` calls fail with a UsageError; calling it again does nothing.
   * @example
   * await loader.dispose();
   */
  async dispose(): Promise<void> {
    if (this.#failure instanceof UsageError) return;
    this.#fail(new UsageError('This batch loader was disposed; create a new one with BatchLoader.create()'));
    await this.#worker.terminate();
  }

  /** Wires the worker's messages and waits for its first one, so that start-up failures surface here. */
  #start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const startFailed = (err: Error) => reject(new InpaintError(`The batch loader's worker could not start: ${err.message}`, { cause: err }));
      this.#worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          this.#worker.unref();
          resolve();
        } else this.#receive(msg);
      });
      this.#worker.once('error', startFailed);
      this.#worker.on('error', (err) => this.#fail(new InpaintError(`The batch loader's worker crashed: ${err.message}`, { cause: err })));
      this.#worker.on('exit', (code) => {
        startFailed(new Error(`exit code ${code}`));
        this.#fail(new InpaintError(`The batch loader's worker exited unexpectedly (code ${code})`));
      });
    });
  }

  #receive(msg: Exclude<FromWorker, { type: 'ready' }>): void {
    switch (msg.type) {
      case 'warning':
        this.#onWarning(msg.message);
        return;
      case 'fatal': {
        const Type = msg.name === 'InputError' ? InputError : msg.name === 'UsageError' ? UsageError : InpaintError;
        this.#fail(new Type(msg.message));
        return;
      }
      case 'batch': {
        const made = { batch: { images: msg.images, masks: msg.masks, paths: msg.paths }, state: msg.state };
        const waiter = this.#waiters.shift();
        if (!waiter) {
          this.#ready.push(made);
          return;
        }
        if (this.#waiters.length === 0) this.#worker.unref();
        waiter.resolve(this.#take(made));
      }
    }
  }

  /** Hands a made batch out: its state becomes the loader's, and the worker may make one more. */
  #take(made: { batch: Batch; state: LoaderState }): Batch {
    this.#state = made.state;
    this.#worker.postMessage({ type: 'credit' } satisfies ToWorker);
    return made.batch;
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#ready.length = 0;
    const waiting = this.#waiters.splice(0);
    this.#worker.unref();
    for (const w of waiting) w.reject(err);
  }
}

export interface ValidationOptions {
  /** Mask kinds and their weights. Default `DEFAULT_MASK_WEIGHTS`. */
  masks?: MaskWeights;
  /** Where unreadable files are reported. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/**
 * A fixed validation set: each photo resized so its short side is S and centre-cropped to S x S,
 * with a mask seeded by (seed, its index in `paths`), so the set is identical every time it is
 * loaded and appending files leaves the earlier masks as they were. Unreadable files are reported
 * and left out (the others keep the masks of their index); `paths` of the result lists the files kept.
 * @example
 * const val = await loadValidationSet(folder.split(0.05, 1).val, 256, 7);
 * @throws InputError none of the files can be read
 * @throws UsageError empty `paths`, a bad size or seed, or bad mask weights
 */
export async function loadValidationSet(paths: readonly string[], size: number, seed: number, options: ValidationOptions = {}): Promise<Batch> {
  expect(Array.isArray(paths) && paths.length > 0 && paths.every((f) => typeof f === 'string'), 'paths', 'a non-empty array of image paths', paths);
  expect(Number.isSafeInteger(size) && size >= 1, 'size', 'a positive integer', size);
  expect(Number.isSafeInteger(seed), 'seed', 'a safe integer', seed);
  const masks = normaliseWeights(options.masks ?? DEFAULT_MASK_WEIGHTS, 'options.masks');
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  const plane = size * size;
  const images: Float32Array[] = [];
  const holes: Uint8Array[] = [];
  const kept: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    let image: Float32Array;
    try {
      // Zoom 1 at the centre: short side exactly S, centred crop, no flip.
      image = await cropPhoto(paths[i], size, 1, 0.5, 0.5, false);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      warn(`Leaving ${paths[i]} out of the validation set: ${err.message}`);
      continue;
    }
    const rng = new Rng((seed ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
    holes.push((await makeMask(pickKind(masks, rng.next()), size, size, rng)).data);
    images.push(image);
    kept.push(paths[i]);
  }
  if (kept.length === 0) throw new InputError(`None of the ${paths.length} validation images could be read (the reasons were reported as warnings)`);
  const batch: Batch = { images: new Float32Array(kept.length * 3 * plane), masks: new Float32Array(kept.length * plane), paths: kept };
  images.forEach((img, i) => batch.images.set(img, i * 3 * plane));
  holes.forEach((m, i) => batch.masks.set(m, i * plane));
  return batch;
}
