/**
 * The shape every evaluation metric shares, and the checks they all make on their inputs.
 *
 * A metric is streaming: `update` scores one image pair and returns that image's value (the
 * per-image CSV needs it), `compute` gives the mean of every value since the last `reset`. The
 * dataset score is therefore the mean of per-image scores, the way the paper's tables average
 * them, not a score of all pixels pooled (which would weight large holes more).
 */
import { expect, UsageError } from '../core/errors.ts';
import type { MaskImage, RgbImage } from '../core/image.ts';

/** Which pixels a metric looks at. */
export type MetricRegion = 'image' | 'hole';

export interface Metric {
  /** A short column name for reports, e.g. 'l1_hole', 'psnr'. */
  readonly name: string;
  /** The unit values are in, for report headers: '%', 'dB', '' (unitless). */
  readonly unit: string;
  /**
   * True when larger values are better (PSNR, SSIM), false for errors and distances, null for a
   * figure that is read rather than ranked (the fill's detail).
   */
  readonly higherIsBetter: boolean | null;
  /** How many images were scored since the last reset. */
  readonly count: number;
  /**
   * Scores one prediction against its ground truth and adds the score to the running mean.
   * @param mask 1 = hole; required by hole-region metrics, ignored by whole-image ones.
   * @returns this image's score
   */
  update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number | Promise<number>;
  /**
   * The mean of the scores since the last reset (Infinity when any score is, e.g. PSNR of a
   * perfect prediction).
   * @throws UsageError when nothing was scored yet
   */
  compute(): number;
  /** Forgets every score. */
  reset(): void;
}

/**
 * The running mean behind every metric here: subclasses say how to score one image.
 * Sums in float64, so thousands of images lose nothing to rounding.
 */
export abstract class MeanMetric implements Metric {
  abstract readonly name: string;
  abstract readonly unit: string;
  abstract readonly higherIsBetter: boolean | null;
  #sum = 0;
  #count = 0;

  get count(): number {
    return this.#count;
  }

  abstract update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number | Promise<number>;

  /** Adds one score; subclasses call it from `update` and return its result. */
  protected record(value: number): number {
    this.#sum += value;
    this.#count++;
    return value;
  }

  compute(): number {
    if (this.#count === 0) throw new UsageError(`the ${this.name} metric has scored no image yet: call update() first`);
    return this.#sum / this.#count;
  }

  reset(): void {
    this.#sum = 0;
    this.#count = 0;
  }
}

/**
 * Checks that `pred` and `target` are well-formed images of one size (and `mask`, when given, too).
 * @throws UsageError naming what differs
 */
export function checkPair(pred: RgbImage, target: RgbImage, mask?: MaskImage): void {
  for (const [name, img] of [['pred', pred], ['target', target]] as const) {
    const ok = Number.isInteger(img?.width) && Number.isInteger(img?.height) && img.width > 0 && img.height > 0 &&
      img.data instanceof Float32Array && img.data.length === 3 * img.width * img.height;
    expect(ok, name, 'an RgbImage (Float32Array of 3 * width * height)', img);
  }
  expect(pred.width === target.width && pred.height === target.height, 'pred', `the size of target (${target.width}x${target.height})`, `${pred.width}x${pred.height}`);
  if (mask === undefined) return;
  expect(
    mask.width === target.width && mask.height === target.height && mask.data instanceof Uint8Array && mask.data.length === mask.width * mask.height,
    'mask',
    `a MaskImage of the images' size (${target.width}x${target.height})`,
    `${mask.width}x${mask.height}`,
  );
}

/**
 * The mask a hole-region metric needs, checked to hold at least one hole pixel.
 * @throws UsageError when the mask is missing or empty
 */
export function requireHole(mask: MaskImage | undefined, metric: string): MaskImage {
  if (mask === undefined) throw new UsageError(`the ${metric} metric scores the hole, so update() needs the mask`);
  if (!mask.data.some((v) => v !== 0)) throw new UsageError(`the ${metric} metric scores the hole, but the mask has no hole pixel`);
  return mask;
}
