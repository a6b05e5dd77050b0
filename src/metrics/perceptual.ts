/**
 * A perceptual distance: how far apart two images are in the frozen VGG19's relu3_1 features, the
 * feature space the paper's patch swap and perceptual loss work in.
 */
import type { RgbImage } from '../core/image.ts';
import type { FrozenVgg } from '../features/vgg.ts';
import type { Engine } from '../runtime/engine.ts';
import { checkPair, MeanMetric } from './metric.ts';

/**
 * Mean squared difference of the relu3_1 features of the whole images: the mean over all
 * 256 x ceil(H/4) x ceil(W/4) values of (f(pred) - f(target))². 0 for identical images.
 * The caller owns `vgg` and `engine` and disposes them.
 * @example
 * const vgg = new FrozenVgg(await loadVggWeights(await findVggWeights()));
 * const perceptual = new PerceptualDistance(vgg, await defaultEngine());
 * await perceptual.update(output, truth); // e.g. 0.41
 */
export class PerceptualDistance extends MeanMetric {
  readonly name = 'perceptual';
  readonly unit = '';
  readonly higherIsBetter = false;

  constructor(
    private readonly vgg: FrozenVgg,
    private readonly engine: Engine,
  ) {
    super();
  }

  /**
   * @throws UsageError mismatched sizes, a side below VGG_MIN_SIDE, or pixels outside [0, 1]
   * @throws EngineError when ONNX Runtime fails
   */
  async update(pred: RgbImage, target: RgbImage): Promise<number> {
    checkPair(pred, target);
    const [fp, ft] = [await this.vgg.features(this.engine, pred), await this.vgg.features(this.engine, target)];
    let sum = 0;
    for (let i = 0; i < fp.data.length; i++) {
      const d = fp.data[i] - ft.data[i];
      sum += d * d;
    }
    return this.record(sum / fp.data.length);
  }
}
