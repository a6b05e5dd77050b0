/**
 * How much fine detail and texture a fill has, against the original's: l1 and SSIM reward a fill
 * for being smooth where the content cannot be predicted, so a report needs figures that show what
 * that smoothness costs (docs/results.md, "What the averaging costs"), at the scale of a pixel
 * (`detail_hole`) and of a few (`texture_hole`).
 */
import { smooth } from '../core/blur.ts';
import type { MaskImage, RgbImage } from '../core/image.ts';
import { checkPair, MeanMetric, requireHole } from './metric.ts';

/** The sum of |differences| of horizontally or vertically neighbouring pixels both in the hole, over the 3 planes. */
function holeVariation(img: RgbImage, hole: Uint8Array): number {
  const { width, height } = img;
  const plane = width * height;
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    const data = img.data.subarray(c * plane, (c + 1) * plane);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!hole[i]) continue;
        if (x + 1 < width && hole[i + 1]) sum += Math.abs(data[i + 1] - data[i]);
        if (y + 1 < height && hole[i + width]) sum += Math.abs(data[i + width] - data[i]);
      }
    }
  }
  return sum;
}

/**
 * A property of the hole's pixels, the fill's in percent of the original's: read, not ranked (100
 * is the original's, smooth fills score low, noise can score over 100). A flat original (none of
 * it) gives 100 for a fill with none and Infinity otherwise.
 */
abstract class HoleShare extends MeanMetric {
  readonly unit = '%';
  readonly higherIsBetter = null;

  /** The property of `img` over the hole's pixels. */
  protected abstract measure(img: RgbImage, hole: Uint8Array): number;

  /**
   * @throws UsageError mismatched sizes, or a missing or empty mask
   */
  update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number {
    checkPair(pred, target, mask);
    const hole = requireHole(mask, this.name).data;
    const [fill, truth] = [this.measure(pred, hole), this.measure(target, hole)];
    return this.record(truth > 0 ? (100 * fill) / truth : fill > 0 ? Infinity : 100);
  }
}

/**
 * The fill's detail in percent of the original's: 100 x the summed |difference| of neighbouring
 * pixels both in the hole, over the same sum for the ground truth. 100: as much pixel-to-pixel
 * variation as the original; diffusion fills score 30 to 50, a fill with noise or artefacts
 * (a checkered pattern) can score over 100. So it is not ranked: it says what the ranked metrics
 * cannot, how smooth a fill is, and is read beside them.
 * @example
 * const detail = new HoleDetail();
 * detail.update(output, truth, mask); // e.g. 58.3: the fill varies about half as much as the original
 */
export class HoleDetail extends HoleShare {
  readonly name = 'detail_hole';
  protected measure = holeVariation;
}

/** `HoleTexture`'s band, as box radii of the two blurs it lies between (3 passes each: sigma about 1.4 and 4.5 px). */
export const TEXTURE_BAND = { from: 1, to: 4 } as const;

/**
 * The fill's texture a few pixels across, in percent of the original's: the summed |difference|
 * between the hole blurred at `TEXTURE_BAND.from` and at `TEXTURE_BAND.to` (each blur over hole
 * pixels only), over the hole's pixels. `detail_hole` counts pixel-to-pixel variation, which fine
 * grain over a smooth fill satisfies as well as texture does; this band holds neither the grain
 * nor the smooth shading, but the ripples, bricks and blotches 3 to 10 pixels across, and also the
 * streaks a diffusion draws along its isophotes. Read, not ranked, like `detail_hole`.
 * @example
 * const texture = new HoleTexture();
 * texture.update(output, truth, mask); // e.g. 20: a smear at that scale, with or without grain
 */
export class HoleTexture extends HoleShare {
  readonly name = 'texture_hole';
  protected measure = bandEnergy;
}

/**
 * The summed |difference| of `img`'s two blurs of `TEXTURE_BAND` over the hole's pixels, over the 3
 * planes. The blurs average hole pixels only (normalised convolution), so the fill's step to its
 * surroundings at the seam does not count, and a flat fill has none.
 */
function bandEnergy(img: RgbImage, hole: Uint8Array): number {
  const { width, height } = img;
  const plane = width * height;
  const { from, to } = TEXTURE_BAND;
  const inHole = Float32Array.from(hole, (v) => (v ? 1 : 0));
  const blur = (values: Float32Array, r: number) => (smooth(values, width, height, r), values);
  const [fineNorm, coarseNorm] = [blur(inHole.slice(), from), blur(inHole.slice(), to)];
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    const masked = Float32Array.from(img.data.subarray(c * plane, (c + 1) * plane), (v, i) => v * inHole[i]);
    const [fine, coarse] = [blur(masked.slice(), from), blur(masked, to)];
    for (let i = 0; i < plane; i++) if (hole[i]) sum += Math.abs(fine[i] / fineNorm[i] - coarse[i] / coarseNorm[i]);
  }
  return sum;
}
