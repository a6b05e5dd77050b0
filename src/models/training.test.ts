import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Rng } from '../core/random.ts';
import * as op from '../graph/ops.ts';
import { Engine } from '../runtime/engine.ts';
import { hostTensor, type HostTensor } from '../runtime/tensor.ts';
import { buildTrainGraph, TrainStep } from '../training/step.ts';
import { initNetwork, lookup } from '../nn/params.ts';
import { MODEL_PRESETS } from './config.ts';
import { createNetwork, NETWORK_KINDS } from './registry.ts';

/** Training crop per kind: G2 needs 64x64 features (256 pixels); the others train on small crops. */
const SIDE = { g1: 64, g2: 256, d1: 64, d2: 64, guide: 64 } as const;
const BATCH = 2;

describe('training graphs of the tiny networks', () => {
  let engine: Engine | undefined;
  after(async () => engine?.dispose());

  it('each builds, and one step on an Engine gives a finite loss and a finite, non-zero gradient for every parameter', async () => {
    engine = await Engine.create();
    for (const kind of NETWORK_KINDS) {
      const network = createNetwork(kind, MODEL_PRESETS.tiny);
      const shapes = network.inputShapes({ batch: BATCH, height: SIDE[kind], width: SIDE[kind] });
      const spec = buildTrainGraph(`${kind}-step`, (scope) => {
        const inputs = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, scope.graph.input(name, shape)]));
        const outputs = Object.values(network.build(scope.child(kind), inputs));
        // Any loss that reaches every output will do: the squared distance to mid grey.
        const terms = outputs.map((t) => op.reduceMean(op.square(op.sub(t, 0.5))));
        return { loss: terms.reduce((a, b) => op.add(a, b)) };
      });
      const state = initNetwork(spec.specs, new Rng(11));
      const rng = new Rng(12);
      const data: Record<string, HostTensor> = Object.fromEntries(
        Object.entries(spec.data).map(([name, shape]) => {
          const dims = shape as number[];
          const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (name === 'mask' || name === 'cells' ? Number(rng.next() < 0.3) : rng.next()));
          return [name, hostTensor(values, dims)];
        }),
      );
      const step = await TrainStep.create(engine, spec);
      try {
        const result = await step.run(lookup(state.params), data);
        assert.ok(Number.isFinite(result.loss) && result.loss > 0, `${kind} loss ${result.loss}`);
        assert.equal(result.grads.size, state.params.names().length, `${kind}: a gradient for every parameter`);
        for (const [name, grad] of result.grads) {
          assert.ok(grad.every(Number.isFinite), `${name} gradient finite`);
          assert.ok(grad.some((v) => v !== 0), `${name} gradient non-zero`);
        }
        // One batch statistic pair (mean, variance) per batch norm, every one finite (the guide has none).
        assert.ok((result.stats.size > 0 || kind === 'guide') && result.stats.size === state.buffers.names().length, `${kind} stats`);
        for (const [name, s] of result.stats) assert.ok(s.every(Number.isFinite), `${name} finite`);
      } finally {
        step.dispose();
      }
    }
  });
});
