/**
 * The inference API in Node: `load()` a model bundle folder, then `inpainter.inpaint(image, mask)`
 * any photo. The `Inpainter` (what `inpaint` does, step by step) is inpainter-core.ts's, with no
 * platform in it, re-exported here; this module adds what Node brings: the bundle and the VGG
 * weights read from files, images decoded by sharp, ONNX Runtime in a worker thread.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, InputError } from '../core/errors.ts';
import { readImageWithAlpha, readMask } from '../core/image.ts';
import { loadVggWeights, sha256File } from '../features/vgg-weights.ts';
import { FrozenVgg } from '../features/vgg.ts';
import { findVggWeights } from '../features/weights-location.ts';
import { readBundle } from '../models/bundle.ts';
import { Engine } from '../runtime/engine.ts';
import { type ImageReader, Inpainter, vggMismatchNotice } from './inpainter-core.ts';
import { Networks } from './networks.ts';

export {
  type DebugRegion,
  type ImageInput,
  type ImageReader,
  type InpaintOptions,
  type InpaintPreview,
  type InpaintProgress,
  type InpaintResult,
  type InpaintStage,
  Inpainter,
  type InpainterState,
  type MaskInput,
  fitMask,
  reframeHole,
  prepareHole,
  resolveInpaintOptions,
  transparentNotice,
} from './inpainter-core.ts';

/** Where `load()` looks for a model when no bundle is named: `models/default/` in this package. */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../models/default/', import.meta.url));

/** Images given as paths or bytes are decoded by sharp. */
const NODE_READER: ImageReader = { readImageWithAlpha, readMask };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export interface LoadOptions {
  /** A model bundle folder (see `models/bundle.ts`); default `DEFAULT_BUNDLE_DIR`. */
  bundle?: string;
  /** The VGG19 weights file; default: INPAINT_VGG_WEIGHTS, the cache, else a verified download. */
  vggWeights?: string;
  /**
   * Run on this engine (it stays the caller's to dispose, its options its own); default a new one
   * without ONNX Runtime's memory arena (`EngineOptions.memoryArena`), disposed with the inpainter.
   */
  engine?: Engine;
  /**
   * About how many bytes one fill may take: a large region's fill without the caller's `maxScale`
   * is made at a smaller scale to fit, with a notice (`memoryCap` in regions.ts). Default
   * `defaultMemoryBudget()`, three quarters of the machine's memory (or of the container's limit).
   */
  memoryBudget?: number;
}

/** Three quarters of the memory this process can have: the machine's, or its container's limit where lower. */
export function defaultMemoryBudget(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return 0.75 * (limit > 0 && limit < totalmem() ? limit : totalmem());
}

/**
 * The bundle folder to load: `explicit` if given, else `fallback` when it holds a bundle.
 * @throws InputError when no folder is given and none is installed at `fallback`
 */
export function resolveBundleDir(explicit: string | undefined, fallback: string = DEFAULT_BUNDLE_DIR): string {
  if (explicit !== undefined) return explicit;
  if (existsSync(join(fallback, 'bundle.json'))) return fallback;
  throw new InputError(
    `No default model is installed (looked for ${join(fallback, 'bundle.json')}). ` +
      'Pass a model bundle folder: load({ bundle: DIR }) in code, or --model DIR on the command line.',
  );
}

/**
 * Loads a model bundle and the VGG weights and creates the sessions of every network.
 * @example
 * const inpainter = await load({ bundle: 'models/paper' });
 * const { image, notices } = await inpainter.inpaint('photo.jpg', 'mask.png');
 * await inpainter.dispose();
 * @throws InputError when no bundle is given and no default model is installed, the bundle or the
 *   VGG weights cannot be found or read
 * @throws UsageError when an option has the wrong type
 * @throws EngineError when ONNX Runtime cannot create a session
 */
export async function load(options: LoadOptions = {}): Promise<Inpainter> {
  expect(isObject(options), 'options', 'an object', options);
  const { bundle: bundleOption, vggWeights, engine: given, memoryBudget = defaultMemoryBudget() } = options;
  expect(bundleOption === undefined || (typeof bundleOption === 'string' && bundleOption.length > 0), 'options.bundle', 'a folder path', bundleOption);
  expect(vggWeights === undefined || (typeof vggWeights === 'string' && vggWeights.length > 0), 'options.vggWeights', 'a file path', vggWeights);
  expect(given === undefined || given instanceof Engine, 'options.engine', 'an Engine', given);
  expect(typeof memoryBudget === 'number' && Number.isFinite(memoryBudget) && memoryBudget > 0, 'options.memoryBudget', 'a positive number of bytes', memoryBudget);
  const bundle = await readBundle(resolveBundleDir(bundleOption));
  const vggPath = await findVggWeights(vggWeights);
  const notices = vggMismatchNotice(vggPath, await sha256File(vggPath), bundle.manifest.vggSha256);
  const vgg = new FrozenVgg(await loadVggWeights(vggPath));
  // Each photo runs the networks at new sizes: an arena would keep the largest run's memory.
  const engine = given ?? (await Engine.create({ memoryArena: false }));
  try {
    const networks = await Networks.create(engine, bundle, vgg);
    const memory = { budget: memoryBudget, advice: 'a larger maxScale (--max-scale) fills it nearer its own size' };
    return new Inpainter({ networks, engine, reader: NODE_READER, ownsEngine: given === undefined, bundleDir: bundle.dir, model: bundle.manifest.model, notices, memory });
  } catch (err) {
    await vgg.dispose();
    if (!given) await engine.dispose();
    throw err;
  }
}
