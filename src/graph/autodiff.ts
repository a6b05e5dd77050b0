/**
 * Reverse-mode automatic differentiation over a builder graph.
 *
 * `gradients(loss, wrt)` walks the recorded nodes backwards from `loss` and appends, to the same
 * graph, the ops that compute d loss / d t for every t in `wrt` (weights, and images too: perceptual
 * losses back-propagate through the frozen VGG). Each ONNX op type has one rule in `RULES`; the rules
 * use the ordinary op functions, so a gradient graph is an ordinary ONNX graph.
 *
 * Gradient rules need static shapes (training graphs have fixed batch and crop sizes); inference
 * graphs with symbolic sizes need no gradients.
 */
import { GraphError } from '../core/errors.ts';
import { type Node, type Shape, type Tensor, formatShape } from './graph.ts';
import * as op from './ops.ts';

type Grad = Tensor | null;
/**
 * A rule returns one gradient per input; `needs[k]` says whether input k needs one (it depends on a
 * tensor being differentiated), so expensive rules skip work nobody uses.
 */
type Rule = (node: Node, dOut: Grad[], needs: boolean[]) => Grad[];

/** Ops whose outputs carry no gradient (indices, comparisons, shapes). */
const NON_DIFFERENTIABLE = new Set([
  'ArgMax', 'OneHot', 'Shape', 'Equal', 'Greater', 'Less', 'Sign', 'ConstantOfShape', 'Not', 'And', 'Or', 'Floor', 'Ceil', 'Round',
]);

/**
 * Appends gradient ops for `loss` with respect to each tensor in `wrt` and returns the gradients,
 * each shaped like its tensor. A tensor that `loss` does not depend on gets a zero gradient.
 *
 * @param seed the incoming gradient of `loss`; defaults to 1, in which case `loss` must hold one value.
 * @throws GraphError when an op on the path has no gradient rule or a rule needs static shapes.
 * @example
 *   const g = new Graph('fit'); const x = g.input('x', [4]); const w = g.input('w', [4]);
 *   const loss = op.reduceSum(op.square(op.sub(op.mul(x, w), 1)));
 *   const [dw] = gradients(loss, [w]); g.output(loss, 'loss'); g.output(dw, 'dw');
 */
export function gradients(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const g = loss.graph;
  if (!seed) {
    const shape = loss.staticShape('gradients (the loss)');
    if (shape.reduce((a, b) => a * b, 1) !== 1) {
      throw new GraphError(`gradients: the loss ${loss.name} has shape ${formatShape(shape)}; reduce it to one value or pass a seed`);
    }
    seed = g.constant(1, shape, loss.dtype);
  }

  // Only nodes on a path from some wrt tensor to the loss need a rule applied.
  const dependsOnWrt = new Set<Tensor>(wrt);
  for (const node of g.nodes) {
    if (node.inputs.some((t) => t !== null && dependsOnWrt.has(t))) for (const t of node.outputs) dependsOnWrt.add(t);
  }
  const grads = new Map<Tensor, Tensor>([[loss, seed]]);
  const accumulate = (t: Tensor, d: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? op.add(prev, d) : d);
  };

  const lossIndex = loss.node ? g.nodes.indexOf(loss.node) : -1;
  for (let i = lossIndex; i >= 0; i--) {
    const node = g.nodes[i];
    const dOut = node.outputs.map((t) => grads.get(t) ?? null);
    if (dOut.every((d) => d === null)) continue;
    if (!node.inputs.some((t) => t !== null && dependsOnWrt.has(t))) continue;
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    const rule = RULES[node.op];
    if (!rule) throw new GraphError(`gradients: no gradient rule for op ${node.op} (node ${node.name})`);
    const dIn = rule(node, dOut, node.inputs.map((t) => t !== null && dependsOnWrt.has(t)));
    node.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (t && d && dependsOnWrt.has(t)) {
        if (d.shape.length !== t.shape.length || d.shape.some((s, j) => typeof s === 'number' && typeof t.shape[j] === 'number' && s !== t.shape[j])) {
          throw new GraphError(`gradients: rule for ${node.op} gave ${formatShape(d.shape)} for input ${t.name} of shape ${formatShape(t.shape)}`);
        }
        accumulate(t, d);
      }
    });
  }
  return wrt.map((t) => grads.get(t) ?? op.full(g, t.staticShape('gradients (an unused input)'), 0, t.dtype));
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Sums a broadcast gradient back down to `shape` (the operand's shape). */
export function sumTo(d: Tensor, shape: Shape): Tensor {
  if (d.shape.length === shape.length && d.shape.every((s, i) => s === shape[i])) return d;
  const lead = d.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < d.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && d.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? op.reduceSum(d, axes, true) : d;
  return op.reshape(summed, shape.map((s) => {
    if (typeof s !== 'number') throw new GraphError(`gradients: broadcasting to ${formatShape(shape)} needs static shapes`);
    return s;
  }));
}

function input(node: Node, k: number): Tensor {
  const t = node.inputs[k];
  if (!t) throw new GraphError(`${node.op}: input ${k} is missing`);
  return t;
}

function ints(node: Node, name: string, fallback: number[]): number[] {
  const a = node.attrs[name];
  if (a && 'ints' in a) return [...a.ints];
  if (a && 'i' in a) return [a.i];
  return fallback;
}

function int(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && 'i' in a ? a.i : fallback;
}

function str(node: Node, name: string, fallback: string): string {
  const a = node.attrs[name];
  return a && 's' in a ? a.s : fallback;
}

function constInput(node: Node, k: number, what: string): number[] {
  const v = op.constantValues(input(node, k));
  if (!v) throw new GraphError(`gradients: ${node.op} needs a constant ${what}`);
  return v;
}

function transposeLast2(t: Tensor): Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return op.transpose(t, perm);
}

// ---------------------------------------------------------------------------------------------
// Convolution helpers

interface ConvGeom {
  kh: number;
  kw: number;
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

function convGeom(node: Node): ConvGeom {
  const [kh, kw] = ints(node, 'kernel_shape', []);
  const s = ints(node, 'strides', [1, 1]);
  const p = ints(node, 'pads', [0, 0, 0, 0]);
  const d = ints(node, 'dilations', [1, 1]);
  return { kh, kw, strides: [s[0], s[1]], pads: [p[0], p[1], p[2], p[3]], dilations: [d[0], d[1]], group: int(node, 'group', 1) };
}

/**
 * im2col: for each kernel tap, the (strided, dilated) window of the zero-padded input, laid out as
 * [N, C*kh*kw, outH*outW] with the (C, kh, kw) order of an OIHW weight's flattened I*kh*kw axis.
 */
export function im2col(x: Tensor, geom: ConvGeom, outH: number, outW: number): Tensor {
  const [n, c, h, w] = x.staticShape('im2col');
  const { kh, kw, strides: s, dilations: d } = geom;
  const [pt, pl] = geom.pads;
  if (kh === 1 && kw === 1 && s[0] === 1 && s[1] === 1 && pt === 0 && pl === 0 && outH === h && outW === w) {
    return op.reshape(x, [n, c, h * w]);
  }
  const needH = (outH - 1) * s[0] + d[0] * (kh - 1) + 1;
  const needW = (outW - 1) * s[1] + d[1] * (kw - 1) + 1;
  const pb = Math.max(0, needH - h - pt);
  const pr = Math.max(0, needW - w - pl);
  const xp = pt || pl || pb || pr ? op.pad(x, [0, 0, pt, pl, 0, 0, pb, pr]) : x;
  const taps: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const y0 = i * d[0];
      const x0 = j * d[1];
      const win = op.slice(xp, [y0, x0], [y0 + (outH - 1) * s[0] + 1, x0 + (outW - 1) * s[1] + 1], [2, 3], [s[0], s[1]]);
      taps.push(op.unsqueeze(win, [2]));
    }
  }
  const col = taps.length === 1 ? taps[0] : op.concat(taps, 2);
  return op.reshape(col, [n, c * kh * kw, outH * outW]);
}

/**
 * d loss / d W for a convolution that maps `x` to an output whose gradient is `dy`:
 * dW[o, i*kk] = sum over batch and positions of dy[o, p] * col(x)[i*kk, p]. Returns [O, I, kh, kw].
 */
function convFilterGrad(x: Tensor, dy: Tensor, geom: ConvGeom): Tensor {
  if (geom.group !== 1) throw new GraphError('gradients: Conv filter gradient with group > 1 is not supported');
  const [n, cin] = x.staticShape('Conv filter gradient');
  const [, cout, oh, ow] = dy.staticShape('Conv filter gradient');
  const col = im2col(x, geom, oh, ow);
  const dyr = op.reshape(dy, [n, cout, oh * ow]);
  let dw: Tensor;
  if (n === 1) {
    dw = op.matMul(op.reshape(dyr, [cout, oh * ow]), op.transpose(op.reshape(col, [cin * geom.kh * geom.kw, oh * ow]), [1, 0]));
  } else {
    dw = op.reduceSum(op.matMul(dyr, op.transpose(col, [0, 2, 1])), [0]);
  }
  return op.reshape(dw, [cout, cin, geom.kh, geom.kw]);
}

/** d loss / d x of a convolution, as a convolution (stride 1) or a transposed convolution. */
function convInputGrad(dy: Tensor, w: Tensor, geom: ConvGeom, inH: number, inW: number): Tensor {
  const { kh, kw, strides: s, pads: p, dilations: d, group } = geom;
  const keh = d[0] * (kh - 1) + 1;
  const kew = d[1] * (kw - 1) + 1;
  const flippedPads = [keh - 1 - p[0], kew - 1 - p[1], keh - 1 - p[2], kew - 1 - p[3]] as const;
  if (s[0] === 1 && s[1] === 1 && group === 1 && flippedPads.every((v) => v >= 0)) {
    // A stride-1 conv's input gradient is a conv with the flipped, in/out-transposed kernel: faster
    // in ONNX Runtime than ConvTranspose (engine.md).
    const wt = op.flip(op.transpose(w, [1, 0, 2, 3]), [2, 3]);
    return op.conv(dy, wt, null, { pads: flippedPads, dilations: d });
  }
  const [, , oh, ow] = dy.staticShape('Conv input gradient');
  const outPad: [number, number] = [
    inH - (s[0] * (oh - 1) + keh - p[0] - p[2]),
    inW - (s[1] * (ow - 1) + kew - p[1] - p[3]),
  ];
  return op.convTranspose(dy, w, null, { strides: s, pads: p, dilations: d, group, outputPadding: outPad });
}

// ---------------------------------------------------------------------------------------------
// Resize: forward is linear, Y = A_h X A_w^T per channel, so dX = A_h^T dY A_w.

function resizeMatrix(outN: number, inN: number, mode: string, coord: string): Float32Array {
  const a = new Float32Array(outN * inN);
  const scale = outN / inN;
  for (let o = 0; o < outN; o++) {
    if (mode === 'nearest') {
      if (coord !== 'asymmetric') throw new GraphError(`gradients: nearest Resize with ${coord} coordinates is not supported`);
      const i = Math.min(inN - 1, Math.floor(o / scale));
      a[o * inN + i] = 1;
    } else {
      if (coord !== 'half_pixel') throw new GraphError(`gradients: linear Resize with ${coord} coordinates is not supported`);
      const x = Math.min(Math.max((o + 0.5) / scale - 0.5, 0), inN - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, inN - 1);
      const t = x - x0;
      a[o * inN + x0] += 1 - t;
      a[o * inN + x1] += t;
    }
  }
  return a;
}

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

// ---------------------------------------------------------------------------------------------
// Pad

/** Folds the gradient of a reflect/edge-padded axis back onto the unpadded axis. */
function unpadAxis(d: Tensor, axis: number, before: number, after: number, n: number, mode: string): Tensor {
  let center = op.slice(d, [before], [before + n], [axis]);
  if (mode === 'constant') return center;
  const rank = d.rank;
  const padAxis = (t: Tensor, lo: number, hi: number) => {
    const pads = new Array(2 * rank).fill(0);
    pads[axis] = lo;
    pads[axis + rank] = hi;
    return op.pad(t, pads);
  };
  if (before > 0) {
    const left = op.slice(d, [0], [before], [axis]);
    // reflect: padded index i < before holds x[before - i]; edge: it holds x[0].
    center = mode === 'reflect'
      ? op.add(center, padAxis(op.flip(left, [axis]), 1, n - 1 - before))
      : op.add(center, padAxis(op.reduceSum(left, [axis], true), 0, n - 1));
  }
  if (after > 0) {
    const right = op.slice(d, [before + n], [before + n + after], [axis]);
    // reflect: padded index before + n + t holds x[n - 2 - t]; edge: it holds x[n - 1].
    center = mode === 'reflect'
      ? op.add(center, padAxis(op.flip(right, [axis]), n - 1 - after, 1))
      : op.add(center, padAxis(op.reduceSum(right, [axis], true), n - 1, 0));
  }
  return center;
}

// ---------------------------------------------------------------------------------------------
// The rules: one per op type, returning one gradient (or null) per input.

const RULES: Record<string, Rule> = {
  Identity: (_n, [d]) => [d],
  Add: (n, [d]) => [sumTo(d!, input(n, 0).shape), sumTo(d!, input(n, 1).shape)],
  Sub: (n, [d]) => [sumTo(d!, input(n, 0).shape), sumTo(op.neg(d!), input(n, 1).shape)],
  Mul: (n, [d], needs) => [
    needs[0] ? sumTo(op.mul(d!, input(n, 1)), input(n, 0).shape) : null,
    needs[1] ? sumTo(op.mul(d!, input(n, 0)), input(n, 1).shape) : null,
  ],
  Div: (n, [d], needs) => {
    const [a, b, y] = [input(n, 0), input(n, 1), n.outputs[0]];
    return [needs[0] ? sumTo(op.div(d!, b), a.shape) : null, needs[1] ? sumTo(op.neg(op.div(op.mul(d!, y), b)), b.shape) : null];
  },
  Pow: (n, [d]) => {
    const [a, p] = [input(n, 0), input(n, 1)];
    if (!op.constantValues(p)) throw new GraphError('gradients: Pow needs a constant exponent');
    return [sumTo(op.mul(d!, op.mul(p, op.pow(a, op.sub(p, 1)))), a.shape), null];
  },
  Neg: (_n, [d]) => [op.neg(d!)],
  Abs: (n, [d]) => [op.mul(d!, op.sign(input(n, 0)))],
  Sqrt: (n, [d]) => [op.div(op.mul(d!, 0.5), n.outputs[0])],
  Exp: (n, [d]) => [op.mul(d!, n.outputs[0])],
  Log: (n, [d]) => [op.div(d!, input(n, 0))],
  Reciprocal: (n, [d]) => [op.neg(op.mul(d!, op.square(n.outputs[0])))],
  Relu: (n, [d]) => [op.where(op.greater(n.outputs[0], 0), d!, 0)],
  LeakyRelu: (n, [d]) => {
    const alpha = n.attrs.alpha && 'f' in n.attrs.alpha ? n.attrs.alpha.f : 0.01;
    return [op.where(op.greater(input(n, 0), 0), d!, op.mul(d!, alpha))];
  },
  Tanh: (n, [d]) => [op.mul(d!, op.sub(1, op.square(n.outputs[0])))],
  Sigmoid: (n, [d]) => {
    const y = n.outputs[0];
    return [op.mul(d!, op.mul(y, op.sub(1, y)))];
  },
  Softplus: (n, [d]) => [op.mul(d!, op.sigmoid(input(n, 0)))],
  Cast: (n, [d]) => {
    const x = input(n, 0);
    return x.dtype.startsWith('float') ? [d!.dtype === x.dtype ? d! : op.cast(d!, x.dtype)] : [null];
  },
  Where: (n, [d]) => {
    const [c, a, b] = [input(n, 0), input(n, 1), input(n, 2)];
    return [null, sumTo(op.where(c, d!, 0), a.shape), sumTo(op.where(c, 0, d!), b.shape)];
  },
  Reshape: (n, [d]) => [op.reshape(d!, input(n, 0).staticShape('Reshape gradient'))],
  Unsqueeze: (n, [d]) => [op.reshape(d!, input(n, 0).staticShape('Unsqueeze gradient'))],
  Squeeze: (n, [d]) => [op.reshape(d!, input(n, 0).staticShape('Squeeze gradient'))],
  Expand: (n, [d]) => [sumTo(d!, input(n, 0).shape)],
  Transpose: (n, [d]) => {
    const perm = ints(n, 'perm', []);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(d!, inv)];
  },
  Concat: (n, [d]) => {
    const axis = int(n, 'axis', 0);
    let offset = 0;
    return n.inputs.map((t) => {
      const len = t!.staticShape('Concat gradient')[axis];
      const part = op.slice(d!, [offset], [offset + len], [axis]);
      offset += len;
      return part;
    });
  },
  Slice: (n, [d]) => {
    const x = input(n, 0);
    const shape = x.staticShape('Slice gradient');
    const starts = constInput(n, 1, 'starts');
    const ends = constInput(n, 2, 'ends');
    const axes = n.inputs[3] ? constInput(n, 3, 'axes') : starts.map((_, i) => i);
    const steps = n.inputs[4] ? constInput(n, 4, 'steps') : starts.map(() => 1);
    if (steps.some((s) => s !== 1)) throw new GraphError('gradients: Slice with steps other than 1 is not supported');
    const pads = new Array(2 * x.rank).fill(0);
    axes.forEach((a0, k) => {
      const a = a0 < 0 ? a0 + x.rank : a0;
      const dim = shape[a];
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const s = clamp(starts[k]);
      const e = Math.max(s, clamp(ends[k]));
      pads[a] = s;
      pads[a + x.rank] = dim - e;
    });
    return [op.pad(d!, pads), null, null, null, null];
  },
  Pad: (n, [d]) => {
    const x = input(n, 0);
    const shape = x.staticShape('Pad gradient');
    const pads = constInput(n, 1, 'pads');
    if (pads.some((p) => p < 0)) throw new GraphError('gradients: Pad with negative pads is not supported');
    const mode = str(n, 'mode', 'constant');
    let g = d!;
    for (let a = 0; a < x.rank; a++) {
      if (pads[a] || pads[a + x.rank]) g = unpadAxis(g, a, pads[a], pads[a + x.rank], shape[a], mode);
    }
    return [g, null, null];
  },
  ReduceSum: (n, [d]) => {
    const x = input(n, 0);
    const axes = n.inputs[1] ? constInput(n, 1, 'axes') : x.shape.map((_, i) => i);
    return [broadcastReduced(d!, x, axes, int(n, 'keepdims', 1) === 1), null];
  },
  ReduceMean: (n, [d]) => {
    const x = input(n, 0);
    const shape = x.staticShape('ReduceMean gradient');
    const axes = ints(n, 'axes', shape.map((_, i) => i)).map((a) => (a < 0 ? a + x.rank : a));
    const count = axes.reduce((acc, a) => acc * shape[a], 1);
    return [op.mul(broadcastReduced(d!, x, axes, int(n, 'keepdims', 1) === 1), 1 / count)];
  },
  MatMul: (n, [d], needs) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    return [
      needs[0] ? sumTo(op.matMul(d!, transposeLast2(b)), a.shape) : null,
      needs[1] ? sumTo(op.matMul(transposeLast2(a), d!), b.shape) : null,
    ];
  },
  Conv: (n, [d], needs) => {
    const [x, w] = [input(n, 0), input(n, 1)];
    const geom = convGeom(n);
    const [, , h, wd] = x.staticShape('Conv gradient');
    const dx = needs[0] ? convInputGrad(d!, w, geom, h, wd) : null;
    const dw = needs[1] ? convFilterGrad(x, d!, geom) : null;
    const db = needs[2] ? op.reduceSum(d!, [0, 2, 3]) : null;
    return [dx, dw, db];
  },
  ConvTranspose: (n, [d], needs) => {
    const [x, w] = [input(n, 0), input(n, 1)];
    const geom = convGeom(n);
    if (geom.group !== 1) throw new GraphError('gradients: ConvTranspose with group > 1 is not supported');
    // The adjoint of a transposed convolution is the convolution with the same geometry.
    const dx = needs[0] ? op.conv(d!, w, null, { strides: geom.strides, pads: geom.pads, dilations: geom.dilations }) : null;
    // W[ci, co, a, b] pairs x[ci] with dY[co] at offset (a, b): the filter gradient of a conv from dY to x.
    const dw = needs[1] ? convFilterGrad(d!, x, geom) : null;
    const db = needs[2] ? op.reduceSum(d!, [0, 2, 3]) : null;
    return [dx, dw, db];
  },
  MaxPool: (n, [d]) => {
    const x = input(n, 0);
    const size = x.size;
    // ONNX Runtime's indices address the flattened input (batch and channel included).
    const idx = n.outputs[1];
    const flat = op.scatterElements(op.full(x.graph, [size], 0, x.dtype), op.reshape(idx, [-1]), op.reshape(d!, [-1]), 0, 'add');
    return [op.reshape(flat, x.staticShape('MaxPool gradient'))];
  },
  AveragePool: (n, [d]) => {
    const x = input(n, 0);
    const [kh, kw] = ints(n, 'kernel_shape', []);
    const [sh, sw] = ints(n, 'strides', [kh, kw]);
    const [, , h, w] = x.staticShape('AveragePool gradient');
    if (kh !== sh || kw !== sw || kh !== kw || h % kh || w % kw || ints(n, 'pads', [0, 0, 0, 0]).some((p) => p)) {
      throw new GraphError('gradients: AveragePool is differentiable only with kernel = stride, square, no padding, dividing the size');
    }
    return [op.mul(op.resize(d!, { scale: kh, mode: 'nearest' }), 1 / (kh * kw))];
  },
  Resize: (n, [d]) => {
    const x = input(n, 0);
    const [, , h, w] = x.staticShape('Resize gradient');
    const [, , oh, ow] = n.outputs[0].staticShape('Resize gradient');
    const mode = str(n, 'mode', 'nearest');
    const coord = str(n, 'coordinate_transformation_mode', 'half_pixel');
    const g = x.graph;
    const ahT = g.constant(transposed(resizeMatrix(oh, h, mode, coord), oh, h), [h, oh]);
    const aw = g.constant(resizeMatrix(ow, w, mode, coord), [ow, w]);
    return [op.matMul(op.matMul(ahT, d!), aw), null, null, null];
  },
};

/** Broadcasts a reduced gradient back over the reduced axes. */
function broadcastReduced(d: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  const shape = x.staticShape('Reduce gradient');
  const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
  const kept = keepdims ? d : op.reshape(d, shape.map((s, i) => (norm.includes(i) ? 1 : s)));
  return op.expand(kept, shape);
}

/** The op types that `gradients` can differentiate (for documentation and tests). */
export const DIFFERENTIABLE_OPS: readonly string[] = Object.keys(RULES);
