/**
 * Structural similarity (SSIM), computed exactly as scikit-image's
 * `skimage.metrics.structural_similarity(pred, target, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1, channel_axis=...)` (the settings of Wang et al. 2004
 * that most inpainting papers report), in float64:
 *
 * - local means, variances and covariance are Gaussian-weighted: sigma 1.5 truncated at 3.5 sigma,
 *   i.e. radius int(3.5 * 1.5 + 0.5) = 5, an 11x11 separable window whose taps
 *   exp(-x² / 2σ²) are normalised to sum 1 (scipy.ndimage.gaussian_filter's kernel);
 * - variances are population ones (use_sample_covariance=False: no N / (N - 1) factor);
 * - C1 = (0.01 * 1)², C2 = (0.03 * 1)²;
 * - borders: skimage filters the whole image (reflecting at the edges) and then crops
 *   (11 - 1) / 2 = 5 pixels from each side of the SSIM map before averaging, so every value it
 *   keeps comes from a window lying wholly inside the image. Here only those windows are computed
 *   ("valid" filtering), which gives the same numbers without padding;
 * - colour: the mean SSIM of each RGB channel, averaged over the channels.
 *
 * Verified in ssim.test.ts against values scikit-image 0.19.3 printed for fixed images, and against
 * a plain-loop float64 implementation of the definition.
 */
import { expect } from '../core/errors.ts';
import { type Box, cropImage, type MaskImage, maskBoundingBox, type RgbImage } from '../core/image.ts';
import { checkPair, MeanMetric, type MetricRegion, requireHole } from './metric.ts';

/** Side of the Gaussian window, and so the smallest image side SSIM accepts. */
export const SSIM_WINDOW = 11;
/** Standard deviation of the Gaussian window, in pixels. */
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

const RADIUS = (SSIM_WINDOW - 1) / 2;
const C1 = SSIM_K1 * SSIM_K1;
const C2 = SSIM_K2 * SSIM_K2;

const KERNEL: Float64Array = (() => {
  const k = Float64Array.from({ length: SSIM_WINDOW }, (_, i) => Math.exp((-0.5 * (i - RADIUS) ** 2) / (SSIM_SIGMA * SSIM_SIGMA)));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
})();

/**
 * Mean SSIM of two images of one size, over the RGB channels (see the file comment for the exact
 * definition). 1 for identical images.
 * @param box score only this part of both images (e.g. around the hole); default the whole image
 * @example
 * ssim(output, truth);                               // e.g. 0.87
 * ssim(output, truth, { x: 64, y: 64, width: 128, height: 128 });
 * @throws UsageError mismatched sizes, a box outside the images, or a side below SSIM_WINDOW
 */
export function ssim(pred: RgbImage, target: RgbImage, box?: Box): number {
  checkPair(pred, target);
  const [a, b] = box ? [cropImage(pred, box), cropImage(target, box)] : [pred, target];
  const { width: w, height: h } = a;
  expect(w >= SSIM_WINDOW && h >= SSIM_WINDOW, 'the region SSIM scores', `at least ${SSIM_WINDOW}x${SSIM_WINDOW} pixels (its window)`, `${w}x${h}`);
  const plane = w * h;
  let total = 0;
  for (let c = 0; c < 3; c++) total += channelSsim(a.data.subarray(c * plane, (c + 1) * plane), b.data.subarray(c * plane, (c + 1) * plane), w, h);
  return total / 3;
}

/** Mean of the SSIM map of one channel over the positions whose window lies inside the image. */
function channelSsim(x: Float32Array, y: Float32Array, w: number, h: number): number {
  const ow = w - 2 * RADIUS;
  const oh = h - 2 * RADIUS;
  // Horizontal pass of the five filtered quantities: x, y, x², y², xy, on every row.
  const hx = new Float64Array(h * ow);
  const hy = new Float64Array(h * ow);
  const hxx = new Float64Array(h * ow);
  const hyy = new Float64Array(h * ow);
  const hxy = new Float64Array(h * ow);
  for (let r = 0; r < h; r++) {
    for (let j = 0; j < ow; j++) {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      const base = r * w + j;
      for (let k = 0; k < SSIM_WINDOW; k++) {
        const wk = KERNEL[k];
        const xv = x[base + k];
        const yv = y[base + k];
        sx += wk * xv;
        sy += wk * yv;
        sxx += wk * xv * xv;
        syy += wk * yv * yv;
        sxy += wk * xv * yv;
      }
      const o = r * ow + j;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }
  // Vertical pass, then the SSIM formula at each position, summed.
  let total = 0;
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
      for (let k = 0; k < SSIM_WINDOW; k++) {
        const wk = KERNEL[k];
        const o = (i + k) * ow + j;
        ux += wk * hx[o];
        uy += wk * hy[o];
        uxx += wk * hxx[o];
        uyy += wk * hyy[o];
        uxy += wk * hxy[o];
      }
      const vx = uxx - ux * ux;
      const vy = uyy - uy * uy;
      const vxy = uxy - ux * uy;
      total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
  }
  return total / (ow * oh);
}

/**
 * The box `Ssim('hole')` scores: the hole's bounding box, grown about its centre (and shifted to
 * stay inside the image) to at least SSIM_WINDOW pixels a side, so that a thin stroke still has
 * a window to score.
 * @throws UsageError an empty mask, or an image side below SSIM_WINDOW
 */
export function ssimHoleBox(mask: MaskImage): Box {
  // requireHole has checked that there is a hole, so there is a box.
  const box = maskBoundingBox(requireHole(mask, 'ssim_hole'))!;
  expect(mask.width >= SSIM_WINDOW && mask.height >= SSIM_WINDOW, 'the mask size', `at least ${SSIM_WINDOW}x${SSIM_WINDOW}`, `${mask.width}x${mask.height}`);
  const grow = (start: number, length: number, limit: number): [number, number] => {
    if (length >= SSIM_WINDOW) return [start, length];
    const lo = Math.max(0, Math.min(limit - SSIM_WINDOW, start - Math.floor((SSIM_WINDOW - length) / 2)));
    return [lo, SSIM_WINDOW];
  };
  const [x, width] = grow(box.x, box.width, mask.width);
  const [y, height] = grow(box.y, box.height, mask.height);
  return { x, y, width, height };
}

/**
 * Streaming SSIM: of the whole image, or (region 'hole', reported as 'ssim_hole') of the hole's
 * bounding box (see `ssimHoleBox`), where the methods differ; the whole-image value is dominated
 * by the known pixels, which every method returns unchanged.
 * @example
 * const s = new Ssim('hole');
 * s.update(output, truth, mask);
 * s.compute();
 */
export class Ssim extends MeanMetric {
  readonly name: string;
  readonly unit = '';
  readonly higherIsBetter = true;

  constructor(readonly region: MetricRegion = 'image') {
    super();
    this.name = region === 'hole' ? 'ssim_hole' : 'ssim';
  }

  /**
   * @throws UsageError mismatched sizes, images below SSIM_WINDOW a side, or (region 'hole') a
   *   missing or empty mask
   */
  update(pred: RgbImage, target: RgbImage, mask?: MaskImage): number {
    checkPair(pred, target, mask);
    return this.record(ssim(pred, target, this.region === 'hole' ? ssimHoleBox(requireHole(mask, this.name)) : undefined));
  }
}
