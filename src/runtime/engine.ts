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
import { EngineError, expect } from '../core/errors.ts';
import { READY, RemoteError, type Op, type Protocol, type Reply, type WorkerConfig } from './protocol.ts';
import { type EngineChannel, EngineCore } from './session.ts';
import { TorchChannel } from './torch-channel.ts';

export { type EngineChannel, EngineCore, type InferenceEngine, type RunOptions, Session, type ValueInfo } from './session.ts';

export interface EngineOptions {
  /** ONNX Runtime intra-op threads per run; default `os.availableParallelism()`. */
  threads?: number;
  /**
   * Where graphs run: 'onnxruntime' (default), or 'torch' for torch-engine.py beside torch-channel.ts (PyTorch,
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
  /**
   * Let each session keep ONNX Runtime's CPU memory arena, its default: memory freed in a run is
   * kept for the next, so a session holds what its largest run needed (growing by powers of two)
   * until it is released. Default true: training steps, the same shapes again and again, run 3 to
   * 7% faster with it (`npm run bench -- engine`). `load()`, whose runs change size with every
   * photo, creates its engine without it: an inpainting's peak memory is a third lower at the same
   * speed (`npm run bench -- inference`; docs/decisions/memory-arena.md). ONNX Runtime back end only.
   */
  memoryArena?: boolean;
}

export type Backend = 'onnxruntime' | 'torch';

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
class Channel implements EngineChannel {
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

/**
 * Owns one worker thread and the ONNX Runtime sessions in it (the session cache, `load` and
 * `dispose` are `EngineCore`'s, shared with the browser's `WebEngine`).
 * @example
 * const engine = await Engine.create();
 * const session = await engine.load(toOnnx(graph), 'G1');
 * const { y } = await session.run({ x: hostTensor(pixels, [1, 3, 256, 256]) });
 * await engine.dispose();
 */
export class Engine extends EngineCore {
  /** The back end the engine was created with. */
  readonly backend: Backend;
  /** Whether its sessions keep ONNX Runtime's CPU memory arena (`EngineOptions.memoryArena`). */
  readonly memoryArena: boolean;

  private constructor(channel: EngineChannel, threads: number, backend: Backend, memoryArena: boolean, description: string) {
    super(channel, threads, description, (bytes) => createHash('sha256').update(bytes).digest('hex'));
    this.backend = backend;
    this.memoryArena = memoryArena;
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
    const memoryArena = options.memoryArena ?? true;
    expect(typeof memoryArena === 'boolean', 'options.memoryArena', 'a boolean', memoryArena);
    const torch = backend === 'torch' ? new TorchChannel() : null;
    const channel: EngineChannel = torch ?? new Channel(new Worker(WORKER_BOOT, { eval: true, workerData: { threads, keepSpinning, memoryArena } satisfies WorkerConfig }));
    try {
      await channel.ready;
    } catch (err) {
      await channel.close(); // ends the worker or the process
      throw new EngineError(`could not start the engine: ${messageOf(err)}`, { cause: err });
    }
    return new Engine(channel, threads, backend, memoryArena, torch ? torch.device : `ONNX Runtime (${threads} thread${threads === 1 ? '' : 's'})`);
  }
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
