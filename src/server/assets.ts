/**
 * What the page needs to run the pipeline on the user's device, as a fixed list of files: the model
 * bundle's (bundle.json and the files it names), the VGG19 weights, and onnxruntime-web's wasm and
 * loader files. `inpaint serve` answers them by name from this list (no path ever comes from a
 * client), and `npm run build:web` copies them into its static folder; `config.json` tells the page
 * where each one is and how many bytes the first visit downloads.
 *
 *   model/bundle.json, model/<file>   the bundle (its own folder name never leaves the server)
 *   vgg/vgg_normalised_conv3_1.pth    the VGG19 weights, from the configured local file
 *   ort/<file>                        onnxruntime-web's dist/*.wasm and *.mjs
 *   heic/libheif.mjs                  libheif in WebAssembly, which the page imports to open a HEIC
 *                                     photo the browser cannot decode (not counted as a download)
 *   config.json                       the page's device configuration (DeviceConfig)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VGG_SOURCE_URL } from '../features/vgg-weights.ts';
import { VGG_FILE_NAME } from '../features/weights-location.ts';
import { isPlainFileName } from '../models/bundle-format.ts';
import type { DeviceConfig } from './device-config.ts';

export type { DeviceConfig } from './device-config.ts';

export interface DeviceFile {
  /** The URL path relative to the page's folder, e.g. 'model/g1.safetensors'. */
  url: string;
  path: string;
  bytes: number;
  type: string;
}

export interface DeviceAssets {
  config: DeviceConfig;
  /** By URL path (without a leading /). */
  files: Map<string, DeviceFile>;
}

/** The VGG file's size, for the progress bar when the page fetches it from its public origin. */
const VGG_BYTES = 2_223_308;

const TYPES: Record<string, string> = {
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};
const typeOf = (name: string) => TYPES[/\.[^.]+$/.exec(name)?.[0] ?? ''] ?? 'application/octet-stream';

/**
 * onnxruntime-web's dist folder, or undefined when the package is not installed (then the device
 * mode is off and the page runs on the server).
 */
export function ortDistDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    // The package exports no package.json; its Node entry lies in dist/ with the browser files.
    return dirname(require.resolve('onnxruntime-web'));
  } catch {
    return undefined;
  }
}

/** libheif-js's browser module (the WebAssembly inside it), or undefined when it is not installed. */
export function heicModulePath(): string | undefined {
  try {
    const require = createRequire(createRequire(import.meta.url).resolve('heic-decode'));
    return require.resolve('libheif-js/libheif-wasm/libheif-bundle.mjs');
  } catch {
    return undefined;
  }
}

/**
 * The files of the device mode for a bundle folder and a VGG file.
 * @param vggWeights the local VGG file; when undefined the page fetches it from its public origin
 * @throws Error when the bundle's bundle.json cannot be read or names a file that is not there
 */
export async function deviceAssets(options: { bundleDir: string; vggWeights?: string; mode: DeviceConfig['mode']; ortDist?: string }): Promise<DeviceAssets> {
  const files = new Map<string, DeviceFile>();
  const add = async (url: string, path: string) => files.set(url, { url, path, bytes: (await stat(path)).size, type: typeOf(url) });
  const manifestPath = join(options.bundleDir, 'bundle.json');
  const manifestBytes = await readFile(manifestPath);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { files?: Record<string, unknown> };
  await add('model/bundle.json', manifestPath);
  for (const name of Object.keys(manifest.files ?? {})) {
    // The bundle names its files; by the library's own rule, a name with a folder in it is not one.
    if (!isPlainFileName(name)) throw new Error(`bundle.json names ${JSON.stringify(name)}, not a file of the bundle folder`);
    await add(`model/${name}`, join(options.bundleDir, name));
  }
  let vggUrl = VGG_SOURCE_URL;
  let vggBytes = VGG_BYTES;
  if (options.vggWeights !== undefined) {
    vggUrl = `vgg/${VGG_FILE_NAME}`;
    await add(vggUrl, options.vggWeights);
    vggBytes = files.get(vggUrl)!.bytes;
  }
  const ortDist = options.ortDist ?? ortDistDir();
  if (ortDist && existsSync(ortDist)) {
    for (const name of ORT_FILES) if (existsSync(join(ortDist, name))) await add(`ort/${name}`, join(ortDist, name));
  }
  const heic = heicModulePath();
  if (heic) await add(HEIC_MODULE, heic);
  const hash = createHash('sha256').update(manifestBytes);
  for (const f of files.values()) hash.update(`${f.url}:${f.bytes};`);
  // What a first visit downloads: not the HEIC decoder, which a page fetches only for a HEIC photo.
  const downloads = [...files.values()].filter((f) => f.url !== 'model/bundle.json' && f.url !== HEIC_MODULE).map((f) => ({ url: f.url, bytes: f.bytes }));
  if (options.vggWeights === undefined) downloads.push({ url: vggUrl, bytes: vggBytes });
  return {
    files,
    config: { mode: options.mode, version: hash.digest('hex').slice(0, 16), bundleUrl: 'model/', vggUrl, wasmPaths: 'ort/', files: downloads },
  };
}

/**
 * onnxruntime-web's files that the library's web engine (runtime/web-engine.ts) imports from
 * `wasmPaths`: the WASM build and its binary (14 MB), and the WebGPU build with its asyncify binary
 * (27 MB); a browser downloads only the pair of the back end it runs.
 */
export const ORT_FILES = [
  'ort.wasm.min.mjs',
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.wasm',
  'ort.webgpu.min.mjs',
  'ort-wasm-simd-threaded.asyncify.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
];

/** Where the page finds libheif (web/heic.ts imports it from there). */
export const HEIC_MODULE = 'heic/libheif.mjs';

/** The headers that make the page cross-origin isolated (SharedArrayBuffer, so WASM threads). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;
