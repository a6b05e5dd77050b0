/**
 * Per-pixel error metrics: the paper's mean l1 error (in percent of the [0, 1] range) and PSNR.
 */
import type { MaskImage, RgbImage } from '../core/image.ts';
import { checkPair, MeanMetric, type MetricRegion, requireHole } from './metric.ts';

/**
 * Mean absolute error in percent: 100 * mean |pred - target| over the region's pixels and the three
 * channels, pixel values in [0, 1]. The paper's "mean l1 error" is the whole-image one; the hole one
 * is reported too because on small holes the known pixels (identical for every method) dilute the
 * whole-image error towards zero.
 * @example
 * const l1 = new MeanL1Error('hole');
 * l1.update(output, truth, mask); // this image's error, e.g. 7.3 (%)
 * l1.compute();                   // the mean over every image so far
 */
export class MeanL1Error extends MeanMetric {
  readonly name: string;
  readonly unit = '%';
  readonly higherIsBetter = false;

  constructor(readonly region: MetricRegion = 'image') {
    super();
    this.name = `l1_${region}`;
  }

  /**
   * @throws UsageError mismatched sizes, or (region 'hole') a missing or empty mask
   */
  update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number {
    checkPair(pred, target, mask);
    const hole = this.region === 'hole' ? requireHole(mask, this.name).data : undefined;
    const plane = target.width * target.height;
    let sum = 0;
    let pixels = 0;
    for (let i = 0; i < plane; i++) {
      if (hole && !hole[i]) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(pred.data[c * plane + i] - target.data[c * plane + i]);
      pixels++;
    }
    return this.record((100 * sum) / (3 * pixels));
  }
}

/**
 * Peak signal-to-noise ratio of the whole image in dB, data range 1: 10 log10(1 / MSE), the MSE over
 * every pixel and channel. Infinity for identical images (and so for the mean of a set holding one).
 * @example
 * const psnr = new Psnr();
 * psnr.update(output, truth); // e.g. 24.1 (dB)
 */
export class Psnr extends MeanMetric {
  readonly name = 'psnr';
  readonly unit = 'dB';
  readonly higherIsBetter = true;

  /**
   * @throws UsageError mismatched sizes
   */
  update(pred: RgbImage, target: RgbImage): number {
    checkPair(pred, target);
    let sum = 0;
    for (let i = 0; i < target.data.length; i++) {
      const d = pred.data[i] - target.data[i];
      sum += d * d;
    }
    return this.record(10 * Math.log10(target.data.length / sum));
  }
}
