/**
 * The trained networks of a bundle as sessions on one Engine: G1, one G2 per training scale, the
 * feature guide when the bundle has one, the frozen VGG and patch-swap. Every graph is built with
 * symbolic height and width and its weights as initializers, so one session serves every image
 * size; the sessions live until `dispose()`.
 *
 * Each network is padded only as far as it needs: G1 to a multiple of 8 pixels, G2 to a multiple of
 * 64 feature cells (256 pixels); VGG and patch-swap take any size. So a 4:3 image costs VGG and
 * patch-swap, the expensive steps, a quarter less than padding it square would. Padding mirrors the
 * content (see `mirrorPad`), and is cut off again before anything is returned.
 */
import { type MaskImage, maskBoundingBox, type RgbImage } from '../core/raster.ts';
import type { FrozenVgg, VggFeatures } from '../features/frozen-vgg.ts';
import { toOnnx } from '../graph/onnx.ts';
import type { Bundle } from '../models/bundle-format.ts';
import type { ModelConfig } from '../models/config.ts';
import { G2_FEATURE_MODULUS } from '../models/feature2image.ts';
import { G1_SIZE_MODULUS, HOLE_FILL } from '../models/image2feature.ts';
import { buildNetworkGraph, createNetwork } from '../models/registry.ts';
import { lookup, type ParamStore } from '../nn/params.ts';
import { PatchSwapper } from '../patchswap/index.ts';
import type { InferenceEngine as Engine, Session } from '../runtime/session.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { maskToFloat, mirrorPad, unpad } from './pixels.ts';

const SYMBOLIC = { batch: 1, height: 'H', width: 'W' } as const;

/** `n` rounded up to a multiple of `modulus`, and at least `least`. */
const padTo = (n: number, modulus: number, least = modulus) => Math.max(least, Math.ceil(n / modulus) * modulus);

/** The sessions of a bundle's networks; `create` makes them, `dispose` releases them. */
export class Networks {
  readonly #engine: Engine;
  readonly #model: ModelConfig;
  readonly #g1: Session;
  readonly #g2: ReadonlyMap<number, Session>;
  readonly #guide: Session | undefined;
  readonly #vgg: FrozenVgg;
  readonly #swapper: PatchSwapper;

  private constructor(engine: Engine, model: ModelConfig, g1: Session, g2: ReadonlyMap<number, Session>, guide: Session | undefined, vgg: FrozenVgg, swapper: PatchSwapper) {
    this.#engine = engine;
    this.#model = model;
    this.#g1 = g1;
    this.#g2 = g2;
    this.#guide = guide;
    this.#vgg = vgg;
    this.#swapper = swapper;
  }

  /**
   * Creates the sessions of every network of the bundle.
   * @throws EngineError if ONNX Runtime cannot create a session
   * @throws GraphError if the bundle lacks a value a network needs
   */
  static async create(engine: Engine, bundle: Bundle, vgg: FrozenVgg): Promise<Networks> {
    const { model } = bundle.manifest;
    const session = (kind: 'g1' | 'g2' | 'guide', values: ParamStore, name: string) => {
      const { graph } = buildNetworkGraph(createNetwork(kind, model), SYMBOLIC, 'infer', lookup(values));
      return engine.load(toOnnx(graph), name);
    };
    const g1 = await session('g1', bundle.g1, 'g1');
    const g2 = new Map<number, Session>();
    for (const [scale, values] of bundle.g2) g2.set(scale, await session('g2', values, `g2_${scale}`));
    const guide = bundle.guide && (await session('guide', bundle.guide, 'guide'));
    return new Networks(engine, model, g1, g2, guide, vgg, await PatchSwapper.create(engine));
  }

  /** The scales the bundle has a G2 for, ascending. */
  get trainedScales(): number[] {
    return [...this.#g2.keys()].sort((a, b) => a - b);
  }

  /** The G2 that renders `scale`: the one trained closest to it in ratio (ties: the smaller). */
  g2ScaleFor(scale: number): number {
    return this.trainedScales.reduce((best, s) => (Math.abs(Math.log(s / scale)) < Math.abs(Math.log(best / scale)) ? s : best));
  }

  /** G1's composite I1 at the image's size (known pixels exactly the input's). */
  async coarse(image: RgbImage, mask: MaskImage): Promise<RgbImage> {
    // Three stride-2 convs, and the dilated convs' reflection padding must fit at 1/8 resolution.
    const least = G1_SIZE_MODULUS * (this.#model.g1.dilation + 1);
    const [width, height] = [padTo(image.width, G1_SIZE_MODULUS, least), padTo(image.height, G1_SIZE_MODULUS, least)];
    const feeds = {
      image: hostTensor(mirrorPad(image, width, height).data, [1, 3, height, width]),
      mask: hostTensor(maskToFloat(mirrorPad(mask, width, height)), [1, 1, height, width]),
    };
    const out = await this.#g1.run(feeds, ['composite']);
    return unpad({ width, height, data: out.composite.data as Float32Array }, image.width, image.height);
  }

  /** Whether the bundle has a feature guide (`guided`). */
  get hasGuide(): boolean {
    return this.#guide !== undefined;
  }

  /**
   * The first match's features: VGG relu3_1 of `composite` (the working image with its hole
   * filled), and the same with the hole's cells (> 0.5 in `cells`, feature resolution) replaced by
   * the feature guide's prediction (clamped at 0, as relu3_1 is), made from VGG relu3_1 of `known`
   * with the hole's pixels (`mask`) set to mid grey, as the guide was trained. The two images
   * differ only in the hole, so the composite's features are run only on the cells it reaches
   * (`FrozenVgg.featuresNear`; at 256 with a 128-px hole, 184x184 pixels).
   * @throws Error when the bundle has no guide (see `hasGuide`)
   */
  async guided(composite: RgbImage, known: RgbImage, mask: MaskImage, cells: HostTensor): Promise<{ features: VggFeatures; guided: VggFeatures }> {
    if (!this.#guide) throw new Error('this bundle has no feature guide');
    const grey = new Float32Array(known.data);
    const plane = known.width * known.height;
    for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) if (mask.data[i]) grey[c * plane + i] = HOLE_FILL;
    const masked = await this.vggFeatures({ ...known, data: grey });
    const hole = maskBoundingBox(mask);
    const features = hole ? await this.#vgg.featuresNear(this.#engine, composite, masked, hole) : masked;
    const { channels, height, width } = masked;
    const out = await this.#guide.run({ masked: hostTensor(masked.data, [1, channels, height, width]), cells }, ['features']);
    return { features, guided: { ...features, data: replaceHoleCells(features.data, out.features.data as Float32Array, cells.data as Float32Array, channels) } };
  }

  /** VGG19 relu3_1 of the image. */
  vggFeatures(image: RgbImage): Promise<VggFeatures> {
    return this.#vgg.features(this.#engine, image);
  }

  /**
   * Patch-swap of the hole cells of `features` (mask at feature resolution, > 0.5 = hole), with
   * `locality` (see `PatchSwapOptions`), never copying from the cells of `sourceMask` when given.
   */
  async swap(features: VggFeatures, mask: HostTensor, locality: number, sourceMask?: HostTensor): Promise<{ swapped: VggFeatures; provenance: BigInt64Array }> {
    const { channels, height, width } = features;
    const out = await this.#swapper.swap({ features: hostTensor(features.data, [1, channels, height, width]), mask, locality, sourceMask });
    return { swapped: { ...features, data: out.swapped.data as Float32Array }, provenance: out.provenance.data as BigInt64Array };
  }

  /**
   * Style-swap: each patch of `features` touching a cell that `mask` marks (> 0.5; none: every
   * patch) replaced by its best-matching patch of `source`, a map of its own (another image's
   * features); unmarked cells keep their features. Provenance: per marked cell the flat index
   * sy * source.width + sx of the source cell its value comes from, else -1.
   */
  async swapAgainst(features: VggFeatures, source: VggFeatures, mask?: HostTensor): Promise<{ swapped: VggFeatures; provenance: BigInt64Array }> {
    const map = (f: VggFeatures) => hostTensor(f.data, [1, f.channels, f.height, f.width]);
    const out = await this.#swapper.swap({ features: map(features), source: map(source), mask });
    return { swapped: { ...features, data: out.swapped.data as Float32Array }, provenance: out.provenance.data as BigInt64Array };
  }

  /**
   * G2's image from features, cut to `width` x `height` pixels (at most 4x the feature map's size),
   * with the G2 chosen by `g2ScaleFor(scale)`. The features' buffer (or its padded copy) is handed
   * to the engine rather than copied (16 MB at 512): the caller must not use it afterwards.
   */
  async render(scale: number, features: VggFeatures, width: number, height: number): Promise<RgbImage> {
    const [cellsWide, cellsHigh] = [padTo(features.width, G2_FEATURE_MODULUS), padTo(features.height, G2_FEATURE_MODULUS)];
    const padded = mirrorPad(features, cellsWide, cellsHigh);
    const session = this.#g2.get(this.g2ScaleFor(scale))!;
    const feed = { features: hostTensor(padded.data, [1, features.channels, cellsHigh, cellsWide]) };
    const out = await session.run(feed, undefined, { transfer: true });
    return unpad({ width: 4 * cellsWide, height: 4 * cellsHigh, data: out.image.data as Float32Array }, width, height);
  }

  /** Releases every session (the engine itself belongs to the caller). */
  async dispose(): Promise<void> {
    this.#g1.dispose();
    for (const s of this.#g2.values()) s.dispose();
    this.#guide?.dispose();
    this.#swapper.dispose();
    await this.#vgg.dispose();
  }
}

/** `features` (channels x cells) with the cells where `hole` > 0.5 taken from `predicted`, clamped at 0. */
function replaceHoleCells(features: Float32Array, predicted: Float32Array, hole: Float32Array, channels: number): Float32Array {
  const data = new Float32Array(features);
  const cells = hole.length;
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < cells; k++) if (hole[k] > 0.5) data[c * cells + k] = Math.max(0, predicted[c * cells + k]);
  }
  return data;
}
