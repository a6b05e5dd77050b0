/**
 * contextual-inpaint in the browser (`contextual-inpaint/web`): the same `Inpainter` as Node's, its
 * bundle and VGG weights fetched by URL, checked by sha256, its graphs built here from the weights
 * and run by onnxruntime-web (WASM, multi-threaded when the page is cross-origin isolated; WebGPU
 * when the browser gives an adapter). Nothing is sent anywhere: the photo never leaves the device.
 *
 * Call it from a Web Worker (a run blocks the context that makes it); it needs no DOM. The
 * onnxruntime-web files (`node_modules/onnxruntime-web/dist/`) must be served at `wasmPaths`.
 *
 * @example
 * import { load, rgbaToImage, imageToRgba } from 'contextual-inpaint/web';
 *
 * const inpainter = await load({ bundleUrl: '/models/default/', vggUrl: '/models/vgg_normalised_conv3_1.pth', wasmPaths: '/ort/' });
 * const { image } = await inpainter.inpaint(rgbaToImage(imageData.data, width, height), { width, height, data: hole });
 * const pixels = new ImageData(imageToRgba(image), width, height);
 * await inpainter.dispose();
 */
import { expect, InputError } from './core/errors.ts';
import {
  DEFAULT_MAX_PIXELS,
  type DecodedPixels,
  decodeRawPixels,
  describeSource,
  type ImageSource,
  type ImageWithAlpha,
  imageFromPixels,
  isRawPixels,
  type MaskImage,
  maskFromPixels,
  type ReadOptions,
  type RgbImage,
  toRgba8,
} from './core/raster.ts';
import { sha256Hex } from './core/sha256.ts';
import { FrozenVgg } from './features/frozen-vgg.ts';
import { decodeVggWeights } from './features/vgg-weights-format.ts';
import { type Bundle, type BundleManifest, decodeBundle, isPlainFileName } from './models/bundle-format.ts';
import { type ImageReader, Inpainter, vggMismatchNotice } from './inference/inpainter-core.ts';
import { Networks } from './inference/networks.ts';
import { WebEngine } from './runtime/web-engine.ts';

export { EngineError, GraphError, InpaintError, InputError, UsageError } from './core/errors.ts';
export { parseBox, selectObject, type SelectObjectOptions } from './core/grabcut.ts';
export { type AspectInput, type Margins, type MarginsInput, parseMargins, parseRotation, type ReframeOptions, reframe, resolveMargins } from './core/reframe.ts';
export { type Area, maskOfAreas, type Rgba, selectSimilar } from './core/select.ts';
export type { Box, ImageSource, ImageWithAlpha, MaskImage, RawPixels, RgbImage } from './core/raster.ts';
export { cropImage, dilateMask, maskBoundingBox, pasteImage, resizeImage, resizeMask, toRgba8 } from './core/raster.ts';
export type { DebugRegion, ImageInput, InpaintOptions, InpaintPreview, InpaintProgress, InpaintResult, InpaintStage, MaskInput } from './inference/inpainter-core.ts';
export { Inpainter, resolveInpaintOptions } from './inference/inpainter-core.ts';
export type { StylizeOptions, StylizeResult } from './inference/stylize.ts';
export { WebEngine, type WebBackend, type WebEngineOptions } from './runtime/web-engine.ts';

export interface WebLoadOptions {
  /** URL of the bundle folder (bundle.json and the files it names). */
  bundleUrl: string;
  /** URL of vgg_normalised_conv3_1.pth. */
  vggUrl: string;
  /** Fetches a URL's bytes; default `fetch` that fails on a status other than 2xx. A page passes a caching, progress-reporting one. */
  fetchBytes?: (url: string) => Promise<Uint8Array>;
  /** URL prefix of onnxruntime-web's wasm/mjs files (its `dist/` folder); default the folder of this script. */
  wasmPaths?: string;
  /** 'auto' (default): WebGPU when `navigator.gpu` yields an adapter, else WASM. */
  backend?: 'auto' | 'wasm' | 'webgpu';
  /** WASM threads; default `hardwareConcurrency` when cross-origin isolated, else 1. */
  threads?: number;
  /**
   * About how many bytes one fill may take: a large region's fill without the caller's `maxScale` is
   * made at the largest scale that fits (`fillMemory`), with a notice. Default
   * `defaultWebMemoryBudget()`.
   */
  memoryBudget?: number;
}

/** The most a fill's memory budget is by default in a tab: onnxruntime-web's WebAssembly memory stops at 4 GB. */
const WEB_BUDGET_AT_MOST = 4e9;

/**
 * The memory budget of a fill in the browser: half the device's memory, at most 4 GB. The device's
 * memory is `navigator.deviceMemory` (GB, which Chromium rounds to a power of two: 16 on this 24 GB
 * machine, in a worker too), or 4 GB where a browser does not report it. A tab's peak follows
 * `fillMemory`'s estimate as Node's does: 1.89 GB estimated and measured for a person removed from a
 * 4000x3000 photo at 2048, 2.58 and 2.54 GB for a 1400x1000 hole in it at 2667 (headless Chromium,
 * session 33).
 */
export function defaultWebMemoryBudget(deviceMemory = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory): number {
  const gb = typeof deviceMemory === 'number' && deviceMemory > 0 ? deviceMemory : 4;
  return Math.min(WEB_BUDGET_AT_MOST, 0.5 * gb * 2 ** 30);
}

/** What this module needs of the browser's globals (typed here: the library compiles without the DOM lib). */
interface ImageGlobals {
  location?: { href: string };
  createImageBitmap?: (blob: Blob, options?: Record<string, string>) => Promise<{ width: number; height: number; close(): void }>;
  OffscreenCanvas?: new (
    width: number,
    height: number,
  ) => { getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null };
}

const globals = globalThis as unknown as ImageGlobals;

/** A URL relative to the page (or worker) made absolute. */
const absolute = (url: string, base?: string) => new URL(url, base ?? globals.location?.href).href;

/**
 * The default `fetchBytes`: the body of a 2xx response.
 * @throws InputError naming the URL and the status
 */
async function fetchOk(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new InputError(`could not fetch ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!response.ok) throw new InputError(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Fetches and checks a bundle: bundle.json first, then every network file it names at once.
 * @throws InputError as `readBundle` does in Node (not a bundle, size or sha256 not the recorded ones, NaN...)
 */
function fetchBundle(bundleUrl: string, fetchBytes: (url: string) => Promise<Uint8Array>): Promise<Bundle> {
  const folder = absolute(bundleUrl.endsWith('/') ? bundleUrl : `${bundleUrl}/`);
  const files = new Map<string, Promise<Uint8Array>>();
  const file = (name: string) => {
    let bytes = files.get(name);
    if (!bytes) {
      bytes = fetchBytes(absolute(name, folder));
      bytes.catch(() => undefined); // awaited (and reported) by decodeBundle, or never needed
      files.set(name, bytes);
    }
    return bytes;
  };
  return decodeBundle({
    dir: bundleUrl,
    async manifest() {
      const text = new TextDecoder().decode(await fetchBytes(absolute('bundle.json', folder)));
      // Start every download now rather than one after the other; names are checked before use.
      try {
        const m = JSON.parse(text) as Partial<BundleManifest>;
        for (const name of [m.networks?.g1, ...Object.values(m.networks?.g2 ?? {}), m.networks?.guide]) if (isPlainFileName(name)) file(name);
      } catch {
        // decodeBundle reports a manifest that does not parse
      }
      return text;
    },
    async locate(name) {
      return { size: undefined, read: () => file(name) };
    },
  });
}

/**
 * Decodes encoded image bytes with the browser's decoders (EXIF orientation applied), as RGBA.
 * @throws InputError when the bytes are not an image the browser reads, or it is over `maxPixels`
 */
async function decodeBytes(bytes: Uint8Array, label: string, maxPixels: number): Promise<DecodedPixels> {
  const { createImageBitmap, OffscreenCanvas } = globals;
  if (!createImageBitmap || !OffscreenCanvas) throw new InputError(`${label}: this context has no createImageBitmap / OffscreenCanvas to decode images with; pass raw pixels`);
  let bitmap: Awaited<ReturnType<typeof createImageBitmap>>;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (err) {
    throw new InputError(`${label} is not a readable image (${(err as Error).message})`, { cause: err });
  }
  try {
    const { width, height } = bitmap;
    if (width * height > maxPixels) {
      throw new InputError(`${label} is ${width}x${height}, over the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels; raise maxPixels to read it anyway`);
    }
    const context = new OffscreenCanvas(width, height).getContext('2d');
    if (!context) throw new InputError(`${label}: no 2d canvas to decode it with`);
    context.drawImage(bitmap, 0, 0);
    return { width, height, channels: 4, data: context.getImageData(0, 0, width, height).data, max: 255 };
  } finally {
    bitmap.close();
  }
}

/** Decodes any `ImageSource` in the browser: raw pixels as given, bytes by the browser, a string as a URL to fetch. */
async function decodeSource(source: ImageSource, options: ReadOptions): Promise<DecodedPixels> {
  if (isRawPixels(source)) return decodeRawPixels(source);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  expect(Number.isInteger(maxPixels) && maxPixels > 0, 'maxPixels', 'a positive integer', maxPixels);
  const bytes = typeof source === 'string' ? await fetchOk(absolute(source)) : source;
  return decodeBytes(bytes, describeSource(source), maxPixels);
}

/** Images and masks given as raw pixels, encoded bytes or URLs, decoded in the browser. */
const WEB_READER: ImageReader = {
  readImageWithAlpha: async (source, options): Promise<ImageWithAlpha> => imageFromPixels(await decodeSource(source, options)),
  readMask: async (source, options): Promise<MaskImage> => maskFromPixels(await decodeSource(source, options), source, options),
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Fetches the bundle and the VGG weights, checks them (every bundle file's size and sha256 against
 * bundle.json, every weight finite; the VGG file's sha256 against the bundle's `vggSha256`, a
 * notice when it differs, as in Node), builds the graphs and creates the sessions.
 * @example
 * const inpainter = await load({ bundleUrl: '/models/default/', vggUrl: '/models/vgg_normalised_conv3_1.pth', wasmPaths: '/ort/' });
 * @throws UsageError when an option has the wrong type
 * @throws InputError when a file cannot be fetched or is not what bundle.json records
 * @throws EngineError when onnxruntime-web cannot be imported or cannot create a session
 */
export async function load(options: WebLoadOptions): Promise<Inpainter> {
  expect(isObject(options), 'options', 'an object { bundleUrl, vggUrl, ... }', options);
  const { bundleUrl, vggUrl, fetchBytes = fetchOk, wasmPaths, backend, threads, memoryBudget = defaultWebMemoryBudget() } = options;
  expect(typeof bundleUrl === 'string' && bundleUrl.length > 0, 'options.bundleUrl', 'the URL of a bundle folder', bundleUrl);
  expect(typeof vggUrl === 'string' && vggUrl.length > 0, 'options.vggUrl', 'the URL of vgg_normalised_conv3_1.pth', vggUrl);
  expect(typeof fetchBytes === 'function', 'options.fetchBytes', 'a function (url) => Promise<Uint8Array>', fetchBytes);
  expect(typeof memoryBudget === 'number' && Number.isFinite(memoryBudget) && memoryBudget > 0, 'options.memoryBudget', 'a positive number of bytes', memoryBudget);
  // Downloads, the VGG file and ONNX Runtime's start all at once.
  const vggBytes = fetchBytes(absolute(vggUrl));
  vggBytes.catch(() => undefined);
  const starting = WebEngine.create({ backend, threads, ...(wasmPaths === undefined ? {} : { wasmPaths }) });
  starting.catch(() => undefined);
  let engine: WebEngine | undefined;
  let vgg: FrozenVgg | undefined;
  try {
    const bundle = await fetchBundle(bundleUrl, fetchBytes);
    const bytes = await vggBytes;
    const notices = vggMismatchNotice(vggUrl, await sha256Hex(bytes), bundle.manifest.vggSha256);
    vgg = new FrozenVgg(decodeVggWeights(bytes, vggUrl));
    engine = await starting;
    const networks = await Networks.create(engine, bundle, vgg);
    const memory = { budget: memoryBudget, advice: 'a device with more memory (or a larger memoryBudget) fills it nearer its own size' };
    return new Inpainter({ networks, engine, reader: WEB_READER, ownsEngine: true, bundleDir: bundleUrl, model: bundle.manifest.model, notices, memory });
  } catch (err) {
    await vgg?.dispose();
    await (engine ?? (await starting.catch(() => undefined)))?.dispose();
    throw err;
  }
}

/**
 * Canvas pixels (ImageData's `data`: interleaved RGBA, 8 bits) as an `RgbImage`; alpha is dropped
 * (pass `{ data, width, height, channels: 4 }` to `inpaint` instead to keep it).
 * @example
 * const image = rgbaToImage(ctx.getImageData(0, 0, w, h).data, w, h);
 * @throws UsageError when the data is not width * height * 4 bytes
 */
export function rgbaToImage(data: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  return imageFromPixels(decodeRawPixels({ data, width, height, channels: 4 })).image;
}

/**
 * An `RgbImage` as canvas pixels (interleaved RGBA, alpha 255), rounded and clamped:
 * `new ImageData(imageToRgba(image), image.width, image.height)`.
 */
export function imageToRgba(image: RgbImage): Uint8ClampedArray {
  return toRgba8(image);
}
