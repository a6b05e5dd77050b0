/**
 * G2, the Feature2Image network (paper §3.3.3): renders a (patch-swapped) relu3_1 feature map as an
 * image. A U-Net of 7 conv blocks and 8 "deconvolution" blocks (w = config width; sizes for a 256x256
 * image, i.e. 64x64 features):
 *
 *   enc0  3x3 conv stride 1 -> LeakyReLU 0.2                 w    64x64   (no BN: pix2pix's outermost)
 *   enc1-5 4x4 conv stride 2 -> BN -> LeakyReLU 0.2          2w, 4w, 8w, 8w, 8w   32 .. 2
 *   enc6  4x4 conv stride 2 -> LeakyReLU 0.2                 8w   1x1     (no BN: one value a channel)
 *   dec0-7 nearest 2x upsample -> 3x3 conv -> BN -> ReLU     8w, 8w, 8w, 4w, 2w, w, w, w   2 .. 256
 *          the outputs of dec0-5 are concatenated with enc5 .. enc0 (the skip connections)
 *   out   3x3 conv -> 0.5 tanh + 0.5                         3 ch at 256x256, in [0, 1]
 *
 * The decoder upsamples by resize-convolution, never by transposed convolution: the paper's ablation
 * (§4.3, Fig. 5) shows transposed convs leave checkerboard artifacts. The 8 upsamplings against 6
 * downsamplings give the 4x from feature to image resolution.
 *
 * Size: the six stride-2 convs need feature height and width divisible by `G2_FEATURE_MODULUS` (64),
 * that is images that are multiples of 256 pixels. Any such size works (fully convolutional): 512x512
 * images (128x128 features) bottom out at 2x2 instead of 1x1.
 */
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { activation, conv2d, convBnAct } from '../nn/layers.ts';
import type { Scope } from '../nn/scope.ts';
import { checkInput, FEATURE_CHANNELS, FEATURE_STRIDE, imageHead } from './common.ts';
import type { G2Config } from './config.ts';

/** Feature-map height and width must be multiples of this: 2^6 for the six stride-2 convs. */
export const G2_FEATURE_MODULUS = 64;
/** The same requirement in image pixels. */
export const G2_SIZE_MODULUS = G2_FEATURE_MODULUS * FEATURE_STRIDE;

/** Encoder widths as multiples of the config width (pix2pix's U-Net). */
const ENCODER = [1, 2, 4, 8, 8, 8, 8] as const;
/** Decoder widths, mirroring the encoder; the two extra blocks climb from feature to image resolution. */
const DECODER = [8, 8, 8, 4, 2, 1, 1, 1] as const;
/** dec0 .. dec5 are joined to the encoder outputs of the same resolution. */
const SKIPS = 6;

/**
 * The smallest image size >= `pixels` that G2 accepts (a multiple of `G2_SIZE_MODULUS`), for padding.
 * @example
 * g2PaddedSize(300); // 512
 */
export function g2PaddedSize(pixels: number): number {
  return Math.max(1, Math.ceil(pixels / G2_SIZE_MODULUS)) * G2_SIZE_MODULUS;
}

/**
 * Builds G2 under `scope` (parameters `<scope>.enc0-6`, `.dec0-7`, `.out`).
 * @param features [N, 256, h, w] relu3_1 features; h and w multiples of `G2_FEATURE_MODULUS` (or symbolic)
 * @returns the image [N, 3, 4h, 4w] in [0, 1]
 * @example
 * const image = feature2Image(scope.child('g2'), MODEL_PRESETS.small.g2, swapped);
 * @throws UsageError when the features' shape is wrong
 */
export function feature2Image(scope: Scope, config: G2Config, features: Tensor): Tensor {
  checkInput('G2 features', features, FEATURE_CHANNELS, G2_FEATURE_MODULUS);
  const skips: Tensor[] = [];
  let h = features;
  ENCODER.forEach((mult, i) => {
    const cout = config.width * mult;
    const s = scope.child(`enc${i}`);
    if (i === 0) h = activation(conv2d(s, h, { cout }), 'lrelu');
    else if (i === ENCODER.length - 1) h = activation(conv2d(s, h, { cout, kernel: 4, stride: 2 }), 'lrelu');
    else h = convBnAct(s, h, { cout, kernel: 4, stride: 2, act: 'lrelu' });
    skips.push(h);
  });
  skips.pop(); // the innermost block feeds the decoder directly
  DECODER.forEach((mult, i) => {
    const up = op.resize(h, { scale: 2, mode: 'nearest' });
    h = convBnAct(scope.child(`dec${i}`), up, { cout: config.width * mult, act: 'relu' });
    if (i < SKIPS) h = op.concat([h, skips[SKIPS - 1 - i]], 1);
  });
  return imageHead(conv2d(scope.child('out'), h, { cout: 3 }));
}
