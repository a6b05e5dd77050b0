/**
 * The feature guide ("Image2Feature" taken literally, ours; docs/decisions/feature-guide.md):
 * predicts the relu3_1 features of the hole from the frozen VGG's relu3_1 of the masked photo, so
 * that patch-swap matches the hole on a prediction made where VGG's ImageNet training already
 * works, instead of on VGG of G1's coarse image.
 *
 * Architecture (w = config width), all at feature resolution (1/4 of the image), zero padding:
 *   input  relu3_1 of I0 (hole pixels mid grey) [N,256,h,w], the hole's cells [N,1,h,w]
 *   in     1x1 conv -> ReLU                                       w
 *   res    blocks x [3x3 conv dil d -> ReLU -> 3x3 conv] * 0.3 + skip -> ReLU,  d = 1, 2, 4, 8, 16, 1, ...
 *   out    1x1 conv of [last block, input features]               256 + 3
 * Outputs: `features`, relu3_1 as patch-swap reads it (raw: clamp at 0 before use), and `colour`,
 * each cell's mean colour (a training aid that keeps the prediction's tone; inference reads only
 * the features). With width 96 and 8 blocks: 1.45 M parameters, about 11 GFLOPs at 256x256.
 */
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { conv2d } from '../nn/layers.ts';
import type { Scope } from '../nn/scope.ts';
import { checkInput, FEATURE_CHANNELS } from './common.ts';
import type { GuideConfig } from './config.ts';

/** The residual branch's scale: keeps the deep stack near the identity early in training. */
const RESIDUAL_SCALE = 0.3;
/** Block i's first conv is dilated 2^(i mod 5): receptive fields up to 16 cells apart, then again. */
const DILATION_CYCLE = 5;

/** The dilation of residual block `i`. */
export const guideDilation = (i: number): number => 2 ** (i % DILATION_CYCLE);

export interface FeatureGuideOutput {
  /** The predicted relu3_1, [N, 256, h, w] (not clamped). */
  features: Tensor;
  /** The predicted mean colour of each cell, [N, 3, h, w]. */
  colour: Tensor;
}

/**
 * Builds the guide under `scope` (parameters `<scope>.in`, `.res0-n.a/.b`, `.out`).
 * @param features relu3_1 of the photo with its hole set to mid grey, [N, 256, h, w]
 * @param cells the hole at feature resolution, [N, 1, h, w], 1 = hole
 * @throws UsageError when an input has the wrong channel count or rank
 */
export function featureGuide(scope: Scope, config: GuideConfig, features: Tensor, cells: Tensor): FeatureGuideOutput {
  checkInput('guide features', features, FEATURE_CHANNELS, 1);
  checkInput('guide cells', cells, 1, 1);
  let h = op.relu(conv2d(scope.child('in'), op.concat([features, cells], 1), { cout: config.width, kernel: 1 }));
  for (let i = 0; i < config.blocks; i++) {
    const block = scope.child(`res${i}`);
    const a = op.relu(conv2d(block.child('a'), h, { cout: config.width, dilation: guideDilation(i) }));
    const b = conv2d(block.child('b'), a, { cout: config.width });
    h = op.relu(op.add(h, op.mul(b, RESIDUAL_SCALE)));
  }
  const out = conv2d(scope.child('out'), op.concat([h, features], 1), { cout: FEATURE_CHANNELS + 3, kernel: 1 });
  return {
    features: op.slice(out, [0], [FEATURE_CHANNELS], [1]),
    colour: op.slice(out, [FEATURE_CHANNELS], [FEATURE_CHANNELS + 3], [1]),
  };
}
