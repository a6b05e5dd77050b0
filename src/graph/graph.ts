/**
 * The graph builder's core: symbolic tensors, nodes and graphs.
 *
 * A `Graph` records ONNX nodes as op functions (see `ops.ts`) are called on its tensors. Every tensor
 * carries a dtype and a shape whose dims are numbers (static) or strings (symbolic, e.g. 'N', 'H').
 * Shape inference happens when a node is added, so a mistake is reported where it is made, naming the
 * op and the shapes, rather than later inside ONNX Runtime.
 */
import { GraphError } from '../core/errors.ts';

export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8';
/** A dimension: a number when known when the graph is built, else a symbol such as 'N' or 'H'. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Constant data for initializers and tensor attributes. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface Constant {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** ONNX attribute values, tagged because ONNX distinguishes ints from floats. */
export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly t: Constant };

export type Attrs = Readonly<Record<string, Attr>>;

export interface Node {
  readonly op: string;
  readonly domain: string;
  readonly name: string;
  /** `null` marks an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Attrs;
}

export class Tensor {
  /** @internal Set by the graph when a node produces this tensor. */
  node: Node | null = null;
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** True when every dim is a number. */
  get isStatic(): boolean {
    return this.shape.every((d) => typeof d === 'number');
  }

  /** The shape as numbers; throws if any dim is symbolic. */
  staticShape(what = 'this operation'): number[] {
    if (!this.isStatic) {
      throw new GraphError(`${what} needs a static shape but ${this.name} has shape ${formatShape(this.shape)}`);
    }
    return this.shape as number[];
  }

  /** Number of elements (static shapes only). */
  get size(): number {
    return this.staticShape('size').reduce((a, b) => a * b, 1);
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export interface OutputSpec {
  shape: Shape;
  dtype: DType;
}

/**
 * A graph under construction. Inputs are fed at run time; initializers are constants baked into the
 * model (weights for inference); outputs are what a session returns.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: Tensor[] = [];
  readonly initializers = new Map<string, Constant>();
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Tensor>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  /** A name not used yet in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    while (this.names.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Declares a graph input. Dims may be symbolic strings. */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (this.names.has(name)) throw new GraphError(`graph ${this.name}: the name ${name} is already used`);
    this.names.add(name);
    const t = new Tensor(this, name, shape, dtype);
    this.inputs.push(t);
    return t;
  }

  /** Adds a named constant (a weight, say) stored in the model file. */
  initializer(name: string, value: Constant): Tensor {
    if (this.names.has(name)) throw new GraphError(`graph ${this.name}: the name ${name} is already used`);
    this.names.add(name);
    return this.addInitializer(name, value);
  }

  private addInitializer(name: string, value: Constant): Tensor {
    const size = value.shape.reduce((a, b) => a * b, 1);
    if (size !== value.data.length) {
      throw new GraphError(`initializer ${name}: shape ${formatShape(value.shape)} holds ${size} values, data has ${value.data.length}`);
    }
    this.initializers.set(name, value);
    return new Tensor(this, name, value.shape, value.dtype);
  }

  /**
   * A small constant; identical constants are shared. Scalars have shape [].
   * Numbers become float32 unless `dtype` says otherwise.
   */
  constant(values: number | readonly number[] | TensorData, shape?: readonly number[], dtype: DType = 'float32'): Tensor {
    const list = typeof values === 'number' ? [values] : values;
    const dims = shape ?? (typeof values === 'number' ? [] : [list.length]);
    const data = toTensorData(list, dtype);
    const key = `${dtype}|${dims.join(',')}|${data.length <= 64 ? Array.from(data as ArrayLike<number | bigint>).join(',') : this.counter++}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const t = this.addInitializer(this.uniqueName(`const_${this.constCache.size}`), { dtype, shape: dims, data });
    this.constCache.set(key, t);
    return t;
  }

  /** An int64 constant vector (axes, shapes, pads...). */
  ints(values: readonly number[]): Tensor {
    return this.constant(values, [values.length], 'int64');
  }

  /**
   * Records a node. Op functions call this after inferring output shapes.
   * @returns the node's output tensors
   */
  addNode(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs, outputs: readonly OutputSpec[], domain = ''): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) throw new GraphError(`${op}: input ${t.name} belongs to another graph`);
    }
    const base = op.toLowerCase();
    const outs = outputs.map((o) => new Tensor(this, this.uniqueName(`${base}_${this.nodes.length}`), o.shape, o.dtype));
    const node: Node = { op, domain, name: this.uniqueName(`n${this.nodes.length}_${op}`), inputs, outputs: outs, attrs };
    for (const t of outs) t.node = node;
    this.nodes.push(node);
    return outs;
  }

  /** Marks a tensor as a graph output, under `name` if given (an Identity node renames it). */
  output(t: Tensor, name?: string): Tensor {
    let out = t;
    const isInputOrInit = this.inputs.includes(t) || this.initializers.has(t.name);
    if ((name && name !== t.name) || isInputOrInit || this.outputs.includes(t)) {
      if (name && this.names.has(name)) throw new GraphError(`graph ${this.name}: the output name ${name} is already used`);
      const [renamed] = this.addNode('Identity', [t], {}, [{ shape: t.shape, dtype: t.dtype }]);
      if (name) {
        // Rename: the tensor was created under a generated name; give it the requested one.
        (renamed as { name: string }).name = name;
        this.names.add(name);
      }
      out = renamed;
    }
    this.outputs.push(out);
    return out;
  }

  /** Whether `t` is one of this graph's declared inputs. */
  isInput(t: Tensor): boolean {
    return this.inputs.includes(t);
  }
}

export function toTensorData(values: readonly number[] | TensorData, dtype: DType): TensorData {
  switch (dtype) {
    case 'float32':
      return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
    case 'float64':
      return values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
    case 'int64':
      return values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(v)));
    case 'int32':
      return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
    case 'bool':
    case 'uint8':
      return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
    case 'float16':
      if (values instanceof Uint16Array) return values;
      throw new GraphError('float16 constants must be given as Uint16Array bit patterns');
  }
}
