/** The networks: G1 Image2Feature, G2 Feature2Image, discriminators D1 and D2, the feature guide, their configs and registry. */
export {
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  resolveModelConfig,
  type G1Config,
  type G2Config,
  type GuideConfig,
  type ModelConfig,
  type ModelConfigInput,
  type ModelPreset,
  type PatchGanConfig,
} from './config.ts';
export { FEATURE_CHANNELS, FEATURE_STRIDE, imageHead } from './common.ts';
export { G1_SIZE_MODULUS, HOLE_FILL, image2Feature, maskedInput, type Image2FeatureOutput } from './image2feature.ts';
export { feature2Image, G2_FEATURE_MODULUS, G2_SIZE_MODULUS, g2PaddedSize } from './feature2image.ts';
export { featureGuide, guideDilation, type FeatureGuideOutput } from './feature-guide.ts';
export { featureDiscriminator, pairDiscriminator, patchGanSizeModulus } from './discriminators.ts';
export {
  buildNetworkGraph,
  createNetwork,
  NETWORK_KINDS,
  networkSpecs,
  parameterCount,
  type ImageSize,
  type Network,
  type NetworkGraph,
  type NetworkKind,
} from './registry.ts';
export { formatSummaryTable, modelSummary, printModelSummary, type SummaryRow } from './summary.ts';
