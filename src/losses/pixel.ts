/**
 * Pixel-space reconstruction loss: a term of both generators' losses beside the paper's perceptual
 * one, for colour (docs/decisions/pixel-loss.md), and a validation metric. The paper's Fig. 5 shows
 * that a pixel loss *instead of* the perceptual one blurs.
 */
import { GraphError } from '../core/errors.ts';
import { formatShape, type Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { sameShape, TINY } from './internal.ts';

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
