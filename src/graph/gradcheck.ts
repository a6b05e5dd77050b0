/**
 * Gradient checking against central finite differences, used by the tests of every differentiable
 * op and layer. The function under test is reduced to a scalar with a fixed random projection,
 * L = sum(f(x) * R), so that every output element matters; then for each checked input the analytic
 * gradient from `gradients()` is compared with (L(x + eps v) - L(x - eps v)) / (2 eps):
 *  - along a few random directions v (covers every element at once), and
 *  - along a few single coordinates (catches an error confined to some elements).
 */
import { Rng } from '../core/random.ts';
import { gradients } from './autodiff.ts';
import { type Dim, Graph, type Tensor } from './graph.ts';
import { runOnce } from './run-once.ts';
import * as op from './ops.ts';

export interface GradCheckInput {
  shape: number[];
  /** Check the gradient for this input (default true). */
  differentiate?: boolean;
  /** Custom values; default: normal(0, 1). */
  values?: Float32Array;
}

export interface GradCheckResult {
  /** Worst relative error over all checks: |analytic - numeric| / max(|numeric|, |analytic|, floor). */
  maxRelError: number;
  checks: { input: number; kind: 'direction' | 'coordinate'; analytic: number; numeric: number; relError: number }[];
}

export async function gradCheck(
  build: (...xs: Tensor[]) => Tensor,
  inputs: GradCheckInput[],
  options: { seed?: number; eps?: number; directions?: number; coordinates?: number } = {},
): Promise<GradCheckResult> {
  const rng = new Rng(options.seed ?? 1);
  const eps = options.eps ?? 1e-2;
  const values = inputs.map((inp) => inp.values ?? Float32Array.from({ length: inp.shape.reduce((a, b) => a * b, 1) }, () => rng.normal()));

  const g = new Graph('gradcheck');
  const xs = inputs.map((inp, i) => g.input(`x${i}`, inp.shape));
  const y = build(...xs);
  const ySize = (y.shape as Dim[]).reduce<number>((a, b) => a * (b as number), 1);
  const r = g.constant(Float32Array.from({ length: ySize }, () => rng.normal()), y.staticShape('gradCheck output'));
  const loss = op.reduceSum(op.mul(y, r));
  const checked = inputs.map((inp, i) => (inp.differentiate === false ? -1 : i)).filter((i) => i >= 0);
  const grads = gradients(loss, checked.map((i) => xs[i]));
  g.output(loss, 'loss');
  grads.forEach((gr, k) => g.output(gr, `grad${k}`));

  const lossGraph = new Graph('gradcheck_loss');
  const xs2 = inputs.map((inp, i) => lossGraph.input(`x${i}`, inp.shape));
  const y2 = build(...xs2);
  const r2 = lossGraph.constant(g.initializers.get(r.name)!.data as Float32Array, y2.staticShape());
  lossGraph.output(op.reduceSum(op.mul(y2, r2)), 'loss');

  const feeds = (vals: Float32Array[]) => Object.fromEntries(vals.map((v, i) => [`x${i}`, { data: v, shape: inputs[i].shape }]));
  const analytic = await runOnce(g, feeds(values));
  const lossAt = async (vals: Float32Array[]) => (await runOnce(lossGraph, feeds(vals))).loss.data[0];

  const result: GradCheckResult = { maxRelError: 0, checks: [] };
  for (const [k, i] of checked.entries()) {
    const grad = analytic[`grad${k}`].data;
    const n = values[i].length;
    const dirs: { kind: 'direction' | 'coordinate'; v: Float32Array }[] = [];
    for (let d = 0; d < (options.directions ?? 2); d++) dirs.push({ kind: 'direction', v: Float32Array.from({ length: n }, () => rng.normal()) });
    for (let c = 0; c < Math.min(n, options.coordinates ?? 3); c++) {
      const v = new Float32Array(n);
      v[rng.int(0, n - 1)] = 1;
      dirs.push({ kind: 'coordinate', v });
    }
    for (const { kind, v } of dirs) {
      const plus = values.map((x, j) => (j === i ? x.map((xv, e) => xv + eps * v[e]) : x));
      const minus = values.map((x, j) => (j === i ? x.map((xv, e) => xv - eps * v[e]) : x));
      const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
      let a = 0;
      for (let e = 0; e < n; e++) a += grad[e] * v[e];
      const relError = Math.abs(a - numeric) / Math.max(Math.abs(numeric), Math.abs(a), 1e-1);
      result.checks.push({ input: i, kind, analytic: a, numeric, relError });
      result.maxRelError = Math.max(result.maxRelError, relError);
    }
  }
  return result;
}
