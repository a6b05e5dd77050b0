/**
 * The frozen VGG19 feature extractor (up to relu3_1) that the contextual patch swap and the
 * perceptual losses compare images with. It is its own module so that the things that must never
 * drift stay in one place: the weights are graph constants (never parameters, so no optimiser can
 * touch them), the input normalisation is the network's own conv0 (RGB in [0,1] -> mean-subtracted
 * BGR*255), and the public entry point checks that pixels really are in [0,1].
 *
 * Network (see VGG_LAYER_TABLE): conv0 (1x1), then conv1_1, conv1_2, pool, conv2_1, conv2_2, pool,
 * conv3_1, where each 3x3 convolution follows reflection padding of 1 and precedes a ReLU, and each
 * pool is 2x2 stride 2 in ceil mode. `vgg-reference.ts` is the float64 reference it is tested against.
 *
 * No platform here; vgg.ts adds `FrozenVgg.load`, which finds the weights file in Node.
 */
import { GraphError, UsageError, describe, expect } from '../core/errors.ts';
import type { Box } from '../core/raster.ts';
import { Graph, type Tensor, formatShape } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import * as op from '../graph/ops.ts';
import type { InferenceEngine as Engine, Session } from '../runtime/session.ts';
import { hostTensor } from '../runtime/tensor.ts';
import { FEATURE_STRIDE, featureSize } from './grid.ts';
import { VGG_LAYER_TABLE, type VggLayerName, type VggWeights } from './vgg-weights-format.ts';

/**
 * The smallest image side the network accepts. Reflection padding of 1 needs at least 2 pixels, and
 * relu3_1's input is at 1/4 resolution: ceil(ceil(side / 2) / 2) >= 2 holds from side 5 on.
 */
export const VGG_MIN_SIDE = 5;

/** Channels of relu3_1. */
export const VGG_CHANNELS = 256;

/**
 * An image of more pixels than this is run in tiles (`features`): VGG's first layers hold 64
 * channels at full resolution, 2.6 GB of memory for a 2048x1800 image in one go.
 */
export const VGG_TILE_AREA = 1024 * 1024;
/** A tile's own part, in pixels across (a multiple of 4, as relu3_1's cells are). */
export const VGG_TILE = 768;
/**
 * Pixels read past each side of a tile's own part: a multiple of 4, well past the 12 pixels over
 * which the reflection padding at a cut changes relu3_1, so that tiles give the whole image's
 * features.
 */
const TILE_MARGIN = 32;

/**
 * A relu3_1 cell f reads the pixels 4 f - 10 to 4 f + 13: its own FEATURE_STRIDE and this many more
 * each side, from its 3x3 convolutions: two at full resolution (1 px each), two at half (2 px each)
 * and one at a quarter (4 px).
 */
const RECEPTIVE_REACH = 10;

/** `featuresNear` runs the whole image when its crop would hold more than this share of it. */
const NEAR_AREA = 0.7;

/** How far pixels may stray outside [0,1] (rounding in resampling, say) before `features` refuses them. */
export const VGG_RANGE_TOLERANCE = 1e-3;

interface LayerTensors {
  weight: Tensor;
  bias: Tensor;
}

/**
 * The weight initializers already added to each graph, by prefix. A perceptual loss applies the
 * network to the output and to the target in one graph; both must read the same constants rather
 * than fail on a duplicate name or store 2 MB of weights twice.
 */
const addedWeights = new WeakMap<Graph, Map<string, { weights: VggWeights; layers: Map<VggLayerName, LayerTensors> }>>();

/**
 * Appends VGG19 up to relu3_1 to `graph`, reading `image`. The weights become initializers named
 * `<prefix>.<layer>.weight|bias`: constants in training and inference graphs alike, which autodiff
 * still back-propagates through to the image. Applying it again in the same graph with the same
 * weights and prefix shares the initializers.
 * @param image float32 [N, 3, H, W], RGB in [0,1]; H and W may be symbolic (inference graphs).
 * @returns float32 [N, 256, ceil(ceil(H/2)/2), ceil(ceil(W/2)/2)]
 * @example
 *   const g = new Graph('features');
 *   const image = g.input('image', [1, 3, 'H', 'W']);
 *   g.output(vggRelu31(g, image, await loadVggWeights(path)), 'relu3_1');
 * @throws GraphError when `image` belongs to another graph, is not float32 [N, 3, H, W], has a static
 *   side below VGG_MIN_SIDE, or `prefix` already holds different VGG weights in this graph.
 * @throws UsageError when `weights` does not hold the six layers of VGG_LAYER_TABLE with their shapes.
 */
export function vggRelu31(graph: Graph, image: Tensor, weights: VggWeights, prefix = 'vgg'): Tensor {
  if (image.graph !== graph) throw new GraphError(`vggRelu31: the image ${image.name} belongs to graph ${image.graph.name}, not ${graph.name}`);
  if (image.dtype !== 'float32' || image.rank !== 4 || image.shape[1] !== 3) {
    throw new GraphError(`vggRelu31: needs a float32 [N, 3, H, W] RGB image but ${image.name} is ${image.dtype}${formatShape(image.shape)}`);
  }
  for (const [axis, side] of [['height', image.shape[2]], ['width', image.shape[3]]] as const) {
    if (typeof side === 'number' && side < VGG_MIN_SIDE) {
      throw new GraphError(
        `vggRelu31: the image ${image.name}${formatShape(image.shape)} has ${axis} ${side}, but VGG19 up to relu3_1 needs at ` +
          `least ${VGG_MIN_SIDE} pixels per side: reflection padding needs 2 pixels at every stage, including relu3_1 at 1/4 resolution`,
      );
    }
  }
  const layer = layerTensors(graph, weights, prefix);

  const conv3x3Relu = (x: Tensor, name: VggLayerName): Tensor => {
    const { weight, bias } = layer(name);
    return op.relu(op.conv(op.pad(x, [0, 0, 1, 1, 0, 0, 1, 1], 'reflect'), weight, bias));
  };
  const pool = (x: Tensor): Tensor => op.maxPool(x, { kernel: [2, 2], strides: [2, 2], ceilMode: true });

  // conv0 is the input normalisation, folded into the network as a linear layer: no padding, no ReLU.
  const bgr = op.conv(image, layer('conv0').weight, layer('conv0').bias);
  const relu1_2 = conv3x3Relu(conv3x3Relu(bgr, 'conv1_1'), 'conv1_2');
  const relu2_2 = conv3x3Relu(conv3x3Relu(pool(relu1_2), 'conv2_1'), 'conv2_2');
  return conv3x3Relu(pool(relu2_2), 'conv3_1');
}

/** Checks the weights and returns a lookup of their initializers, adding them on first use. */
function layerTensors(graph: Graph, weights: VggWeights, prefix: string): (name: VggLayerName) => LayerTensors {
  let byPrefix = addedWeights.get(graph);
  if (!byPrefix) addedWeights.set(graph, (byPrefix = new Map()));
  const added = byPrefix.get(prefix);
  if (added) {
    if (added.weights !== weights) {
      throw new GraphError(`vggRelu31: graph ${graph.name} already holds other VGG weights under the prefix "${prefix}"; pass another prefix`);
    }
  } else {
    checkWeights(weights);
    const layers = new Map<VggLayerName, LayerTensors>();
    for (const l of weights.layers) {
      layers.set(l.name, {
        weight: graph.initializer(`${prefix}.${l.name}.weight`, { dtype: 'float32', shape: l.weightShape, data: l.weight }),
        bias: graph.initializer(`${prefix}.${l.name}.bias`, { dtype: 'float32', shape: [l.weightShape[0]], data: l.bias }),
      });
    }
    byPrefix.set(prefix, { weights, layers });
  }
  const layers = byPrefix.get(prefix)!.layers;
  return (name) => layers.get(name)!;
}

/** The weights must be exactly the layer table, in order (they may have been built by hand). */
function checkWeights(weights: VggWeights): void {
  const layers = weights?.layers;
  expect(Array.isArray(layers), 'weights', 'VggWeights { layers } (see loadVggWeights)', weights);
  expect(
    layers.length === VGG_LAYER_TABLE.length && VGG_LAYER_TABLE.every((t, i) => layers[i]?.name === t.name),
    'weights.layers',
    `the layers ${VGG_LAYER_TABLE.map((t) => t.name).join(', ')} in that order`,
    layers.map((l) => l?.name),
  );
  VGG_LAYER_TABLE.forEach(({ name, shape }, i) => {
    const l = layers[i];
    const size = shape.reduce((a, b) => a * b, 1);
    expect(
      l.weightShape.join() === shape.join() && l.weight instanceof Float32Array && l.weight.length === size &&
        l.bias instanceof Float32Array && l.bias.length === shape[0],
      `weights of ${name}`,
      `Float32Array weight [${shape}] and bias [${shape[0]}]`,
      `weight [${l.weightShape}] of ${describe(l.weight)} and bias ${describe(l.bias)}`,
    );
  });
}

/** An image for `FrozenVgg.features`: planar RGB (CHW), row-major, values in [0,1]. */
export interface VggImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** relu3_1 features of one image: [channels, height, width], row-major. */
export interface VggFeatures {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

/**
 * The frozen network as a ready-to-run model: it builds the ONNX model once (any image size) and
 * keeps one session per engine. Building it copies the weights into the model bytes, so later
 * changes to the `VggWeights` arrays cannot alter it.
 * @example
 *   const vgg = new FrozenVgg(decodeVggWeights(bytes, url)); // or, in Node, await FrozenVgg.load()
 *   const f = await vgg.features(engine, { width: 64, height: 48, data: rgbPlanes });
 *   // f.channels === 256, f.height === 12, f.width === 16
 *   await vgg.dispose();
 */
export class FrozenVgg {
  /** Names of the model's input and output. */
  static readonly INPUT = 'image';
  static readonly OUTPUT = 'relu3_1';

  readonly #model: Uint8Array;
  readonly #sessions = new Map<Engine, Promise<Session>>();
  #disposed = false;

  /**
   * @throws UsageError when `weights` does not hold the six layers of VGG_LAYER_TABLE with their shapes.
   */
  constructor(weights: VggWeights) {
    const g = new Graph('vgg19_relu3_1');
    const image = g.input(FrozenVgg.INPUT, [1, 3, 'H', 'W']);
    g.output(vggRelu31(g, image, weights), FrozenVgg.OUTPUT);
    this.#model = toOnnx(g);
  }

  /**
   * relu3_1 features of one image, computed on `engine` (the session is made on first use and kept).
   * An image of more than `tileArea` pixels is computed in tiles of `VGG_TILE` pixels across, each
   * read with a margin, so that the memory is a tile's and the features are the whole image's.
   * @param image planar RGB in [0,1], [3, height, width]; each side at least VGG_MIN_SIDE.
   * @param tile the tiles' side and the area from which to tile (tests use small ones)
   * @returns [256, ceil(ceil(height/2)/2), ceil(ceil(width/2)/2)]
   * @example
   *   const { data, height, width } = await vgg.features(engine, { width: 32, height: 32, data });
   * @throws UsageError when this object was disposed, the sizes are not integers >= VGG_MIN_SIDE, the
   *   data is not a Float32Array of 3 * height * width values, or a value lies outside [0,1] by more
   *   than VGG_RANGE_TOLERANCE (the message gives the minimum and maximum found).
   * @throws EngineError when ONNX Runtime fails.
   */
  async features(engine: Engine, image: VggImage, tile = { side: VGG_TILE, area: VGG_TILE_AREA }): Promise<VggFeatures> {
    if (this.#disposed) throw new UsageError('this FrozenVgg was disposed; make a new one with FrozenVgg.load()');
    expect(typeof image === 'object' && image !== null, 'image', '{ width, height, data }', image);
    const { width, height, data } = image;
    expect(Number.isSafeInteger(height) && height >= VGG_MIN_SIDE, 'image.height', `an integer >= ${VGG_MIN_SIDE}`, height);
    expect(Number.isSafeInteger(width) && width >= VGG_MIN_SIDE, 'image.width', `an integer >= ${VGG_MIN_SIDE}`, width);
    expect(data instanceof Float32Array && data.length === 3 * height * width, 'image.data', `a Float32Array of 3 * ${height} * ${width} values`, data);
    checkRange(data);

    const session = await this.#session(engine);
    const run = async (pixels: Float32Array, w: number, h: number): Promise<VggFeatures> => {
      const out = (await session.run({ [FrozenVgg.INPUT]: hostTensor(pixels, [1, 3, h, w]) }))[FrozenVgg.OUTPUT];
      const [, channels, fh, fw] = out.shape;
      return { channels, height: fh, width: fw, data: out.data as Float32Array };
    };
    if (width * height <= tile.area) return run(data, width, height);
    return tiledFeatures(image, tile.side, run);
  }

  /**
   * relu3_1 of `image`, given `base`, the features of an image that differs from it only inside
   * `changed` (pixels): the cells whose receptive field meets `changed` are computed on a crop of
   * `image` that holds their receptive fields, and every other cell is `base`'s. The result is
   * `features(image)` up to the float rounding of a convolution run at another size. A crop of most
   * of the image is not worth its copies: then the whole image is run.
   * @example
   *   const masked = await vgg.features(engine, photoWithGreyHole);
   *   const filled = await vgg.featuresNear(engine, photoWithFilledHole, masked, holeBox);
   * @throws UsageError as `features` does, or when `base` is not the features of an image of this size
   */
  async featuresNear(engine: Engine, image: VggImage, base: VggFeatures, changed: Box): Promise<VggFeatures> {
    const { width, height } = image;
    const [fw, fh] = [featureSize(width), featureSize(height)];
    expect(base.channels === VGG_CHANNELS && base.width === fw && base.height === fh && base.data.length === VGG_CHANNELS * fw * fh, 'base', `relu3_1 features of a ${width}x${height} image`, `${base.channels}x${base.height}x${base.width}`);
    // The cells whose receptive field meets `changed`, and the pixels that hold those fields: a
    // crop starting on a multiple of FEATURE_STRIDE, so that its pools pair the pixels the whole
    // image's do.
    const cells = (from: number, to: number, size: number): [number, number] => [
      Math.max(0, Math.ceil((from - (FEATURE_STRIDE - 1) - RECEPTIVE_REACH) / FEATURE_STRIDE)),
      Math.min(size - 1, Math.floor((to - 1 + RECEPTIVE_REACH) / FEATURE_STRIDE)),
    ];
    const [fx0, fx1] = cells(changed.x, changed.x + changed.width, fw);
    const [fy0, fy1] = cells(changed.y, changed.y + changed.height, fh);
    if (fx1 < fx0 || fy1 < fy0) return { ...base, data: base.data.slice() };
    const margin = FEATURE_STRIDE * Math.ceil(RECEPTIVE_REACH / FEATURE_STRIDE);
    const cx = Math.max(0, FEATURE_STRIDE * fx0 - margin);
    const cy = Math.max(0, FEATURE_STRIDE * fy0 - margin);
    const cw = Math.min(width, FEATURE_STRIDE * (fx1 + 1) + margin) - cx;
    const ch = Math.min(height, FEATURE_STRIDE * (fy1 + 1) + margin) - cy;
    if (cw * ch > NEAR_AREA * width * height) return this.features(engine, image);
    const near = await this.features(engine, { width: cw, height: ch, data: cropPixels(image, cx, cy, cw, ch) });
    const out = { channels: VGG_CHANNELS, height: fh, width: fw, data: base.data.slice() };
    pasteCells(out, near, fx0 - cx / FEATURE_STRIDE, fy0 - cy / FEATURE_STRIDE, { x: fx0, y: fy0, width: fx1 - fx0 + 1, height: fy1 - fy0 + 1 });
    return out;
  }

  /**
   * Releases the sessions on every engine used; later `features` calls throw. Idempotent.
   * @example
   *   await vgg.dispose();
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const pending = [...this.#sessions.values()];
    this.#sessions.clear();
    // A session whose creation failed has nothing to release.
    await Promise.all(pending.map((p) => p.then((s) => s.dispose(), () => undefined)));
  }

  #session(engine: Engine): Promise<Session> {
    // A disposed engine took its sessions with it; drop them so that the map does not grow.
    for (const e of this.#sessions.keys()) if (e.disposed) this.#sessions.delete(e);
    let session = this.#sessions.get(engine);
    if (!session) {
      const created = engine.load(this.#model, 'vgg19_relu3_1');
      // A failed creation must not stay cached: the next call should try again.
      created.catch(() => this.#sessions.get(engine) === created && this.#sessions.delete(engine));
      this.#sessions.set(engine, (session = created));
    }
    return session;
  }
}

/**
 * relu3_1 of `image` assembled from tiles: each tile's own part of `side` pixels (the last one in
 * a row or column runs to the image's edge) is read with `TILE_MARGIN` more pixels on every side
 * where the image has them, and only its own cells are kept. Tiles start at multiples of 4, so
 * their pools pair the pixels the whole image's do; a tile that reaches the image's edge pads it
 * as the whole image does.
 */
async function tiledFeatures(image: VggImage, side: number, run: (pixels: Float32Array, w: number, h: number) => Promise<VggFeatures>): Promise<VggFeatures> {
  const { width, height } = image;
  const [fw, fh] = [featureSize(width), featureSize(height)];
  const out: VggFeatures = { channels: VGG_CHANNELS, height: fh, width: fw, data: new Float32Array(VGG_CHANNELS * fw * fh) };
  for (let y0 = 0; y0 < height; y0 += side) {
    for (let x0 = 0; x0 < width; x0 += side) {
      const [cx, cy] = [Math.max(0, x0 - TILE_MARGIN), Math.max(0, y0 - TILE_MARGIN)];
      const [cw, ch] = [Math.min(width, x0 + side + TILE_MARGIN) - cx, Math.min(height, y0 + side + TILE_MARGIN) - cy];
      const f = await run(cropPixels(image, cx, cy, cw, ch), cw, ch);
      // This tile's own cells, and where they lie in the tile's map.
      const [gx, gy] = [x0 / FEATURE_STRIDE, y0 / FEATURE_STRIDE];
      const cells = { x: gx, y: gy, width: Math.min(fw, (x0 + side) / FEATURE_STRIDE) - gx, height: Math.min(fh, (y0 + side) / FEATURE_STRIDE) - gy };
      pasteCells(out, f, (x0 - cx) / FEATURE_STRIDE, (y0 - cy) / FEATURE_STRIDE, cells);
    }
  }
  return out;
}

/** The planar RGB pixels of `image` in the w x h box at (x, y). */
function cropPixels(image: VggImage, x: number, y: number, w: number, h: number): Float32Array {
  const { width, height, data } = image;
  const crop = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    for (let row = 0; row < h; row++) {
      const from = (c * height + y + row) * width + x;
      crop.set(data.subarray(from, from + w), (c * h + row) * w);
    }
  }
  return crop;
}

/** Copies into `cells` of `out` (cell coordinates) the cells of `part` that lie at (`ox`, `oy`) of its map, every channel. */
function pasteCells(out: VggFeatures, part: VggFeatures, ox: number, oy: number, cells: Box): void {
  for (let c = 0; c < VGG_CHANNELS; c++) {
    for (let y = 0; y < cells.height; y++) {
      const from = (c * part.height + oy + y) * part.width + ox;
      out.data.set(part.data.subarray(from, from + cells.width), (c * out.height + cells.y + y) * out.width + cells.x);
    }
  }
}

/** The network was trained on [0,1] inputs; anything else (0..255 bytes, [-1,1]) gives wrong features silently. */
function checkRange(data: Float32Array): void {
  let min = Infinity;
  let max = -Infinity;
  let nan = false;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (v !== v) nan = true;
  }
  if (nan || min < -VGG_RANGE_TOLERANCE || max > 1 + VGG_RANGE_TOLERANCE) {
    throw new UsageError(
      `Expected pixel values in [0, 1] for image.data but received values from ${min} to ${max}${nan ? ' and NaN' : ''}; ` +
        'scale 8-bit pixels by 1/255 and map [-1, 1] outputs with (x + 1) / 2',
    );
  }
}
