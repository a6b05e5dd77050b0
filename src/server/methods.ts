/**
 * The server's inpainting methods: one loaded model shared by every request ('ours' and its
 * 'g1-only' ablation run on the same sessions), and the baselines, created on first use and kept.
 * Every method fills the same pixels: the baselines' mask is prepared by `prepareHole`, as
 * `Inpainter.inpaint` prepares its own (and `inpaint run` the baselines').
 */
import { UsageError } from '../core/errors.ts';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { createMethod, type InpaintMethod, METHOD_NAMES, type MethodName, MODEL_STAGES } from '../baselines/index.ts';
import { type Inpainter, load, prepareHole, resolveInpaintOptions, resolveStylizeOptions } from '../inference/index.ts';

/** Per-request options; the API's form fields of the same names. */
export interface FillOptions {
  /** ours, g1-only: the self-ensemble (1, 2, 4 or 8). Default 1. */
  ensemble?: number;
  /** Grow the hole by this many pixels first. Default 2. */
  dilate?: number;
  /** Resize a mask of another size to the image instead of refusing it. Default false. */
  resizeMask?: boolean;
  /** ours: the only pixels the fill may copy from (nonzero); the image's size unless resizeMask. */
  sampleFrom?: MaskImage;
  /** ours: pixels the fill must never copy from (nonzero); the image's size unless resizeMask. */
  exclude?: MaskImage;
  /** ours: also answer where the fill copied from (`InpaintOptions.sources`). Default false. */
  sources?: boolean;
}

/** Per-request stylize options; the API's form fields of the same names. */
export interface StyleOptions {
  /** The working size (64 to 2048). Default 256. */
  size?: number;
  /** How much of the content's features is swapped, 0 to 1. Default 1. */
  strength?: number;
}

export interface MethodInfo {
  name: MethodName;
  description: string;
  /** Whether it runs the model's networks (and takes `ensemble`). */
  model: boolean;
}

const DESCRIPTIONS: Record<MethodName, string> = {
  ours: "the paper's pipeline: G1's coarse fill, VGG19 features, patch-swap, G2 (takes ensemble: 1, 2, 4 or 8)",
  'g1-only': "G1's coarse fill alone, the paper's ablation without Feature2Image (takes ensemble)",
  patchmatch: 'PatchMatch completion, like Content-Aware Fill; no networks',
  telea: "OpenCV's Telea diffusion inpainting; no networks, smooth",
  'navier-stokes': "OpenCV's Navier-Stokes diffusion inpainting; no networks, smooth",
};

export const METHODS: readonly MethodInfo[] = METHOD_NAMES.map((name) => ({ name, description: DESCRIPTIONS[name], model: MODEL_STAGES[name] !== undefined }));

export interface MethodsConfig {
  /** The model bundle folder; default the installed `models/default`. */
  bundle?: string;
  /** The VGG19 weights file; default as `load()` finds it. */
  vggWeights?: string;
}

/** The loaded model and the baselines; `dispose()` when the server closes. */
export class Methods {
  readonly #inpainter: Inpainter;
  readonly #baselines = new Map<string, Promise<InpaintMethod>>();

  private constructor(inpainter: Inpainter) {
    this.#inpainter = inpainter;
  }

  /**
   * Loads the model (slow: do it once, at start).
   * @throws InputError when the bundle or the VGG weights cannot be found or read
   */
  static async load(config: MethodsConfig = {}): Promise<Methods> {
    return new Methods(await load({ bundle: config.bundle, vggWeights: config.vggWeights }));
  }

  /** Warnings from loading the model (e.g. other VGG weights than it was trained with). */
  get notices(): readonly string[] {
    return this.#inpainter.notices;
  }

  /** The bundle folder the model came from. */
  get bundleDir(): string {
    return this.#inpainter.bundleDir;
  }

  /**
   * Checks options before any work: the same rules and messages as `inpaint run`'s flags.
   * @throws UsageError for an unknown method, an option that does not apply to it or a bad value
   */
  static check(method: MethodName, options: FillOptions): void {
    if (MODEL_STAGES[method] === undefined && options.ensemble !== undefined) throw new UsageError(`ensemble does not apply to method ${method}`);
    // Only ours' patch-swap copies patches: G1 alone and the baselines have no source to restrict.
    for (const name of ['sampleFrom', 'exclude', 'sources'] as const) {
      if (method !== 'ours' && options[name] !== undefined && options[name] !== false) throw new UsageError(`${name} applies to method ours only (its patch-swap is what copies from the photo), not to ${method}`);
    }
    resolveInpaintOptions({ ensemble: options.ensemble, dilate: options.dilate, resizeMask: options.resizeMask });
  }

  /**
   * Fills the holes of `mask` in `image` (which it may write into: the server decodes each image
   * for one request).
   * @throws UsageError when the mask's size differs (without resizeMask) or the hole is too large
   */
  async fill(method: MethodName, image: RgbImage, mask: MaskImage, options: FillOptions): Promise<{ image: RgbImage; notices: string[]; sources?: MaskImage }> {
    const stage = MODEL_STAGES[method];
    if (stage !== undefined) {
      const { ensemble, dilate, resizeMask, sampleFrom, exclude, sources } = options;
      return this.#inpainter.inpaint(image, mask, { ensemble, dilate, resizeMask, sampleFrom, exclude, sources, stage, inPlace: true });
    }
    const { dilate, resizeMask } = resolveInpaintOptions({ dilate: options.dilate, resizeMask: options.resizeMask });
    const notices: string[] = [];
    const hole = prepareHole(image, mask, undefined, { resizeMask, dilate }, notices);
    if (!hole) return { image, notices };
    let baseline = this.#baselines.get(method);
    if (!baseline) {
      baseline = createMethod(method);
      this.#baselines.set(method, baseline);
      baseline.catch(() => this.#baselines.delete(method));
    }
    return { image: await (await baseline).inpaint(image, hole.mask), notices };
  }

  /**
   * Style transfer with the same networks (`Inpainter.stylize`): the content's size.
   * @throws UsageError for a bad option
   */
  async stylize(content: RgbImage, style: RgbImage, options: StyleOptions): Promise<{ image: RgbImage; notices: string[] }> {
    const { image, notices } = await this.#inpainter.stylize(content, style, { size: options.size, strength: options.strength });
    return { image, notices };
  }

  /**
   * Checks stylize options before any work: the library's rules and messages.
   * @throws UsageError for a value out of range
   */
  static checkStyle(options: StyleOptions): void {
    resolveStylizeOptions({ size: options.size, strength: options.strength });
  }

  async dispose(): Promise<void> {
    await this.#inpainter.dispose();
    for (const b of this.#baselines.values()) await (await b.catch(() => undefined))?.dispose();
    this.#baselines.clear();
  }
}
