/**
 * Training steps as ONNX graphs. `buildTrainGraph` turns a loss-building function into one graph that
 * computes the loss, its gradient for every trainable parameter, the batch statistics of every batch
 * norm, and any metrics; `TrainStep` runs it on an engine. Applying the gradients is the optimiser's
 * job (a step never updates weights itself), so G and D can be stepped separately.
 */
import { GraphError } from '../core/errors.ts';
import { gradients } from '../graph/autodiff.ts';
import { Graph, type Shape, type Tensor } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import { BN_MOMENTUM } from '../nn/layers.ts';
import type { ParamStore } from '../nn/params.ts';
import { type ParamSpec, Scope } from '../nn/scope.ts';
import type { Engine, Session } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';

export interface LossOutput {
  /** The scalar to minimise. */
  loss: Tensor;
  /** Scalars reported alongside (each must hold one value). */
  metrics?: Record<string, Tensor>;
  /** Extra tensors to return, such as images for sample grids. */
  extras?: Record<string, Tensor>;
}

export interface TrainGraph {
  readonly graph: Graph;
  /** All parameters and buffers the network declared. */
  readonly specs: readonly ParamSpec[];
  /** Parameters that get gradients, in graph-input order. */
  readonly trainable: readonly string[];
  /** Buffers whose batch statistics are outputs. */
  readonly stats: readonly string[];
  readonly metrics: readonly string[];
  readonly extras: readonly string[];
  /**
   * Graph inputs that are not parameters (data), with shapes. Tensors passed as `frozen` are
   * parameters of other networks that the loss reads but does not train (e.g. D inside G's loss).
   */
  readonly data: Readonly<Record<string, Shape>>;
}

const GRAD = 'grad:';
const STAT = 'stat:';
const METRIC = 'metric:';
const EXTRA = 'extra:';

/**
 * Builds a training graph. `build` declares its data inputs on the graph (`scope.graph.input(...)`)
 * and its parameters through the scope; parameters whose names start with one of `frozen` get no
 * gradient (they are still inputs, fed from their own store).
 * @example
 *   const tg = buildTrainGraph('ae', (scope) => {
 *     const x = scope.graph.input('x', [4, 3, 32, 32]);
 *     const y = autoencoder(scope.child('ae'), x);
 *     return { loss: op.reduceMean(op.square(op.sub(y, x))) };
 *   });
 */
export function buildTrainGraph(name: string, build: (scope: Scope) => LossOutput, frozen: readonly string[] = []): TrainGraph {
  const graph = new Graph(name);
  const scope = Scope.root(graph, 'train');
  const out = build(scope);
  const isFrozen = (n: string) => frozen.some((p) => n === p || n.startsWith(`${p}.`));
  const trainableSpecs = scope.specs.filter((s) => s.trainable && !isFrozen(s.name));
  const paramTensors = new Map(scope.specs.filter((s) => s.trainable).map((s, i) => [s.name, scope.trainableTensors[i]]));
  const grads = gradients(out.loss, trainableSpecs.map((s) => paramTensors.get(s.name)!));
  graph.output(out.loss, 'loss');
  trainableSpecs.forEach((s, i) => graph.output(grads[i], GRAD + s.name));
  const stats = scope.stats.filter((s) => !isFrozen(s.buffer));
  for (const s of stats) graph.output(s.tensor, STAT + s.buffer);
  for (const [k, t] of Object.entries(out.metrics ?? {})) graph.output(t, METRIC + k);
  for (const [k, t] of Object.entries(out.extras ?? {})) graph.output(t, EXTRA + k);
  const paramNames = new Set(scope.specs.map((s) => s.name));
  const data = Object.fromEntries(graph.inputs.filter((t) => !paramNames.has(t.name)).map((t) => [t.name, t.shape]));
  return {
    graph,
    specs: scope.specs,
    trainable: trainableSpecs.map((s) => s.name),
    stats: stats.map((s) => s.buffer),
    metrics: Object.keys(out.metrics ?? {}),
    extras: Object.keys(out.extras ?? {}),
    data,
  };
}

export interface StepResult {
  loss: number;
  metrics: Record<string, number>;
  grads: Map<string, Float32Array>;
  /** Batch statistics by buffer name. */
  stats: Map<string, Float32Array>;
  extras: Record<string, HostTensor>;
}

/** A training graph loaded on an engine. */
export class TrainStep {
  private constructor(
    readonly spec: TrainGraph,
    private readonly session: Session,
  ) {}

  static async create(engine: Engine, spec: TrainGraph): Promise<TrainStep> {
    return new TrainStep(spec, await engine.load(toOnnx(spec.graph), spec.graph.name));
  }

  /**
   * Runs forward and backward once.
   * @param params every parameter the graph reads, trainable or frozen, looked up by name
   * @param data the data inputs by name
   */
  async run(params: (name: string) => Float32Array | undefined, data: Record<string, HostTensor>): Promise<StepResult> {
    const feeds: Record<string, HostTensor> = { ...data };
    for (const input of this.spec.graph.inputs) {
      if (input.name in data) continue;
      const value = params(input.name);
      if (!value) throw new GraphError(`training graph ${this.spec.graph.name}: no value for parameter ${input.name}`);
      feeds[input.name] = hostTensor(value, input.staticShape());
    }
    // The loop checks the loss itself and says what to do about a NaN (lower the learning rates).
    const out = await this.session.run(feeds, undefined, { allowNonFinite: true });
    const scalar = (t: HostTensor) => Number((t.data as Float32Array)[0]);
    return {
      loss: scalar(out.loss),
      metrics: Object.fromEntries(this.spec.metrics.map((k) => [k, scalar(out[METRIC + k])])),
      grads: new Map(this.spec.trainable.map((k) => [k, out[GRAD + k].data as Float32Array])),
      stats: new Map(this.spec.stats.map((k) => [k, out[STAT + k].data as Float32Array])),
      extras: Object.fromEntries(this.spec.extras.map((k) => [k, out[EXTRA + k]])),
    };
  }

  dispose(): void {
    this.session.dispose();
  }
}

/** Moves each running statistic towards its batch value: r = (1 - m) r + m b. */
export function updateRunningStats(buffers: ParamStore, stats: ReadonlyMap<string, Float32Array>, momentum = BN_MOMENTUM): void {
  for (const [name, batch] of stats) {
    const r = buffers.get(name).data;
    for (let i = 0; i < r.length; i++) r[i] += momentum * (batch[i] - r[i]);
  }
}

