/**
 * The two trainings of the paper as pairs of step graphs (generator step, discriminator step):
 *
 *  - `g1`: Image2Feature with D1 on (I0, image) pairs. G loss = 10 x masked perceptual l1 on relu3_1
 *    (hole-weighted, boundary band emphasised) + 1 x adversarial (§3.3.1) [+ ours: pixel l1 over the hole].
 *  - `g2`: Feature2Image with D2 on (features, image) pairs, fed ground-truth features after
 *    patch-swap with a random hole. G loss = 10 x perceptual l2 on relu3_1 + 1 x adversarial (§3.3.3)
 *    [+ ours: pixel l1 over the image].
 *
 * Each step returns its loss and gradients; the generator step also returns its fake images, which
 * the discriminator step reads as data (so no gradient flows from D's loss into G).
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { featureMaskGraph } from '../features/grid.ts';
import type { VggWeights } from '../features/vgg-weights.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { discriminatorLoss, generatorLoss } from '../losses/adversarial.ts';
import { maskedPerceptualL1, perceptualL2 } from '../losses/perceptual.ts';
import { l1 } from '../losses/pixel.ts';
import type { ModelConfig } from '../models/config.ts';
import { maskedInput } from '../models/image2feature.ts';
import { createNetwork } from '../models/registry.ts';
import type { Scope } from '../nn/scope.ts';
import { buildTrainGraph, type TrainGraph } from './step.ts';

export type TaskKind = 'g1' | 'g2';

export interface LossWeights {
  /** lambda for the perceptual term (paper: 10). */
  perceptual: number;
  /** lambda for the adversarial term (paper: 1). */
  adversarial: number;
  /**
   * lambda for a pixel l1 term [ours; the paper has none, 0 turns it off]: over the hole for G1,
   * over the whole image for G2. It anchors colour, which relu3_1 features carry only weakly
   * (docs/decisions/pixel-loss.md).
   */
  pixel: number;
}

/** loss = perceptual * lambda_p + adversarial * lambda_a + pixel * lambda_pixel. */
function weighted(w: LossWeights, perceptual: Tensor, adversarial: Tensor, pixel: Tensor): Tensor {
  return op.add(op.add(op.mul(perceptual, w.perceptual), op.mul(adversarial, w.adversarial)), op.mul(pixel, w.pixel));
}

export interface GanGraphs {
  readonly kind: TaskKind;
  /** The generator's and discriminator's parameter prefixes ('g1', 'd1' or 'g2', 'd2'). */
  readonly gName: string;
  readonly dName: string;
  /** Generator step: data inputs as in `dataInputs`; metrics perceptual, adversarial; extra 'fake'. */
  readonly g: TrainGraph;
  /** Discriminator step: the same data inputs plus 'fake'; metrics real, fake (mean logits). */
  readonly d: TrainGraph;
}

export interface TaskOptions {
  kind: TaskKind;
  model: ModelConfig;
  vgg: VggWeights;
  batch: number;
  /** Crop size in pixels. */
  size: number;
  weights: LossWeights;
}

/** Builds both step graphs of a training task. */
export function buildGanGraphs(o: TaskOptions): GanGraphs {
  const [B, S] = [o.batch, o.size];
  const gNet = createNetwork(o.kind, o.model);
  const dName = o.kind === 'g1' ? 'd1' : 'd2';
  const dNet = createNetwork(dName, o.model);
  const vgg = (g: Graph, x: Tensor) => vggRelu31(g, x, o.vgg);
  const meanLogit = (t: Tensor) => op.reduceMean(t);

  if (o.kind === 'g1') {
    // Data: the ground truth and the hole mask; I0 is derived from them inside the graph.
    const inputs = (scope: Scope) => ({ image: scope.graph.input('image', [B, 3, S, S]), mask: scope.graph.input('mask', [B, 1, S, S]) });
    const g = buildTrainGraph(
      'g1_step',
      (scope) => {
        const { image, mask } = inputs(scope);
        const { composite } = gNet.build(scope.child('g1'), { image, mask });
        const perceptual = maskedPerceptualL1(vgg(scope.graph, composite), vgg(scope.graph, image), featureMaskGraph(mask));
        const logits = dNet.build(scope.child('d1'), { masked: maskedInput(image, mask), image: composite }).logits;
        const adversarial = generatorLoss(logits);
        const pixel = l1(composite, image, mask);
        return { loss: weighted(o.weights, perceptual, adversarial, pixel), metrics: { perceptual, adversarial, pixel }, extras: { fake: composite } };
      },
      ['d1'],
    );
    const d = buildTrainGraph('d1_step', (scope) => {
      const { image, mask } = inputs(scope);
      const fake = scope.graph.input('fake', [B, 3, S, S]);
      const masked = maskedInput(image, mask);
      const real = dNet.build(scope.child('d1'), { masked, image }).logits;
      const fakeLogits = dNet.build(scope.child('d1'), { masked, image: fake }).logits;
      return { loss: discriminatorLoss(real, fakeLogits), metrics: { real: meanLogit(real), fake: meanLogit(fakeLogits) } };
    });
    return { kind: 'g1', gName: 'g1', dName: 'd1', g, d };
  }

  // g2: data are the ground truth and its swapped relu3_1 features (computed outside, per sample).
  const inputs = (scope: Scope) => ({
    image: scope.graph.input('image', [B, 3, S, S]),
    features: scope.graph.input('features', [B, 256, S / 4, S / 4]),
  });
  const g = buildTrainGraph(
    'g2_step',
    (scope) => {
      const { image, features } = inputs(scope);
      const out = gNet.build(scope.child('g2'), { features }).image;
      const perceptual = perceptualL2(vgg(scope.graph, out), vgg(scope.graph, image));
      const adversarial = generatorLoss(dNet.build(scope.child('d2'), { features, image: out }).logits);
      const pixel = l1(out, image);
      return { loss: weighted(o.weights, perceptual, adversarial, pixel), metrics: { perceptual, adversarial, pixel }, extras: { fake: out } };
    },
    ['d2'],
  );
  const d = buildTrainGraph('d2_step', (scope) => {
    const { image, features } = inputs(scope);
    const fake = scope.graph.input('fake', [B, 3, S, S]);
    const real = dNet.build(scope.child('d2'), { features, image }).logits;
    const fakeLogits = dNet.build(scope.child('d2'), { features, image: fake }).logits;
    return { loss: discriminatorLoss(real, fakeLogits), metrics: { real: meanLogit(real), fake: meanLogit(fakeLogits) } };
  });
  return { kind: 'g2', gName: 'g2', dName: 'd2', g, d };
}
