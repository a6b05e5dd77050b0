/**
 * Op functions: each adds one ONNX node (or a few) to the graph of its first tensor argument and
 * returns the result, with its shape inferred. Binary ops broadcast like NumPy and accept a number
 * for either operand. Layouts are NCHW throughout.
 */
import { GraphError } from '../core/errors.ts';
import { type Attrs, type Dim, type DType, formatShape, type Graph, type Shape, Tensor } from './graph.ts';

export type Operand = Tensor | number;

// ---------------------------------------------------------------------------------------------
// Shape helpers

function fail(op: string, msg: string, ...tensors: Tensor[]): never {
  const shapes = tensors.map((t) => `${t.name}${formatShape(t.shape)}`).join(', ');
  throw new GraphError(`${op}: ${msg}${shapes ? ` (inputs ${shapes})` : ''}`);
}

/** NumPy broadcasting of two shapes. Symbolic dims are trusted to agree with each other. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'string') out.push(y);
    else if (typeof y === 'string') out.push(x);
    else throw new GraphError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
  }
  return out;
}

/** Arithmetic on dims: numbers fold, symbols become expressions. */
function dimAffine(d: Dim, f: (n: number) => number, expr: (s: string) => string): Dim {
  return typeof d === 'number' ? f(d) : expr(d);
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function graphOf(...xs: Operand[]): Graph {
  for (const x of xs) if (x instanceof Tensor) return x.graph;
  throw new GraphError('an op needs at least one tensor operand');
}

function asTensor(g: Graph, x: Operand, dtype: DType = 'float32'): Tensor {
  return x instanceof Tensor ? x : g.constant(x, [], dtype);
}

/** The values of a constant tensor (an initializer), or undefined if it is computed at run time. */
export function constantValues(t: Tensor): number[] | undefined {
  const c = t.graph.initializers.get(t.name);
  if (!c) return undefined;
  return Array.from(c.data as ArrayLike<number | bigint>, Number);
}

// ---------------------------------------------------------------------------------------------
// Elementwise

function binary(op: string, a: Operand, b: Operand, outDtype?: DType): Tensor {
  const g = graphOf(a, b);
  const dtype = a instanceof Tensor ? a.dtype : (b as Tensor).dtype;
  const ta = asTensor(g, a, dtype);
  const tb = asTensor(g, b, dtype);
  if (ta.dtype !== tb.dtype) fail(op, `dtypes differ: ${ta.dtype} and ${tb.dtype}`, ta, tb);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return g.addNode(op, [ta, tb], {}, [{ shape, dtype: outDtype ?? ta.dtype }])[0];
}

function unary(op: string, x: Tensor, attrs: Attrs = {}): Tensor {
  return x.graph.addNode(op, [x], attrs, [{ shape: x.shape, dtype: x.dtype }])[0];
}

export const add = (a: Operand, b: Operand) => binary('Add', a, b);
export const sub = (a: Operand, b: Operand) => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('Mul', a, b);
export const div = (a: Operand, b: Operand) => binary('Div', a, b);
/** x ** p; the gradient is defined for a constant exponent only. */
export const pow = (a: Tensor, p: Operand) => binary('Pow', a, p);
export const max = (a: Operand, b: Operand) => binary('Max', a, b);
export const min = (a: Operand, b: Operand) => binary('Min', a, b);
export const equal = (a: Operand, b: Operand) => binary('Equal', a, b, 'bool');
export const greater = (a: Operand, b: Operand) => binary('Greater', a, b, 'bool');
export const less = (a: Operand, b: Operand) => binary('Less', a, b, 'bool');

export const neg = (x: Tensor) => unary('Neg', x);
export const abs = (x: Tensor) => unary('Abs', x);
export const sign = (x: Tensor) => unary('Sign', x);
export const sqrt = (x: Tensor) => unary('Sqrt', x);
export const exp = (x: Tensor) => unary('Exp', x);
export const log = (x: Tensor) => unary('Log', x);
export const reciprocal = (x: Tensor) => unary('Reciprocal', x);
export const relu = (x: Tensor) => unary('Relu', x);
export const leakyRelu = (x: Tensor, alpha = 0.2) => unary('LeakyRelu', x, { alpha: { f: alpha } });
export const tanh = (x: Tensor) => unary('Tanh', x);
export const sigmoid = (x: Tensor) => unary('Sigmoid', x);
/** log(1 + exp(x)), computed stably by ONNX Runtime. */
export const softplus = (x: Tensor) => unary('Softplus', x);
export const identity = (x: Tensor) => unary('Identity', x);
export const square = (x: Tensor) => mul(x, x);
/** log(sigmoid(x)) = -softplus(-x): the stable form used by GAN losses. */
export const logSigmoid = (x: Tensor) => neg(softplus(neg(x)));

export function cast(x: Tensor, dtype: DType): Tensor {
  const code: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
  return x.graph.addNode('Cast', [x], { to: { i: code[dtype] } }, [{ shape: x.shape, dtype }])[0];
}

/** cond ? a : b, broadcast. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const g = cond.graph;
  const dtype = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : 'float32';
  const ta = asTensor(g, a, dtype);
  const tb = asTensor(g, b, dtype);
  const shape = broadcastShapes('Where', broadcastShapes('Where', cond.shape, ta.shape), tb.shape);
  return g.addNode('Where', [cond, ta, tb], {}, [{ shape, dtype }])[0];
}

// ---------------------------------------------------------------------------------------------
// Shape manipulation

/** Reshape to `shape` (numbers; one -1 allowed, 0 copies the input dim). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const out: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    if (x.isStatic && out.every((d, i) => i === minus || typeof d === 'number')) {
      const known = (out as number[]).reduce((a, d, i) => (i === minus ? a : a * d), 1);
      if (x.size % known !== 0) fail('Reshape', `cannot reshape to ${formatShape(shape)}`, x);
      out[minus] = x.size / known;
    } else {
      out[minus] = `${x.name}_reshaped`;
    }
  } else if (x.isStatic && out.every((d) => typeof d === 'number')) {
    const n = (out as number[]).reduce((a, b) => a * b, 1);
    if (n !== x.size) fail('Reshape', `cannot reshape ${x.size} values to ${formatShape(shape)}`, x);
  }
  return x.graph.addNode('Reshape', [x, x.graph.ints(shape)], {}, [{ shape: out, dtype: x.dtype }])[0];
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    fail('Transpose', `perm ${formatShape(perm)} is not a permutation of the axes`, x);
  }
  return x.graph.addNode('Transpose', [x], { perm: { ints: perm } }, [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }])[0];
}

export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis('Unsqueeze', a, rank));
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
  return x.graph.addNode('Unsqueeze', [x, x.graph.ints(norm)], {}, [{ shape, dtype: x.dtype }])[0];
}

export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normAxis('Squeeze', a, x.rank));
  for (const a of norm) if (x.shape[a] !== 1) fail('Squeeze', `axis ${a} has size ${x.shape[a]}, not 1`, x);
  const shape = x.shape.filter((_, i) => !norm.includes(i));
  return x.graph.addNode('Squeeze', [x, x.graph.ints(norm)], {}, [{ shape, dtype: x.dtype }])[0];
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new GraphError('Concat: no inputs');
  const first = xs[0];
  const a = normAxis('Concat', axis, first.rank);
  let total: Dim = 0;
  for (const x of xs) {
    if (x.rank !== first.rank) fail('Concat', 'ranks differ', ...xs);
    for (let i = 0; i < x.rank; i++) {
      if (i !== a && typeof x.shape[i] === 'number' && typeof first.shape[i] === 'number' && x.shape[i] !== first.shape[i]) {
        fail('Concat', `dim ${i} differs`, ...xs);
      }
    }
    const d = x.shape[a];
    total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total}+${d}`;
  }
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return first.graph.addNode('Concat', [...xs], { axis: { i: a } }, [{ shape, dtype: first.dtype }])[0];
}

const INT64_MAX = 9223372036854775807;

/** Slice with the semantics of ONNX Slice (negative indices count from the end; steps may be negative). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Tensor {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis('Slice', a, x.rank));
  const st = steps ?? starts.map(() => 1);
  const shape: Dim[] = [...x.shape];
  ax.forEach((a, k) => {
    const d = x.shape[a];
    if (typeof d !== 'number') {
      shape[a] = `${d}_sliced`;
      return;
    }
    const step = st[k];
    if (step === 0) fail('Slice', 'step 0', x);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      shape[a] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, -1, d - 1);
      e = clamp(e, -1, d - 1);
      shape[a] = Math.max(0, Math.ceil((s - e) / -step));
    }
  });
  const g = x.graph;
  const clip = (v: number) => Math.max(-INT64_MAX, Math.min(INT64_MAX, v));
  return g.addNode(
    'Slice',
    [x, g.ints(starts.map(clip)), g.ints(ends.map(clip)), g.ints(ax), g.ints(st)],
    {},
    [{ shape, dtype: x.dtype }],
  )[0];
}

/** Reverses x along the given axes. */
export function flip(x: Tensor, axes: readonly number[]): Tensor {
  return slice(x, axes.map(() => -1), axes.map(() => -INT64_MAX), axes, axes.map(() => -1));
}

/** Broadcasts x to `shape` (ONNX Expand). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes('Expand', x.shape, shape);
  return x.graph.addNode('Expand', [x, x.graph.ints(shape)], {}, [{ shape: out, dtype: x.dtype }])[0];
}

export type PadMode = 'constant' | 'reflect' | 'edge';

/**
 * Pads x. `pads` lists begin amounts for every axis, then end amounts (ONNX order):
 * for NCHW spatial padding use `[0, 0, top, left, 0, 0, bottom, right]`.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (pads.length !== 2 * x.rank) fail('Pad', `needs ${2 * x.rank} pad amounts, got ${pads.length}`, x);
  const shape = x.shape.map((d, i) => {
    const extra = pads[i] + pads[i + x.rank];
    return dimAffine(d, (n) => n + extra, (s) => (extra === 0 ? s : `${s}+${extra}`));
  });
  if (mode === 'reflect') {
    x.shape.forEach((d, i) => {
      if (typeof d === 'number' && (pads[i] >= d || pads[i + x.rank] >= d)) {
        fail('Pad', `reflect padding of ${Math.max(pads[i], pads[i + x.rank])} needs a dim larger than that, axis ${i} has ${d}`, x);
      }
    });
  }
  const g = x.graph;
  const inputs = [x, g.ints(pads)];
  if (mode === 'constant' && value !== 0) inputs.push(g.constant(value, [], x.dtype));
  return g.addNode('Pad', inputs, { mode: { s: mode } }, [{ shape, dtype: x.dtype }])[0];
}

// ---------------------------------------------------------------------------------------------
// Reductions and indexing

function reducedShape(x: Tensor, axes: readonly number[], keepdims: boolean): Dim[] {
  const norm = axes.map((a) => normAxis('Reduce', a, x.rank));
  return x.shape.flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
}

/** Sum over `axes` (all axes when omitted). */
export function reduceSum(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const ax = axes ?? x.shape.map((_, i) => i);
  const g = x.graph;
  return g.addNode('ReduceSum', [x, g.ints(ax.map((a) => normAxis('ReduceSum', a, x.rank)))], { keepdims: { i: keepdims ? 1 : 0 } }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

/** Mean over `axes` (all axes when omitted). */
export function reduceMean(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis('ReduceMean', a, x.rank));
  return x.graph.addNode('ReduceMean', [x], { axes: { ints: ax }, keepdims: { i: keepdims ? 1 : 0 } }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

export function reduceMax(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  const ax = axes.map((a) => normAxis('ReduceMax', a, x.rank));
  return x.graph.addNode('ReduceMax', [x], { axes: { ints: ax }, keepdims: { i: keepdims ? 1 : 0 } }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

/** Index of the largest value along `axis` (ties: the first). Not differentiable. */
export function argMax(x: Tensor, axis: number, keepdims = false): Tensor {
  const a = normAxis('ArgMax', axis, x.rank);
  return x.graph.addNode('ArgMax', [x], { axis: { i: a }, keepdims: { i: keepdims ? 1 : 0 } }, [
    { shape: reducedShape(x, [a], keepdims), dtype: 'int64' },
  ])[0];
}

/** One-hot encoding along a new last axis of size `depth` (values 0 and 1 of `dtype`). Not differentiable. */
export function oneHot(indices: Tensor, depth: number, dtype: DType = 'float32'): Tensor {
  const g = indices.graph;
  return g.addNode('OneHot', [indices, g.constant([depth], [1], 'int64'), g.constant([0, 1], [2], dtype)], { axis: { i: -1 } }, [
    { shape: [...indices.shape, depth], dtype },
  ])[0];
}

/** Gathers slices of x along `axis` at `indices` (ONNX Gather). */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const a = normAxis('Gather', axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.addNode('Gather', [x, indices], { axis: { i: a } }, [{ shape, dtype: x.dtype }])[0];
}

/** Writes `updates` into a copy of x at `indices` along `axis`; reduction 'add' sums duplicates. */
export function scatterElements(x: Tensor, indices: Tensor, updates: Tensor, axis = 0, reduction: 'none' | 'add' = 'none'): Tensor {
  const a = normAxis('ScatterElements', axis, x.rank);
  return x.graph.addNode('ScatterElements', [x, indices, updates], { axis: { i: a }, reduction: { s: reduction } }, [
    { shape: x.shape, dtype: x.dtype },
  ])[0];
}

/** The run-time shape of x as an int64 vector. */
export function shapeOf(x: Tensor): Tensor {
  return x.graph.addNode('Shape', [x], {}, [{ shape: [x.rank], dtype: 'int64' }])[0];
}

/** A tensor of the given static shape filled with `value`. */
export function full(g: Graph, shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return g.addNode('ConstantOfShape', [g.ints(shape)], { value: { t: { dtype, shape: [1], data: dtype === 'float32' ? Float32Array.of(value) : Float64Array.of(value) } } }, [
    { shape, dtype },
  ])[0];
}

// ---------------------------------------------------------------------------------------------
// Linear algebra and convolution

export function matMul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) fail('MatMul', 'both operands need rank >= 2', a, b);
  const k1 = a.shape[a.rank - 1];
  const k2 = b.shape[b.rank - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) fail('MatMul', `inner dims ${k1} and ${k2} differ`, a, b);
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
  return a.graph.addNode('MatMul', [a, b], {}, [{ shape, dtype: a.dtype }])[0];
}

export interface ConvOptions {
  strides?: readonly [number, number];
  /** [top, left, bottom, right] */
  pads?: readonly [number, number, number, number];
  dilations?: readonly [number, number];
  group?: number;
}

interface ConvParams {
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

export function convParams(o: ConvOptions = {}): ConvParams {
  return {
    strides: [...(o.strides ?? [1, 1])] as [number, number],
    pads: [...(o.pads ?? [0, 0, 0, 0])] as [number, number, number, number],
    dilations: [...(o.dilations ?? [1, 1])] as [number, number],
    group: o.group ?? 1,
  };
}

/** The output length of a convolution along one axis. */
export function convOutDim(d: Dim, k: number, stride: number, padBegin: number, padEnd: number, dilation: number): Dim {
  const ke = dilation * (k - 1) + 1;
  return dimAffine(
    d,
    (n) => Math.floor((n + padBegin + padEnd - ke) / stride) + 1,
    (s) => (stride === 1 && padBegin + padEnd === ke - 1 ? s : `floor((${s}+${padBegin + padEnd}-${ke})/${stride})+1`),
  );
}

function convAttrs(p: ConvParams, k: readonly number[]): Record<string, { ints: number[] } | { i: number }> {
  return {
    kernel_shape: { ints: [...k] },
    strides: { ints: p.strides },
    pads: { ints: p.pads },
    dilations: { ints: p.dilations },
    group: { i: p.group },
  };
}

/** 2-D convolution: x [N, Cin, H, W], w [Cout, Cin/group, kh, kw], b [Cout]. */
export function conv(x: Tensor, w: Tensor, b: Tensor | null = null, options: ConvOptions = {}): Tensor {
  const p = convParams(options);
  if (x.rank !== 4 || w.rank !== 4) fail('Conv', 'needs rank-4 input and weight (NCHW, OIHW)', x, w);
  const [cout, cinG, kh, kw] = w.staticShape('Conv weight');
  const cin = x.shape[1];
  if (typeof cin === 'number' && cin !== cinG * p.group) fail('Conv', `input has ${cin} channels, weight expects ${cinG * p.group}`, x, w);
  if (b && (b.rank !== 1 || b.shape[0] !== cout)) fail('Conv', `bias must have shape [${cout}]`, x, w, b);
  const shape = [
    x.shape[0],
    cout,
    convOutDim(x.shape[2], kh, p.strides[0], p.pads[0], p.pads[2], p.dilations[0]),
    convOutDim(x.shape[3], kw, p.strides[1], p.pads[1], p.pads[3], p.dilations[1]),
  ];
  for (const d of shape.slice(2)) if (typeof d === 'number' && d < 1) fail('Conv', 'output would be empty', x, w);
  return x.graph.addNode('Conv', b ? [x, w, b] : [x, w], convAttrs(p, [kh, kw]), [{ shape, dtype: x.dtype }])[0];
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: readonly [number, number];
}

/** Transposed convolution: x [N, Cin, H, W], w [Cin, Cout/group, kh, kw]. */
export function convTranspose(x: Tensor, w: Tensor, b: Tensor | null = null, options: ConvTransposeOptions = {}): Tensor {
  const p = convParams(options);
  const op = options.outputPadding ?? [0, 0];
  if (x.rank !== 4 || w.rank !== 4) fail('ConvTranspose', 'needs rank-4 input and weight', x, w);
  const [cin, coutG, kh, kw] = w.staticShape('ConvTranspose weight');
  if (typeof x.shape[1] === 'number' && x.shape[1] !== cin) fail('ConvTranspose', `input has ${x.shape[1]} channels, weight expects ${cin}`, x, w);
  const cout = coutG * p.group;
  const outDim = (d: Dim, k: number, i: 0 | 1) => {
    const ke = p.dilations[i] * (k - 1) + 1;
    const extra = op[i] + ke - p.pads[i] - p.pads[i + 2];
    return dimAffine(d, (n) => p.strides[i] * (n - 1) + extra, (s) => `${p.strides[i]}*(${s}-1)+${extra}`);
  };
  const shape = [x.shape[0], cout, outDim(x.shape[2], kh, 0), outDim(x.shape[3], kw, 1)];
  return x.graph.addNode(
    'ConvTranspose',
    b ? [x, w, b] : [x, w],
    { ...convAttrs(p, [kh, kw]), output_padding: { ints: [...op] } },
    [{ shape, dtype: x.dtype }],
  )[0];
}

export interface PoolOptions {
  kernel?: readonly [number, number];
  strides?: readonly [number, number];
  ceilMode?: boolean;
}

function poolShape(x: Tensor, k: readonly [number, number], s: readonly [number, number], ceil: boolean): Dim[] {
  const f = ceil ? Math.ceil : Math.floor;
  return [
    x.shape[0],
    x.shape[1],
    ...[0, 1].map((i) =>
      dimAffine(x.shape[2 + i], (n) => f((n - k[i]) / s[i]) + 1, (d) => `pool(${d},${k[i]},${s[i]}${ceil ? ',ceil' : ''})`),
    ),
  ];
}

/** Max pooling (2x2 stride 2 by default). Returns the pooled values and ONNX's flat indices. */
export function maxPoolWithIndices(x: Tensor, o: PoolOptions = {}): [Tensor, Tensor] {
  const k = o.kernel ?? [2, 2];
  const s = o.strides ?? k;
  const shape = poolShape(x, k, s, o.ceilMode ?? false);
  const [y, idx] = x.graph.addNode(
    'MaxPool',
    [x],
    { kernel_shape: { ints: [...k] }, strides: { ints: [...s] }, ceil_mode: { i: o.ceilMode ? 1 : 0 } },
    [
      { shape, dtype: x.dtype },
      { shape, dtype: 'int64' },
    ],
  );
  return [y, idx];
}

export function maxPool(x: Tensor, o: PoolOptions = {}): Tensor {
  return maxPoolWithIndices(x, o)[0];
}

export function averagePool(x: Tensor, o: PoolOptions = {}): Tensor {
  const k = o.kernel ?? [2, 2];
  const s = o.strides ?? k;
  return x.graph.addNode(
    'AveragePool',
    [x],
    { kernel_shape: { ints: [...k] }, strides: { ints: [...s] }, ceil_mode: { i: o.ceilMode ? 1 : 0 } },
    [{ shape: poolShape(x, k, s, o.ceilMode ?? false), dtype: x.dtype }],
  )[0];
}

export interface ResizeOptions {
  /** Output spatial size [H, W]; or give `scale`. */
  size?: readonly [number, number];
  /** Integer or fractional scale for both spatial axes. */
  scale?: number;
  mode?: 'nearest' | 'linear';
}

/**
 * Resizes the spatial axes of an NCHW tensor. Nearest uses the 'asymmetric' transform with 'floor'
 * (pixel i of the output reads floor(i / scale)), so an integer upscale repeats each pixel exactly;
 * linear uses 'half_pixel' (the usual bilinear, edges clamped).
 */
export function resize(x: Tensor, o: ResizeOptions): Tensor {
  const mode = o.mode ?? 'nearest';
  const g = x.graph;
  let shape: Dim[];
  let inputs: (Tensor | null)[];
  if (o.size) {
    shape = [x.shape[0], x.shape[1], o.size[0], o.size[1]];
    if (typeof x.shape[0] !== 'number' || typeof x.shape[1] !== 'number') {
      fail('Resize', 'with an explicit size needs static batch and channel dims', x);
    }
    inputs = [x, null, null, g.ints([x.shape[0], x.shape[1], o.size[0], o.size[1]] as number[])];
  } else if (o.scale) {
    const sc = o.scale;
    shape = x.shape.map((d, i) => (i < 2 ? d : dimAffine(d, (n) => Math.floor(n * sc), (s) => `${s}*${sc}`)));
    inputs = [x, null, g.constant([1, 1, sc, sc], [4], 'float32')];
  } else {
    fail('Resize', 'give size or scale', x);
  }
  const attrs: Attrs =
    mode === 'nearest'
      ? { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } }
      : { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel' } };
  return g.addNode('Resize', inputs, attrs, [{ shape, dtype: x.dtype }])[0];
}

/**
 * ONNX BatchNormalization in inference mode: (x - mean) / sqrt(var + eps) * scale + bias per channel.
 * Training mode (batch statistics) is built from elementwise ops in `nn/`, so autodiff covers it.
 */
export function batchNormInference(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon = 1e-5): Tensor {
  return x.graph.addNode('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { f: epsilon } }, [
    { shape: x.shape, dtype: x.dtype },
  ])[0];
}
