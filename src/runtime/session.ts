/**
 * What every engine shares, whatever runs its graphs: sessions cached by the SHA-256 of the model
 * bytes (loading the same graph twice shares one session, reference counted, released when the last
 * handle is disposed), feeds checked against the model before anything is sent, outputs checked for
 * NaN. An engine talks to its back end through an `EngineChannel` that answers the requests of
 * protocol.ts: in Node a worker thread with onnxruntime-node (engine.ts) or a PyTorch process
 * (torch-channel.ts), in the browser onnxruntime-web in the calling context (web-engine.ts).
 *
 * No platform in this module: the pipeline (Networks, FrozenVgg, PatchSwapper, stylize) takes an
 * `InferenceEngine` and runs the same in Node and in the browser.
 */
import { EngineError, UsageError, describe, expect } from '../core/errors.ts';
import { RemoteError, type HostTensorMap, type ModelInfo, type Op, type Protocol, type ValueInfo } from './protocol.ts';
import { checkHostTensor, formatTensorType, type HostTensor } from './tensor.ts';

export type { ValueInfo } from './protocol.ts';

/** What an engine needs of its back end: request/reply by op (protocol.ts), started, closed. */
export interface EngineChannel {
  /** Resolves when the back end can take requests; rejects if it fails to start. */
  readonly ready: Promise<void>;
  request<K extends Op>(op: K, args: Protocol[K]['args'], transfer?: ArrayBuffer[]): Promise<Protocol[K]['result']>;
  /** Fails what is pending, releases every session, ends the back end. */
  close(): Promise<void>;
}

/**
 * The engine interface the pipeline is written against: make a session from ONNX model bytes, run
 * it (`Session.run`), dispose. `Engine` (Node) and `WebEngine` (browser) implement it.
 * @example
 * const session = await engine.load(toOnnx(graph), 'G1');
 * const { y } = await session.run({ x: hostTensor(pixels, [1, 3, 256, 256]) });
 */
export interface InferenceEngine {
  /** What runs the graphs, for logs: 'ONNX Runtime (2 threads)', 'onnxruntime-web wasm (8 threads)'. */
  readonly description: string;
  /** True once `dispose()` has been called. */
  readonly disposed: boolean;
  /** A session for the model, shared with earlier loads of identical bytes; see `EngineCore.load`. */
  load(model: Uint8Array, name: string): Promise<Session>;
  /** Releases every session; see `EngineCore.dispose`. */
  dispose(): Promise<void>;
}

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

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface CacheEntry {
  /** The worker's id for the session. */
  id: number;
  /** Live `Session` handles, plus loads still waiting for `info`. */
  refs: number;
  info: Promise<ModelInfo>;
}


/**
 * The shared part of an engine over a channel: the session cache, `load`, `sessionCount`, `dispose`.
 * Platform engines extend it with their own `create`.
 */
export class EngineCore implements InferenceEngine {
  /** Intra-op threads per run. */
  readonly threads: number;
  /** What runs the graphs, for logs. */
  readonly description: string;
  readonly #channel: EngineChannel;
  readonly #digest: (bytes: Uint8Array) => string | Promise<string>;
  readonly #cache = new Map<string, CacheEntry>();
  #nextSession = 1;
  #disposed = false;

  /**
   * @param digest the hex SHA-256 of model bytes, the session cache's key (node:crypto in Node,
   *   crypto.subtle in the browser)
   */
  protected constructor(channel: EngineChannel, threads: number, description: string, digest: (bytes: Uint8Array) => string | Promise<string>) {
    this.#channel = channel;
    this.threads = threads;
    this.description = description;
    this.#digest = digest;
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
    const digest = this.#digest(model);
    const key = typeof digest === 'string' ? digest : await digest;
    this.#checkOpen();
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
   * The number of sessions alive in the back end (distinct models loaded and not yet released).
   * @throws UsageError if the engine was disposed
   */
  async sessionCount(): Promise<number> {
    this.#checkOpen();
    return this.#channel.request('count', {});
  }

  /**
   * Releases every session and ends the back end. Runs still pending fail with an EngineError;
   * later use of the engine or its sessions throws a UsageError. Calling it again does nothing.
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
    // It can only fail if the back end is gone, and then the session went with it.
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
  readonly #engine: InferenceEngine;
  readonly #channel: EngineChannel;
  readonly #id: number;
  readonly #release: () => void;
  #disposed = false;

  /** @internal Sessions come from `Engine.load`. */
  constructor(engine: InferenceEngine, channel: EngineChannel, id: number, name: string, info: ModelInfo, release: () => void) {
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

