/**
 * Serialises a builder `Graph` to an ONNX ModelProto (bytes) with the `onnx-proto` package.
 * Constants go in as raw little-endian data; symbolic dims become ONNX `dim_param`s.
 */
import onnxProto from 'onnx-proto';
import type { Attr, Constant, DType, Graph, Shape, Tensor } from './graph.ts';

const { onnx } = onnxProto;

/** The ONNX opset every graph targets (ReduceSum takes axes as an input; ReduceMean still as an attribute). */
export const OPSET = 17;

const DTYPE_CODE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
};

function tensorProto(name: string, c: Constant): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return { name, dims: [...c.shape], dataType: DTYPE_CODE[c.dtype], rawData: bytes };
}

function valueInfo(t: Tensor): onnxProto.onnx.IValueInfoProto {
  return {
    name: t.name,
    type: { tensorType: { elemType: DTYPE_CODE[t.dtype], shape: shapeProto(t.shape) } },
  };
}

function shapeProto(shape: Shape): onnxProto.onnx.ITensorShapeProto {
  return { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
}

function attributeProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.TENSOR, t: tensorProto('', a.t) };
}

/**
 * Operators whose outputs past the first `required` are optional in ONNX: left out of the node when
 * nothing reads them. MaxPool's indices are only read by its gradient; an inference graph that
 * declares them anyway is refused by onnxruntime-web's WebGPU provider, and ONNX Runtime computes
 * them for nothing.
 */
const OPTIONAL_OUTPUTS: Readonly<Record<string, number>> = { MaxPool: 1 };

/** A node's outputs as written: trailing optional ones that nothing reads are dropped. */
function writtenOutputs(op: string, outputs: readonly Tensor[], read: ReadonlySet<Tensor>): readonly Tensor[] {
  const required = OPTIONAL_OUTPUTS[op];
  if (required === undefined) return outputs;
  let n = outputs.length;
  while (n > required && !read.has(outputs[n - 1])) n--;
  return outputs.slice(0, n);
}

/** Encodes the graph as ONNX model bytes, ready for `InferenceSession.create`. */
export function toOnnx(graph: Graph): Uint8Array {
  const read = new Set<Tensor>(graph.outputs);
  for (const n of graph.nodes) for (const t of n.inputs) if (t) read.add(t);
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'contextual-inpaint',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        opType: n.op,
        domain: n.domain,
        name: n.name,
        input: n.inputs.map((t) => (t ? t.name : '')),
        output: writtenOutputs(n.op, n.outputs, read).map((t) => t.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attributeProto(k, v)),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: [...graph.initializers].map(([name, c]) => tensorProto(name, c)),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
