/**
 * The relu3_1 grid: where the feature cells lie over the image's pixels, and which cells a pixel
 * mask makes holes, on the host and in a graph (one rule for inference, training and patch-swap).
 *
 * Mask rule [ours]: relu3_1 comes after two 2x2 max-pools in ceil mode, so feature cell (i, j) sees
 * pixels [4i, 4i + 4) x [4j, 4j + 4), clipped at the image edge, and the feature map is
 * ceil(ceil(H / 2) / 2) x ceil(ceil(W / 2) / 2). A cell is a hole if ANY of its pixels is. This is
 * conservative: a thin brush stroke always reaches the feature map, and no cell whose features
 * were computed from hole pixels (G1's guess) is treated as known, so it never serves as a
 * candidate. The price is a hole up to 3 pixels wider per side in feature space.
 */
import { expect, UsageError } from '../core/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { VGG_CHANNELS } from './frozen-vgg.ts';

/** Pixels per feature cell along each axis at relu3_1. */
export const FEATURE_STRIDE = 4;

/**
 * The relu3_1 size of an image side (two 2x2 ceil-mode pools).
 * @example
 * featureSize(255); // 64
 */
export function featureSize(pixels: number): number {
  return Math.ceil(Math.ceil(pixels / 2) / 2);
}

/**
 * The relu3_1 features' shape for a batch of `n` images of `height` x `width` pixels.
 * @example
 * featureShape(2, 256, 256); // [2, 256, 64, 64]
 */
export function featureShape(n: number, height: number, width: number): [number, number, number, number] {
  return [n, VGG_CHANNELS, featureSize(height), featureSize(width)];
}

/**
 * Maps a pixel mask (1 = hole) to the relu3_1 grid: a cell is a hole (1) if any pixel of its 4x4
 * block is, else known (0). See the file comment for why.
 * @returns float32 [1, 1, featureH, featureW], ready as the `mask` of `PatchSwapper.swap`
 * @example
 * const mask = mapMaskToFeatures(pixelMask, featureSize(pixelMask.height), featureSize(pixelMask.width));
 * @throws UsageError if the mask's data does not hold width * height bytes, or the feature size is
 *   not ceil(ceil(side / 2) / 2) of the mask's
 */
export function mapMaskToFeatures(pixelMask: { width: number; height: number; data: Uint8Array }, featureH: number, featureW: number): HostTensor {
  const { width, height, data } = pixelMask;
  expect(Number.isSafeInteger(width) && Number.isSafeInteger(height) && width > 0 && height > 0, 'pixelMask size', 'positive integers', [width, height]);
  expect(data instanceof Uint8Array && data.length === width * height, 'pixelMask.data', `a Uint8Array of ${width * height} bytes`, data);
  if (featureH !== featureSize(height) || featureW !== featureSize(width)) {
    throw new UsageError(
      `a ${width}x${height} pixel mask maps to a ${featureSize(width)}x${featureSize(height)} relu3_1 grid (ceil(ceil(side / 2) / 2)), but ${featureW}x${featureH} was asked for`,
    );
  }
  const cells = new Float32Array(featureH * featureW);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / FEATURE_STRIDE) * featureW;
    for (let x = 0; x < width; x++) if (data[y * width + x]) cells[row + Math.floor(x / FEATURE_STRIDE)] = 1;
  }
  return hostTensor(cells, [1, 1, featureH, featureW]);
}

/** `mapMaskToFeatures` in a graph: [N, 1, H, W] pixels (1 = hole) to [N, 1, ceil(H / 4), ceil(W / 4)] cells. */
export function featureMaskGraph(mask: Tensor): Tensor {
  return op.maxPool(mask, { kernel: [FEATURE_STRIDE, FEATURE_STRIDE], strides: [FEATURE_STRIDE, FEATURE_STRIDE], ceilMode: true });
}

/**
 * Whether a feature-resolution mask (values > 0.5 = hole) leaves at least one complete known 3x3
 * patch: patch-swap needs one candidate to copy from.
 * @example
 * hasKnownPatch(mapMaskToFeatures(mask, fh, fw).data as Float32Array, fh, fw);
 */
export function hasKnownPatch(cells: ArrayLike<number>, height: number, width: number): boolean {
  for (let y = 0; y + 3 <= height; y++) {
    for (let x = 0; x + 3 <= width; x++) {
      let known = true;
      for (let k = 0; k < 9 && known; k++) known = cells[(y + Math.floor(k / 3)) * width + x + (k % 3)] <= 0.5;
      if (known) return true;
    }
  }
  return false;
}
