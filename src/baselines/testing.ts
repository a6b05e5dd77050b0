/**
 * Synthetic images and error measures shared by the baselines' tests: a periodic texture that
 * patch copying can restore exactly, a smooth gradient that diffusion can, and the naive fills
 * (mean colour, blurred) that a learnt method must beat.
 */
import type { MaskImage, RgbImage } from '../core/image.ts';
import { MeanL1Error } from '../metrics/pixel.ts';

/** A periodic texture: diagonal stripes (period 10 px) in red, vertical ones (period 8 px) in green, their mean in blue. */
export function stripes(width: number, height: number): RgbImage {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const diagonal = 0.5 + 0.4 * Math.sin((2 * Math.PI * (x + 2 * y)) / 10);
      const vertical = 0.5 + 0.4 * Math.cos((2 * Math.PI * x) / 8);
      data[i] = diagonal;
      data[plane + i] = vertical;
      data[2 * plane + i] = (diagonal + vertical) / 2;
    }
  }
  return { width, height, data };
}

/** A smooth image: red rises left to right, green top to bottom, blue gently along the diagonal. */
export function gradient(width: number, height: number): RgbImage {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      data[i] = x / (width - 1);
      data[plane + i] = y / (height - 1);
      data[2 * plane + i] = 0.3 + (0.2 * (x + y)) / (width + height);
    }
  }
  return { width, height, data };
}

/** Mean absolute difference of two images over the hole pixels of `mask`, all channels, in [0, 1]. */
export function holeError(a: RgbImage, b: RgbImage, mask: MaskImage): number {
  return new MeanL1Error('hole').update(a, b, mask) / 100;
}

/** The naive fill: every hole pixel the mean colour of the known ones. */
export function meanColourFill(image: RgbImage, mask: MaskImage): RgbImage {
  const plane = image.width * image.height;
  const data = image.data.slice();
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < plane; i++) {
      if (mask.data[i]) continue;
      sum += image.data[c * plane + i];
      n++;
    }
    for (let i = 0; i < plane; i++) if (mask.data[i]) data[c * plane + i] = sum / n;
  }
  return { ...image, data };
}

/**
 * The blurred fill: every hole pixel the Gaussian-weighted mean (sigma px, window 3 sigma) of the
 * known pixels around it (a normalised convolution, close to what diffusion methods converge to);
 * the mean colour where no known pixel is in reach.
 */
export function blurredFill(image: RgbImage, mask: MaskImage, sigma: number): RgbImage {
  const { width, height } = image;
  const plane = width * height;
  const mean = meanColourFill(image, mask);
  const data = image.data.slice();
  const r = Math.ceil(3 * sigma);
  const kernel = Float32Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask.data[i]) continue;
      const sum = [0, 0, 0];
      let weight = 0;
      for (let v = Math.max(0, y - r); v <= Math.min(height - 1, y + r); v++) {
        for (let u = Math.max(0, x - r); u <= Math.min(width - 1, x + r); u++) {
          const j = v * width + u;
          if (mask.data[j]) continue;
          const w = kernel[v - y + r] * kernel[u - x + r];
          for (let c = 0; c < 3; c++) sum[c] += w * image.data[c * plane + j];
          weight += w;
        }
      }
      for (let c = 0; c < 3; c++) data[c * plane + i] = weight > 1e-12 ? sum[c] / weight : mean.data[c * plane + i];
    }
  }
  return { ...image, data };
}

/** The indices of values outside the hole that are not identical (Object.is: -0 differs from 0) to the input's. */
export function changedKnownValues(input: RgbImage, output: RgbImage, mask: MaskImage): number[] {
  const plane = input.width * input.height;
  const changed: number[] = [];
  for (let i = 0; i < input.data.length; i++) {
    if (!mask.data[i % plane] && !Object.is(input.data[i], output.data[i])) changed.push(i);
  }
  return changed;
}

/** A copy of `image` whose hole pixels hold `value`: what a method must not read. */
export function withHoleValue(image: RgbImage, mask: MaskImage, value: number): RgbImage {
  const plane = image.width * image.height;
  return { ...image, data: image.data.map((v, i) => (mask.data[i % plane] ? value : v)) };
}
