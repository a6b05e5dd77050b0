/**
 * contextual-inpaint: image inpainting by Infer, Match and Translate (Song et al., "Contextual-based
 * Image Inpainting", ECCV 2018) in TypeScript on ONNX Runtime, CPU only.
 *
 * `load()` a model bundle, then `inpaint(image, mask)` photos of any size: G1 fills the hole
 * coarsely, its VGG19 relu3_1 features have every hole patch swapped for the best-matching known
 * patch, and G2 renders the swapped features as an image, at 256 and, for larger areas, 512 pixels.
 * Known pixels come back bit-identical; the fill is tone-matched and feathered into them. Large
 * photos are worked on as crops around their holes.
 *
 * Errors are typed: `UsageError` for a call that cannot work as made (bad option, mask of another
 * size, hole too large), `InputError` for a file or buffer that cannot be used, `EngineError` when
 * ONNX Runtime fails; all derive from `InpaintError`.
 *
 * @example
 * import { load, writeImage } from 'contextual-inpaint';
 *
 * const inpainter = await load({ bundle: 'models/default' });
 * try {
 *   const { image, notices } = await inpainter.inpaint('photo.jpg', 'mask.png');
 *   for (const n of notices) console.warn(n);
 *   await writeImage('filled.png', image);
 * } finally {
 *   await inpainter.dispose();
 * }
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
  type SourceCells,
  type StylizeOptions,
  type StylizeResult,
} from './inference/index.ts';
export {
  type Box,
  cropImage,
  dilateMask,
  encodeImage,
  type ExifBlock,
  holeFraction,
  type IptcBlock,
  type ImageFormat,
  type ImageSource,
  type ImageWithAlpha,
  type MaskImage,
  maskBoundingBox,
  pasteImage,
  type PhotoMetadata,
  type RawPixels,
  readImage,
  readImageWithAlpha,
  readMask,
  readMetadata,
  resizeImage,
  resizeMask,
  type RgbImage,
  toRgba8,
  withTransparentAsHole,
  writeImage,
  type WriteOptions,
  writeMask,
} from './core/image.ts';
export { EngineError, GraphError, InpaintError, InputError, UsageError } from './core/errors.ts';
export { parseBox, selectObject, type SelectObjectOptions } from './core/grabcut.ts';
export { type AspectInput, type Margins, type MarginsInput, parseMargins, parseRotation, type ReframeOptions, reframe, resolveMargins } from './core/reframe.ts';
export { type Area, maskOfAreas, type Rgba, selectSimilar } from './core/select.ts';
export { Engine, type EngineOptions } from './runtime/engine.ts';
