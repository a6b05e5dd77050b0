/**
 * Colour in patch-swap's match [ours; issue 23].
 *
 * The paper's patch-swap scores a known patch by the normalised cross-correlation of relu3_1
 * features, which carry pattern and little colour or brightness: guided by the coarse fill, it
 * readily picks a patch of the right texture in the wrong colour (grey water for blue, a dark wall
 * for a lit one), and G2 renders that colour faithfully. So, for the match only, each cell of the
 * feature map gets three more channels: the guide's mean colour over the cell's 4x4 pixels, centred
 * on the map's mean colour and multiplied by a weight. The score then prefers, among patches of a
 * similar pattern, those whose colour is also the guide's; G2 is given the swapped features
 * without the extra channels.
 *
 * Measured on photos-other (38 photos from other sources than the training set, for validation only
 * and never trained on; docs/results.md,
 * "Colour in the match"), against Telea: at weight 60 (where the colour channels are about as
 * strong per cell as the relu3_1 features, mean norms 22.6 and 22.8) hole l1 went from above
 * Telea's to below it on all three protocols and the SSIM gap halved (centre-256: -0.0096 to
 * -0.0049; rectangles-256: -0.0077 to -0.0046; centre-512, at the earlier native-detail gain of 0.3:
 * -0.0090 to -0.0051); 15 and 30 gained less, 120 no more. The price is some texture (detail 57% to 51% at centre-256): patches of the
 * guide's colour are also a little smoother.
 */
import type { RgbImage } from '../core/raster.ts';
import { FEATURE_STRIDE } from '../features/grid.ts';
import type { VggFeatures } from '../features/frozen-vgg.ts';

/** The weight of the colour channels by default (see above). */
export const DEFAULT_MATCH_COLOUR = 60;

/**
 * The share of a diffusion fill (coherence transport's, `coherence.ts`) in the colour the first
 * scale's match reads in the hole; the rest is G1's coarse fill [ours]. G1 guesses the hole's
 * colours from what it learned, the diffusion carries its edge's colours inward: their errors are
 * largely independent, as in the last step's mix (`mixDiffusion`), so their mean is the better
 * guide. On photos-other, against G1's colour alone (with the mid band's share by coherence,
 * `DIFFUSION_MIX`): SSIM +0.0010, +0.0006 and +0.0006 on centre-256, rectangles-256 and centre-512,
 * beyond the noise, for 2.2, 0.9 and 0.9 points of detail; all of the diffusion's colour instead of
 * half gained less (docs/results-history.md, "Session 43"). A smooth diffusion (push-pull) in the
 * same place cost SSIM (docs/decisions/match-colour.md): it carries no edge into the hole.
 */
export const MATCH_COLOUR_DIFFUSION = 0.5;

/**
 * What the match's colour channels read at the first scale: `coarse` (G1's composite) and
 * `diffusion` (the same photo's hole filled by coherence transport) mixed by
 * `MATCH_COLOUR_DIFFUSION`. Both hold the photo's own known pixels, so only the hole changes.
 */
export function colourGuide(coarse: RgbImage, diffusion: RgbImage): RgbImage {
  const share = MATCH_COLOUR_DIFFUSION;
  const data = new Float32Array(coarse.data.length);
  for (let k = 0; k < data.length; k++) data[k] = (1 - share) * coarse.data[k] + share * diffusion.data[k];
  return { ...coarse, data };
}

/**
 * The features with three more channels: `guide`'s mean colour per cell (the cell's pixels that
 * lie inside the image), centred on the map's mean and times `weight`.
 * @param guide the image the features were taken from (same working size)
 */
export function withCellColour(features: VggFeatures, guide: RgbImage, weight: number): VggFeatures {
  const { channels, height: fh, width: fw } = features;
  const plane = fh * fw;
  const { width, height } = guide;
  const data = new Float32Array((channels + 3) * plane);
  data.set(features.data);
  for (let c = 0; c < 3; c++) {
    const src = guide.data.subarray(c * width * height, (c + 1) * width * height);
    const out = data.subarray((channels + c) * plane, (channels + c + 1) * plane);
    let total = 0;
    for (let y = 0; y < fh; y++) {
      const y0 = y * FEATURE_STRIDE;
      const y1 = Math.min((y + 1) * FEATURE_STRIDE, height);
      for (let x = 0; x < fw; x++) {
        const x0 = x * FEATURE_STRIDE;
        const x1 = Math.min((x + 1) * FEATURE_STRIDE, width);
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += src[yy * width + xx];
        const n = (y1 - y0) * (x1 - x0);
        out[y * fw + x] = n > 0 ? sum / n : 0;
        total += out[y * fw + x];
      }
    }
    const mean = total / plane;
    for (let i = 0; i < plane; i++) out[i] = weight * (out[i] - mean);
  }
  return { channels: channels + 3, height: fh, width: fw, data };
}

/** The first `channels` channels of swapped features (the colour channels dropped). */
export function withoutCellColour(swapped: VggFeatures, channels: number): VggFeatures {
  return { channels, height: swapped.height, width: swapped.width, data: swapped.data.slice(0, channels * swapped.height * swapped.width) };
}
