import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/random.ts';
import { runOnce } from '../graph/run-once.ts';
import { gradCheck } from '../graph/gradcheck.ts';
import { Graph } from '../graph/graph.ts';
import { batchNorm, batchNormTrain, conv2d, convTranspose2d } from './layers.ts';
import { Scope } from './scope.ts';

describe('layers', () => {
  it('batch norm in training mode has correct gradients (input, scale, shift)', async () => {
    const res = await gradCheck(
      (x, gamma, beta) => batchNormTrain(x, gamma, beta).y,
      [{ shape: [2, 3, 4, 5] }, { shape: [3] }, { shape: [3] }],
      { seed: 3 },
    );
    assert.ok(res.maxRelError < 1e-2, `max relative error ${res.maxRelError}`);
  });

  it('batch norm normalises per channel in training and matches inference with the same statistics', async () => {
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 2 * 3 * 4 * 4 }, () => 3 + 2 * rng.normal());
    const g = new Graph('bn');
    const xin = g.input('x', [2, 3, 4, 4]);
    const scope = Scope.root(g, 'train');
    g.output(batchNorm(scope.child('bn'), xin), 'y');
    for (const s of scope.stats) g.output(s.tensor, s.buffer);
    const gamma = new Float32Array([1, 1, 1]);
    const beta = new Float32Array([0, 0, 0]);
    const out = await runOnce(g, { x: { data: x, shape: [2, 3, 4, 4] }, 'bn.weight': { data: gamma, shape: [3] }, 'bn.bias': { data: beta, shape: [3] } });
    const y = out.y.data;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let n = 0; n < 2; n++) for (let i = 0; i < 16; i++) {
        const v = y[(n * 3 + c) * 16 + i];
        s += v;
        s2 += v * v;
      }
      assert.ok(Math.abs(s / 32) < 1e-5, 'zero mean');
      assert.ok(Math.abs(s2 / 32 - 1) < 1e-3, 'unit variance');
    }
    // Inference with running stats = batch stats (variance de-biased back) gives the same output.
    const mean = out['bn.running_mean'].data;
    const unbiased = out['bn.running_var'].data;
    const biased = unbiased.map((v) => (v * 31) / 32);
    const gi = new Graph('bn_infer');
    const values: Record<string, Float32Array> = { 'bn.weight': gamma, 'bn.bias': beta, 'bn.running_mean': mean, 'bn.running_var': biased };
    const si = Scope.root(gi, 'infer', (n) => values[n]);
    gi.output(batchNorm(si.child('bn'), gi.input('x', [2, 3, 4, 4])), 'y');
    const yi = (await runOnce(gi, { x: { data: x, shape: [2, 3, 4, 4] } })).y.data;
    for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i] - yi[i]) < 1e-4);
  });

  it('conv2d keeps the size with zero and reflect padding, dilation included; convTranspose2d doubles it', () => {
    const g = new Graph('sizes');
    const x = g.input('x', [1, 4, 9, 7]);
    const s = Scope.root(g, 'train');
    assert.deepEqual(conv2d(s.child('a'), x, { cout: 5 }).shape, [1, 5, 9, 7]);
    assert.deepEqual(conv2d(s.child('b'), x, { cout: 5, padding: 'reflect', dilation: 2 }).shape, [1, 5, 9, 7]);
    assert.deepEqual(conv2d(s.child('c'), x, { cout: 5, stride: 2 }).shape, [1, 5, 5, 4]);
    assert.deepEqual(conv2d(s.child('d'), x, { cout: 5, kernel: 4, stride: 2 }).shape, [1, 5, 5, 4]);
    assert.deepEqual(convTranspose2d(s.child('e'), x, { cout: 2 }).shape, [1, 2, 18, 14]);
    assert.deepEqual(convTranspose2d(s.child('f'), x, { cout: 2, kernel: 4 }).shape, [1, 2, 18, 14]);
    assert.deepEqual(s.specs.map((p) => p.name).slice(0, 3), ['a.weight', 'a.bias', 'b.weight']);
  });
});
