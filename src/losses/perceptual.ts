/**
 * Perceptual losses on VGG19 relu3_1 features (NCHW), for the two generators of the paper and the
 * feature guide (ours, `patchCosineLoss` at the end).
 *
 * G1 (Image2Feature, §3.3.1, eq. 2): L = || M_F o (F_1 - vgg(I_gt)) ||_1, where M_F "are the weighted
 * masks yielding the loss to be computed only on the hole r", with "higher weight to the overlapping
 * pixels between the hole and the boundary to ensure the composite is coherent". The paper gives no
 * number for that weight nor a width for the band; our defaults are below.
 *
 * G2 (Feature2Image, §3.3.3, eq. 5): L = || vgg(I) - vgg(I_gt) ||_2 over the entire image.
 *
 * Both are means rather than the paper's raw norms: a sum would grow with the image size, the hole
 * size and the batch, and then the paper's fixed weights (lambda_1 = 10, lambda_2 = 1) and learning
 * rates could not hold across the 256 and 512 trainings.
 */
import { GraphError } from '../core/errors.ts';
import { formatShape, type Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { checkNumber, sameShape, TINY } from './internal.ts';

/**
 * Weight of the hole cells next to the known region, relative to 1 for the rest of the hole. The paper
 * asks for "higher weight" without a number; 5 makes the band count clearly (a one-cell band around a
 * 16x16-cell hole is 60 of 256 cells, so it then carries 60% of the loss) without drowning the
 * interior, whose content G1 must still infer.
 */
export const DEFAULT_BOUNDARY_WEIGHT = 5;

/**
 * Width of that band in feature cells (Chebyshev distance to the nearest known cell). One cell, the
 * hole cells that touch the boundary, is the literal "overlap of hole and boundary"; a relu3_1 cell is
 * 4x4 pixels and sees about 24x24, so cells up to ~3 deep still see known pixels: raise it to cover them.
 */
export const DEFAULT_BAND_WIDTH = 1;

export interface MaskedPerceptualOptions {
  /** Weight of the boundary band, >= 0 (1 = no emphasis). Default `DEFAULT_BOUNDARY_WEIGHT` (5). */
  boundaryWeight?: number;
  /** Band width in feature cells, an integer >= 1. Default `DEFAULT_BAND_WIDTH` (1). */
  bandWidth?: number;
}

/**
 * The per-cell weights M_F of G1's loss, [N, 1, h, w], from the hole mask at feature resolution
 * (1 = hole, 0 = known; fractional values, as from average-pooling the pixel mask, are accepted):
 *  - known cells: 0. The paper computes the loss "only on the hole r"; in the composite I_1 the known
 *    pixels are the ground truth, so known cells carry (almost) no error to learn from, and what little
 *    they carry (receptive fields reaching into the hole) is the hole's business, weighted by the band.
 *  - hole cells: 1,
 *  - hole cells within `bandWidth` cells of a known cell: `boundaryWeight`.
 * The band is built in the graph: max-pooling (1 - mask) with a (2 bandWidth + 1)^2 window dilates the
 * known region; its product with the mask is the band. Zero padding means the image border is not a
 * boundary: there is no known content beyond it to be coherent with.
 * No gradient flows to the mask (the loss is differentiated w.r.t. the prediction only).
 *
 * @throws GraphError when the mask is not [N, 1, h, w]
 * @throws UsageError for a negative weight or a band width that is not a positive integer
 * @example
 *   const w = boundaryWeights(maskFeat, { boundaryWeight: 5, bandWidth: 1 });
 */
export function boundaryWeights(maskFeat: Tensor, options: MaskedPerceptualOptions = {}): Tensor {
  const boundaryWeight = options.boundaryWeight ?? DEFAULT_BOUNDARY_WEIGHT;
  const bandWidth = options.bandWidth ?? DEFAULT_BAND_WIDTH;
  checkNumber('boundaryWeight', boundaryWeight, 0);
  checkNumber('bandWidth', bandWidth, 1, true);
  if (maskFeat.rank !== 4 || maskFeat.shape[1] !== 1) {
    throw new GraphError(`boundaryWeights: the mask must be [N, 1, h, w], got ${maskFeat.name}${formatShape(maskFeat.shape)}`);
  }
  const b = bandWidth;
  const known = op.sub(1, maskFeat);
  const k = 2 * b + 1;
  const nearKnown = op.maxPool(op.pad(known, [0, 0, b, b, 0, 0, b, b]), { kernel: [k, k], strides: [1, 1] });
  const band = op.mul(maskFeat, nearKnown);
  return op.add(maskFeat, op.mul(band, boundaryWeight - 1));
}

/**
 * G1's masked perceptual loss: sum(M_F * |F_pred - F_gt|) / (C * sum(M_F)), i.e. the M_F-weighted mean
 * absolute feature error over the hole, with M_F from `boundaryWeights`. Dividing by the weights'
 * sum makes the value independent of image size, hole size and batch size; a batch with no hole
 * gives 0.
 *
 * @param fPred relu3_1 features of the composite I_1, [N, C, h, w]
 * @param fGt relu3_1 features of the ground truth, same shape
 * @param maskFeat hole mask at feature resolution, [N, 1, h, w]
 * @throws GraphError on mismatched shapes or a non-static channel count
 * @throws UsageError on invalid options
 * @example
 *   const loss = op.add(op.mul(maskedPerceptualL1(vgg(i1), vgg(gt), maskFeat), 10), generatorLoss(dFake));
 */
export function maskedPerceptualL1(fPred: Tensor, fGt: Tensor, maskFeat: Tensor, options: MaskedPerceptualOptions = {}): Tensor {
  sameShape('maskedPerceptualL1', fPred, fGt);
  const channels = fPred.shape[1];
  if (fPred.rank !== 4 || typeof channels !== 'number') {
    throw new GraphError(`maskedPerceptualL1: features must be [N, C, h, w] with a static C, got ${fPred.name}${formatShape(fPred.shape)}`);
  }
  const spatialMatch = [0, 2, 3].every((i) => maskFeat.shape[i] === fPred.shape[i] || typeof maskFeat.shape[i] === 'string');
  if (maskFeat.rank !== 4 || !spatialMatch) {
    throw new GraphError(
      `maskedPerceptualL1: mask ${maskFeat.name}${formatShape(maskFeat.shape)} does not match features ${fPred.name}${formatShape(fPred.shape)}`,
    );
  }
  const weights = boundaryWeights(maskFeat, options);
  const weighted = op.reduceSum(op.mul(op.abs(op.sub(fPred, fGt)), weights));
  const total = op.mul(op.reduceSum(weights), channels);
  return op.div(weighted, op.max(total, TINY));
}

/**
 * G2's perceptual loss: the mean squared difference of the features over every element. The paper
 * writes || . ||_2; we use its square, averaged, which has the same minimiser and, unlike the norm,
 * a gradient that is defined at zero error and shrinks as the error does.
 *
 * @throws GraphError on mismatched shapes
 * @example
 *   const loss = op.add(op.mul(perceptualL2(vgg(out), vgg(gt)), 10), generatorLoss(dFake));
 */
export function perceptualL2(fPred: Tensor, fGt: Tensor): Tensor {
  sameShape('perceptualL2', fPred, fGt);
  return op.reduceMean(op.square(op.sub(fPred, fGt)));
}

/**
 * Weight of the feature guide's per-cell norm term. The cosine alone leaves each cell's feature norm
 * free; the norm sets how much a cell's features weigh against the colour channels in patch-swap's
 * match, so a small pull towards the truth's norm keeps it sensible (the session-12 prototype's value,
 * docs/decisions/feature-guide.md).
 */
export const PATCH_NORM_WEIGHT = 0.02;

/** Keeps the square roots and the cosine's denominator away from 0 (all-zero cells: relu3_1 is sparse). */
const PATCH_EPSILON = 1e-6;

/**
 * The feature guide's loss (ours): what patch-swap reads of a prediction. Patch-swap picks, for each
 * hole cell, the known 3x3 patch of highest normalised cross-correlation, so only the direction of a
 * predicted patch decides the match; an l1 in relu3_1 (sparse, so nearly minimised by predicting 0)
 * did not teach it (docs/decisions/feature-guide.md). Per hole cell:
 *   1 - <P, T> / (|P| |T|) over the 3x3 patches P, T of prediction and truth centred on it
 *   + PATCH_NORM_WEIGHT x | |p| - |t| |, the difference of the cell's own feature norms,
 * averaged over the hole cells of `cells` (a batch with no hole gives 0). Patches are box sums with
 * zero padding, as patch-swap's are.
 *
 * @param predicted the guide's relu3_1, [N, C, h, w]
 * @param truth relu3_1 of the ground truth, same shape
 * @param cells the hole at feature resolution, [N, 1, h, w], 1 = hole
 * @throws GraphError on mismatched shapes
 * @example
 *   const loss = op.add(patchCosineLoss(guide.features, vgg(gt), cells), op.mul(colourLoss, 10));
 */
export function patchCosineLoss(predicted: Tensor, truth: Tensor, cells: Tensor): Tensor {
  sameShape('patchCosineLoss', predicted, truth);
  const sumChannels = (x: Tensor) => op.reduceSum(x, [1], true);
  const box = op.full(predicted.graph, [1, 1, 3, 3], 1 / 9);
  const patch = (x: Tensor) => op.conv(x, box, null, { pads: [1, 1, 1, 1] });
  const pp = sumChannels(op.mul(predicted, predicted));
  const tt = sumChannels(op.mul(truth, truth));
  const dot = patch(sumChannels(op.mul(predicted, truth)));
  const cosine = op.div(dot, op.sqrt(op.add(op.mul(patch(pp), patch(tt)), PATCH_EPSILON)));
  const norm = op.abs(op.sub(op.sqrt(op.add(pp, PATCH_EPSILON)), op.sqrt(op.add(tt, PATCH_EPSILON))));
  const perCell = op.add(op.sub(1, cosine), op.mul(norm, PATCH_NORM_WEIGHT));
  return op.div(op.reduceSum(op.mul(perCell, cells)), op.max(op.reduceSum(cells), 1));
}
