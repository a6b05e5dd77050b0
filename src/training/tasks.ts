/**
 * The two trainings of the paper as pairs of step graphs (generator step, discriminator step):
 *
 *  - `g1`: Image2Feature with D1 on (I0, image) pairs. G loss = 10 x masked perceptual l1 on relu3_1
 *    (hole-weighted, boundary band emphasised) + 1 x adversarial (§3.3.1) [+ ours: pixel l1 over the hole].
 *  - `g2`: Feature2Image with D2 on (features, image) pairs, fed ground-truth features after
 *    patch-swap with a random hole. G loss = 10 x perceptual l2 on relu3_1 + 1 x adversarial (§3.3.3)
 *    [+ ours: pixel l1 over the image].
 *
 * `defineTask` is the one definition of each (data, G's forward pass and perceptual loss, D's view,
 * the pixel term); `buildGanGraphs` makes the training steps of it and `validator.ts` the validation
 * graph. Each step returns its loss and gradients; the generator step also returns its fake images,
 * which the discriminator step reads as data (so no gradient flows from D's loss into G).
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { featureMaskGraph, featureShape } from '../features/grid.ts';
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

/**
 * One task's networks and losses, the single definition that the training steps and validation build
 * on: the data a batch feeds, G's forward pass with the task's perceptual loss, D's view of an image,
 * and the pixel term. Validation is `generate` in eval mode without the adversarial term or the
 * backward pass, so the two cannot drift apart.
 */
export interface Task {
  readonly kind: TaskKind;
  /** The generator's and discriminator's parameter prefixes ('g1', 'd1' or 'g2', 'd2'). */
  readonly gName: 'g1' | 'g2';
  readonly dName: 'd1' | 'd2';
  /** Crop size in pixels. */
  readonly size: number;
  /**
   * Declares a batch of `n` as graph inputs: 'image' (the ground truth, [n, 3, S, S]) and G1's
   * 'mask' ([n, 1, S, S], 1 = hole; I0 is derived from both inside the graph) or G2's 'features'
   * (the ground truth's swapped relu3_1, `featureShape(n, S, S)`, computed outside per sample).
   */
  inputs(graph: Graph, n: number): TaskData;
  /**
   * G's image from the data, and the task's perceptual loss on it: G1's composite (known pixels
   * kept) with the masked perceptual l1 on relu3_1 (hole-weighted, boundary band emphasised); G2's
   * rendering with the perceptual l2 on relu3_1.
   */
  generate(scope: Scope, data: TaskData): { fake: Tensor; perceptual: Tensor };
  /** What D sees beside the image: G1's masked input I0 (with the mask), G2's features. */
  condition(data: TaskData): Tensor;
  /** D's logits for `image` under `condition`. */
  discriminate(scope: Scope, condition: Tensor, image: Tensor): Tensor;
  /** The pixel l1 term [ours]: over the hole for G1, over the whole image for G2. */
  pixel(fake: Tensor, data: TaskData): Tensor;
}

/** A batch as graph inputs: the ground truth, and G1's hole mask or G2's swapped features. */
export type TaskData = { image: Tensor; mask: Tensor; features?: undefined } | { image: Tensor; features: Tensor; mask?: undefined };

/** The task of training `kind` (its G with its D) on crops of `size` pixels. */
export function defineTask(kind: TaskKind, model: ModelConfig, vgg: VggWeights, size: number): Task {
  const S = size;
  const gNet = createNetwork(kind, model);
  const dName = kind === 'g1' ? 'd1' : 'd2';
  const dNet = createNetwork(dName, model);
  const features = (g: Graph, x: Tensor) => vggRelu31(g, x, vgg);
  const common = {
    kind,
    gName: kind,
    dName,
    size,
    discriminate: (scope: Scope, condition: Tensor, image: Tensor) =>
      dNet.build(scope.child(dName), kind === 'g1' ? { masked: condition, image } : { features: condition, image }).logits,
  } as const;

  if (kind === 'g1') {
    return {
      ...common,
      inputs: (graph, n) => ({ image: graph.input('image', [n, 3, S, S]), mask: graph.input('mask', [n, 1, S, S]) }),
      generate: (scope, { image, mask }) => {
        const fake = gNet.build(scope.child('g1'), { image, mask: mask! }).composite;
        return { fake, perceptual: maskedPerceptualL1(features(scope.graph, fake), features(scope.graph, image), featureMaskGraph(mask!)) };
      },
      condition: (data) => maskedInput(data.image, data.mask!),
      pixel: (fake, data) => l1(fake, data.image, data.mask!),
    };
  }
  return {
    ...common,
    inputs: (graph, n) => ({ image: graph.input('image', [n, 3, S, S]), features: graph.input('features', featureShape(n, S, S)) }),
    generate: (scope, { image, features: swapped }) => {
      const fake = gNet.build(scope.child('g2'), { features: swapped! }).image;
      return { fake, perceptual: perceptualL2(features(scope.graph, fake), features(scope.graph, image)) };
    },
    condition: (data) => data.features!,
    pixel: (fake, data) => l1(fake, data.image),
  };
}

export interface GanGraphs {
  /** The definition both steps are built from (names, data, losses). */
  readonly task: Task;
  /** Generator step: data inputs as in `Task.inputs`; metrics perceptual, adversarial, pixel; extra 'fake'. */
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
  const task = defineTask(o.kind, o.model, o.vgg, o.size);
  const [B, S] = [o.batch, o.size];
  const meanLogit = (t: Tensor) => op.reduceMean(t);
  const g = buildTrainGraph(
    `${task.gName}_step`,
    (scope) => {
      const data = task.inputs(scope.graph, B);
      const { fake, perceptual } = task.generate(scope, data);
      const adversarial = generatorLoss(task.discriminate(scope, task.condition(data), fake));
      const pixel = task.pixel(fake, data);
      return { loss: weighted(o.weights, perceptual, adversarial, pixel), metrics: { perceptual, adversarial, pixel }, extras: { fake } };
    },
    [task.dName],
  );
  // D reads G's images as data, so no gradient flows from D's loss into G.
  const d = buildTrainGraph(`${task.dName}_step`, (scope) => {
    const data = task.inputs(scope.graph, B);
    const fake = scope.graph.input('fake', [B, 3, S, S]);
    const condition = task.condition(data);
    const real = task.discriminate(scope, condition, data.image);
    const fakeLogits = task.discriminate(scope, condition, fake);
    return { loss: discriminatorLoss(real, fakeLogits), metrics: { real: meanLogit(real), fake: meanLogit(fakeLogits) } };
  });
  return { task, g, d };
}
