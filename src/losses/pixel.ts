/**
 * Pixel-space reconstruction loss, used for monitoring and for ablations (the paper's Fig. 5 compares
 * a pixel loss against the perceptual loss, which it prefers).
 */
import { expect } from '../core/errors.ts';
import { GraphError } from '../core/errors.ts';
import { formatShape, type Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';

/**
 * Mean absolute difference of `a` and `b`. With a `mask` (broadcast against `a`, e.g. [N, 1, H, W]
 * for an [N, C, H, W] image), the mean is over the masked elements only, weighted by the mask's
 * values: sum(mask * |a - b|) / sum(mask broadcast to a's shape). An all-zero mask gives 0, not NaN.
 *
 * @throws GraphError when `a` and `b` differ in shape, the mask does not broadcast to `a`'s shape, or
 *   (with a mask) a shape is not static.
 * @example
 *   const hole = l1(op.mul(pred, mask), op.mul(gt, mask), mask); // mean error inside the hole
 */
export function l1(a: Tensor, b: Tensor, mask?: Tensor): Tensor {
  sameShape('l1', a, b);
  const diff = op.abs(op.sub(a, b));
  if (!mask) return op.reduceMean(diff);
  const shape = a.staticShape('l1 with a mask');
  const mShape = mask.staticShape('l1 mask');
  const broadcasts = mShape.length <= shape.length && mShape.every((d, i) => d === 1 || d === shape[shape.length - mShape.length + i]);
  if (!broadcasts) throw new GraphError(`l1: mask ${formatShape(mShape)} does not broadcast to ${formatShape(shape)}`);
  // Each mask element stands for `copies` elements of `a` (the broadcast axes).
  const copies = a.size / mask.size;
  const total = op.mul(op.reduceSum(mask), copies);
  return op.div(op.reduceSum(op.mul(diff, mask)), op.max(total, TINY));
}

/** Floor for a normaliser that can be 0 (no hole): then the numerator is 0 too and the loss is 0. */
export const TINY = 1e-12;

/** @throws GraphError when the shapes are not known to be equal. */
export function sameShape(what: string, a: Tensor, b: Tensor): void {
  const equal = a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i] || typeof d === 'string' || typeof b.shape[i] === 'string');
  if (!equal) throw new GraphError(`${what}: prediction ${a.name}${formatShape(a.shape)} and target ${b.name}${formatShape(b.shape)} differ in shape`);
}

/** @throws UsageError unless `value` is a finite number >= `min` (and an integer when asked). */
export function checkNumber(name: string, value: number, min: number, integer = false): void {
  const ok = Number.isFinite(value) && value >= min && (!integer || Number.isInteger(value));
  expect(ok, name, `${integer ? 'an integer' : 'a finite number'} >= ${min}`, value);
}
