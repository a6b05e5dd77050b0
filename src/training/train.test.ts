import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { Rng } from '../core/random.ts';
import * as op from '../graph/ops.ts';
import { conv2d, convBnAct, convTranspose2d } from '../nn/layers.ts';
import { initNetwork, lookup, ParamStore } from '../nn/params.ts';
import { Engine } from '../runtime/engine.ts';
import { hostTensor } from '../runtime/tensor.ts';
import { Adam } from './adam.ts';
import { TrainStep, buildTrainGraph, updateRunningStats } from './step.ts';

const PHOTOS = new URL('../../../shared/data/photos/', import.meta.url).pathname;

/** A few real photos as a [N, 3, S, S] batch in [0, 1]. */
async function photoBatch(n: number, s: number): Promise<Float32Array> {
  const dir = join(PHOTOS, 'enlightenment-data');
  const files = readdirSync(dir).sort().slice(0, n);
  const out = new Float32Array(n * 3 * s * s);
  for (const [i, f] of files.entries()) {
    const raw = await sharp(join(dir, f)).resize(s, s).removeAlpha().raw().toBuffer();
    for (let p = 0; p < s * s; p++) for (let c = 0; c < 3; c++) out[((i * 3 + c) * s * s) + p] = raw[p * 3 + c] / 255;
  }
  return out;
}

describe('training engine', () => {
  let engine: Engine;
  after(async () => engine?.dispose());

  it('trains a small convolutional autoencoder: the loss falls well below its start', async () => {
    engine = await Engine.create();
    const [N, S] = [4, 32];
    const spec = buildTrainGraph('autoencoder', (scope) => {
      const x = scope.graph.input('x', [N, 3, S, S]);
      let h = convBnAct(scope.child('enc0'), x, { cout: 16, stride: 2 });
      h = convBnAct(scope.child('enc1'), h, { cout: 32, stride: 2 });
      h = op.relu(convTranspose2d(scope.child('dec0'), h, { cout: 16 }));
      h = op.relu(convTranspose2d(scope.child('dec1'), h, { cout: 16 }));
      const y = op.sigmoid(conv2d(scope.child('out'), h, { cout: 3 }));
      return { loss: op.reduceMean(op.square(op.sub(y, x))), metrics: { l1: op.reduceMean(op.abs(op.sub(y, x))) } };
    });
    const net = initNetwork(spec.specs, new Rng(7));
    const adam = new Adam(net.params, { lr: 3e-3 });
    const step = await TrainStep.create(engine, spec);
    const x = hostTensor(await photoBatch(N, S), [N, 3, S, S]);
    const losses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const r = await step.run(lookup(net.params), { x });
      assert.ok(Number.isFinite(r.loss) && Number.isFinite(r.metrics.l1));
      adam.step(r.grads);
      updateRunningStats(net.buffers, r.stats);
      losses.push(r.loss);
    }
    step.dispose();
    const start = losses[0];
    const end = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    assert.ok(end < 0.25 * start, `loss ${start.toFixed(4)} -> ${end.toFixed(4)}`);
    // Running statistics moved away from their initial values (mean 0, variance 1).
    assert.ok(net.buffers.get('enc0.bn.running_mean').data.some((v) => Math.abs(v) > 1e-3));
  });
});

describe('batch-norm running statistics', () => {
  it("move a tenth of the way to each batch's statistics (PyTorch's momentum 0.1), fixed values", () => {
    const buffers = new ParamStore();
    buffers.add('bn.running_mean', [3], Float32Array.from([0, 1, -2]));
    buffers.add('bn.running_var', [1], Float32Array.from([1]));
    const batch = new Map([
      ['bn.running_mean', Float32Array.from([1, 1, 8])],
      ['bn.running_var', Float32Array.from([3])],
    ]);
    updateRunningStats(buffers, batch);
    assert.deepEqual(Array.from(buffers.get('bn.running_mean').data), [Math.fround(0.1), 1, -1]);
    assert.deepEqual(Array.from(buffers.get('bn.running_var').data), [Math.fround(1.2)]);
    updateRunningStats(buffers, batch);
    assert.deepEqual(Array.from(buffers.get('bn.running_var').data), [Math.fround(Math.fround(1.2) + 0.1 * (3 - Math.fround(1.2)))]);
  });
});
