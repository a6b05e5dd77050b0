/**
 * Every inpainting method by name, behind the one `InpaintMethod` shape, for the `inpaint` command
 * and for comparisons:
 *  - 'ours': the paper's pipeline (G1, VGG, patch-swap, G2), from a model bundle;
 *  - 'g1-only': the paper's "w/o Feature2Image" ablation, G1's coarse fill alone, same bundle;
 *  - 'patchmatch': PatchMatch completion (Content-Aware-Fill style), no weights;
 *  - 'telea', 'navier-stokes': OpenCV's diffusion inpainting, no weights.
 */
import { expect, UsageError } from '../core/errors.ts';
import { type InpaintOptions, type InpaintStage, load, resolveInpaintOptions } from '../inference/inpainter.ts';
import type { InpaintMethod } from './method.ts';
import { navierStokesMethod, type OpenCvInpaintOptions, teleaMethod } from './opencv.ts';
import { patchMatchMethod, type PatchMatchOptions } from './patchmatch.ts';

export type { InpaintMethod } from './method.ts';
export { loadOpenCv, navierStokesMethod, type OpenCvAlgorithm, openCvInpaint, type OpenCvInpaintOptions, teleaMethod } from './opencv.ts';
export { patchMatchInpaint, patchMatchMethod, type PatchMatchOptions, resolvePatchMatchOptions } from './patchmatch.ts';

/** The names `createMethod` knows, in the order reports list them. */
export const METHOD_NAMES = ['ours', 'g1-only', 'patchmatch', 'telea', 'navier-stokes'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** The methods that run our networks (and need a model bundle), with the pipeline stage each runs. */
export const MODEL_STAGES: Readonly<Partial<Record<MethodName, InpaintStage>>> = { ours: 'full', 'g1-only': 'g1' };

/**
 * Options for `createMethod`. Each method reads its own and ignores the rest, so one object can
 * configure a whole comparison.
 */
export interface MethodOptions {
  /** ours, g1-only: the model bundle folder; default the installed `models/default`. */
  bundle?: string;
  /** ours, g1-only: the VGG19 weights file; default as `load()` finds it. */
  vggWeights?: string;
  /**
   * ours, g1-only: the options of every `inpaint` call (the stage is the method's, and there are
   * no debug pictures). `dilate` defaults to 0 here, not 2, so that as for every `InpaintMethod`
   * only the mask's pixels change; a larger value changes that band around the mask too.
   */
  inpaint?: Omit<InpaintOptions, 'stage' | 'debug' | 'inPlace'>;
  /** patchmatch: see `PatchMatchOptions`. */
  patchMatch?: PatchMatchOptions;
  /** telea, navier-stokes: see `OpenCvInpaintOptions`. */
  openCv?: OpenCvInpaintOptions;
}

/**
 * Checks a method name.
 * @example
 * checkMethodName('patchmatch'); // 'patchmatch'
 * @throws UsageError for an unknown name, listing the known ones
 */
export function checkMethodName(name: string): MethodName {
  if ((METHOD_NAMES as readonly string[]).includes(name)) return name as MethodName;
  throw new UsageError(`Unknown inpainting method ${JSON.stringify(name)}; expected one of ${METHOD_NAMES.join(', ')}`);
}

/**
 * Creates a method by name; dispose it when done. 'ours' and 'g1-only' load the model bundle (and
 * VGG19) here; the others need no weights.
 * @example
 * const method = await createMethod('patchmatch', { patchMatch: { seed: 1 } });
 * const filled = await method.inpaint(image, mask);
 * await method.dispose();
 * @example
 * const ablation = await createMethod('g1-only', { bundle: 'models/paper' });
 * @throws UsageError for an unknown name or invalid options
 * @throws InputError when 'ours' or 'g1-only' cannot find or read the bundle or the VGG weights
 * @throws EngineError when ONNX Runtime cannot create a session
 */
export async function createMethod(name: string, options: MethodOptions = {}): Promise<InpaintMethod> {
  const method = checkMethodName(name);
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  const stage = MODEL_STAGES[method];
  if (stage !== undefined) {
    // Never in place: a method must leave its input as it was (evaluate gives one input to every method).
    const inpaintOptions: InpaintOptions = { ...options.inpaint, dilate: options.inpaint?.dilate ?? 0, stage, inPlace: false };
    // Checked before the (slow) load.
    resolveInpaintOptions(inpaintOptions);
    const inpainter = await load({ bundle: options.bundle, vggWeights: options.vggWeights });
    return {
      name: method,
      inpaint: async (image, mask) => (await inpainter.inpaint(image, mask, inpaintOptions)).image,
      dispose: () => inpainter.dispose(),
    };
  }
  if (method === 'patchmatch') return patchMatchMethod(options.patchMatch);
  return method === 'telea' ? teleaMethod(options.openCv) : navierStokesMethod(options.openCv);
}
