/**
 * The PatchGAN discriminators D1 and D2 (pix2pix's NLayerDiscriminator, paper §3.3.1 and §3.3.3).
 * Both output logits (no sigmoid: the adversarial losses apply a stable log-sigmoid themselves), one
 * per patch.
 *
 * The PatchGAN with width w and L strided layers (pix2pix default L = 3, "70x70"):
 *   L x [4x4 conv stride 2 -> BN -> LeakyReLU 0.2]   w, 2w, 4w, ... (capped at 8w); no BN on the first
 *   4x4 conv stride 1 -> BN -> LeakyReLU 0.2         w * min(2^L, 8)
 *   4x4 conv stride 1 -> 1 logit map
 * Convs pad 'same' (for the stride-1 4x4 convs one row and column more at the end than pix2pix's
 * symmetric pad of 1), so the logit map is exactly H/2^L x W/2^L; the receptive field is pix2pix's,
 * 70x70 pixels for L = 3.
 *
 * D1 sees the pair (I0, image) concatenated on channels: 4 + 3 channels at image resolution.
 * D2 sees the pair (relu3_1 features, image): its first two strided convs run on the image alone and
 * bring it to feature resolution (1/4), the features join there, and the remaining layers see both.
 * Those two convs are exactly the first two layers of D1's PatchGAN, so with the same L D2 judges the
 * same 70x70 image patches, each with its patch of features.
 */
import { expect } from '../core/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { activation, conv2d, convBnAct } from '../nn/layers.ts';
import type { Scope } from '../nn/scope.ts';
import { checkInput, FEATURE_CHANNELS, FEATURE_STRIDE } from './common.ts';
import type { PatchGanConfig } from './config.ts';

/** The strided convs D2 runs on the image alone: log2 of the feature stride. */
const IMAGE_LAYERS = Math.log2(FEATURE_STRIDE);
/** pix2pix caps the channel multiplier at 8. */
const MAX_MULT = 8;

/** The image size a PatchGAN needs: a multiple of 2^layers. */
export function patchGanSizeModulus(config: PatchGanConfig): number {
  return 2 ** config.layers;
}

function layerWidth(config: PatchGanConfig, i: number): number {
  return config.width * Math.min(2 ** i, MAX_MULT);
}

/** Strided layers `from` .. `to - 1` of the PatchGAN. */
function strided(scope: Scope, x: Tensor, config: PatchGanConfig, from: number, to: number): Tensor {
  let h = x;
  for (let i = from; i < to; i++) {
    const s = scope.child(`c${i}`);
    const o = { cout: layerWidth(config, i), kernel: 4, stride: 2 } as const;
    // pix2pix: no normalisation on the first layer, which sees raw pixels.
    h = i === 0 ? activation(conv2d(s, h, o), 'lrelu') : convBnAct(s, h, { ...o, act: 'lrelu' });
  }
  return h;
}

/** The two stride-1 convs that end every PatchGAN. */
function head(scope: Scope, x: Tensor, config: PatchGanConfig): Tensor {
  const h = convBnAct(scope.child(`c${config.layers}`), x, { cout: layerWidth(config, config.layers), kernel: 4, act: 'lrelu' });
  return conv2d(scope.child('logits'), h, { cout: 1, kernel: 4 });
}

/**
 * D1: a PatchGAN on the pair (I0, image), real pair (I0, ground truth), fake pair (I0, G1's I1).
 * @param masked I0 [N, 4, H, W] from `maskedInput` (H, W multiples of 2^layers, or symbolic)
 * @param image [N, 3, H, W] in [0, 1]
 * @returns logits [N, 1, H / 2^layers, W / 2^layers]
 * @example
 * const logits = pairDiscriminator(scope.child('d1'), config.d1, maskedInput(image, mask), composite);
 * @throws UsageError when a shape is wrong
 */
export function pairDiscriminator(scope: Scope, config: PatchGanConfig, masked: Tensor, image: Tensor): Tensor {
  const modulus = patchGanSizeModulus(config);
  checkInput('D1 masked input', masked, 4, modulus);
  checkInput('D1 image', image, 3, modulus);
  return head(scope, strided(scope, op.concat([masked, image], 1), config, 0, config.layers), config);
}

/**
 * D2: a PatchGAN on the pair (feature map, image), real (F'gt, ground truth), fake (F'gt, G2's output).
 * @param features [N, 256, h, w] relu3_1 features
 * @param image [N, 3, 4h, 4w] in [0, 1]; 4h, 4w multiples of 2^layers (or symbolic)
 * @returns logits [N, 1, 4h / 2^layers, 4w / 2^layers]
 * @example
 * const logits = featureDiscriminator(scope.child('d2'), config.d2, swapped, rendered);
 * @throws UsageError when a shape is wrong, the image is not 4x the features, or layers < 2
 */
export function featureDiscriminator(scope: Scope, config: PatchGanConfig, features: Tensor, image: Tensor): Tensor {
  expect(config.layers >= IMAGE_LAYERS, 'D2 layers', `at least ${IMAGE_LAYERS}`, config.layers);
  const modulus = patchGanSizeModulus(config);
  checkInput('D2 features', features, FEATURE_CHANNELS, modulus / FEATURE_STRIDE);
  checkInput('D2 image', image, 3, modulus);
  for (const axis of [2, 3]) {
    const [f, i] = [features.shape[axis], image.shape[axis]];
    if (typeof f === 'number' && typeof i === 'number') {
      expect(i === f * FEATURE_STRIDE, 'D2 image size', `${FEATURE_STRIDE}x the feature size ${f}`, i);
    }
  }
  const atFeatureScale = strided(scope, image, config, 0, IMAGE_LAYERS);
  const joined = op.concat([atFeatureScale, features], 1);
  return head(scope, strided(scope, joined, config, IMAGE_LAYERS, config.layers), config);
}
