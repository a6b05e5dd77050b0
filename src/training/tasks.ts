/**
 * The trainings as step graphs: a generator step, and a discriminator step where the task has one.
 *
 *  - `g1`: Image2Feature with D1 on (I0, image) pairs. G loss = 10 x masked perceptual l1 on relu3_1
 *    (hole-weighted, boundary band emphasised) + 1 x adversarial (§3.3.1) [+ ours: pixel l1 over the hole].
 *  - `g2`: Feature2Image with D2 on (features, image) pairs, fed ground-truth features after
 *    patch-swap with a random hole. G loss = 10 x perceptual l2 on relu3_1 + 1 x adversarial (§3.3.3)
 *    [+ ours: pixel l1 over the image].
 *  - `guide` (ours, docs/decisions/feature-guide.md): the feature guide, relu3_1 of I0 -> relu3_1 of
 *    the hole, with no discriminator: its output is read by patch-swap's match, not looked at, so
 *    there is nothing for an adversary to judge. Loss = 1 x patch cosine (what the match reads) +
 *    10 x masked l1 of the predicted cell colours over the hole (the `pixel` weight).
 *
 * `defineTask` is the one definition of each (data, the generator's forward pass and losses, D's view
 * if any); `buildTaskGraphs` makes the training steps of it and `validator.ts` the validation graph.
 * Each step returns its loss and gradients; a generator step with a discriminator also returns its
 * fake images, which the discriminator step reads as data (so no gradient flows from D's loss into G).
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { FEATURE_STRIDE, featureMaskGraph, featureShape } from '../features/grid.ts';
import type { VggWeights } from '../features/vgg-weights.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { discriminatorLoss, generatorLoss } from '../losses/adversarial.ts';
import { maskedPerceptualL1, patchCosineLoss, perceptualL2 } from '../losses/perceptual.ts';
import { l1 } from '../losses/pixel.ts';
import type { ModelConfig } from '../models/config.ts';
import { maskedInput } from '../models/image2feature.ts';
import { createNetwork } from '../models/registry.ts';
import type { Scope } from '../nn/scope.ts';
import { buildTrainGraph, type LossOutput, type TrainGraph } from './step.ts';

/** The tasks trained against a discriminator: the paper's two generators. */
export type TaskKind = 'g1' | 'g2';
/** Every task `inpaint train` runs: the paper's two, and the feature guide (ours, no discriminator). */
export type TrainTask = TaskKind | 'guide';
export const TRAIN_TASKS: readonly TrainTask[] = ['g1', 'g2', 'guide'];

export interface LossWeights {
  /** lambda for the perceptual term (paper: 10). */
  perceptual: number;
  /** lambda for the adversarial term (paper: 1; 0 for the guide, which has no discriminator). */
  adversarial: number;
  /**
   * lambda for a pixel l1 term [ours; the paper has none, 0 turns it off]: over the hole for G1,
   * over the whole image for G2, over the hole's predicted cell colours for the guide. It anchors
   * colour, which relu3_1 features carry only weakly (docs/decisions/pixel-loss.md).
   */
  pixel: number;
}

/** loss = perceptual * lambda_p + pixel * lambda_pixel [+ adversarial * lambda_a where there is a discriminator]. */
function weighted(w: LossWeights, perceptual: Tensor, pixel: Tensor, adversarial?: Tensor): Tensor {
  const loss = op.add(op.mul(perceptual, w.perceptual), op.mul(pixel, w.pixel));
  return adversarial ? op.add(loss, op.mul(adversarial, w.adversarial)) : loss;
}

/** A batch as graph inputs: the ground truth, and G1's and the guide's hole mask or G2's swapped features. */
export type TaskData = { image: Tensor; mask: Tensor; features?: undefined } | { image: Tensor; features: Tensor; mask?: undefined };

/** The generator's image and its loss terms, as `Task.generate` builds them. */
export interface Generated {
  /**
   * The image: G1's composite (known pixels kept), G2's rendering, or the guide's predicted cell
   * colours in the hole (each repeated over its 4x4 pixels; known pixels kept), which shows what
   * the guide predicts.
   */
  fake: Tensor;
  /** The task's perceptual loss, the validation score. */
  perceptual: Tensor;
  /** The pixel term [ours]. */
  pixel: Tensor;
}

/** What a discriminator sees of a task (G1's and G2's; the guide has none). */
export interface Discriminator {
  /** D's condition beside the image: G1's masked input I0 (with the mask), G2's features. */
  condition(data: TaskData): Tensor;
  /** D's logits for `image` under `condition`. */
  discriminate(scope: Scope, condition: Tensor, image: Tensor): Tensor;
}

/**
 * One task's networks and losses, the single definition that the training steps and validation build
 * on: the data a batch feeds, the generator's forward pass with its loss terms, and D's view of an
 * image where the task has a discriminator. Validation is `generate` in eval mode without the
 * adversarial term or the backward pass, so the two cannot drift apart.
 */
export interface Task {
  readonly kind: TrainTask;
  /** The trained network's parameter prefix ('g1', 'g2' or 'guide'). */
  readonly gName: TrainTask;
  /** The discriminator's parameter prefix ('d1', 'd2'), absent for the guide. */
  readonly dName?: 'd1' | 'd2';
  /** Crop size in pixels. */
  readonly size: number;
  /**
   * Declares a batch of `n` as graph inputs: 'image' (the ground truth, [n, 3, S, S]) and G1's or the
   * guide's 'mask' ([n, 1, S, S], 1 = hole; I0 is derived from both inside the graph) or G2's
   * 'features' (the ground truth's swapped relu3_1, `featureShape(n, S, S)`, computed outside per sample).
   */
  inputs(graph: Graph, n: number): TaskData;
  /**
   * The generator's image from the data, with the task's losses on it: G1's composite with the masked
   * perceptual l1 on relu3_1 (hole-weighted, boundary band emphasised) and the pixel l1 over the hole;
   * G2's rendering with the perceptual l2 on relu3_1 and the pixel l1 over the image; the guide's
   * prediction with the patch cosine on relu3_1 and the masked l1 of its cell colours.
   */
  generate(scope: Scope, data: TaskData): Generated;
  /** D's view, absent for a task without a discriminator. */
  readonly discriminator?: Discriminator;
}

/** A task with a discriminator (G1's, G2's). */
export interface GanTask extends Task {
  readonly kind: TaskKind;
  readonly gName: TaskKind;
  readonly dName: 'd1' | 'd2';
  readonly discriminator: Discriminator;
}

/** The task of training `kind` (its generator, with its D if it has one) on crops of `size` pixels. */
export function defineTask(kind: TaskKind, model: ModelConfig, vgg: VggWeights, size: number): GanTask;
export function defineTask(kind: TrainTask, model: ModelConfig, vgg: VggWeights, size: number): Task;
export function defineTask(kind: TrainTask, model: ModelConfig, vgg: VggWeights, size: number): Task {
  const S = size;
  const gNet = createNetwork(kind, model);
  const features = (g: Graph, x: Tensor) => vggRelu31(g, x, vgg);
  const withMask = (graph: Graph, n: number) => ({ image: graph.input('image', [n, 3, S, S]), mask: graph.input('mask', [n, 1, S, S]) });

  if (kind === 'guide') {
    return {
      kind,
      gName: kind,
      size,
      inputs: withMask,
      generate: (scope, { image, mask }) => {
        const cells = featureMaskGraph(mask!);
        // I0 without its mask channel: VGG reads three.
        const masked = features(scope.graph, op.slice(maskedInput(image, mask!), [0], [3], [1]));
        const guess = gNet.build(scope.child('guide'), { masked, cells });
        const cellColours = op.averagePool(image, { kernel: [FEATURE_STRIDE, FEATURE_STRIDE], strides: [FEATURE_STRIDE, FEATURE_STRIDE] });
        // Each cell's colour over its 4x4 pixels, clipped to the range of an image (it is shown and scored as one).
        const painted = op.min(op.max(op.resize(guess.colour, { scale: FEATURE_STRIDE }), 0), 1);
        return {
          fake: op.add(op.mul(image, op.sub(1, mask!)), op.mul(painted, mask!)),
          perceptual: patchCosineLoss(guess.features, features(scope.graph, image), cells),
          pixel: maskedPerceptualL1(guess.colour, cellColours, cells),
        };
      },
    };
  }
  const dName = kind === 'g1' ? 'd1' : 'd2';
  const dNet = createNetwork(dName, model);
  const common = { kind, gName: kind, dName, size } as const;
  const discriminate = (scope: Scope, condition: Tensor, image: Tensor) =>
    dNet.build(scope.child(dName), kind === 'g1' ? { masked: condition, image } : { features: condition, image }).logits;

  if (kind === 'g1') {
    return {
      ...common,
      inputs: withMask,
      generate: (scope, { image, mask }) => {
        const fake = gNet.build(scope.child('g1'), { image, mask: mask! }).composite;
        const perceptual = maskedPerceptualL1(features(scope.graph, fake), features(scope.graph, image), featureMaskGraph(mask!));
        return { fake, perceptual, pixel: l1(fake, image, mask!) };
      },
      discriminator: { condition: (data) => maskedInput(data.image, data.mask!), discriminate },
    };
  }
  return {
    ...common,
    inputs: (graph, n) => ({ image: graph.input('image', [n, 3, S, S]), features: graph.input('features', featureShape(n, S, S)) }),
    generate: (scope, { image, features: swapped }) => {
      const fake = gNet.build(scope.child('g2'), { features: swapped! }).image;
      return { fake, perceptual: perceptualL2(features(scope.graph, fake), features(scope.graph, image)), pixel: l1(fake, image) };
    },
    discriminator: { condition: (data) => data.features!, discriminate },
  };
}

export interface TaskGraphs {
  /** The definition the steps are built from (names, data, losses). */
  readonly task: Task;
  /**
   * Generator step: data inputs as in `Task.inputs`; metrics perceptual, pixel (and adversarial
   * with a discriminator); with a discriminator, extra 'fake'.
   */
  readonly g: TrainGraph;
  /** Discriminator step, absent without one: the same data inputs plus 'fake'; metrics real, fake (mean logits). */
  readonly d?: TrainGraph;
}

/** The step graphs of a task with a discriminator (G1's, G2's). */
export interface GanGraphs extends TaskGraphs {
  readonly task: GanTask;
  readonly d: TrainGraph;
}

export interface TaskOptions {
  kind: TrainTask;
  model: ModelConfig;
  vgg: VggWeights;
  batch: number;
  /** Crop size in pixels. */
  size: number;
  weights: LossWeights;
}

/** Builds the step graphs of a training task: the generator's, and the discriminator's if it has one. */
export function buildTaskGraphs(o: TaskOptions): TaskGraphs {
  const task = defineTask(o.kind, o.model, o.vgg, o.size);
  const [B, S] = [o.batch, o.size];
  const critic = task.discriminator;
  const g = buildTrainGraph(
    `${task.gName}_step`,
    (scope): LossOutput => {
      const data = task.inputs(scope.graph, B);
      const { fake, perceptual, pixel } = task.generate(scope, data);
      if (!critic) return { loss: weighted(o.weights, perceptual, pixel), metrics: { perceptual, pixel } };
      const adversarial = generatorLoss(critic.discriminate(scope, critic.condition(data), fake));
      return { loss: weighted(o.weights, perceptual, pixel, adversarial), metrics: { perceptual, adversarial, pixel }, extras: { fake } };
    },
    task.dName ? [task.dName] : [],
  );
  if (!critic) return { task, g };
  const meanLogit = (t: Tensor) => op.reduceMean(t);
  // D reads G's images as data, so no gradient flows from D's loss into G.
  const d = buildTrainGraph(`${task.dName}_step`, (scope) => {
    const data = task.inputs(scope.graph, B);
    const fake = scope.graph.input('fake', [B, 3, S, S]);
    const condition = critic.condition(data);
    const real = critic.discriminate(scope, condition, data.image);
    const fakeLogits = critic.discriminate(scope, condition, fake);
    return { loss: discriminatorLoss(real, fakeLogits), metrics: { real: meanLogit(real), fake: meanLogit(fakeLogits) } };
  });
  return { task, g, d };
}

/** `buildTaskGraphs` for a task with a discriminator, typed so (both steps present). */
export function buildGanGraphs(o: TaskOptions & { kind: TaskKind }): GanGraphs {
  return buildTaskGraphs(o) as GanGraphs;
}
