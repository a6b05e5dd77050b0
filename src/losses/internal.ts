/** Checks and constants shared by the loss builders (not re-exported from the package). */
import { expect, GraphError } from '../core/errors.ts';
import { formatShape, type Tensor } from '../graph/graph.ts';

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
