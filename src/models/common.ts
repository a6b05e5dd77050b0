/**
 * What the networks share: the feature map they exchange (VGG19 relu3_1), the image output head and
 * the checks of their input tensors.
 */
import { expect } from '../core/errors.ts';
import type { Dim, Tensor } from '../graph/graph.ts';
import { FEATURE_STRIDE } from '../features/grid.ts';
import * as op from '../graph/ops.ts';

/** Channels of VGG19 relu3_1, the feature map G1's output is judged in and G2 renders from. */
export const FEATURE_CHANNELS = 256;
/** relu3_1 is at 1/4 of the image resolution (two 2x2 max pools): see features/grid.ts. */
export { FEATURE_STRIDE };

/**
 * Maps a generator's last conv to an image in [0, 1]: 0.5 tanh(x) + 0.5, pix2pix(HD)'s tanh output
 * moved from [-1, 1] to this project's [0, 1] range. (It equals sigmoid(2x); written with tanh so
 * that the slope at 0 is pix2pixHD's.)
 */
export function imageHead(x: Tensor): Tensor {
  return op.add(op.mul(op.tanh(x), 0.5), 0.5);
}

/**
 * Checks a network input at the builder's boundary: rank 4 (NCHW), the channel count, and that
 * static spatial dims are multiples of `modulus`.
 * @throws UsageError "Expected <what> for <name> but received <shape>"
 */
export function checkInput(name: string, x: Tensor, channels: number, modulus: number): void {
  const ok =
    x.rank === 4 &&
    x.shape[1] === channels &&
    x.shape.slice(2).every((d) => typeof d === 'string' || (d > 0 && d % modulus === 0));
  expect(ok, name, `an NCHW tensor with ${channels} channels and height and width multiples of ${modulus}`, x.shape);
}

/** `d / k` for a static dim, or a symbol naming it. */
export function divDim(d: Dim, k: number): Dim {
  return typeof d === 'number' ? d / k : `${d}/${k}`;
}
