/**
 * The page's side of the device worker (inpaint-worker.ts): a small bridge whose calls are queued
 * in the worker, each with an AbortSignal. ONNX Runtime cannot stop a run midway, so cancelling
 * terminates the worker; the next call starts a fresh one, which loads the model again from Cache
 * Storage (a few seconds, no network).
 */
import type { DeviceConfig } from '../src/server/device-config.ts';

/** config.json as the page reads it: the server adds why it could not build the device worker, if it could not. */
export interface DeviceConfigFile extends DeviceConfig {
  workerError?: string;
}

/** What the worker is given: absolute URLs, and which files a first visit downloads. */
export interface WorkerConfig {
  version: string;
  bundleUrl: string;
  vggUrl: string;
  wasmPaths: string;
  backend?: 'auto' | 'wasm' | 'webgpu';
  /** Every file the worker may fetch; `backend` says which back end's ORT files they are, if any. */
  files: { url: string; bytes: number; backend?: 'wasm' | 'webgpu' }[];
}

/** What the worker fills with: ours (the default), or PatchMatch (no networks; the server's `patchmatch`). */
export type DeviceMethod = 'ours' | 'patchmatch';

export type WorkerIn =
  | { type: 'init'; config: WorkerConfig }
  | { type: 'fill'; id: number; image: ImageBitmap; mask: ImageBitmap; sampleFrom?: ImageBitmap; exclude?: ImageBitmap; ensemble?: number; method?: DeviceMethod; icc?: Uint8Array; sourcesSide: number }
  | { type: 'stylize'; id: number; content: ImageBitmap; style: ImageBitmap; size?: number };

export type WorkerOut =
  | { type: 'progress'; loaded: number; total: number; fromCache: boolean }
  | { type: 'ready'; seconds: number; downloaded: number; backend: 'wasm' | 'webgpu'; isolated: boolean; notices: string[] }
  | ({ type: 'step'; id: number } & DeviceStep)
  | ({ type: 'preview'; id: number } & DevicePreview)
  | { type: 'done'; id: number; image: ImageBitmap; blob: Blob; notices: string[]; seconds: number; sources?: ImageBitmap }
  | { type: 'error'; id?: number; message: string };

/**
 * onnxruntime-web's files of each back end (the library imports the build, which fetches its
 * binary): those of the back end in use count towards the first visit's total.
 */
export const ORT_BACKEND_FILES = {
  wasm: ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'],
  webgpu: ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'],
} as const;

export type LoadProgress = { loaded: number; total: number };

/** Where a fill stands: steps done of `total`, and the scale (px) of the step starting (`InpaintProgress`). */
export type DeviceStep = { done: number; total: number; scale: number };

/**
 * A region of the photo (`box`) as a scale that is not its last left it, at that scale's working
 * size (`InpaintPreview`): the page shows it over the hole until the fill is done.
 */
export type DevicePreview = { box: { x: number; y: number; width: number; height: number }; scale: number; image: ImageBitmap };

/** A loaded model: how long it took, the bytes downloaded (0: all from the cache), the back end, whether WASM has threads. */
export interface Loaded {
  seconds: number;
  downloaded: number;
  backend: 'wasm' | 'webgpu';
  threads: boolean;
  /** The library's notes from loading (e.g. a VGG file other than the model was trained with). */
  notices: string[];
}

/** What a fill's caller is told while it runs (`DeviceEngine.fill`). */
export interface FillWatch {
  onStep?: (s: DeviceStep) => void;
  onPreview?: (p: DevicePreview) => void;
}

export interface DeviceResult {
  image: ImageBitmap;
  blob: Blob;
  notices: string[];
  seconds: number;
  /** Ours' fills: where the fill copied from, white on black, at most the fill's `sourcesSide` across. */
  sources?: ImageBitmap;
}

/** Reads config.json next to the page; undefined when there is none (a server without the device files). */
export async function readDeviceConfig(): Promise<DeviceConfigFile | undefined> {
  try {
    const res = await fetch(new URL('config.json', location.href), { cache: 'no-cache' });
    return res.ok ? ((await res.json()) as DeviceConfigFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Why this browser cannot run the pipeline itself, or undefined when it can. */
export function deviceUnsupported(config: DeviceConfigFile | undefined): string | undefined {
  if (!config) return 'this server does not offer the files to run on the device';
  if (config.files.length === 0) return `the device worker is not available here${config.workerError ? ` (${config.workerError})` : ''}`;
  if (typeof WebAssembly !== 'object') return 'this browser has no WebAssembly';
  if (typeof Worker !== 'function' || typeof OffscreenCanvas !== 'function') return 'this browser cannot run the worker (no Web Workers or OffscreenCanvas)';
  if (typeof caches !== 'object') return 'this browser has no Cache Storage (an insecure origin?)';
  return undefined;
}

/**
 * How long a loaded model may sit unused before its worker is stopped: the worker holds the model
 * and ONNX Runtime's WASM memory (hundreds of MB) for as long as the tab is open. The next run
 * loads it again from Cache Storage (a second or two, no network).
 */
export const DEVICE_IDLE_MS = 10 * 60_000;

/** The worker itself could not start (no module workers, a blocked or broken script): the server can take over. */
export class WorkerStartError extends Error {
  override name = 'WorkerStartError';
}

export class DeviceEngine {
  readonly #config: WorkerConfig;
  #worker: Worker | undefined;
  #ready: Promise<Loaded> | undefined;
  #next = 1;
  #pending = new Map<number, { resolve: (r: DeviceResult) => void; reject: (e: Error) => void } & FillWatch>();
  #onProgress: ((p: LoadProgress) => void) | undefined;
  /** Whether the model was loaded once in this page (later loads come from the cache). */
  loadedOnce = false;
  /** Unused this long (ms) after its last run or load, the worker is stopped; then `onUnload` is called. */
  idleMs = DEVICE_IDLE_MS;
  onUnload: (() => void) | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(file: DeviceConfigFile) {
    const abs = (u: string) => new URL(u, location.href).href;
    const backendOf = (u: string) => (['wasm', 'webgpu'] as const).find((b) => ORT_BACKEND_FILES[b].some((n) => u === `${file.wasmPaths}${n}`));
    this.#config = {
      version: file.version,
      bundleUrl: abs(file.bundleUrl),
      vggUrl: abs(file.vggUrl),
      wasmPaths: abs(file.wasmPaths),
      files: file.files.map((f) => ({ url: abs(f.url), bytes: f.bytes, backend: backendOf(f.url) })),
    };
  }

  /**
   * Starts the worker and loads the model (downloading what is not cached yet); resolves when it
   * can run. `onProgress` sees the bytes downloaded of the total.
   * @throws Error when the worker cannot start or a file cannot be fetched or fails its check
   */
  load(onProgress?: (p: LoadProgress) => void): Promise<Loaded> {
    this.#onProgress = onProgress;
    clearTimeout(this.#idle);
    if (this.#ready) return this.#ready.finally(() => this.#idleLater());
    let worker: Worker;
    try {
      worker = new Worker(new URL('inpaint-worker.js', location.href), { type: 'module', name: 'inpaint' });
    } catch (err) {
      return Promise.reject(new WorkerStartError(`this browser could not start the device worker (${(err as Error).message})`));
    }
    this.#worker = worker;
    let started = false;
    this.#ready = new Promise((resolve, reject) => {
      worker.onerror = (e) => {
        e.preventDefault();
        // An error before the worker said anything: its script did not load or run.
        const message = `the device worker failed: ${e.message || 'it could not start'}`;
        this.#fail(worker, started ? new Error(message) : new WorkerStartError(message), reject);
      };
      worker.onmessage = (e: MessageEvent<WorkerOut>) => {
        const msg = e.data;
        started = true;
        if (msg.type === 'progress') this.#onProgress?.({ loaded: msg.loaded, total: msg.total });
        else if (msg.type === 'step') this.#pending.get(msg.id)?.onStep?.({ done: msg.done, total: msg.total, scale: msg.scale });
        else if (msg.type === 'preview') this.#pending.get(msg.id)?.onPreview?.({ box: msg.box, scale: msg.scale, image: msg.image });
        else if (msg.type === 'ready') {
          this.loadedOnce = true;
          resolve({ seconds: msg.seconds, downloaded: msg.downloaded, backend: msg.backend, threads: msg.isolated, notices: msg.notices });
        } else if (msg.type === 'done') {
          this.#pending.get(msg.id)?.resolve({ image: msg.image, blob: msg.blob, notices: msg.notices, seconds: msg.seconds, sources: msg.sources });
          this.#pending.delete(msg.id);
        } else if (msg.type === 'error') {
          if (msg.id === undefined) this.#fail(worker, new Error(msg.message), reject);
          else {
            this.#pending.get(msg.id)?.reject(new Error(msg.message));
            this.#pending.delete(msg.id);
          }
        }
      };
    });
    this.#ready.catch(() => undefined);
    worker.postMessage({ type: 'init', config: this.#config } satisfies WorkerIn);
    return this.#ready.finally(() => this.#idleLater());
  }

  /** Stops the worker once it has been unused for `idleMs` (restarted by every load and run). */
  #idleLater(): void {
    clearTimeout(this.#idle);
    if (!this.#worker || this.#pending.size > 0) return;
    this.#idle = setTimeout(() => {
      if (!this.#worker || this.#pending.size > 0) return;
      this.dispose();
      this.onUnload?.();
    }, this.idleMs);
  }

  /**
   * Fills the hole: the pictures are copied to the worker (the page keeps its own); `watch.onStep`
   * is told where the fill stands, `watch.onPreview` how each region looked after each scale but its last.
   * With `icc`, the image's pixels are as stored in that profile's colour space, and the result's
   * PNG says so (its bitmap does not: draw it from the PNG).
   */
  async fill(
    req: { image: ImageBitmap; mask: CanvasImageSource; sampleFrom?: CanvasImageSource; exclude?: CanvasImageSource; ensemble?: number; method?: DeviceMethod; icc?: Uint8Array; sourcesSide: number },
    signal: AbortSignal,
    watch: FillWatch = {},
  ): Promise<DeviceResult> {
    const [image, mask, sampleFrom, exclude] = await Promise.all([req.image, req.mask, req.sampleFrom, req.exclude].map((s) => (s ? createImageBitmap(s as ImageBitmapSource) : undefined)));
    return this.#call({ type: 'fill', id: 0, image: image!, mask: mask!, sampleFrom, exclude, ensemble: req.ensemble, method: req.method, icc: req.icc, sourcesSide: req.sourcesSide }, signal, watch);
  }

  async stylize(req: { content: ImageBitmap; style: Blob; size?: number }, signal: AbortSignal): Promise<DeviceResult> {
    const [content, style] = await Promise.all([createImageBitmap(req.content), createImageBitmap(req.style, { imageOrientation: 'from-image' })]);
    return this.#call({ type: 'stylize', id: 0, content, style, size: req.size }, signal);
  }

  /** Stops the worker; the next call starts another. */
  dispose(): void {
    clearTimeout(this.#idle);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
    for (const p of this.#pending.values()) p.reject(new DOMException('cancelled', 'AbortError') as unknown as Error);
    this.#pending.clear();
  }

  async #call(msg: Extract<WorkerIn, { id: number }>, signal: AbortSignal, watch: FillWatch = {}): Promise<DeviceResult> {
    const bitmaps = Object.values(msg).filter((v): v is ImageBitmap => v instanceof ImageBitmap);
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
    await this.load(this.#onProgress);
    // Cancelled while the model loaded: nothing was sent yet.
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
    const id = this.#next++;
    const result = new Promise<DeviceResult>((resolve, reject) => this.#pending.set(id, { resolve, reject, ...watch }));
    const onAbort = () => this.dispose();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#worker!.postMessage({ ...msg, id }, bitmaps);
    try {
      return await result;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#idleLater();
    }
  }

  #fail(worker: Worker, err: Error, reject: (e: Error) => void): void {
    if (this.#worker === worker) {
      worker.terminate();
      this.#worker = undefined;
      this.#ready = undefined;
    }
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    reject(err);
  }
}
