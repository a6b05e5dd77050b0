import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/random.ts';
import { DIFFERENTIABLE_OPS, gradients } from './autodiff.ts';
import { type GradCheckInput, gradCheck } from './gradcheck.ts';
import { Graph, type Tensor } from './graph.ts';
import * as op from './ops.ts';

const TOLERANCE = 1e-2;

/** Values bounded away from zero (for kinks such as Relu and Abs, and for poles such as Div). */
function awayFromZero(n: number, seed: number, min = 0.3): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * (min + Math.abs(rng.normal())));
}

function positive(n: number, seed: number, min = 0.5): Float32Array {
  return awayFromZero(n, seed, min).map(Math.abs);
}

/** Distinct values spaced 0.1 apart in random order: no near-ties inside a max-pool window. */
function distinct(n: number, seed: number): Float32Array {
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  return Float32Array.from(order, (i) => (i - n / 2) * 0.1);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  op: string;
  build: (...xs: Tensor[]) => Tensor;
  inputs: GradCheckInput[];
}

const cases: Case[] = [
  { name: 'Add broadcast', op: 'Add', build: (a, b) => op.add(a, b), inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3, 1, 1] }] },
  { name: 'Sub broadcast', op: 'Sub', build: (a, b) => op.sub(a, b), inputs: [{ shape: [2, 3] }, { shape: [2, 1] }] },
  { name: 'Mul broadcast', op: 'Mul', build: (a, b) => op.mul(a, b), inputs: [{ shape: [2, 3, 4] }, { shape: [4] }] },
  { name: 'Div broadcast', op: 'Div', build: (a, b) => op.div(a, b), inputs: [{ shape: [3, 4] }, { shape: [3, 1], values: awayFromZero(3, 5, 1) }] },
  { name: 'Pow cube', op: 'Pow', build: (a) => op.pow(a, 3), inputs: [{ shape: [5, 4] }] },
  { name: 'Pow square root', op: 'Pow', build: (a) => op.pow(a, 0.5), inputs: [{ shape: [7], values: positive(7, 2) }] },
  { name: 'Neg', op: 'Neg', build: (a) => op.neg(a), inputs: [{ shape: [6] }] },
  { name: 'Abs', op: 'Abs', build: (a) => op.abs(a), inputs: [{ shape: [3, 5], values: awayFromZero(15, 3) }] },
  { name: 'Sqrt', op: 'Sqrt', build: (a) => op.sqrt(a), inputs: [{ shape: [9], values: positive(9, 4) }] },
  { name: 'Exp', op: 'Exp', build: (a) => op.exp(a), inputs: [{ shape: [2, 4] }] },
  { name: 'Log', op: 'Log', build: (a) => op.log(a), inputs: [{ shape: [8], values: positive(8, 6) }] },
  { name: 'Reciprocal', op: 'Reciprocal', build: (a) => op.reciprocal(a), inputs: [{ shape: [8], values: awayFromZero(8, 7, 0.8) }] },
  { name: 'Relu', op: 'Relu', build: (a) => op.relu(a), inputs: [{ shape: [2, 3, 4], values: awayFromZero(24, 8) }] },
  { name: 'LeakyRelu', op: 'LeakyRelu', build: (a) => op.leakyRelu(a, 0.2), inputs: [{ shape: [2, 12], values: awayFromZero(24, 9) }] },
  { name: 'Tanh', op: 'Tanh', build: (a) => op.tanh(a), inputs: [{ shape: [10] }] },
  { name: 'Sigmoid', op: 'Sigmoid', build: (a) => op.sigmoid(a), inputs: [{ shape: [10] }] },
  { name: 'Softplus', op: 'Softplus', build: (a) => op.softplus(a), inputs: [{ shape: [10] }] },
  { name: 'logSigmoid (Neg, Softplus)', op: 'Softplus', build: (a) => op.logSigmoid(op.mul(a, 4)), inputs: [{ shape: [10] }] },
  { name: 'Identity', op: 'Identity', build: (a) => op.identity(a), inputs: [{ shape: [3] }] },
  { name: 'Cast float32 -> float32', op: 'Cast', build: (a) => op.cast(a, 'float32'), inputs: [{ shape: [3] }] },
  {
    name: 'Where',
    op: 'Where',
    build: (a, b) => op.where(op.greater(a.graph.constant([0, 1, 2, 3, 4, 5], [2, 3]), 2), a, b),
    inputs: [{ shape: [2, 3] }, { shape: [3] }],
  },
  { name: 'Reshape', op: 'Reshape', build: (a) => op.mul(op.reshape(a, [4, -1]), 2), inputs: [{ shape: [2, 3, 4] }] },
  { name: 'Transpose', op: 'Transpose', build: (a) => op.transpose(a, [2, 0, 1]), inputs: [{ shape: [2, 3, 4] }] },
  { name: 'Unsqueeze', op: 'Unsqueeze', build: (a) => op.unsqueeze(a, [0, 2]), inputs: [{ shape: [3, 4] }] },
  { name: 'Squeeze', op: 'Squeeze', build: (a) => op.squeeze(a, [1]), inputs: [{ shape: [3, 1, 4] }] },
  { name: 'Expand', op: 'Expand', build: (a) => op.expand(a, [2, 3, 4]), inputs: [{ shape: [3, 1] }] },
  { name: 'Concat', op: 'Concat', build: (a, b) => op.concat([a, b, a], 1), inputs: [{ shape: [2, 3, 2] }, { shape: [2, 1, 2] }] },
  { name: 'Slice', op: 'Slice', build: (a) => op.slice(a, [1, -3], [3, 100], [0, 2]), inputs: [{ shape: [4, 3, 5] }] },
  { name: 'Pad constant asymmetric', op: 'Pad', build: (a) => op.pad(a, [0, 1, 2, 0, 0, 0, 1, 3]), inputs: [{ shape: [1, 2, 3, 3] }] },
  { name: 'Pad reflect', op: 'Pad', build: (a) => op.pad(a, [0, 0, 2, 1, 0, 0, 1, 2], 'reflect'), inputs: [{ shape: [2, 2, 4, 5] }] },
  { name: 'Pad edge', op: 'Pad', build: (a) => op.pad(a, [0, 0, 2, 0, 0, 0, 1, 3], 'edge'), inputs: [{ shape: [1, 2, 3, 4] }] },
  { name: 'ReduceSum keepdims', op: 'ReduceSum', build: (a) => op.reduceSum(a, [1, 3], true), inputs: [{ shape: [2, 3, 4, 5] }] },
  { name: 'ReduceSum all', op: 'ReduceSum', build: (a) => op.reduceSum(op.square(a)), inputs: [{ shape: [3, 4] }] },
  { name: 'ReduceMean', op: 'ReduceMean', build: (a) => op.reduceMean(a, [0, 2]), inputs: [{ shape: [2, 3, 4] }] },
  { name: 'MatMul 3-D x 2-D', op: 'MatMul', build: (a, b) => op.matMul(a, b), inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }] },
  { name: 'MatMul broadcast batch', op: 'MatMul', build: (a, b) => op.matMul(a, b), inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }] },
  {
    name: 'Conv 3x3 stride 1 pad 1 with bias',
    op: 'Conv',
    build: (x, w, b) => op.conv(x, w, b, { pads: [1, 1, 1, 1] }),
    inputs: [{ shape: [1, 3, 6, 6] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
  },
  {
    name: 'Conv 3x3 stride 2 odd size batch 2',
    op: 'Conv',
    build: (x, w) => op.conv(x, w, null, { strides: [2, 2], pads: [1, 1, 1, 1] }),
    inputs: [{ shape: [2, 2, 7, 9] }, { shape: [3, 2, 3, 3] }],
  },
  {
    name: 'Conv 3x3 dilation 2 pad 2',
    op: 'Conv',
    build: (x, w) => op.conv(x, w, null, { dilations: [2, 2], pads: [2, 2, 2, 2] }),
    inputs: [{ shape: [1, 2, 7, 6] }, { shape: [2, 2, 3, 3] }],
  },
  {
    name: 'Conv 4x4 stride 2 asymmetric pads, batch 2',
    op: 'Conv',
    build: (x, w) => op.conv(x, w, null, { strides: [2, 2], pads: [1, 2, 2, 1] }),
    inputs: [{ shape: [2, 2, 8, 7] }, { shape: [3, 2, 4, 4] }],
  },
  {
    name: 'Conv 1x1',
    op: 'Conv',
    build: (x, w, b) => op.conv(x, w, b),
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 1, 1] }, { shape: [2] }],
  },
  {
    name: 'Conv 5x5 valid, no padding',
    op: 'Conv',
    build: (x, w) => op.conv(x, w),
    inputs: [{ shape: [1, 2, 8, 8] }, { shape: [2, 2, 5, 5] }],
  },
  {
    name: 'ConvTranspose 3x3 stride 2 pad 1 output padding 1 with bias',
    op: 'ConvTranspose',
    build: (x, w, b) => op.convTranspose(x, w, b, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }),
    inputs: [{ shape: [1, 3, 4, 5] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
  },
  {
    name: 'ConvTranspose 4x4 stride 2 pad 1 batch 2',
    op: 'ConvTranspose',
    build: (x, w) => op.convTranspose(x, w, null, { strides: [2, 2], pads: [1, 1, 1, 1] }),
    inputs: [{ shape: [2, 2, 3, 3] }, { shape: [2, 3, 4, 4] }],
  },
  {
    name: 'ConvTranspose 3x3 dilation 2',
    op: 'ConvTranspose',
    build: (x, w) => op.convTranspose(x, w, null, { dilations: [2, 2], pads: [1, 1, 1, 1] }),
    inputs: [{ shape: [1, 2, 5, 4] }, { shape: [2, 2, 3, 3] }],
  },
  {
    name: 'MaxPool 2x2 batch 2',
    op: 'MaxPool',
    build: (x) => op.maxPool(x),
    inputs: [{ shape: [2, 3, 4, 6], values: distinct(144, 10) }],
  },
  {
    name: 'MaxPool 2x2 ceil mode, odd size',
    op: 'MaxPool',
    build: (x) => op.maxPool(x, { ceilMode: true }),
    inputs: [{ shape: [1, 2, 5, 7], values: distinct(70, 11) }],
  },
  { name: 'AveragePool 2x2', op: 'AveragePool', build: (x) => op.averagePool(x), inputs: [{ shape: [2, 2, 4, 6] }] },
  { name: 'Resize nearest x2', op: 'Resize', build: (x) => op.resize(x, { scale: 2 }), inputs: [{ shape: [2, 2, 3, 4] }] },
  { name: 'Resize nearest to odd size', op: 'Resize', build: (x) => op.resize(x, { size: [7, 5] }), inputs: [{ shape: [1, 2, 3, 4] }] },
  { name: 'Resize bilinear x2', op: 'Resize', build: (x) => op.resize(x, { scale: 2, mode: 'linear' }), inputs: [{ shape: [1, 2, 3, 5] }] },
  {
    name: 'Resize bilinear downscale to odd size',
    op: 'Resize',
    build: (x) => op.resize(x, { size: [3, 5], mode: 'linear' }),
    inputs: [{ shape: [2, 1, 7, 9] }],
  },
];

describe('gradients match finite differences', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const res = await gradCheck(c.build, c.inputs, { seed: size(c.inputs[0].shape) });
      assert.ok(res.checks.length >= 3 * c.inputs.length, 'every input is checked');
      assert.ok(
        res.maxRelError < TOLERANCE,
        `max relative error ${res.maxRelError.toExponential(2)}: ${JSON.stringify(res.checks.filter((k) => k.relError >= TOLERANCE))}`,
      );
    });
  }

  it('covers every op that has a gradient rule', () => {
    const tested = new Set(cases.map((c) => c.op));
    assert.deepEqual(DIFFERENTIABLE_OPS.filter((o) => !tested.has(o)), []);
  });

  it('detects a wrong gradient (the check can fail)', async () => {
    // The analytic graph computes 2x, the finite differences see 3x.
    let calls = 0;
    const res = await gradCheck((x) => op.mul(x, ++calls === 1 ? 2 : 3), [{ shape: [5] }]);
    assert.ok(res.maxRelError > 0.2);
  });
});

describe('gradients()', () => {
  it('gives zero for an input the loss does not depend on', async () => {
    const { runOnce } = await import('./run-once.ts');
    const g = new Graph('unused');
    const x = g.input('x', [3]);
    const u = g.input('u', [2]);
    const [dx, du] = gradients(op.reduceSum(op.square(x)), [x, u]);
    g.output(dx, 'dx');
    g.output(du, 'du');
    const out = await runOnce(g, { x: { data: Float32Array.of(1, 2, 3), shape: [3] }, u: { data: Float32Array.of(5, 6), shape: [2] } });
    assert.deepEqual([...out.dx.data], [2, 4, 6]);
    assert.deepEqual([...out.du.data], [0, 0]);
  });

  it('accumulates gradients over several uses of a tensor', async () => {
    const { runOnce } = await import('./run-once.ts');
    const g = new Graph('reuse');
    const x = g.input('x', [2]);
    const y = op.add(op.mul(x, x), op.mul(x, 3)); // x^2 + 3x, derivative 2x + 3
    const [dx] = gradients(op.reduceSum(y), [x]);
    g.output(dx, 'dx');
    const out = await runOnce(g, { x: { data: Float32Array.of(1, -2), shape: [2] } });
    assert.deepEqual([...out.dx.data], [5, -1]);
  });

  it('refuses a loss with more than one value', () => {
    const g = new Graph('bad');
    const x = g.input('x', [3]);
    assert.throws(() => gradients(op.mul(x, 2), [x]), /reduce it to one value/);
  });

  it('names the op that has no gradient rule', () => {
    const g = new Graph('norule');
    const x = g.input('x', [3]);
    assert.throws(() => gradients(op.reduceSum(op.max(x, 1)), [x]), /no gradient rule for op Max/);
  });
});
