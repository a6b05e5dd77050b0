/**
 * A `Scope` is how network code declares its parameters while building a graph. The same network
 * function builds both kinds of graph:
 *  - training (`mode: 'train'`): every parameter becomes a graph input (weights change every step and
 *    live outside the graph), batch norm uses batch statistics and reports them as extra outputs;
 *  - inference (`mode: 'infer'`): parameters become initializers baked into the model (ONNX Runtime
 *    prepacks them, which is faster), batch norm uses the running statistics.
 *
 * Names are hierarchical ('g1.down0.conv.weight'), so a ParamStore maps onto them one to one.
 */
import { GraphError } from '../core/errors.ts';
import type { Rng } from '../core/random.ts';
import type { Graph, Tensor } from '../graph/graph.ts';

/**
 * 'train': parameters are inputs, batch norm uses batch statistics (training steps).
 * 'eval': parameters and running statistics are inputs, batch norm uses the running ones (validation
 *   while training: one session serves every validation, fed the current weights).
 * 'infer': parameters and running statistics are initializers baked into the model (deployment).
 */
export type Mode = 'train' | 'eval' | 'infer';

/** Makes initial values for a parameter of the given shape. */
export type Initializer = (shape: readonly number[], rng: Rng) => Float32Array;

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initializer;
  /** Buffers (batch-norm running statistics) are saved with the weights but not trained. */
  readonly trainable: boolean;
}

/** Batch statistics that a training graph outputs, for the running averages kept outside the graph. */
export interface BatchStat {
  /** The buffer it updates, e.g. 'g1.bn0.running_mean'. */
  readonly buffer: string;
  readonly tensor: Tensor;
}

/** Shared by a scope and all its children. */
interface ScopeState {
  readonly specs: Map<string, ParamSpec>;
  readonly tensors: Map<string, Tensor>;
  readonly stats: BatchStat[];
}

export class Scope {
  private constructor(
    readonly graph: Graph,
    readonly mode: Mode,
    private readonly values: ((name: string) => Float32Array | undefined) | null,
    readonly prefix: string,
    private readonly state: ScopeState,
  ) {}

  /**
   * @param values in inference mode, the trained value of each parameter by full name.
   */
  static root(graph: Graph, mode: Mode, values?: (name: string) => Float32Array | undefined): Scope {
    if (mode === 'infer' && !values) throw new GraphError('an inference scope needs parameter values');
    return new Scope(graph, mode, values ?? null, '', { specs: new Map(), tensors: new Map(), stats: [] });
  }

  /** A child scope whose names are prefixed with `name.`. */
  child(name: string): Scope {
    return new Scope(this.graph, this.mode, this.values, this.qualify(name), this.state);
  }

  qualify(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Declares a trainable parameter and returns its tensor (an input or an initializer). */
  param(name: string, shape: readonly number[], init: Initializer): Tensor {
    return this.declare({ name: this.qualify(name), shape, init, trainable: true })!;
  }

  /**
   * Declares a buffer: saved with the weights, not trained (batch-norm running statistics).
   * A training graph does not read buffers, so there it returns null.
   */
  buffer(name: string, shape: readonly number[], init: Initializer): Tensor | null {
    return this.declare({ name: this.qualify(name), shape, init, trainable: false });
  }

  /** Records a batch statistic output of a training graph (a second application of a layer replaces the first's). */
  addStat(buffer: string, tensor: Tensor): void {
    const i = this.state.stats.findIndex((s) => s.buffer === buffer);
    if (i >= 0) this.state.stats.splice(i, 1);
    this.state.stats.push({ buffer, tensor });
  }

  private declare(spec: ParamSpec): Tensor | null {
    const prev = this.state.specs.get(spec.name);
    if (prev) {
      // A network applied twice in one graph (a discriminator on real and on fake pairs) shares its weights.
      if (prev.shape.join() !== spec.shape.join() || prev.trainable !== spec.trainable) {
        throw new GraphError(`parameter ${spec.name} is declared twice with different shapes`);
      }
      return this.state.tensors.get(spec.name) ?? null;
    }
    this.state.specs.set(spec.name, spec);
    let t: Tensor | null;
    if (this.mode === 'train') {
      t = spec.trainable ? this.graph.input(spec.name, spec.shape) : null;
    } else if (this.mode === 'eval') {
      t = this.graph.input(spec.name, spec.shape);
    } else {
      const data = this.values!(spec.name);
      if (!data) throw new GraphError(`no value for parameter ${spec.name}`);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new GraphError(`parameter ${spec.name} has ${data.length} values, shape [${spec.shape.join(', ')}] needs ${n}`);
      t = this.graph.initializer(spec.name, { dtype: 'float32', shape: spec.shape, data });
    }
    if (t) this.state.tensors.set(spec.name, t);
    return t;
  }

  /** Every parameter and buffer declared so far, in declaration order. */
  get specs(): ParamSpec[] {
    return [...this.state.specs.values()];
  }

  /** The graph tensors of the trainable parameters (training mode), in declaration order. */
  get trainableTensors(): Tensor[] {
    return this.specs.filter((s) => s.trainable).map((s) => this.state.tensors.get(s.name)!);
  }

  get stats(): readonly BatchStat[] {
    return this.state.stats;
  }
}
