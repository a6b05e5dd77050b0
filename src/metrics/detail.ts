/**
 * How much fine detail a fill has, against the original's: l1 and SSIM reward a fill for being
 * smooth where the content cannot be predicted, so a report needs a figure that shows what that
 * smoothness costs (docs/results.md, "What the averaging costs").
 */
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
 * The fill's detail in percent of the original's: 100 x the summed |difference| of neighbouring
 * pixels both in the hole, over the same sum for the ground truth. 100: as much pixel-to-pixel
 * variation as the original; diffusion fills score 30 to 50, a fill with noise or artefacts
 * (a checkered pattern) can score over 100. So it is not ranked: it says what the ranked metrics
 * cannot, how smooth a fill is, and is read beside them. A flat original hole (no variation) gives
 * 100 for a flat fill and Infinity otherwise.
 * @example
 * const detail = new HoleDetail();
 * detail.update(output, truth, mask); // e.g. 58.3: the fill varies about half as much as the original
 */
export class HoleDetail extends MeanMetric {
  readonly name = 'detail_hole';
  readonly unit = '%';
  readonly higherIsBetter = null;

  /**
   * @throws UsageError mismatched sizes, or a missing or empty mask
   */
  update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number {
    checkPair(pred, target, mask);
    const hole = requireHole(mask, this.name).data;
    const [fill, truth] = [holeVariation(pred, hole), holeVariation(target, hole)];
    return this.record(truth > 0 ? (100 * fill) / truth : fill > 0 ? Infinity : 100);
  }
}
