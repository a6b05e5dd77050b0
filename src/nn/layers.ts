/**
 * Layers as graph functions: each takes a `Scope` (where its parameters are declared) and an input
 * tensor, and returns the output tensor. Layouts are NCHW; weights OIHW (IOHW for transposed convs).
 */
import { GraphError } from '../core/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { fans, heNormal, ones, zeros } from './init.ts';
import type { Scope } from './scope.ts';

export type Padding = 'zero' | 'reflect';

export interface Conv2dOptions {
  cout: number;
  kernel?: number;
  stride?: number;
  dilation?: number;
  /** 'zero' (default) or 'reflect'; the amount keeps the size at stride 1 ('same'). */
  padding?: Padding;
  bias?: boolean;
}

function channels(x: Tensor, layer: string): number {
  const c = x.shape[1];
  if (typeof c !== 'number') throw new GraphError(`${layer}: the channel dim of ${x.name} must be static`);
  return c;
}

/**
 * A 2-D convolution with 'same' padding: pad = dilation * (kernel - 1) / 2 on each side
 * (for an even kernel the extra row and column go at the end).
 */
export function conv2d(scope: Scope, x: Tensor, o: Conv2dOptions): Tensor {
  const cin = channels(x, scope.qualify('conv'));
  const k = o.kernel ?? 3;
  const dil = o.dilation ?? 1;
  const total = dil * (k - 1);
  const [lo, hi] = [Math.floor(total / 2), Math.ceil(total / 2)];
  const wShape = [o.cout, cin, k, k];
  const w = scope.param('weight', wShape, heNormal(fans(wShape).fanIn));
  const b = o.bias === false ? null : scope.param('bias', [o.cout], zeros);
  const stride = o.stride ?? 1;
  const opts = { strides: [stride, stride] as const, dilations: [dil, dil] as const };
  if (o.padding === 'reflect' && total > 0) {
    return op.conv(op.pad(x, [0, 0, lo, lo, 0, 0, hi, hi], 'reflect'), w, b, opts);
  }
  return op.conv(x, w, b, { ...opts, pads: [lo, lo, hi, hi] });
}

export interface ConvTranspose2dOptions {
  cout: number;
  kernel?: number;
  stride?: number;
  bias?: boolean;
}

/**
 * A transposed convolution that multiplies the spatial size by `stride` exactly
 * (kernel 3, stride 2: pads 1 and output padding 1, as in pix2pixHD).
 */
export function convTranspose2d(scope: Scope, x: Tensor, o: ConvTranspose2dOptions): Tensor {
  const cin = channels(x, scope.qualify('deconv'));
  const k = o.kernel ?? 3;
  const s = o.stride ?? 2;
  // out = s*(in-1) + outPad + k - 2p = s*in  =>  outPad = s - k + 2p, with 0 <= outPad < s.
  const p = Math.ceil((k - s) / 2);
  const outPad = s - k + 2 * p;
  const wShape = [cin, o.cout, k, k];
  const w = scope.param('weight', wShape, heNormal(fans(wShape, 'IOHW').fanIn));
  const b = o.bias === false ? null : scope.param('bias', [o.cout], zeros);
  return op.convTranspose(x, w, b, { strides: [s, s], pads: [p, p, p, p], outputPadding: [outPad, outPad] });
}

export const BN_EPSILON = 1e-5;
/** Weight of the newest batch in the running statistics (PyTorch's momentum 0.1). */
export const BN_MOMENTUM = 0.1;

/**
 * Batch normalisation over (N, H, W) per channel, with a learned scale and shift.
 * Training: normalises with the batch statistics (built from elementwise ops, so autodiff covers it)
 * and reports them (mean, unbiased variance) for the running averages. Inference: the running ones.
 */
export function batchNorm(scope: Scope, x: Tensor): Tensor {
  const c = channels(x, scope.qualify('bn'));
  const gamma = scope.param('weight', [c], ones);
  const beta = scope.param('bias', [c], zeros);
  const runningMean = scope.buffer('running_mean', [c], zeros);
  const runningVar = scope.buffer('running_var', [c], ones);
  if (scope.mode !== 'train') return op.batchNormInference(x, gamma, beta, runningMean!, runningVar!, BN_EPSILON);

  const { y, mean, variance } = batchNormTrain(x, gamma, beta);
  const [n, , h, w] = x.staticShape('batch norm in training');
  const count = n * h * w;
  scope.addStat(scope.qualify('running_mean'), op.reshape(mean, [c]));
  scope.addStat(scope.qualify('running_var'), op.reshape(op.mul(variance, count / Math.max(1, count - 1)), [c]));
  return y;
}

/** Batch norm with batch statistics, from elementwise ops; returns the (biased) statistics too. */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor): { y: Tensor; mean: Tensor; variance: Tensor } {
  const c = channels(x, 'batch norm');
  const mean = op.reduceMean(x, [0, 2, 3], true);
  const centred = op.sub(x, mean);
  const variance = op.reduceMean(op.square(centred), [0, 2, 3], true);
  const inv = op.reciprocal(op.sqrt(op.add(variance, BN_EPSILON)));
  const bc = (t: Tensor) => op.reshape(t, [1, c, 1, 1]);
  return { y: op.add(op.mul(op.mul(centred, inv), bc(gamma)), bc(beta)), mean, variance };
}

/** Conv -> batch norm -> activation, the block both generators are made of. */
export function convBnAct(scope: Scope, x: Tensor, o: Conv2dOptions & { act?: 'relu' | 'lrelu' | 'none' }): Tensor {
  const y = batchNorm(scope.child('bn'), conv2d(scope.child('conv'), x, { ...o, bias: false }));
  return activation(y, o.act ?? 'relu');
}

export function activation(x: Tensor, act: 'relu' | 'lrelu' | 'tanh' | 'sigmoid' | 'none'): Tensor {
  switch (act) {
    case 'relu':
      return op.relu(x);
    case 'lrelu':
      return op.leakyRelu(x, 0.2);
    case 'tanh':
      return op.tanh(x);
    case 'sigmoid':
      return op.sigmoid(x);
    case 'none':
      return x;
  }
}
