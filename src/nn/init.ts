/**
 * Seeded weight initialisers. Each returns (or is) an `Initializer`: a function from a shape and an
 * `Rng` to fresh row-major float32 values, so that the same seed always gives the same weights.
 *
 * Fans, as `fans()` computes them, with receptive field r = product of the dims after the first two:
 * - Conv weights, ONNX `Conv` layout OIHW = [out, in/group, kh, kw]: fanIn = I*kh*kw, fanOut = O*kh*kw.
 * - Transposed conv weights, ONNX `ConvTranspose` layout IOHW = [in, out/group, kh, kw]: fanIn = I*kh*kw,
 *   fanOut = O*kh*kw. Each output pixel sums over I channels and (about kh*kw/stride²) kernel taps, so
 *   this is the forward fan (PyTorch instead reports dim 1 as the fan-in for these weights).
 * - Dense weights [out, in] are OIHW with r = 1.
 * With grouped convs the weight's channel dim is already per group, so the formulas hold unchanged.
 */
import type { Rng } from '../core/random.ts';
import { UsageError } from '../core/errors.ts';

/** Produces initial values for a parameter of the given shape. */
export type Initializer = (shape: readonly number[], rng: Rng) => Float32Array;

/** Weight layouts understood by `fans`: ONNX Conv (OIHW) and ConvTranspose (IOHW) weights. */
export type WeightLayout = 'OIHW' | 'IOHW';

/**
 * Fan-in and fan-out of a weight tensor (see the module comment for the formulas).
 * @throws UsageError when the shape has fewer than two dims or a dim that is not a positive integer.
 */
export function fans(shape: readonly number[], layout: WeightLayout = 'OIHW'): { fanIn: number; fanOut: number } {
  if (shape.length < 2 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new UsageError(`Expected a weight shape of at least two positive dims for fans but received [${shape.join(', ')}]`);
  }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  const [out, inp] = layout === 'OIHW' ? [shape[0], shape[1]] : [shape[1], shape[0]];
  return { fanIn: inp * receptive, fanOut: out * receptive };
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function positive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new UsageError(`Expected a positive finite number for ${name} but received ${value}`);
}

/**
 * He (Kaiming) normal initialisation for ReLU-family layers: N(0, 2 / fanIn), which keeps the
 * activation variance constant through the layer.
 * @throws UsageError when fanIn is not positive.
 */
export function heNormal(fanIn: number): Initializer {
  positive('fanIn', fanIn);
  return normal(Math.sqrt(2 / fanIn));
}

/**
 * Xavier (Glorot) uniform initialisation: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)), i.e. variance
 * 2 / (fanIn + fanOut), balancing forward and backward signal for linear/tanh layers.
 * @throws UsageError when a fan is not positive.
 */
export function xavierUniform(fanIn: number, fanOut: number): Initializer {
  positive('fanIn', fanIn);
  positive('fanOut', fanOut);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return (shape, rng) => {
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
    return out;
  };
}

/**
 * Zero-mean normal initialisation with the given standard deviation.
 * @throws UsageError when std is not positive and finite (use `zeros` for constant zero).
 */
export function normal(std: number): Initializer {
  positive('std', std);
  return (shape, rng) => {
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
    return out;
  };
}

/** All zeros (biases). Consumes no randomness. */
export const zeros: Initializer = (shape) => new Float32Array(size(shape));

/** All ones (normalisation scales). Consumes no randomness. */
export const ones: Initializer = (shape) => new Float32Array(size(shape)).fill(1);
