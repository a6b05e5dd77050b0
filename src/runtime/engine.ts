/**
 * The compute engine: ONNX Runtime sessions, run on a worker thread (or, for GPU training, the same
 * requests answered by a PyTorch process: torch-channel.ts).
 *
 * Why a worker: onnxruntime-node's `session.run()` returns a promise but computes synchronously on the
 * calling thread, so a long run (a training step, a full-resolution inpainting pass) would freeze the
 * main thread's event loop: no timers, no I/O, no progress reports, and concurrent runs serialise
 * anyway. One worker per engine owns every session; the main thread only validates feeds and moves
 * typed arrays across (outputs are transferred, not copied). ONNX Runtime parallelises each run over
 * its own intra-op threads, so one worker is enough to keep all cores busy.
 *
 * Sessions are cached by the SHA-256 of the model bytes: loading the same graph twice shares one
 * worker-side session, reference counted, released when the last handle is disposed.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EngineError, UsageError, describe, expect } from '../core/errors.ts';
import { READY, RemoteError, type HostTensorMap, type ModelInfo, type Op, type Protocol, type Reply, type ValueInfo, type WorkerConfig } from './protocol.ts';
import { checkHostTensor, formatTensorType, type HostTensor } from './tensor.ts';
import { TorchChannel } from './torch-channel.ts';

export type { ValueInfo } from './protocol.ts';

export interface EngineOptions {
  /** ONNX Runtime intra-op threads per run; default `os.availableParallelism()`. */
  threads?: number;
  /**
   * Where graphs run: 'onnxruntime' (default), or 'torch' for tools/torch-engine/engine.py (PyTorch,
   * on a CUDA GPU when there is one; for training on a lent GPU machine). Default env INPAINT_ENGINE.
   */
  backend?: Backend;
  /**
   * Let a session's intra-op threads keep spinning after its run, as ONNX Runtime does by default.
   * Default false: every session has its own thread pool, and the pipeline and the training steps
   * alternate sessions (G1, VGG, patch-swap, G2; generator, discriminator), so on a machine with
   * few cores the threads of the session that just ran would spin on the cores the next one needs.
   * Stopping them made a 256x256 inpainting 14-20% faster and one with `ensemble: 8` 18-25% faster
   * on 2 cores, training iterations 0-10% (`npm run bench -- spinning`, two runs). ONNX Runtime
   * back end only.
   */
  keepSpinning?: boolean;
}

export type Backend = 'onnxruntime' | 'torch';

/** What the engine needs of its back end: the worker channel below or the PyTorch one. */
type EngineChannel = Pick<Channel, 'ready' | 'request' | 'close'>;

export interface RunOptions {
  /**
   * Transfer the feeds' ArrayBuffers to the worker instead of copying them. Faster for large feeds,
   * but the caller's arrays (and every other view on the same buffers) become empty.
   */
  transfer?: boolean;
  /**
   * Return float outputs holding NaN or Infinity instead of failing. Default false: a network that
   * computes NaN (from a corrupt weight, say) must stop the run, never become an image. Training
   * steps pass true and judge the loss themselves.
   */
  allowNonFinite?: boolean;
}

/** True in the published package (dist/*.js, no tsx installed); false when tsx runs the sources. */
const COMPILED = import.meta.url.endsWith('.js');
const WORKER_URL = new URL(COMPILED ? './worker.js' : './worker.ts', import.meta.url).href;
/**
 * The worker's entry point: a line of JavaScript. Compiled, it imports worker.js. From the sources it
 * loads worker.ts through tsx's API: on Node 20 a worker ignores loader hooks given as
 * `execArgv: ['--import', 'tsx']` (nodejs/node#47747), so a .ts worker file fails with
 * ERR_UNKNOWN_FILE_EXTENSION. tsx is resolved from this file, not from the current directory, so this
 * works whatever directory the process started in.
 */
const WORKER_BOOT = COMPILED
  ? `import(${JSON.stringify(WORKER_URL)});`
  : `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_URL)}, ${JSON.stringify(import.meta.url)}));`;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Request/reply over the worker's message port. Keeps the process alive only while the worker starts
 * or replies are due.
 */
class Channel {
  /** Resolves when ONNX Runtime has loaded in the worker; rejects if the worker fails first. */
  readonly ready: Promise<void>;
  #startup: Pending | undefined;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the worker is gone (crashed, or closed by dispose); every later request fails with it. */
  #failure: EngineError | undefined;

  constructor(worker: Worker) {
    this.#worker = worker;
    this.ready = new Promise((resolve, reject) => {
      this.#startup = { resolve, reject };
    });
    worker.on('message', (reply: Reply | typeof READY) => (reply === READY ? this.#started() : this.#settle(reply)));
    worker.on('error', (err) => this.#fail(new EngineError(`the ONNX Runtime worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.#fail(new EngineError(`the ONNX Runtime worker exited unexpectedly (code ${code})`)));
  }

  request<K extends Op>(op: K, args: Protocol[K]['args'], transfer: ArrayBuffer[] = []): Promise<Protocol[K]['result']> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#worker.postMessage({ id, op, ...args }, transfer);
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Fails what is pending, lets the worker release its sessions, then ends it. */
  async close(): Promise<void> {
    this.#rejectAll(new EngineError('the engine was disposed before this request finished'));
    try {
      await this.request('close', {});
    } catch {
      // The worker is already gone, and its sessions with it.
    }
    this.#failure ??= new EngineError('the engine was disposed');
    await this.#worker.terminate();
  }

  #started(): void {
    this.#startup?.resolve(undefined);
    this.#startup = undefined;
    this.#worker.unref();
  }

  #settle(reply: Reply): void {
    const p = this.#pending.get(reply.id);
    if (!p) return; // rejected already by close()
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new RemoteError(reply.message));
  }

  #fail(err: EngineError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#startup?.reject(err);
    this.#startup = undefined;
    this.#rejectAll(err);
  }

  #rejectAll(err: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker.unref();
    for (const p of all) p.reject(err);
  }
}

interface CacheEntry {
  /** The worker's id for the session. */
  id: number;
  /** Live `Session` handles, plus loads still waiting for `info`. */
  refs: number;
  info: Promise<ModelInfo>;
}

/**
 * Owns one worker thread and the ONNX Runtime sessions in it.
 * @example
 * const engine = await Engine.create();
 * const session = await engine.load(toOnnx(graph), 'G1');
 * const { y } = await session.run({ x: hostTensor(pixels, [1, 3, 256, 256]) });
 * await engine.dispose();
 */
export class Engine {
  /** ONNX Runtime intra-op threads per run. */
  readonly threads: number;
  /** The back end the engine was created with. */
  readonly backend: Backend;
  /** What runs the graphs, for logs: 'ONNX Runtime (2 threads)', 'PyTorch 2.11.0 on cuda (NVIDIA H200)'. */
  readonly description: string;
  readonly #channel: EngineChannel;
  readonly #cache = new Map<string, CacheEntry>();
  #nextSession = 1;
  #disposed = false;

  private constructor(channel: EngineChannel, threads: number, backend: Backend, description: string) {
    this.#channel = channel;
    this.threads = threads;
    this.backend = backend;
    this.description = description;
  }

  /**
   * Starts the worker and loads ONNX Runtime in it (graph optimisation 'all', sequential execution),
   * or with the 'torch' back end the PyTorch process (torch-channel.ts). Threads default to env
   * INPAINT_THREADS, else the number of cores (ONNX Runtime only).
   * @example
   * const engine = await Engine.create({ threads: 2 });
   * @throws UsageError if `threads` is not a positive integer or `backend` is unknown
   * @throws EngineError if the worker or ONNX Runtime (or the PyTorch process) cannot start
   */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    // INPAINT_THREADS caps the threads of engines created without an explicit count (e.g. two
    // trainings sharing one machine).
    const threads = options.threads ?? (process.env.INPAINT_THREADS ? Number(process.env.INPAINT_THREADS) : availableParallelism());
    expect(Number.isSafeInteger(threads) && threads >= 1, 'options.threads', 'a positive integer', threads);
    const backend = options.backend ?? (process.env.INPAINT_ENGINE || 'onnxruntime');
    expect(backend === 'onnxruntime' || backend === 'torch', 'options.backend (or env INPAINT_ENGINE)', "'onnxruntime' or 'torch'", backend);
    const keepSpinning = options.keepSpinning ?? false;
    expect(typeof keepSpinning === 'boolean', 'options.keepSpinning', 'a boolean', keepSpinning);
    const torch = backend === 'torch' ? new TorchChannel() : null;
    const channel: EngineChannel = torch ?? new Channel(new Worker(WORKER_BOOT, { eval: true, workerData: { threads, keepSpinning } satisfies WorkerConfig }));
    try {
      await channel.ready;
    } catch (err) {
      await channel.close(); // ends the worker or the process
      throw new EngineError(`could not start the engine: ${messageOf(err)}`, { cause: err });
    }
    return new Engine(channel, threads, backend, torch ? torch.device : `ONNX Runtime (${threads} thread${threads === 1 ? '' : 's'})`);
  }

  /** True once `dispose()` has been called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Creates a session for an ONNX model, or shares the one already made from identical bytes.
   * @param name the graph's name, used in error messages
   * @example
   * const session = await engine.load(toOnnx(graph), 'vgg');
   * @throws UsageError if the engine was disposed or the arguments are wrong
   * @throws EngineError naming the graph, with ONNX Runtime's message, if the session cannot be made
   */
  async load(model: Uint8Array, name: string): Promise<Session> {
    this.#checkOpen();
    expect(model instanceof Uint8Array && model.length > 0, 'model', 'ONNX model bytes (a non-empty Uint8Array)', model);
    expect(typeof name === 'string' && name.length > 0, 'name', 'a non-empty graph name', name);
    const key = createHash('sha256').update(model).digest('hex');
    let entry = this.#cache.get(key);
    if (!entry) {
      const id = this.#nextSession++;
      const created: CacheEntry = { id, refs: 0, info: this.#channel.request('create', { session: id, model }) };
      // A failed creation must not stay cached: the next load should try again.
      created.info.catch(() => {
        if (this.#cache.get(key) === created) this.#cache.delete(key);
      });
      this.#cache.set(key, created);
      entry = created;
    }
    entry.refs++;
    let info: ModelInfo;
    try {
      info = await entry.info;
    } catch (err) {
      entry.refs--;
      throw new EngineError(`graph "${name}": could not create an ONNX Runtime session: ${messageOf(err)}`, { cause: err });
    }
    const shared = entry;
    return new Session(this, this.#channel, shared.id, name, info, () => this.#release(key, shared));
  }

  /**
   * The number of sessions alive in the worker (distinct models loaded and not yet released).
   * @throws UsageError if the engine was disposed
   */
  async sessionCount(): Promise<number> {
    this.#checkOpen();
    return this.#channel.request('count', {});
  }

  /**
   * Releases every session and ends the worker. Runs still pending fail with an EngineError; later
   * use of the engine or its sessions throws a UsageError. Calling it again does nothing.
   * @example
   * await engine.dispose();
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#cache.clear();
    await this.#channel.close();
  }

  #checkOpen(): void {
    if (this.#disposed) throw new UsageError('this engine was disposed; create a new one with Engine.create()');
  }

  #release(key: string, entry: CacheEntry): void {
    if (--entry.refs > 0 || this.#disposed) return;
    this.#cache.delete(key);
    // It can only fail if the worker is gone, and then the session went with it.
    this.#channel.request('release', { session: entry.id }).catch(() => undefined);
  }
}

/**
 * A handle to a session in an engine's worker. Handles made from identical model bytes share one
 * session; each must be disposed.
 */
export class Session {
  /** The graph name given to `load`. */
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly #engine: Engine;
  readonly #channel: EngineChannel;
  readonly #id: number;
  readonly #release: () => void;
  #disposed = false;

  /** @internal Sessions come from `Engine.load`. */
  constructor(engine: Engine, channel: EngineChannel, id: number, name: string, info: ModelInfo, release: () => void) {
    this.#engine = engine;
    this.#channel = channel;
    this.#id = id;
    this.name = name;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.inputNames = info.inputs.map((v) => v.name);
    this.outputNames = info.outputs.map((v) => v.name);
    this.#release = release;
  }

  /**
   * Runs the model. Feeds are checked against the model's inputs (names, dtypes, ranks, fixed dims)
   * before anything is sent to the worker.
   * @param fetch the outputs wanted; default all
   * @example
   * const { y } = await session.run({ a: hostTensor(new Float32Array(6), [2, 3]) });
   * @throws UsageError if the session or engine was disposed, or a feed or fetch name is wrong
   * @throws EngineError naming the graph, ONNX Runtime's message (with the failing node) and the feeds;
   *   or naming the graph and the output when a float output holds NaN or Infinity (unless `allowNonFinite`)
   */
  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[], options: RunOptions = {}): Promise<Record<string, HostTensor>> {
    this.#checkUsable();
    const checked = this.#checkFeeds(feeds);
    const names = this.#checkFetch(fetch);
    const transfer = options.transfer ? buffersOf(checked) : [];
    let outputs: Record<string, HostTensor>;
    try {
      outputs = await this.#channel.request('run', { session: this.#id, feeds: checked, fetch: names }, transfer);
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      const given = Object.entries(checked).map(([n, t]) => `${n}: ${formatTensorType(t.dtype, t.shape)}`);
      throw new EngineError(`graph "${this.name}": the run failed: ${err.message.trim()}\n  feeds: ${given.join(', ')}`, { cause: err });
    }
    if (!options.allowNonFinite) checkFinite(this.name, outputs);
    return outputs;
  }

  /**
   * Drops this handle; the worker releases the session when its last handle goes. Idempotent.
   * @example
   * session.dispose();
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#release();
  }

  #checkUsable(): void {
    if (this.#engine.disposed) throw new UsageError(`graph "${this.name}": the engine of this session was disposed`);
    if (this.#disposed) throw new UsageError(`graph "${this.name}": this session was disposed; load the model again`);
  }

  #signature(values: readonly ValueInfo[]): string {
    return values.map((v) => `${v.name}: ${formatTensorType(v.dtype, v.shape)}`).join(', ');
  }

  /** @returns plain copies of the feed records (not of their data), in the model's input order */
  #checkFeeds(feeds: Record<string, HostTensor>): HostTensorMap {
    if (typeof feeds !== 'object' || feeds === null) {
      throw new UsageError(`graph "${this.name}": feeds must be an object of host tensors by input name but is ${describe(feeds)}`);
    }
    const missing = this.inputNames.filter((n) => !Object.hasOwn(feeds, n));
    const unknown = Object.keys(feeds).filter((n) => !this.inputNames.includes(n));
    if (missing.length > 0 || unknown.length > 0) {
      const problems = [missing.length > 0 ? `missing feed(s) ${missing.join(', ')}` : '', unknown.length > 0 ? `unknown feed(s) ${unknown.join(', ')}` : ''];
      throw new UsageError(`graph "${this.name}": ${problems.filter(Boolean).join('; ')}; the model's inputs are ${this.#signature(this.inputs)}`);
    }
    const checked: HostTensorMap = {};
    for (const input of this.inputs) {
      const t = feeds[input.name];
      const what = `graph "${this.name}", feed "${input.name}"`;
      checkHostTensor(t, what);
      const expected = formatTensorType(input.dtype, input.shape);
      if (t.dtype !== input.dtype) {
        throw new UsageError(`${what} has dtype ${t.dtype} but the model expects ${expected}`);
      }
      // ONNX Runtime reports an unknown shape as [], so only a non-empty one can be checked here.
      const fits = input.shape.length === 0 || (input.shape.length === t.shape.length && input.shape.every((d, i) => typeof d === 'string' || d === t.shape[i]));
      if (!fits) {
        throw new UsageError(`${what} has shape [${t.shape.join(', ')}] (rank ${t.shape.length}) but the model expects ${expected} (rank ${input.shape.length})`);
      }
      checked[input.name] = { dtype: t.dtype, shape: [...t.shape], data: t.data };
    }
    return checked;
  }

  #checkFetch(fetch: readonly string[] | undefined): string[] {
    if (fetch === undefined) return [...this.outputNames];
    expect(Array.isArray(fetch) && fetch.length > 0, 'fetch', 'a non-empty list of output names', fetch);
    const unknown = fetch.filter((n) => !this.outputNames.includes(n));
    if (unknown.length > 0) {
      throw new UsageError(`graph "${this.name}": unknown output(s) ${unknown.join(', ')} in fetch; the outputs are ${this.#signature(this.outputs)}`);
    }
    if (new Set(fetch).size !== fetch.length) throw new UsageError(`graph "${this.name}": fetch names an output twice: ${fetch.join(', ')}`);
    return [...fetch];
  }
}

/**
 * @throws EngineError when a float32 or float64 output holds NaN or Infinity: the network's weights
 *   (or its inputs) are corrupt, and its result must not reach an image or a file
 */
function checkFinite(graph: string, outputs: Record<string, HostTensor>): void {
  for (const [name, t] of Object.entries(outputs)) {
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) continue;
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      // x - x is 0 for every finite x and NaN for NaN and +-Infinity: one test for both.
      if (data[i] - data[i] !== 0) {
        throw new EngineError(
          `graph "${graph}" computed ${data[i]} in its output "${name}" (index ${i}): the network's weights or inputs hold a value that is not a finite number; nothing was written`,
        );
      }
    }
  }
}

/** The distinct transferable buffers under the feeds (a buffer may appear only once in a transfer list). */
function buffersOf(feeds: HostTensorMap): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(feeds)) {
    if (t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

let shared: Promise<Engine> | undefined;

/**
 * A process-wide engine with default options, created on first use (again if it was disposed).
 * It does not keep the process alive while idle, so it need not be disposed.
 * @example
 * const session = await (await defaultEngine()).load(bytes, 'G1');
 * @throws EngineError if the engine cannot start
 */
export async function defaultEngine(): Promise<Engine> {
  const current = (shared ??= Engine.create());
  try {
    const engine = await current;
    if (!engine.disposed) return engine;
  } catch (err) {
    if (shared === current) shared = undefined;
    throw err;
  }
  if (shared === current) shared = undefined;
  return defaultEngine();
}
