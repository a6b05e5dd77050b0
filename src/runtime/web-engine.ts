/**
 * The engine in the browser: onnxruntime-web sessions behind the same `EngineCore` as Node's
 * `Engine` (session cache, feed checks, NaN checks), so Networks, FrozenVgg, PatchSwapper and
 * stylize run unchanged.
 *
 * Where the sessions run: in the calling context, with no proxy worker of ONNX Runtime's. A page
 * calls `load()` / `inpaint()` from a Web Worker of its own (runs block the context that makes
 * them, as in Node, so the page's main thread must not be that context); with threads, ONNX Runtime
 * adds its own pthread workers under that one.
 *
 * Back ends:
 *  - 'wasm': ONNX Runtime's CPU kernels compiled to WebAssembly (SIMD), multi-threaded when the page
 *    is cross-origin isolated (SharedArrayBuffer needs COOP: same-origin and COEP: require-corp);
 *    `ort.wasm.min.mjs`, which fetches `ort-wasm-simd-threaded.{mjs,wasm}` (14 MB).
 *  - 'webgpu': the WebGPU execution provider (CPU kernels for what it lacks); `ort.webgpu.min.mjs`,
 *    which fetches `ort-wasm-simd-threaded.asyncify.{mjs,wasm}` (27 MB).
 *  - 'auto': 'webgpu' when `navigator.gpu` yields an adapter, else 'wasm'.
 *
 * onnxruntime-web is not bundled into the library: it is imported at run time from `wasmPaths`, the
 * URL folder holding the files of `onnxruntime-web/dist/`. That way the back end downloads only the
 * build it uses, and ONNX Runtime's pthread workers start from its own small glue module rather
 * than from whatever bundle the page built around this code (the bundled build of onnxruntime-web
 * starts them from `import.meta.url`, i.e. the page's whole worker script).
 */
import type * as Ort from 'onnxruntime-web';
import { EngineError, expect } from '../core/errors.ts';
import { sha256Hex } from '../core/sha256.ts';
import type { HostTensorMap, ModelInfo, Op, Protocol, ValueInfo } from './protocol.ts';
import { RemoteError } from './protocol.ts';
import { type EngineChannel, EngineCore } from './session.ts';
import { fromOrt, type OrtTensorClass, toOrtTensor } from './tensor.ts';

export type WebBackend = 'auto' | 'wasm' | 'webgpu';

export interface WebEngineOptions {
  /** 'auto' (default): WebGPU when an adapter exists, else WASM. */
  backend?: WebBackend;
  /**
   * WASM threads. Default `navigator.hardwareConcurrency` when the context is cross-origin isolated
   * (threads need SharedArrayBuffer), else 1. More than 1 without isolation is refused.
   */
  threads?: number;
  /**
   * URL prefix (ending in '/') of onnxruntime-web's `dist/` files (`ort.wasm.min.mjs`,
   * `ort-wasm-simd-threaded.wasm`, ...). Default: the folder of the script that runs this code.
   */
  wasmPaths?: string;
}

/** What this module needs of the browser's globals (typed here: the library compiles without the DOM lib). */
interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number; gpu?: { requestAdapter(): Promise<unknown> } };
  location?: { href: string };
}

const browser = globalThis as unknown as BrowserGlobals;

/** Imported builds by URL: one ONNX Runtime instance per build, shared by every engine. */
const builds = new Map<string, Promise<typeof Ort>>();

/**
 * The ORT build at `url` (an ES module). The URL is computed, so bundlers leave the import alone.
 * @throws the import's own error (a 404, a CSP refusal), which `create` turns into an EngineError
 */
function importOrt(url: string): Promise<typeof Ort> {
  let build = builds.get(url);
  if (!build) {
    build = import(/* webpackIgnore: true */ /* @vite-ignore */ url) as Promise<typeof Ort>;
    build.catch(() => builds.delete(url));
    builds.set(url, build);
  }
  return build;
}

/** 'auto' resolved: 'webgpu' when the browser gives a WebGPU adapter. */
async function pickBackend(backend: WebBackend): Promise<'wasm' | 'webgpu'> {
  if (backend !== 'auto') return backend;
  try {
    return (await browser.navigator?.gpu?.requestAdapter()) ? 'webgpu' : 'wasm';
  } catch {
    return 'wasm';
  }
}

/** The default `wasmPaths`: the folder of this script (the bundle a page serves beside ORT's files). */
function scriptFolder(): string {
  const here = import.meta.url || browser.location?.href || '';
  return here.slice(0, here.lastIndexOf('/') + 1);
}

/**
 * onnxruntime-web sessions behind `EngineCore`.
 * @example
 * const engine = await WebEngine.create({ wasmPaths: '/ort/' });
 * const session = await engine.load(toOnnx(graph), 'G1');
 * await engine.dispose();
 */
export class WebEngine extends EngineCore {
  /** The back end in use ('auto' resolved). */
  readonly backend: 'wasm' | 'webgpu';

  private constructor(channel: EngineChannel, threads: number, backend: 'wasm' | 'webgpu') {
    super(channel, threads, `onnxruntime-web ${backend} (${threads} thread${threads === 1 ? '' : 's'})`, sha256Hex);
    this.backend = backend;
  }

  /**
   * Imports onnxruntime-web from `wasmPaths` and configures it.
   * @throws UsageError for a bad option, or threads > 1 in a context that is not cross-origin isolated
   * @throws EngineError when onnxruntime-web cannot be imported from `wasmPaths`
   */
  static async create(options: WebEngineOptions = {}): Promise<WebEngine> {
    const { backend: wanted = 'auto', wasmPaths = scriptFolder() } = options;
    expect(wanted === 'auto' || wanted === 'wasm' || wanted === 'webgpu', 'options.backend', "'auto', 'wasm' or 'webgpu'", wanted);
    expect(typeof wasmPaths === 'string' && wasmPaths.length > 0, 'options.wasmPaths', "a URL prefix ending in '/'", wasmPaths);
    const isolated = browser.crossOriginIsolated === true;
    const threads = options.threads ?? (isolated ? Math.max(1, browser.navigator?.hardwareConcurrency ?? 1) : 1);
    expect(Number.isSafeInteger(threads) && threads >= 1, 'options.threads', 'a positive integer', threads);
    expect(threads === 1 || isolated, 'options.threads', '1 when the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)', threads);
    const backend = await pickBackend(wanted);
    const prefix = wasmPaths.endsWith('/') ? wasmPaths : `${wasmPaths}/`;
    const url = new URL(`${prefix}${backend === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs'}`, browser.location?.href).href;
    let ort: typeof Ort;
    try {
      ort = await importOrt(url);
    } catch (err) {
      throw new EngineError(`could not import onnxruntime-web from ${url}: ${(err as Error).message}`, { cause: err });
    }
    ort.env.wasm.wasmPaths = new URL(prefix, browser.location?.href).href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    return new WebEngine(new WebChannel(ort, backend), threads, backend);
  }
}

interface Entry {
  session: Ort.InferenceSession;
  /** Runs and the release of a session are chained so a release never overtakes a queued run. */
  busy: Promise<unknown>;
}

function describeValues(list: readonly Ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: 'non-tensor', shape: [] }));
}

/**
 * worker.ts's requests answered in the calling context. Every run waits for the one before it, of
 * any session: onnxruntime-web runs one thing at a time anyway, and WebGPU must not interleave.
 */
class WebChannel implements EngineChannel {
  readonly ready = Promise.resolve();
  readonly #ort: typeof Ort;
  readonly #providers: string[];
  readonly #sessions = new Map<number, Entry>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(ort: typeof Ort, backend: 'wasm' | 'webgpu') {
    this.#ort = ort;
    this.#providers = backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
  }

  async request<K extends Op>(op: K, args: Protocol[K]['args']): Promise<Protocol[K]['result']> {
    try {
      return (await this.#handle(op, args)) as Protocol[K]['result'];
    } catch (err) {
      // Session.run and EngineCore.load name the graph and feeds around ONNX Runtime's message.
      throw err instanceof RemoteError ? err : new RemoteError(err instanceof Error ? err.message : String(err));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#sessions];
    this.#sessions.clear();
    await Promise.all(all.map(([, e]) => e.busy.then(() => e.session.release()).catch(() => undefined)));
  }

  async #handle(op: Op, args: Protocol[Op]['args']): Promise<unknown> {
    if (this.#closed && op !== 'close') throw new Error('the engine was disposed');
    switch (op) {
      case 'create': {
        const { session: id, model } = args as Protocol['create']['args'];
        const session = await this.#ort.InferenceSession.create(model, {
          executionProviders: this.#providers,
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          logSeverityLevel: 4,
        });
        this.#sessions.set(id, { session, busy: Promise.resolve() });
        return { inputs: describeValues(session.inputMetadata), outputs: describeValues(session.outputMetadata) } satisfies ModelInfo;
      }
      case 'run': {
        const { session: id, feeds, fetch } = args as Protocol['run']['args'];
        const e = this.#entry(id);
        const Tensor = this.#ort.Tensor as unknown as OrtTensorClass<Ort.Tensor>;
        const result = Promise.all([e.busy, this.#queue]).then(async () => {
          if (this.#closed) throw new Error('the engine was disposed before this run started');
          const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrtTensor(Tensor, t)]));
          const outputs = await e.session.run(inputs, fetch);
          const value: HostTensorMap = {};
          for (const [name, t] of Object.entries(outputs)) value[name] = fromOrt(t);
          return value;
        });
        e.busy = result.catch(() => undefined);
        this.#queue = e.busy;
        return result;
      }
      case 'release': {
        const { session: id } = args as Protocol['release']['args'];
        const e = this.#entry(id);
        this.#sessions.delete(id);
        await e.busy;
        await e.session.release();
        return null;
      }
      case 'count':
        return this.#sessions.size;
      case 'close':
        await this.close();
        return null;
    }
  }

  #entry(id: number): Entry {
    const e = this.#sessions.get(id);
    if (!e) throw new Error(`no session ${id} in the engine`);
    return e;
  }
}
