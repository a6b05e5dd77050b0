/**
 * Inference: `load()` a model bundle into an `Inpainter`, whose `inpaint(image, mask, options)`
 * runs the paper's multi-scale pipeline (G1, VGG, patch-swap, G2) on any photo and blends the
 * result into it. See `inpainter.ts` for the steps, `regions.ts` for crops and scales, `blend.ts`
 * for the seam.
 */
export {
  DEFAULT_BUNDLE_DIR,
  type DebugRegion,
  type ImageInput,
  type InpaintOptions,
  type InpaintPreview,
  type InpaintProgress,
  type InpaintResult,
  Inpainter,
  load,
  type LoadOptions,
  type MaskInput,
  fitMask,
  reframeHole,
  prepareHole,
  resolveBundleDir,
  resolveInpaintOptions,
} from './inpainter.ts';
export { MAX_STYLE_SIZE, MAX_STYLIZE_SIZE, resolveStylizeOptions, STYLIZE_SIZE, type StylizeDebug, type StylizeOptions, type StylizeResult } from './stylize.ts';
export { BASE_SCALE, DOUBLED_SCALE, LARGEST_SCALE, MAX_ENLARGEMENT, REFINE_SCALE, WHOLE_IMAGE_MAX } from './regions.ts';
export type { SourceCells } from './pixels.ts';
