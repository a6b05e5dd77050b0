/** Losses of the two generators, their discriminators and the feature guide, as graph functions on NCHW tensors. */
export { discriminatorLoss, generatorLoss } from './adversarial.ts';
export {
  boundaryWeights,
  DEFAULT_BAND_WIDTH,
  DEFAULT_BOUNDARY_WEIGHT,
  type MaskedPerceptualOptions,
  maskedPerceptualL1,
  PATCH_NORM_WEIGHT,
  patchCosineLoss,
  perceptualL2,
} from './perceptual.ts';
export { l1 } from './pixel.ts';
