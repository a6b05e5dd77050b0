/**
 * The network registry: `createNetwork(kind, config)` gives one uniform handle on each of the five
 * networks — its graph inputs for an image size, its builder, its size modulus — so that training,
 * inference, the summary and the benchmark treat them alike. `buildNetworkGraph` turns a handle into
 * a complete graph (training or inference mode, see `nn/scope.ts`).
 *
 * Graph inputs and outputs by kind (H x W: the image size; features at H/4 x W/4):
 *   g1  image [N,3,H,W], mask [N,1,H,W]        -> prediction, composite [N,3,H,W]
 *   g2  features [N,256,H/4,W/4]                -> image [N,3,H,W]
 *   d1  masked [N,4,H,W], image [N,3,H,W]       -> logits [N,1,H/8,W/8]
 *   d2  features [N,256,H/4,W/4], image [N,3,H,W] -> logits [N,1,H/8,W/8]
 *   guide  masked [N,256,H/4,W/4] (relu3_1 of I0), cells [N,1,H/4,W/4] -> features [N,256,H/4,W/4], colour [N,3,H/4,W/4]
 * Parameter names start with the kind ('g1.res0.a.conv.weight'), so the stores never collide.
 */
import { expect, UsageError } from '../core/errors.ts';
import { type Dim, Graph, type Shape, type Tensor } from '../graph/graph.ts';
import { type Mode, type ParamSpec, Scope } from '../nn/scope.ts';
import { divDim, FEATURE_CHANNELS, FEATURE_STRIDE } from './common.ts';
import { MODEL_PRESETS, type ModelConfig } from './config.ts';
import { featureDiscriminator, pairDiscriminator, patchGanSizeModulus } from './discriminators.ts';
import { feature2Image, G2_SIZE_MODULUS } from './feature2image.ts';
import { featureGuide } from './feature-guide.ts';
import { G1_SIZE_MODULUS, image2Feature } from './image2feature.ts';

export const NETWORK_KINDS = ['g1', 'g2', 'd1', 'd2', 'guide'] as const;
export type NetworkKind = (typeof NETWORK_KINDS)[number];

/** The image size a graph is built for; dims may be symbolic ('N', 'H') in inference graphs. */
export interface ImageSize {
  readonly batch: Dim;
  /** Pixels. */
  readonly height: Dim;
  /** Pixels. */
  readonly width: Dim;
}

/** One network: what it reads, how to build it, which sizes it accepts. */
export interface Network {
  readonly kind: NetworkKind;
  /** A human-readable name, e.g. 'G1 Image2Feature'. */
  readonly title: string;
  /** Image height and width (pixels) must be multiples of this. */
  readonly sizeModulus: number;
  /** The graph inputs the network reads, by name, for images of `size`. */
  inputShapes(size: ImageSize): Record<string, Shape>;
  /**
   * Builds the network under `scope` from the tensors named as in `inputShapes`; returns its outputs.
   * @throws UsageError when an input is missing or has the wrong shape
   */
  build(scope: Scope, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor>;
}

const imageShape = (s: ImageSize, channels: number): Shape => [s.batch, channels, s.height, s.width];
const featureShape = (s: ImageSize): Shape => [s.batch, FEATURE_CHANNELS, divDim(s.height, FEATURE_STRIDE), divDim(s.width, FEATURE_STRIDE)];

function take(inputs: Readonly<Record<string, Tensor>>, name: string, kind: NetworkKind): Tensor {
  const t = inputs[name];
  expect(t !== undefined, `${kind} input "${name}"`, 'a tensor', t);
  return t;
}

/**
 * The network of the given kind, sized by `config`.
 * @example
 * const g2 = createNetwork('g2', resolveModelConfig({ preset: 'small' }));
 * const { graph } = buildNetworkGraph(g2, { batch: 1, height: 'H', width: 'W' }, 'infer', values);
 * @throws UsageError for an unknown kind
 */
export function createNetwork(kind: string, config: ModelConfig = MODEL_PRESETS.paper): Network {
  switch (kind) {
    case 'g1':
      return {
        kind,
        title: 'G1 Image2Feature',
        sizeModulus: G1_SIZE_MODULUS,
        inputShapes: (s) => ({ image: imageShape(s, 3), mask: imageShape(s, 1) }),
        build: (scope, inputs) => {
          const { prediction, composite } = image2Feature(scope, config.g1, take(inputs, 'image', kind), take(inputs, 'mask', kind));
          return { prediction, composite };
        },
      };
    case 'g2':
      return {
        kind,
        title: 'G2 Feature2Image',
        sizeModulus: G2_SIZE_MODULUS,
        inputShapes: (s) => ({ features: featureShape(s) }),
        build: (scope, inputs) => ({ image: feature2Image(scope, config.g2, take(inputs, 'features', kind)) }),
      };
    case 'd1':
      return {
        kind,
        title: 'D1 PatchGAN (I0, image)',
        sizeModulus: patchGanSizeModulus(config.d1),
        inputShapes: (s) => ({ masked: imageShape(s, 4), image: imageShape(s, 3) }),
        build: (scope, inputs) => ({ logits: pairDiscriminator(scope, config.d1, take(inputs, 'masked', kind), take(inputs, 'image', kind)) }),
      };
    case 'd2':
      return {
        kind,
        title: 'D2 PatchGAN (features, image)',
        sizeModulus: patchGanSizeModulus(config.d2),
        inputShapes: (s) => ({ features: featureShape(s), image: imageShape(s, 3) }),
        build: (scope, inputs) => ({
          logits: featureDiscriminator(scope, config.d2, take(inputs, 'features', kind), take(inputs, 'image', kind)),
        }),
      };
    case 'guide':
      return {
        kind,
        title: 'Feature guide (relu3_1 of I0 -> relu3_1)',
        sizeModulus: FEATURE_STRIDE,
        inputShapes: (s) => ({ masked: featureShape(s), cells: [s.batch, 1, divDim(s.height, FEATURE_STRIDE), divDim(s.width, FEATURE_STRIDE)] }),
        build: (scope, inputs) => {
          const { features, colour } = featureGuide(scope, config.guide, take(inputs, 'masked', kind), take(inputs, 'cells', kind));
          return { features, colour };
        },
      };
    default:
      throw new UsageError(`Unknown network kind ${JSON.stringify(kind)}; expected one of ${NETWORK_KINDS.join(', ')}`);
  }
}

/** A network built into a graph of its own. */
export interface NetworkGraph {
  readonly graph: Graph;
  /** Every parameter and buffer, in declaration order (names prefixed with the kind). */
  readonly specs: readonly ParamSpec[];
  /** The data inputs (not parameters), by name. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** The outputs, by name; each is a graph output of that name. */
  readonly outputs: Readonly<Record<string, Tensor>>;
  /** The scope it was built in: in training mode, its batch statistics and trainable tensors. */
  readonly scope: Scope;
}

/**
 * Builds `network` alone into a new graph named after its kind: in training mode parameters are
 * graph inputs and batch norm uses batch statistics (static sizes needed); in inference mode
 * parameters are initializers from `values` and sizes may be symbolic.
 * @param values the trained value of each parameter and buffer by full name (inference mode)
 * @example
 * const { graph } = buildNetworkGraph(createNetwork('g1'), { batch: 1, height: 256, width: 256 }, 'infer', lookup(params, buffers));
 * @throws UsageError when a static size is not a positive multiple of the network's size modulus
 * @throws GraphError when an inference build lacks a value
 */
export function buildNetworkGraph(
  network: Network,
  size: ImageSize,
  mode: Mode,
  values?: (name: string) => Float32Array | undefined,
): NetworkGraph {
  for (const [name, d] of [['height', size.height], ['width', size.width]] as const) {
    expect(
      typeof d === 'string' || (Number.isSafeInteger(d) && d > 0 && d % network.sizeModulus === 0),
      `${network.kind} image ${name}`,
      `a positive multiple of ${network.sizeModulus}`,
      d,
    );
  }
  const graph = new Graph(network.kind);
  const root = Scope.root(graph, mode, values);
  const inputs = Object.fromEntries(Object.entries(network.inputShapes(size)).map(([name, shape]) => [name, graph.input(name, shape)]));
  const built = network.build(root.child(network.kind), inputs);
  const outputs = Object.fromEntries(Object.entries(built).map(([name, t]) => [name, graph.output(t, name)]));
  return { graph, specs: root.specs, inputs, outputs, scope: root };
}

/**
 * The parameters and buffers `network` declares (they do not depend on the image size).
 * @example
 * const { params, buffers } = initNetwork(networkSpecs(createNetwork('d1')), new Rng(1));
 */
export function networkSpecs(network: Network): readonly ParamSpec[] {
  // Training mode needs no values. Building costs the same at any size; 256 suits every network.
  const side = Math.ceil(256 / network.sizeModulus) * network.sizeModulus;
  return buildNetworkGraph(network, { batch: 1, height: side, width: side }, 'train').specs;
}

/** The number of trainable values (batch-norm running statistics excluded). */
export function parameterCount(specs: readonly ParamSpec[]): number {
  return specs.filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
