/**
 * One training iteration of a generator and its discriminator on random data (generator step,
 * discriminator step, both Adam updates), as `bench/training.ts` and `bench/spinning.ts` time it.
 */
import type { Rng } from '../src/core/random.ts';
import type { VggWeights } from '../src/features/vgg-weights.ts';
import { countFlops } from '../src/graph/flops.ts';
import { MODEL_PRESETS, type ModelPreset } from '../src/models/config.ts';
import { createNetwork, networkSpecs } from '../src/models/registry.ts';
import type { Engine } from '../src/runtime/engine.ts';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.ts';
import { Adam } from '../src/training/adam.ts';
import { TRAIN_DEFAULTS } from '../src/training/config.ts';
import { TrainStep } from '../src/training/step.ts';
import { initNetwork, lookup } from '../src/nn/params.ts';
import { buildGanGraphs, type TaskKind } from '../src/training/tasks.ts';

export interface TrainingIteration {
  /** Runs one iteration. */
  run: () => Promise<void>;
  /** Conv and matmul FLOPs of both step graphs. */
  flops: number;
  dispose: () => void;
}

/**
 * Builds the step graphs of `kind` for `preset` at `batch` x `size` and random weights and data: a
 * centre hole of half the crop's side (G1), or rectified Gaussian features (G2).
 */
export async function trainingIteration(engine: Engine, vgg: VggWeights, rng: Rng, kind: TaskKind, preset: ModelPreset, batch: number, size: number): Promise<TrainingIteration> {
  const model = MODEL_PRESETS[preset];
  const graphs = buildGanGraphs({ kind, model, vgg, batch, size, weights: TRAIN_DEFAULTS[kind].loss });
  const g = initNetwork(networkSpecs(createNetwork(graphs.task.gName, model)), rng);
  const d = initNetwork(networkSpecs(createNetwork(graphs.task.dName, model)), rng);
  const [gAdam, dAdam] = [new Adam(g.params, { lr: 1e-4 }), new Adam(d.params, { lr: 1e-4 })];
  const [gStep, dStep] = [await TrainStep.create(engine, graphs.g), await TrainStep.create(engine, graphs.d)];
  const image = hostTensor(Float32Array.from({ length: batch * 3 * size * size }, () => rng.next()), [batch, 3, size, size]);
  const mask = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) for (let y = size / 4; y < (3 * size) / 4; y++) mask.fill(1, b * size * size + y * size + size / 4, b * size * size + y * size + (3 * size) / 4);
  const f = size / 4;
  const data: Record<string, HostTensor> =
    kind === 'g1'
      ? { image, mask: hostTensor(mask, [batch, 1, size, size]) }
      : { image, features: hostTensor(Float32Array.from({ length: batch * 256 * f * f }, () => Math.max(0, rng.normal())), [batch, 256, f, f]) };
  return {
    run: async () => {
      const gr = await gStep.run(lookup(g.params, d.params), data);
      const dr = await dStep.run(lookup(d.params), { ...data, fake: gr.extras.fake });
      gAdam.step(gr.grads);
      dAdam.step(dr.grads);
    },
    flops: countFlops(graphs.g.graph) + countFlops(graphs.d.graph),
    dispose: () => {
      gStep.dispose();
      dStep.dispose();
    },
  };
}
