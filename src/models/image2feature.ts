/**
 * G1, the Image2Feature network (paper §3.3.1): fills the hole coarsely. Its output image is judged
 * through VGG19 relu3_1 features, hence the name; the network itself maps image to image.
 *
 * Architecture (pix2pixHD's global generator with dilated residual blocks; w = config width):
 *   input  I0 = [image with the hole set to 0.5 grey, mask]       4 ch,  H x W
 *   in     7x7 conv (reflect pad) -> BN -> ReLU                   w,     H x W
 *   down   3 x [3x3 conv stride 2 -> BN -> ReLU]                  2w, 4w, 8w; H/8 x W/8
 *   res    resBlocks x [3x3 conv dil d -> BN -> ReLU -> 3x3 conv dil d -> BN] + skip   8w
 *   up     3 x [3x3 transposed conv stride 2 -> BN -> ReLU]       4w, 2w, w;  H x W
 *   out    7x7 conv (reflect pad) -> 0.5 tanh + 0.5               3 ch in [0, 1]
 * The residual convs pad by reflection (as pix2pixHD) so the dilated taps at the border see image-like
 * values, not zeros. H and W must be multiples of 8 and at least 8 (dilation + 1), so that the
 * reflect padding fits at 1/8 resolution.
 */
import { expect } from '../core/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { activation, batchNorm, conv2d, convBnAct, convTranspose2d } from '../nn/layers.ts';
import type { Scope } from '../nn/scope.ts';
import { checkInput, imageHead } from './common.ts';
import type { G1Config } from './config.ts';

/** G1's input and output sizes must be multiples of this (three stride-2 convs). */
export const G1_SIZE_MODULUS = 8;
/** The value the hole is filled with in I0: mid grey, the least informative guess. */
export const HOLE_FILL = 0.5;
const SAMPLING_STEPS = 3;

/**
 * I0, the masked input both G1 and D1 see: the image with hole pixels (mask 1) set to `HOLE_FILL`,
 * and the mask as a 4th channel, so a grey known pixel and a hole stay distinguishable.
 * @param image [N, 3, H, W] in [0, 1]
 * @param mask [N, 1, H, W], 1 = hole, 0 = known
 * @returns [N, 4, H, W]
 * @example
 * const i0 = maskedInput(g.input('image', [1, 3, 256, 256]), g.input('mask', [1, 1, 256, 256]));
 */
export function maskedInput(image: Tensor, mask: Tensor): Tensor {
  const filled = op.add(op.mul(image, op.sub(1, mask)), op.mul(mask, HOLE_FILL));
  return op.concat([filled, mask], 1);
}

export interface Image2FeatureOutput {
  /** I0, the network's input (see `maskedInput`). */
  masked: Tensor;
  /** The raw prediction over the whole image, [N, 3, H, W] in [0, 1]. */
  prediction: Tensor;
  /** I1 = mask * prediction + (1 - mask) * image: known pixels are the input's, exactly. */
  composite: Tensor;
}

/** pix2pixHD's ResnetBlock: conv-BN-ReLU-conv-BN plus the identity, no activation after the sum. */
function resBlock(scope: Scope, x: Tensor, channels: number, dilation: number): Tensor {
  const h = convBnAct(scope.child('a'), x, { cout: channels, dilation, padding: 'reflect' });
  return op.add(x, convBnAct(scope.child('b'), h, { cout: channels, dilation, padding: 'reflect', act: 'none' }));
}

/**
 * Builds G1 under `scope` (parameters `<scope>.in`, `.down0-2`, `.res0-n`, `.up0-2`, `.out`).
 * @param image [N, 3, H, W] in [0, 1]; H and W multiples of `G1_SIZE_MODULUS` (or symbolic)
 * @param mask [N, 1, H, W], 1 = hole
 * @example
 * const { composite } = image2Feature(scope.child('g1'), MODEL_PRESETS.small.g1, image, mask);
 * @throws UsageError when a shape is wrong, or static H, W are too small for the dilation
 */
export function image2Feature(scope: Scope, config: G1Config, image: Tensor, mask: Tensor): Image2FeatureOutput {
  checkInput('G1 image', image, 3, G1_SIZE_MODULUS);
  checkInput('G1 mask', mask, 1, G1_SIZE_MODULUS);
  const minSize = G1_SIZE_MODULUS * (config.dilation + 1);
  for (const d of image.shape.slice(2)) {
    expect(typeof d === 'string' || d >= minSize, 'G1 image height and width', `at least ${minSize} (dilation ${config.dilation})`, d);
  }
  const masked = maskedInput(image, mask);
  let h = convBnAct(scope.child('in'), masked, { cout: config.width, kernel: 7, padding: 'reflect' });
  let width = config.width;
  for (let i = 0; i < SAMPLING_STEPS; i++) {
    width *= 2;
    h = convBnAct(scope.child(`down${i}`), h, { cout: width, stride: 2 });
  }
  for (let i = 0; i < config.resBlocks; i++) h = resBlock(scope.child(`res${i}`), h, width, config.dilation);
  for (let i = 0; i < SAMPLING_STEPS; i++) {
    width /= 2;
    const up = scope.child(`up${i}`);
    // No bias: batch norm's shift replaces it.
    h = activation(batchNorm(up.child('bn'), convTranspose2d(up.child('deconv'), h, { cout: width, bias: false })), 'relu');
  }
  const prediction = imageHead(conv2d(scope.child('out'), h, { cout: 3, kernel: 7, padding: 'reflect' }));
  const composite = op.add(op.mul(mask, prediction), op.mul(op.sub(1, mask), image));
  return { masked, prediction, composite };
}
