/**
 * The frozen VGG19 feature extractor (up to relu3_1) in Node: frozen-vgg.ts's, re-exported, with
 * `FrozenVgg.load`, which finds the weights file (weights-location.ts) and reads it.
 */
import { FrozenVgg as PortableFrozenVgg } from './frozen-vgg.ts';
import { loadVggWeights } from './vgg-weights.ts';
import { resolveVggWeights, type ResolveVggWeightsOptions } from './weights-location.ts';

export { VGG_CHANNELS, VGG_MIN_SIDE, VGG_RANGE_TOLERANCE, type VggFeatures, type VggImage, vggRelu31 } from './frozen-vgg.ts';

/** `frozen-vgg.ts`'s FrozenVgg, plus loading the weights from a file. */
export class FrozenVgg extends PortableFrozenVgg {
  /**
   * Finds the weights file (see `resolveVggWeights`: explicit path, INPAINT_VGG_WEIGHTS, the cache,
   * else a verified download) and loads it.
   * @example
   *   const vgg = await FrozenVgg.load({ path: 'models/vgg_normalised_conv3_1.pth' });
   * @throws InputError when the file cannot be found, downloaded or read, or holds other tensors.
   */
  static async load(options: ResolveVggWeightsOptions = {}): Promise<FrozenVgg> {
    return new FrozenVgg(await loadVggWeights(await resolveVggWeights(options)));
  }
}
