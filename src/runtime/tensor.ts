/**
 * Host tensors: plain `{ dtype, shape, data }` records that cross the worker boundary by structured
 * clone (or transfer), plus conversion to and from an ONNX Runtime `Tensor` (onnxruntime-node's in
 * the worker: ort-node.ts; onnxruntime-web's in the browser: web-engine.ts). No platform here.
 */
import { EngineError, UsageError, describe } from '../core/errors.ts';
import type { DType, TensorData } from '../graph/graph.ts';

/** A dense tensor in ordinary memory, row-major. float16 is stored as raw bits in a Uint16Array. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

interface ArrayType {
  new (length: number): TensorData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** The typed array each dtype is stored in; ONNX Runtime uses the same ones (bool as bytes). */
const ARRAY_TYPE: Readonly<Record<DType, ArrayType>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
  uint8: Uint8Array,
};

function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(ARRAY_TYPE, value);
}

/** The dtype a typed array holds unless told otherwise (a Uint8Array is uint8, not bool). */
function dtypeOf(data: TensorData): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'float16';
  return undefined;
}

/**
 * Makes a host tensor, checking that `data` is the right typed array and holds exactly
 * `product(shape)` values. The data is used as is, not copied.
 * @param dtype defaults to the array's own type (Uint8Array: 'uint8'; pass 'bool' for masks;
 *   Uint16Array: 'float16')
 * @example
 * const x = hostTensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * @throws UsageError if the shape is not a list of non-negative integers, the array type does not
 *   match the dtype, or the sizes disagree
 */
export function hostTensor(data: TensorData, shape: readonly number[], dtype?: DType): HostTensor {
  const t = { dtype: dtype ?? dtypeOf(data), shape: [...shape], data };
  checkHostTensor(t, 'hostTensor');
  return t;
}

/**
 * Checks that `value` is a well-formed host tensor (a caller may build one by hand).
 * @param what names the value in the error, e.g. 'feed "x"'
 * @example
 * checkHostTensor(feeds.x, 'feed "x"');
 * @throws UsageError saying what is wrong
 */
export function checkHostTensor(value: unknown, what: string): asserts value is HostTensor {
  if (typeof value !== 'object' || value === null) {
    throw new UsageError(`${what}: expected a host tensor { dtype, shape, data } but received ${describe(value)}`);
  }
  const { dtype, shape, data } = value as Partial<HostTensor>;
  if (!isDType(dtype)) {
    throw new UsageError(`${what}: unknown dtype ${describe(dtype)}; expected one of ${Object.keys(ARRAY_TYPE).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new UsageError(`${what}: the shape must be a list of non-negative integers but is ${describe(shape)}`);
  }
  if (!(data instanceof ARRAY_TYPE[dtype])) {
    throw new UsageError(`${what}: ${dtype} data must be a ${ARRAY_TYPE[dtype].name} but is ${describe(data)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new UsageError(`${what}: shape [${shape.join(', ')}] holds ${size} values but the data has ${data.length}`);
  }
}

/** 'float32[2, 3]': how tensors and model inputs are named in error messages. */
export function formatTensorType(dtype: string, shape: readonly (number | string)[]): string {
  return `${dtype}[${shape.join(', ')}]`;
}

/**
 * A host tensor holding a copy of raw little-endian bytes (as read from a pipe), in a buffer of its
 * own, so that it is aligned and can be transferred without detaching anything else.
 * @example
 * const t = hostTensorFromBytes(bytes, [2, 3], 'float32');
 * @throws EngineError if the dtype is not a host dtype
 * @throws UsageError if the bytes do not hold exactly `product(shape)` values
 */
export function hostTensorFromBytes(bytes: Uint8Array, shape: readonly number[], dtype: string): HostTensor {
  if (!isDType(dtype)) throw new EngineError(`a ${dtype} tensor arrived; host tensors support ${Object.keys(ARRAY_TYPE).join(', ')}`);
  const Type = ARRAY_TYPE[dtype];
  if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0) {
    throw new UsageError(`${bytes.byteLength} bytes are not a whole number of ${dtype} values`);
  }
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return hostTensor(new Type(copy, 0, bytes.byteLength / Type.BYTES_PER_ELEMENT), shape, dtype);
}

/** What the host side needs of an ONNX Runtime tensor (onnxruntime-node's and onnxruntime-web's alike). */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** An ONNX Runtime `Tensor` constructor (`ort.Tensor` of either package). */
export type OrtTensorClass<T> = new (type: DType, data: TensorData, dims: readonly number[]) => T;

/**
 * Wraps a host tensor as an ONNX Runtime tensor of the given package, sharing its data.
 * @example
 * const feed = toOrtTensor(ort.Tensor, hostTensor(new Float32Array(6), [2, 3]));
 */
export function toOrtTensor<T>(Tensor: OrtTensorClass<T>, t: HostTensor): T {
  return new Tensor(t.dtype, t.data, t.shape);
}

/**
 * Converts an ONNX Runtime tensor to a host tensor whose data owns its whole ArrayBuffer, so that the
 * buffer can be put in a transfer list without detaching anything else.
 * @example
 * const y = fromOrt((await ortSession.run(feeds)).y);
 * @throws EngineError if the tensor's type has no HostTensor dtype (string, int8, ...)
 */
export function fromOrt(t: OrtTensorLike): HostTensor {
  const dtype = t.type;
  if (!isDType(dtype)) {
    throw new EngineError(`ONNX Runtime returned a ${dtype} tensor; host tensors support ${Object.keys(ARRAY_TYPE).join(', ')}`);
  }
  const src = t.data as ArrayBufferView;
  // float16 may arrive as a Float16Array where the platform has one; keep the raw bits either way.
  const Type = ARRAY_TYPE[dtype];
  const view = new Type(src.buffer, src.byteOffset, src.byteLength / Type.BYTES_PER_ELEMENT);
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !(view.buffer instanceof SharedArrayBuffer);
  return { dtype, shape: [...t.dims], data: whole ? view : view.slice() };
}
