/**
 * G2's training input (§3.3.3): F'gt = patch_swap(vgg(Igt)) with a random hole — ground-truth
 * features, not G1's, because G1's noisy output makes G2 train badly. For the paper's fine-tuning,
 * a share of the samples (`g1Mix`) instead swaps the features of a trained G1's fill.
 */
import { Rng } from '../core/random.ts';
import type { VggWeights } from '../features/vgg-weights.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import { createNetwork } from '../models/registry.ts';
import { readBundle } from '../models/bundle.ts';
import { resolveModelConfig } from '../models/config.ts';
import { Scope } from '../nn/scope.ts';
import { featureMaskGraph, featureShape, hasKnownPatch, mapMaskToFeatures } from '../features/grid.ts';
import { patchSwap } from '../patchswap/index.ts';
import type { Engine, Session } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { readGenerator } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { lookup } from '../nn/params.ts';

export class FeatureSwapper {
  private constructor(
    private readonly size: number,
    private readonly fromImage: Session,
    private readonly fromG1: Session | null,
    private readonly g1Mix: number,
    private readonly seed: number,
  ) {}

  /** Builds the swap graph (VGG, patch-swap) and, with `g1Mix` > 0, the G1-fill variant. */
  static async create(engine: Engine, vgg: VggWeights, config: TrainConfig): Promise<FeatureSwapper> {
    const S = config.size;
    const build = (name: string, fill?: (g: Graph, image: Tensor, mask: Tensor) => Tensor) => {
      const g = new Graph(name);
      const image = g.input('image', [1, 3, S, S]);
      const mask = g.input('mask', [1, 1, S, S]);
      const source = fill ? fill(g, image, mask) : image;
      const features = vggRelu31(g, source, vgg);
      g.output(patchSwap(features, featureMaskGraph(mask)).swapped, 'features');
      g.output(features, 'unswapped');
      return engine.load(toOnnx(g), name);
    };
    const fromImage = await build('swap_gt');
    let fromG1: Session | null = null;
    if (config.g1Mix > 0 && config.g1From) {
      const trained = await readGenerator(config.g1From, 'g1');
      const g1 = createNetwork('g1', resolveModelConfig(trained.model as object));
      const values = lookup(trained.values);
      fromG1 = await build('swap_g1', (g, image, mask) => g1.build(Scope.root(g, 'infer', values).child('g1'), { image, mask }).composite);
    }
    return new FeatureSwapper(S, fromImage, fromG1, config.g1Mix, config.seed);
  }

  /**
   * Swapped relu3_1 features (`featureShape(n, S, S)`) for a batch of images and pixel masks. A sample whose
   * mask leaves no complete known patch keeps its unswapped features (patch-swap has nothing to copy).
   * @param options.step seeds the choice between ground truth and G1 fill, so a resumed run chooses alike
   * @param options.mix the share of G1 fills (default the configured `g1Mix`); validation passes 0, so
   *   that its score measures the same task whatever the mixture or the G1 of a run
   */
  async swap(images: Float32Array, masks: Float32Array, n: number, { step = 0, mix = this.g1Mix }: { step?: number; mix?: number } = {}): Promise<HostTensor> {
    const S = this.size;
    const shape = featureShape(n, S, S);
    const [, channels, f] = shape;
    const plane = S * S;
    const out = new Float32Array(n * channels * f * f);
    const rng = new Rng((this.seed * 7919 + step) >>> 0);
    for (let i = 0; i < n; i++) {
      const mask = masks.slice(i * plane, (i + 1) * plane);
      const session = this.fromG1 && rng.next() < mix ? this.fromG1 : this.fromImage;
      const maskF = mapMaskToFeatures({ width: S, height: S, data: Uint8Array.from(mask, (v) => (v > 0.5 ? 1 : 0)) }, f, f).data as Float32Array;
      const usable = maskF.some((v) => v > 0.5) && hasKnownPatch(maskF, f, f);
      const name = usable ? 'features' : 'unswapped';
      const r = await session.run(
        { image: hostTensor(images.slice(i * 3 * plane, (i + 1) * 3 * plane), [1, 3, S, S]), mask: hostTensor(mask, [1, 1, S, S]) },
        [name],
      );
      out.set(r[name].data as Float32Array, i * channels * f * f);
    }
    return hostTensor(out, shape);
  }

  dispose(): void {
    this.fromImage.dispose();
    this.fromG1?.dispose();
  }
}
