/**
 * A plain float64 reference of VGG19 up to relu3_1, written for clarity rather than speed. It exists
 * to check the real feature extractor and the weights in tests; nothing in the library runs it.
 *
 * Network (see VGG_LAYER_TABLE): conv0 (1x1, RGB [0,1] -> mean-subtracted BGR*255, no ReLU), then
 * conv1_1, conv1_2, pool, conv2_1, conv2_2, pool, conv3_1, where every 3x3 convolution is preceded by
 * reflection padding of 1 and followed by ReLU, and every pool is 2x2 stride 2 in ceil mode.
 */
import { expect } from '../core/errors.ts';
import type { VggLayer, VggLayerName, VggWeights } from './vgg-weights.ts';

/** A [channels, height, width] feature map, row-major. */
export interface FeatureMap {
  channels: number;
  height: number;
  width: number;
  data: Float64Array;
}

/** The activations the reference returns: relu3_1 is the feature, the others are for statistics. */
export interface VggReferenceFeatures {
  relu1_1: FeatureMap;
  relu2_1: FeatureMap;
  relu3_1: FeatureMap;
}

/**
 * Runs the reference network on one image.
 * @param image planar RGB in [0,1], [3, height, width].
 * @returns relu1_1 [64, H, W], relu2_1 [128, ceil(H/2), ceil(W/2)], relu3_1 [256, ceil(ceil(H/2)/2), ...].
 * @throws UsageError when the image length is not 3 * height * width, a side is below 5 (relu3_1
 *   would be one pixel wide, which reflection padding cannot handle), or `weights` lacks a layer.
 */
export function vggReference(weights: VggWeights, image: Float32Array, height: number, width: number): VggReferenceFeatures {
  expect(Number.isInteger(height) && height >= 5, 'height', 'an integer >= 5', height);
  expect(Number.isInteger(width) && width >= 5, 'width', 'an integer >= 5', width);
  expect(image.length === 3 * height * width, 'image length', `3 * ${height} * ${width}`, image.length);
  const layer = (name: VggLayerName): VggLayer => {
    const found = weights.layers.find((l) => l.name === name);
    expect(found !== undefined, 'weights', `a ${name} layer`, weights.layers.map((l) => l.name));
    return found;
  };

  const input: FeatureMap = { channels: 3, height, width, data: Float64Array.from(image) };
  const bgr = conv1x1(input, layer('conv0'));
  const relu1_1 = relu(conv3x3(reflectPad(bgr), layer('conv1_1')));
  const relu1_2 = relu(conv3x3(reflectPad(relu1_1), layer('conv1_2')));
  const relu2_1 = relu(conv3x3(reflectPad(maxPool2x2Ceil(relu1_2)), layer('conv2_1')));
  const relu2_2 = relu(conv3x3(reflectPad(relu2_1), layer('conv2_2')));
  const relu3_1 = relu(conv3x3(reflectPad(maxPool2x2Ceil(relu2_2)), layer('conv3_1')));
  return { relu1_1, relu2_1, relu3_1 };
}

/** 1x1 convolution (conv0): every output pixel is bias + weights times the input channels there. */
function conv1x1(input: FeatureMap, layer: VggLayer): FeatureMap {
  const [outC, inC] = layer.weightShape;
  const { height, width, data: src } = input;
  const plane = height * width;
  const out = new Float64Array(outC * plane);
  for (let o = 0; o < outC; o++) {
    for (let p = 0; p < plane; p++) {
      let sum = layer.bias[o];
      for (let i = 0; i < inC; i++) sum += layer.weight[o * inC + i] * src[i * plane + p];
      out[o * plane + p] = sum;
    }
  }
  return { channels: outC, height, width, data: out };
}

/**
 * Valid (unpadded) 3x3 cross-correlation with OIHW weights plus bias, as torch's Conv2d computes it
 * (the kernel is not flipped). The input is expected already padded, so the output is 2 smaller.
 */
function conv3x3(input: FeatureMap, layer: VggLayer): FeatureMap {
  const [outC, inC] = layer.weightShape;
  const { height: inH, width: inW, data: src } = input;
  const height = inH - 2;
  const width = inW - 2;
  // Output pixel (y, x) is accumulated at y * inW + x, i.e. with the input's row stride, so that all
  // nine taps become one long contiguous loop over the plane (4x faster than per-row loops, which
  // makes 128x128 images practical); the 2 wrapped-around columns per row are dropped when copying out.
  const span = (height - 1) * inW + width;
  const acc = new Float64Array(span);
  const out = new Float64Array(outC * height * width);
  const w = layer.weight;
  for (let o = 0; o < outC; o++) {
    acc.fill(layer.bias[o]);
    for (let i = 0; i < inC; i++) {
      const k = (o * inC + i) * 9;
      const [w00, w01, w02, w10, w11, w12, w20, w21, w22] = [w[k], w[k + 1], w[k + 2], w[k + 3], w[k + 4], w[k + 5], w[k + 6], w[k + 7], w[k + 8]];
      const r0 = i * inH * inW;
      const r1 = r0 + inW;
      const r2 = r1 + inW;
      for (let t = 0; t < span; t++) {
        acc[t] +=
          w00 * src[r0 + t] + w01 * src[r0 + t + 1] + w02 * src[r0 + t + 2] +
          w10 * src[r1 + t] + w11 * src[r1 + t + 1] + w12 * src[r1 + t + 2] +
          w20 * src[r2 + t] + w21 * src[r2 + t + 1] + w22 * src[r2 + t + 2];
      }
    }
    for (let y = 0; y < height; y++) out.set(acc.subarray(y * inW, y * inW + width), (o * height + y) * width);
  }
  return { channels: outC, height, width, data: out };
}

/** Reflection padding of 1 (torch ReflectionPad2d(1)): row -1 mirrors row 1, not row 0. */
function reflectPad(input: FeatureMap): FeatureMap {
  const { channels, height, width, data } = input;
  const ph = height + 2;
  const pw = width + 2;
  const reflect = (j: number, n: number): number => (j < 0 ? -j : j >= n ? 2 * n - 2 - j : j);
  const out = new Float64Array(channels * ph * pw);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < ph; y++) {
      const sy = reflect(y - 1, height);
      for (let x = 0; x < pw; x++) out[(c * ph + y) * pw + x] = data[(c * height + sy) * width + reflect(x - 1, width)];
    }
  }
  return { channels, height: ph, width: pw, data: out };
}

function relu(input: FeatureMap): FeatureMap {
  return { ...input, data: input.data.map((v) => Math.max(v, 0)) };
}

/** 2x2 stride-2 max-pool in ceil mode: an odd last row or column forms a window of its own. */
function maxPool2x2Ceil(input: FeatureMap): FeatureMap {
  const { channels, height, width, data } = input;
  const oh = Math.ceil(height / 2);
  const ow = Math.ceil(width / 2);
  const out = new Float64Array(channels * oh * ow);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let m = -Infinity;
        for (let sy = 2 * y; sy < Math.min(2 * y + 2, height); sy++) {
          for (let sx = 2 * x; sx < Math.min(2 * x + 2, width); sx++) m = Math.max(m, data[(c * height + sy) * width + sx]);
        }
        out[(c * oh + y) * ow + x] = m;
      }
    }
  }
  return { channels, height: oh, width: ow, data: out };
}
