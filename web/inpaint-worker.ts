/**
 * The pipeline on the user's device: a module Web Worker that loads the library's web build
 * (`load` from src/web.ts: onnxruntime-web, graphs built from the bundle's weights and the VGG
 * file) and answers fill and stylize requests, so the page's main thread only paints.
 *
 * Every file comes through `cachedFetch`: from Cache Storage when it is there (later visits, and
 * offline), else from the network with its bytes counted for the page's progress bar, then kept.
 * The cache is named after the configuration's version, so a new model or a new onnxruntime-web
 * replaces the old files instead of mixing with them. The library checks the files' sha256; when
 * loading fails the cache is dropped, so a corrupt download is fetched again next time.
 *
 * Messages in:  init { config }, fill { id, image, mask, sampleFrom?, exclude?, ensemble?, method?, icc?, sourcesSide }
 *               (method 'patchmatch': the no-network baseline, as the server's; icc: the ICC
 *               profile of the image's colour space, which the result's PNG carries),
 *               stylize { id, content, style, size }   (pictures as ImageBitmaps, transferred)
 * Messages out: progress { loaded, total, fromCache }, ready { seconds, downloaded },
 *               step { id, done, total, scale } (where a fill stands), preview { id, box, scale, image:
 *               ImageBitmap } (a region after a scale but its last), done { id, image: ImageBitmap,
 *               blob: PNG, notices, seconds, sources?: ImageBitmap (ours: where the fill copied
 *               from, white on black, at most sourcesSide across) }, error { id?, message }
 */
import { patchMatchInpaint } from '../src/baselines/patchmatch.ts';
import { deflate, pngWithProfile } from '../src/core/bytes.ts';
import { opaqueWhereFilled } from '../src/core/raster.ts';
import { prepareHole, resolveInpaintOptions } from '../src/inference/inpainter-core.ts';
import { imageToRgba, type InpaintPreview, type InpaintProgress, load, rgbaToImage } from '../src/web.ts';
import type { WorkerConfig, WorkerIn, WorkerOut } from './device.ts';

type Inpainter = Awaited<ReturnType<typeof load>>;
type Image = ReturnType<typeof rgbaToImage>;

const scope = self as unknown as {
  postMessage(message: WorkerOut, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerIn>) => void) | null;
  fetch: typeof fetch;
};
const post = (message: WorkerOut, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let ready: Promise<Inpainter> | undefined;
/** Requests run one after another: one inference at a time uses the CPU already. */
let queue: Promise<unknown> = Promise.resolve();

const CACHE_PREFIX = 'inpaint-device-';

/**
 * A fetch that keeps what it downloads in Cache Storage and reports every byte. `total` is the
 * configuration's list of sizes; a file outside it adds its own length when it starts.
 */
function cachingFetch(config: WorkerConfig, onProgress: (loaded: number, total: number, fromCache: boolean) => void) {
  const cacheName = CACHE_PREFIX + config.version;
  const sizes = new Map(config.files.map((f) => [f.url, f.bytes]));
  let total = 0;
  let loaded = 0;
  const counted = new Set<string>();
  const plainFetch = scope.fetch.bind(scope);
  const count = (url: string, bytes: number | undefined) => {
    if (counted.has(url)) return;
    counted.add(url);
    total += sizes.get(url) ?? bytes ?? 0;
  };
  return {
    get downloaded() {
      return loaded;
    },
    async response(url: string): Promise<Response> {
      const cache = await caches.open(cacheName);
      const hit = await cache.match(url);
      if (hit) {
        onProgress(loaded, total, true);
        return hit;
      }
      const res = await plainFetch(url, { mode: 'cors', credentials: 'same-origin' });
      if (!res.ok || !res.body) throw new Error(`could not download ${url}: HTTP ${res.status}`);
      count(url, Number(res.headers.get('content-length')) || undefined);
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onProgress(loaded, Math.max(total, loaded), false);
      }
      const body = new Blob(chunks as BlobPart[]);
      // WebAssembly streams only from application/wasm, whatever type a static host gave it.
      const type = url.endsWith('.wasm') ? 'application/wasm' : (res.headers.get('content-type') ?? 'application/octet-stream');
      const headers = new Headers({ 'content-type': type, 'content-length': String(body.size) });
      const kept = new Response(body, { headers });
      await cache.put(url, kept.clone()).catch(() => undefined); // Storage full or private mode: it still runs, uncached.
      return kept;
    },
    async bytes(url: string): Promise<Uint8Array> {
      return new Uint8Array(await (await this.response(url)).arrayBuffer());
    },
    /** Counts every configured file up front, so the bar's total is right from the start. */
    expect(urls: string[]) {
      for (const u of urls) count(u, undefined);
    },
  };
}

async function init(config: WorkerConfig): Promise<Inpainter> {
  const t0 = performance.now();
  let last = 0;
  const net = cachingFetch(config, (loaded, total, fromCache) => {
    const now = performance.now();
    if (now - last < 100 && loaded < total) return;
    last = now;
    post({ type: 'progress', loaded, total, fromCache });
  });
  // The library's 'auto' rule, decided here to know which ORT binary will be fetched.
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const backend = config.backend && config.backend !== 'auto' ? config.backend : (await gpu?.requestAdapter().catch(() => null)) ? 'webgpu' : 'wasm';
  // Which files are not cached yet: only those count towards the bar (ORT's .mjs are imported, not fetched: the service worker keeps them).
  const cache = await caches.open(CACHE_PREFIX + config.version);
  const missing: string[] = [];
  for (const f of config.files) {
    const needed = f.backend === undefined || (f.backend === backend && f.url.endsWith('.wasm'));
    if (needed && !(await cache.match(f.url))) missing.push(f.url);
  }
  net.expect(missing);
  // onnxruntime-web fetches its .wasm itself: send its requests for the configured files through the cache too.
  const plain = scope.fetch.bind(scope);
  const known = new Set(config.files.map((f) => f.url));
  scope.fetch = ((input: RequestInfo | URL, initArg?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return known.has(url) && (!initArg?.method || initArg.method === 'GET') ? net.response(url) : plain(input, initArg);
  }) as typeof fetch;
  try {
    const options = { bundleUrl: config.bundleUrl, vggUrl: config.vggUrl, wasmPaths: config.wasmPaths, fetchBytes: (url: string) => net.bytes(url) };
    let inpainter: Inpainter;
    let used: 'wasm' | 'webgpu' = backend;
    try {
      inpainter = await load({ ...options, backend });
    } catch (err) {
      // A WebGPU that refuses a graph still leaves WASM, which runs everywhere.
      if (backend !== 'webgpu') throw err;
      used = 'wasm';
      inpainter = await load({ ...options, backend: 'wasm' });
    }
    // Loaded: the older versions' files are of no more use.
    for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== CACHE_PREFIX + config.version) await caches.delete(name);
    const notices = [...inpainter.notices, ...(used !== backend ? ['WebGPU could not load the model; it runs on WASM'] : [])];
    post({ type: 'ready', seconds: (performance.now() - t0) / 1000, downloaded: net.downloaded, backend: used, isolated: crossOriginIsolated, notices });
    return inpainter;
  } catch (err) {
    // A file that failed its check must not stay cached.
    await caches.delete(CACHE_PREFIX + config.version).catch(() => undefined);
    throw err;
  }
}

/** An ImageBitmap's pixels, read on this worker's own canvas. */
function rgbaOf(bitmap: ImageBitmap): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

function imageOf(bitmap: ImageBitmap): Image {
  const { width, height } = bitmap;
  return rgbaToImage(rgbaOf(bitmap), width, height);
}

/**
 * A photo with its alpha (one value a pixel in [0, 1]) when it has any transparency: kept in the
 * result as the server keeps it, so a cut-out's background stays transparent and is not filled
 * from the black its transparent pixels are stored as.
 */
function photoOf(bitmap: ImageBitmap): { image: Image; alpha?: Float32Array } {
  const { width, height } = bitmap;
  const rgba = rgbaOf(bitmap);
  const image = rgbaToImage(rgba, width, height);
  let alpha: Float32Array | undefined;
  for (let i = 0; i < width * height; i++) {
    if (rgba[4 * i + 3] === 255) continue;
    alpha ??= new Float32Array(width * height).fill(1);
    alpha[i] = rgba[4 * i + 3] / 255;
  }
  return alpha ? { image, alpha } : { image };
}

/** A painted layer as a mask: opaque paint (alpha at least one half) is 1, the rest 0. */
function maskOf(bitmap: ImageBitmap): { width: number; height: number; data: Uint8Array } {
  const { width, height } = bitmap;
  const rgba = rgbaOf(bitmap);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = rgba[4 * i + 3] >= 128 ? 1 : 0;
  return { width, height, data };
}

/** An image (with its alpha, when given) on an OffscreenCanvas of its own. */
function canvasOf(image: Image, alpha?: Float32Array): OffscreenCanvas {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const rgba = imageToRgba(image);
  if (alpha) for (let i = 0; i < alpha.length; i++) rgba[4 * i + 3] = alpha[i] * 255;
  canvas.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), 0, 0);
  return canvas;
}

/** An image as an ImageBitmap to hand to the page. */
function bitmapOf(image: Image): ImageBitmap {
  return canvasOf(image).transferToImageBitmap();
}

/**
 * The result as an ImageBitmap to draw and a PNG to download, both made here; the PNG says its
 * pixels are in the colour space of `icc`, when given.
 */
async function answer(id: number, image: Image, notices: string[], t0: number, alpha?: Float32Array, icc?: Uint8Array, sources?: { mask: { width: number; height: number; data: Uint8Array }; side: number }): Promise<void> {
  const canvas = canvasOf(image, alpha);
  let blob = await canvas.convertToBlob({ type: 'image/png' });
  if (icc) blob = new Blob([pngWithProfile(new Uint8Array(await blob.arrayBuffer()), await deflate(icc))], { type: 'image/png' });
  const bitmap = canvas.transferToImageBitmap();
  const from = sources && maskBitmap(sources.mask, sources.side);
  post({ type: 'done', id, image: bitmap, blob, notices, seconds: (performance.now() - t0) / 1000, sources: from }, from ? [bitmap, from] : [bitmap]);
}

/**
 * A mask as an ImageBitmap, white on black (as the server's sources PNG), at most `side` across: a
 * pixel is white where any of the mask's under it is (the page shows it at its previews' size, and a
 * 25-megapixel photo's would take 100 MB).
 */
function maskBitmap(mask: { width: number; height: number; data: Uint8Array }, side: number): ImageBitmap {
  const scale = Math.min(1, side / Math.max(mask.width, mask.height));
  const [w, h] = [Math.max(1, Math.round(mask.width * scale)), Math.max(1, Math.round(mask.height * scale))];
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  for (let y = 0; y < mask.height; y++) {
    const row = Math.min(h - 1, Math.floor(y * scale)) * w;
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      const p = 4 * (row + Math.min(w - 1, Math.floor(x * scale)));
      rgba[p] = rgba[p + 1] = rgba[p + 2] = 255;
    }
  }
  const canvas = new OffscreenCanvas(w, h);
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, w, h), 0, 0);
  return canvas.transferToImageBitmap();
}

async function handle(msg: WorkerIn): Promise<void> {
  if (msg.type === 'init') {
    ready = init(msg.config);
    ready.catch((err: Error) => post({ type: 'error', message: `loading the model failed: ${err.message}` }));
    return;
  }
  const id = msg.id;
  try {
    if (!ready) throw new Error('the worker was not initialised');
    const inpainter = await ready;
    const t0 = performance.now();
    if (msg.type === 'fill') {
      const photo = photoOf(msg.image);
      const { image, alpha } = photo;
      const mask = maskOf(msg.mask);
      if (msg.method === 'patchmatch') {
        // As the server's `patchmatch`: the same hole (dilated as ours' is, transparent pixels in it), the same seed.
        const notices: string[] = [];
        const hole = prepareHole(image, mask, alpha, { resizeMask: false, dilate: resolveInpaintOptions({}).dilate }, notices);
        await answer(id, hole ? patchMatchInpaint(image, hole.mask) : image, notices, t0, alpha && opaqueWhereFilled(alpha, mask, image.width, image.height), msg.icc);
        return;
      }
      const sampleFrom = msg.sampleFrom && maskOf(msg.sampleFrom);
      const exclude = msg.exclude && maskOf(msg.exclude);
      const onProgress = ({ done, total, scale }: InpaintProgress) => post({ type: 'step', id, done, total, scale });
      const onPreview = ({ box, scale, image: region }: InpaintPreview) => {
        const bitmap = bitmapOf(region);
        post({ type: 'preview', id, box, scale, image: bitmap }, [bitmap]);
      };
      const result = await inpainter.inpaint(photo, mask, { ensemble: msg.ensemble, sampleFrom, exclude, sources: true, onProgress, onPreview });
      await answer(id, result.image, [...result.notices], t0, result.alpha, msg.icc, result.sources && { mask: result.sources, side: msg.sourcesSide });
    } else {
      const result = await inpainter.stylize(imageOf(msg.content), imageOf(msg.style), { size: msg.size });
      await answer(id, result.image, [...result.notices], t0);
    }
  } catch (err) {
    post({ type: 'error', id, message: (err as Error).message ?? String(err) });
  }
}

scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};
