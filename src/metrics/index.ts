/**
 * Image-quality metrics for evaluating inpainting: the paper's mean l1 error and SSIM, plus PSNR,
 * a VGG perceptual distance and the fill's detail against the original's. Each is a streaming
 * object (`update` per image, `compute` for the mean, `reset`); see metric.ts.
 */
import type { FrozenVgg } from '../features/vgg.ts';
import type { Engine } from '../runtime/engine.ts';
import { HoleDetail, HoleTexture } from './detail.ts';
import type { Metric } from './metric.ts';
import { PerceptualDistance } from './perceptual.ts';
import { MeanL1Error, Psnr } from './pixel.ts';
import { Ssim } from './ssim.ts';

export { HoleDetail, HoleTexture } from './detail.ts';
export { checkPair, MeanMetric, type Metric, type MetricRegion, requireHole } from './metric.ts';
export { PerceptualDistance } from './perceptual.ts';
export { MeanL1Error, Psnr } from './pixel.ts';
export { Ssim, ssim, ssimHoleBox, SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW } from './ssim.ts';

/**
 * The evaluation's metric set, fresh: l1_hole, l1_image, psnr, ssim, ssim_hole, detail_hole,
 * texture_hole, and perceptual when a VGG network and an engine to run it on are given. Every one
 * but psnr, ssim and perceptual needs the mask in `update`.
 * @example
 * const metrics = standardMetrics();
 * for (const m of metrics) console.log(m.name, m.update(output, truth, mask));
 */
export function standardMetrics(perceptual?: { vgg: FrozenVgg; engine: Engine }): Metric[] {
  const metrics: Metric[] = [new MeanL1Error('hole'), new MeanL1Error('image'), new Psnr(), new Ssim('image'), new Ssim('hole'), new HoleDetail(), new HoleTexture()];
  if (perceptual) metrics.push(new PerceptualDistance(perceptual.vgg, perceptual.engine));
  return metrics;
}
