/**
 * onnxruntime-node's tensors for the worker thread: loaded on first conversion rather than imported,
 * so that the main thread, which only validates host tensors and hands them to the worker, never
 * loads the native library.
 */
import { createRequire } from 'node:module';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { type HostTensor, type OrtTensorClass, toOrtTensor } from './tensor.ts';

export { fromOrt } from './tensor.ts';

type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | undefined;

function ort(): Ort {
  ortModule ??= createRequire(import.meta.url)('onnxruntime-node') as Ort;
  return ortModule;
}

/**
 * Wraps a host tensor as an onnxruntime-node tensor, sharing its data.
 * @example
 * const feed = toOrt(hostTensor(new Float32Array(6), [2, 3]));
 */
export function toOrt(t: HostTensor): OrtTensor {
  return toOrtTensor(ort().Tensor as unknown as OrtTensorClass<OrtTensor>, t);
}
