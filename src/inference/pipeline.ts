/**
 * The multi-scale orchestrator for one region (paper §3.4, Fig. 4):
 *
 *   base scale s0:   I0 -> G1 -> I1 (composited) -> VGG -> patch-swap -> G2_s0 -> I^s0
 *                    (with a feature guide [ours]: the hole's cells of VGG(I1) are its prediction)
 *   each next s_i:   upsample(I^s(i-1)), composited with the known pixels at s_i -> VGG -> patch-swap -> G2_si -> I^si
 *                    (with no G2 trained finer than s(i-1) [ours]: the query gets its sources'
 *                    detail, and the rendering keeps only its fine band, `keepCoarseBand`;
 *                    the swap searches near the previous scale's choices [ours], `renderNear`)
 *   refine passes:   VGG -> patch-swap -> G2 again at the last scale (§4.3, iterative inference;
 *                    past the first scale, the swap searches near the last pass's choices)
 *   self-ensemble:   all of the above on the region mirrored and turned (up to the 8 orientations
 *                    of a square), each fill turned back, and the fills averaged [ours]
 *
 * At each scale the region is resized so that its longer side is the scale (`Networks` pads for
 * each network what it needs). The result is G2's last image at the region's own resolution, known
 * part included: blending measures the tone drift there.
 */
import { smooth, smoothedOnes } from '../core/blur.ts';
import { UsageError } from '../core/errors.ts';
import { type Box, cropImage, dilateMask, holeFraction, type MaskImage, maskBoundingBox, type Orientation, orientImage, pasteImage, resizeImage, resizeMask, type RgbImage } from '../core/raster.ts';
import { FEATURE_STRIDE, featureSize, hasKnownPatch, mapMaskToFeatures } from '../features/grid.ts';
import type { VggFeatures } from '../features/frozen-vgg.ts';
import { localPatchSwapIn, offsetsFrom, swapWindow } from '../patchswap/index.ts';
import type { HostTensor } from '../runtime/tensor.ts';
import { blendRing } from './blend.ts';
import { type CoherenceResult, coherenceTransport } from './coherence.ts';
import type { Networks } from './networks.ts';
import { addSourceDetail, bandRadius, CELL, DETAIL_GAIN, type DetailRamp, detailLayer, GUIDED_DETAIL, MID_BAND, mixDiffusion, pixelSources, rampWeights, removeMidBand } from './detail.ts';
import { colourGuide, withCellColour, withoutCellColour } from './match-colour.ts';
import { composite, provenancePicture, type SourceCells } from './pixels.ts';
import { BLOCK as REFINE_BLOCK, refineReach, refineSources } from './refine.ts';
import { workingSize } from './regions.ts';

/** One scale of a region's pyramid. */
export interface ScalePlan {
  scale: number;
  /** The region resized to this scale. */
  width: number;
  height: number;
  /** The hole at this scale. */
  mask: MaskImage;
  /** The hole at relu3_1 resolution, as patch-swap reads it. */
  featureMask: HostTensor;
  /** The cells patch-swap may not copy from besides the hole (a user's sampling region), if any. */
  sourceMask?: HostTensor;
  /** The pixels a user excluded (`InpaintOptions.exclude`) at this scale, if any: the diffusion does not read them either. */
  unread?: MaskImage;
}

/**
 * The pyramid of a region: its size and hole at every scale.
 * @param mask the region's hole at full resolution
 * @param noSource pixels (1) the fill may not copy from besides the hole, at full resolution: a
 *   cell touching one is no source, at every scale
 * @param unread those of them a user excluded, which the diffusion does not read either (`coherenceTransport`)
 */
export function planScales(mask: MaskImage, scales: readonly number[], noSource?: MaskImage, unread?: MaskImage): ScalePlan[] {
  return scales.map((scale) => {
    const { width, height } = workingSize(mask.width, mask.height, scale);
    const resized = width !== mask.width || height !== mask.height;
    // resizeMask keeps every pixel touched by the hole; the resampling filter of the image spreads
    // hole colours about one pixel further, so those pixels are not trusted as known either.
    const scaled = resized ? dilateMask(resizeMask(mask, width, height), 1) : mask;
    const [fh, fw] = [featureSize(height), featureSize(width)];
    const featureMask = mapMaskToFeatures(scaled, fh, fw);
    const sourceMask = noSource && mapMaskToFeatures(resized ? resizeMask(noSource, width, height) : noSource, fh, fw);
    const unreadHere = unread && (resized ? resizeMask(unread, width, height) : unread);
    return { scale, width, height, mask: scaled, featureMask, sourceMask, unread: unreadHere };
  });
}

/** Whether some 3x3 block of feature cells is entirely known (and allowed): patch-swap's candidates. */
function planHasKnownPatch(plan: ScalePlan): boolean {
  const [, , fh, fw] = plan.featureMask.shape;
  const hole = plan.featureMask.data as Float32Array;
  const excluded = plan.sourceMask?.data as Float32Array | undefined;
  return hasKnownPatch(excluded ? hole.map((v, i) => Math.max(v, excluded[i])) : hole, fh, fw);
}

/**
 * Refuses a hole that leaves patch-swap nothing to copy from, before any network runs.
 * @param where names the area in the message: 'the image' or 'the region around it'
 * @throws UsageError saying which fraction the hole covers
 */
export function checkHoleSize(mask: MaskImage, plans: readonly ScalePlan[], dilate: number, where: string): void {
  const bad = plans.find((p) => !planHasKnownPatch(p));
  if (!bad) return;
  const patch = 3 * FEATURE_STRIDE;
  if (bad.sourceMask) {
    // The photo's pixels of one 12x12 block at the working scale.
    const side = Math.ceil((patch * Math.max(mask.width, mask.height)) / bad.scale);
    throw new UsageError(
      `the region to copy from is too small: inside ${where} (${mask.width}x${mask.height} px) it holds no known block of ` +
        `${side}x${side} pixels (${patch}x${patch} at the ${bad.scale}-pixel working scale), and the fill needs at least one; ` +
        'allow a larger known area near the hole (--sample-from), or exclude less (--exclude)',
    );
  }
  throw new UsageError(
    `the hole is too large: it covers ${(100 * holeFraction(mask)).toFixed(1)}% of ${where} (${mask.width}x${mask.height} px, ` +
      `after dilating the mask by ${dilate} px), so at the ${bad.scale}-pixel working scale no ${patch}x${patch}-pixel patch ` +
      'lies entirely outside it and there is nothing to copy texture from; use a smaller mask (or less --dilate)',
  );
}

/** What the pipeline returns for a region. */
export interface RegionOutput {
  /**
   * G2's last image at the region's full resolution, not yet blended: known part included, except
   * that an enlarged one holds the photo beyond the part its last steps needed (`finishFill`).
   */
  fill: RgbImage;
  /** G1's composite at the base scale (debug). */
  coarse?: RgbImage;
  /** The patch-provenance picture of the last swap, at the last scale (debug). */
  provenance?: RgbImage;
  /** The last swap's provenance itself (not with stage 'g1', which has no swap). */
  sources?: SourceCells;
}

/**
 * The paper's "w/o Feature2Image" ablation on one region: G1's coarse fill at the first scale
 * alone, enlarged to the region's resolution, with no VGG, patch-swap or G2.
 * @param plan the region's first scale, from `planScales`
 */
export async function coarseRegion(nets: Networks, image: RgbImage, plan: ScalePlan): Promise<RgbImage> {
  const { width, height, mask } = plan;
  const known = width === image.width && height === image.height ? image : resizeImage(image, width, height);
  const coarse = await nets.coarse(known, mask);
  return width === image.width && height === image.height ? coarse : resizeImage(coarse, image.width, image.height, 'lanczos');
}

/** How `inpaintRegion` runs (the `InpaintOptions` of the same names). */
export interface RegionOptions {
  /** Extra VGG -> swap -> G2 passes at the last scale. */
  refine: number;
  /** Patch-swap's preference for nearby patches. */
  locality: number;
  /** The weight of the guide's colour in patch-swap's match (`match-colour.ts`); 0: none. */
  matchColour: number;
  debug: boolean;
  nativeDetail: boolean;
  /** Match the first scale on the bundle's feature guide (when it has one) instead of VGG of G1's fill. */
  guide: boolean;
  /** The pixels a user excluded, at full resolution (its view's, `RegionView`), if any: the diffusion does not read them. */
  unread?: MaskImage;
  /** Told as each scale starts, with its index in the plans (`InpaintOptions.onProgress`). */
  onScale?: (scaleIndex: number) => void;
  /** Told as each scale but the last ends, with the region as it left it at its working size (`InpaintOptions.onPreview`). */
  onScaleDone?: (scaleIndex: number, result: RgbImage) => void;
}

/** The sources' detail an enlarged image gets, `gain` of it when guided: the gain, and where (`detail.ts`). */
function enlargedDetail(guided: boolean, gain: number): [number, DetailRamp | undefined] {
  return guided ? [gain, GUIDED_DETAIL.ramp] : [DETAIL_GAIN, undefined];
}

/**
 * The blur that splits a rendering into its coarse and fine bands: box passes of radius 1 (sigma
 * about 1.5 px), the band a scale twice as coarse cannot hold.
 */
const BAND_RADIUS = 1;

/**
 * `rendered`'s fine band over `coarse`'s coarse band: coarse's blur + rendered - rendered's blur
 * [ours]. A scale rendered by a G2 trained at a coarser one (the default bundle has G2 at 256
 * only) gets wrong colours and blotches (docs/results.md: the paper's pyramid rendered that way
 * scored 1.5 points of hole l1 worse than enlarging), but its fine band is new detail at the
 * region's own resolution; the coarse band is kept from the coarser scale's result, enlarged, as
 * a Laplacian pyramid builds each level on the one below.
 * @param weight of the fine band per pixel (default 1): the guided fills spare the seam, as the
 *   sources' detail does (`GUIDED_DETAIL.ramp`)
 */
export function keepCoarseBand(rendered: RgbImage, coarse: RgbImage, weight?: Float32Array): RgbImage {
  const { width, height } = rendered;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  // The box passes' windows are clipped at the edges: dividing by the blurred ones keeps the blur
  // of a constant that constant there too.
  const norm = smoothedOnes(width, height, BAND_RADIUS);
  for (let c = 0; c < 3; c++) {
    const low = coarse.data.slice(c * plane, (c + 1) * plane);
    const blurred = rendered.data.slice(c * plane, (c + 1) * plane);
    smooth(low, width, height, BAND_RADIUS);
    smooth(blurred, width, height, BAND_RADIUS);
    for (let i = 0, k = c * plane; i < plane; i++, k++) data[k] = (low[i] + (weight ? weight[i] : 1) * (rendered.data[k] * norm[i] - blurred[i])) / norm[i];
  }
  return { width, height, data };
}

/** The pixels of `box` of a plane `width` pixels wide. */
function cropPlane(plane: Float32Array, width: number, box: Box): Float32Array {
  const out = new Float32Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) out.set(plane.subarray((y + box.y) * width + box.x, (y + box.y) * width + box.x + box.width), y * box.width);
  return out;
}

/** How far the local swap of a later scale searches around each guess, in cells. */
const NEAR_RADIUS = 2;

/**
 * The cells along a cut edge of VGG's input whose relu3_1 the cut changes: the reflection padding
 * at a cut reaches about 12 pixels in (`FrozenVgg`'s tiles are exact from a 12-pixel margin, not
 * at 8), 4 pixels a cell.
 */
const VGG_EDGE_CELLS = 4;

/** A later scale's window is cut out where it holds at most this share of the map's cells. */
const WINDOW_AT_MOST = 0.5;

/**
 * A later scale's match and rendering, searched near the previous scale's choices
 * (`localPatchSwap`) [ours]: each hole patch is compared with the patches within `NEAR_RADIUS`
 * cells of where the previous scale took it from, enlarged to this scale, and with its neighbours'
 * choices, instead of with every known patch. On photos-other's 512 protocol the fills score as
 * the full swap's (hole l1 within 0.01; SSIM and detail on the trade-off line), and the 512 pass
 * costs less than half (no Gram matrix of the whole map, and no ONNX session to plan at each new
 * size: docs/results-history.md, "Session 24").
 * Where the window the swap reads (`swapWindow`) is at most half the map, VGG, the swap and G2 run
 * on it alone, its cut edges' cells no sources: VGG at a region's own size costs about 0.2 s a
 * megapixel here, and the hole with its sources is a third of a large region or less (a 512
 * photo's 224 hole and its sources are about two thirds of it, which keeps the whole map;
 * docs/decisions/local-swap.md).
 * @param input the query at this scale, the plan's size
 * @returns G2's rendering of the window, the window in pixels, and the provenance on the plan's whole grid
 */
async function renderNear(
  nets: Networks,
  input: RgbImage,
  plan: ScalePlan,
  previous: SourceCells,
  { locality, matchColour }: Pick<RegionOptions, 'locality' | 'matchColour'>,
): Promise<{ rendered: RgbImage; at: Box; sources: SourceCells }> {
  const { featureMask, sourceMask, width, height } = plan;
  const [, , fh, fw] = featureMask.shape;
  const hole = featureMask.data as Float32Array;
  const offsets = offsetsFrom(previous, fh, fw);
  const window = swapWindow(hole, offsets, fh, fw, NEAR_RADIUS, VGG_EDGE_CELLS);
  // A cut costs its edges' cells as sources, and changes G2's context: made where it halves the work.
  const small = (window.y1 - window.y0) * (window.x1 - window.x0) <= WINDOW_AT_MOST * fh * fw;
  const cells = small ? window : { y0: 0, y1: fh, x0: 0, x1: fw };
  const [x, y] = [FEATURE_STRIDE * cells.x0, FEATURE_STRIDE * cells.y0];
  const at = { x, y, width: Math.min(width, FEATURE_STRIDE * cells.x1) - x, height: Math.min(height, FEATURE_STRIDE * cells.y1) - y };
  const crop = at.width === width && at.height === height ? input : cropImage(input, at);
  const features = await nets.vggFeatures(crop);
  const matched = matchColour > 0 ? withCellColour(features, crop, matchColour) : features;
  const whole = { height: fh, width: fw, hole, excluded: sourceMask?.data as Float32Array | undefined, offsets };
  const out = localPatchSwapIn(matched, cells, whole, { locality, radius: NEAR_RADIUS, margin: VGG_EDGE_CELLS });
  const swapped = matchColour > 0 ? withoutCellColour({ ...matched, data: out.swapped }, features.channels) : { ...features, data: out.swapped };
  const rendered = await nets.render(plan.scale, swapped, at.width, at.height);
  return { rendered, at, sources: { width: fw, height: fh, imageWidth: width, imageHeight: height, data: out.provenance } };
}

/**
 * A guided fill's last step, in place: its mid band out (`removeMidBand`, sparing the seam), and
 * a diffusion fill of the hole, coherence transport's, mixed into its coarse and mid bands
 * (`mixDiffusion`).
 * @param scale the fill's pixels per pixel of the first working scale
 * @param unread the pixels a user excluded: the diffusion does not read them
 * @param diffusion `coherenceTransport(image, hole, { unread })`, if already made
 */
function reband(fill: RgbImage, image: RgbImage, hole: MaskImage, scale: number, unread?: MaskImage, diffusion = coherenceTransport(image, hole, { unread })): void {
  const depth = rampWeights(hole, GUIDED_DETAIL.ramp, scale);
  removeMidBand(fill, hole, depth, scale);
  mixDiffusion(fill, diffusion.image, scale, depth, diffusion.coherence);
}

/**
 * Runs the pyramid on one region.
 * @param image the region of the photo at full resolution
 * @param plans from `planScales`, already checked with `checkHoleSize`
 */
export async function inpaintRegion(nets: Networks, image: RgbImage, hole: MaskImage, plans: readonly ScalePlan[], options: RegionOptions): Promise<RegionOutput> {
  const { refine, locality, matchColour, debug } = options;
  const guided = options.guide && nets.hasGuide;
  let coarse: RgbImage | undefined;
  let provenance: RgbImage | undefined;
  let previous: RgbImage | undefined; // the composited result at the previous scale
  let rendered: RgbImage | undefined; // G2's raw output at the current scale
  let sources: SourceCells | undefined; // the last swap's provenance
  let banded = false; // whether the last scale rendered only a fine band
  let diffusion: CoherenceResult | undefined; // the hole's coherence transport at the region's size
  for (const [i, plan] of plans.entries()) {
    options.onScale?.(i);
    const { width, height, mask } = plan;
    const known = width === image.width && height === image.height ? image : resizeImage(image, width, height);
    let input: RgbImage;
    // With no G2 trained finer than the previous scale, this one adds only a fine band over the
    // previous result, enlarged.
    let coarseBand: RgbImage | undefined;
    let bandWeight: Float32Array | undefined;
    if (!previous) {
      input = await nets.coarse(known, mask);
      if (debug) coarse = input;
    } else if (nets.g2ScaleFor(plan.scale) <= plans[i - 1].scale) {
      coarseBand = resizeImage(previous, width, height, 'lanczos');
      // The match looks for the texture the result should have, not for its blur.
      const query = { ...coarseBand, data: coarseBand.data.slice() };
      const [gain, ramp] = enlargedDetail(guided, GUIDED_DETAIL.query);
      if (options.nativeDetail) addSourceDetailNear(query, known, mask, sources!, gain, ramp);
      input = composite(query, known, mask);
      // The ramp is in the first scale's working pixels, as the sources' detail counts them.
      bandWeight = ramp && rampWeights(mask, ramp, width / plans[0].width);
    } else {
      input = composite(resizeImage(previous, width, height), known, mask);
    }
    banded = coarseBand !== undefined;
    const passes = i === plans.length - 1 ? 1 + refine : 1;
    for (let pass = 0; pass < passes; pass++) {
      if (i > 0) {
        // A later scale's match starts from where the previous scale's (or pass's) took each patch.
        const near = await renderNear(nets, input, plan, sources!, options);
        const { at } = near;
        sources = near.sources;
        // Outside the window, the previous scale's result: only the hole's surroundings are read there.
        const base = coarseBand ?? input;
        const window = coarseBand ? keepCoarseBand(near.rendered, cropImage(coarseBand, at), bandWeight && cropPlane(bandWeight, width, at)) : near.rendered;
        rendered = at.width === width && at.height === height ? window : pasteImage(base, window, at.x, at.y);
      } else {
        // The guide predicts the hole's features from the photo alone: for the first match only.
        const first = guided && pass === 0 ? await nets.guided(input, known, mask, plan.featureMask) : undefined;
        const features = first?.features ?? (await nets.vggFeatures(input));
        const guide = first?.guided ?? features;
        // The first match's colour: G1's guess and the diffusion's, mixed. At the region's own
        // size, that diffusion is also the last step's (`reband`).
        let colour = input;
        if (matchColour > 0 && pass === 0) {
          const first = coherenceTransport(known, mask, { unread: plan.unread });
          if (known === image && mask === hole) diffusion = first;
          colour = colourGuide(input, first.image);
        }
        const matched = matchColour > 0 ? withCellColour(guide, colour, matchColour) : guide;
        const { swapped: out, provenance: cells } = await nets.swap(matched, plan.featureMask, locality, plan.sourceMask);
        const swapped = matchColour > 0 ? withoutCellColour(out, features.channels) : out;
        sources = { width: features.width, height: features.height, imageWidth: width, imageHeight: height, data: cells };
        rendered = await nets.render(plan.scale, swapped, width, height);
      }
      previous = composite(rendered, known, mask);
      input = previous;
      if (debug && i === plans.length - 1 && pass === passes - 1) provenance = provenancePicture(previous, mask, sources.data, sources.width, sources.height);
    }
    if (i < plans.length - 1) options.onScaleDone?.(i, previous!);
  }
  const debugged = debug ? { coarse, provenance } : {};
  const finish = { guided, banded, scaleCount: plans.length, firstWidth: plans[0].width, lastScale: plans[plans.length - 1].scale, nativeDetail: options.nativeDetail, diffusion, unread: options.unread };
  return { fill: finishFill(rendered!, image, hole, sources!, finish), sources, ...debugged };
}

/** How a region's pyramid ended, for `finishFill`. */
export interface FinishOptions {
  /** Whether the first scale's match was steered by the feature guide. */
  guided: boolean;
  /** Whether the last scale rendered only a fine band over the previous result, enlarged. */
  banded: boolean;
  /** How many scales the pyramid had. */
  scaleCount: number;
  /** The first working scale's width, and the last scale. */
  firstWidth: number;
  lastScale: number;
  nativeDetail: boolean;
  /** The hole's coherence transport at the region's size (`coherenceTransport(image, hole, { unread })`), if made already. */
  diffusion?: CoherenceResult;
  /** The pixels a user excluded, at the region's size: the diffusion does not read them. */
  unread?: MaskImage;
}

/**
 * A region's last steps, after its last scale: the rendering enlarged to the region's size (Lanczos)
 * where it is smaller, the sources' own detail added (searched again at the region's resolution
 * when enlarged), and a guided fill's bands reworked (`reband`). They run on `box` alone
 * (`finishingBox`); outside it the fill is the rendering or, enlarged, the photo.
 * @param last G2's rendering at the last scale (the region's size, or smaller)
 * @param image the region at full resolution
 * @param hole the region's hole at full resolution
 * @param sources the last scale's provenance
 */
export function finishFill(last: RgbImage, image: RgbImage, hole: MaskImage, sources: SourceCells, options: FinishOptions, box?: Box): RgbImage {
  const { guided, banded, nativeDetail, diffusion, unread } = options;
  // The ramps, and the blotches of the first scale's collage, count its working pixels.
  const rampScale = image.width / options.firstWidth;
  const native = last.width === image.width && last.height === image.height;
  // A guided fill is smoother than the photo even at its own resolution; one whose coarse band was
  // enlarged gets more.
  const guidedGain = !banded ? GUIDED_DETAIL.native : options.scaleCount > 2 ? GUIDED_DETAIL.bandedAgain : GUIDED_DETAIL.banded;
  const nativeGain = guided ? guidedGain : banded ? DETAIL_GAIN : undefined;
  if (native && (!nativeDetail || nativeGain === undefined)) return last;
  box ??= finishingBox(hole, sources, rampScale, Math.max(image.width, image.height) / options.lastScale);
  const [known, mask] = [cropImage(image, box), cropImage(hole, box)];
  // Lanczos when enlarging: the fill is the part of the result whose sharpness shows.
  const fill = native ? cropImage(last, box) : resizeImage(last, image.width, image.height, 'lanczos', box);
  if (nativeDetail) {
    const initial = pixelSources(sources, hole, box);
    if (native) addSourceDetail(fill, known, mask, initial, nativeGain!, guided ? GUIDED_DETAIL.ramp : undefined);
    else {
      // Each source is searched again at the region's resolution, around where the match put it.
      const detail = detailLayer(known, mask, bandRadius(initial.scale));
      addSourceDetail(fill, known, mask, refineSources(initial, fill, known, mask, detail), ...enlargedDetail(guided, GUIDED_DETAIL.enlarged), detail);
    }
    if (guided) reband(fill, known, mask, rampScale, unread && cropImage(unread, box), diffusion && { image: cropImage(diffusion.image, box), coherence: cropPlane(diffusion.coherence, image.width, box) });
  }
  return pasteImage(native ? last : image, fill, box.x, box.y);
}

/**
 * The part of a region its last steps need [ours]. They change the hole alone, and blending reads
 * the fill only within its ring of the hole (`blendRing`), so they run on a box that holds the hole
 * grown by the mid band's reach (`removeMidBand`, `mixDiffusion`: three box passes) and that ring,
 * and every pixel that `refineSources` and the sources' detail may read: the hole's box moved by
 * each of the match's offsets, grown by their reach (`refineReach`). Its corner stays on
 * `refineSources`' grid of blocks. On it each step gives the hole what it gives on the whole region,
 * up to the rounding of the blurs' running sums, at the cost of the box.
 * @param hole the region's hole at full resolution
 * @param sources the last scale's provenance
 * @param rampScale the region's pixels per pixel of the first working scale
 * @param enlargement the region's pixels per pixel of the last working scale
 */
function finishingBox(hole: MaskImage, sources: SourceCells, rampScale: number, enlargement: number): Box {
  const around = 3 * Math.round(MID_BAND.to * Math.max(1, rampScale)) + 1 + blendRing(enlargement) + 1;
  const box = sourcesBox(hole, sources, around, refineReach(pixelsPerSourcePixel(hole, sources)));
  const [x, y] = [box.x - (box.x % REFINE_BLOCK), box.y - (box.y % REFINE_BLOCK)];
  return { x, y, width: box.x + box.width - x, height: box.y + box.height - y };
}

/** How many of `hole`'s pixels a pixel of the image `sources` was matched on spans. */
function pixelsPerSourcePixel(hole: MaskImage, sources: SourceCells): number {
  return (hole.width / sources.imageWidth + hole.height / sources.imageHeight) / 2;
}

/**
 * The part of a region that a step which changes the hole alone and reads the photo around the
 * hole's sources needs: the hole's box grown by `around`, and the hole's box moved by each of the
 * match's offsets (carried to the region's pixels) grown by `reach` and a pixel more for the
 * offsets' rounding (`pixelSources`). The whole region when it has no hole.
 */
function sourcesBox(hole: MaskImage, sources: SourceCells, around: number, reach: number): Box {
  const { width, height } = hole;
  const holeBox = maskBoundingBox(hole);
  if (!holeBox) return { x: 0, y: 0, width, height };
  const [sx, sy] = [width / sources.imageWidth, height / sources.imageHeight];
  const columns = sources.width;
  let [dx0, dx1, dy0, dy1] = [0, 0, 0, 0];
  for (let cell = 0; cell < sources.data.length; cell++) {
    const source = Number(sources.data[cell]);
    if (source < 0) continue;
    const dx = ((source % columns) - (cell % columns)) * CELL * sx;
    const dy = (Math.floor(source / columns) - Math.floor(cell / columns)) * CELL * sy;
    [dx0, dx1, dy0, dy1] = [Math.min(dx0, dx), Math.max(dx1, dx), Math.min(dy0, dy), Math.max(dy1, dy)];
  }
  const [right, bottom, far] = [holeBox.x + holeBox.width, holeBox.y + holeBox.height, reach + 1];
  const x = Math.max(0, Math.min(holeBox.x - around, holeBox.x + Math.floor(dx0) - far));
  const y = Math.max(0, Math.min(holeBox.y - around, holeBox.y + Math.floor(dy0) - far));
  const x1 = Math.min(width, Math.max(right + around, right + Math.ceil(dx1) + far));
  const y1 = Math.min(height, Math.max(bottom + around, bottom + Math.ceil(dy1) + far));
  return { x, y, width: x1 - x, height: y1 - y };
}

/**
 * `addSourceDetail` of `sources` (a previous scale's) to a fill at this scale, in place, run on the
 * part of it that the step reads (`sourcesBox`): the hole and a pixel around it (the ramp's
 * distances), and where the sources lie with the detail layer's blur around them. It gives the hole
 * what the whole region would, up to the rounding of the blur's running sums, at the cost of the box
 * (a person's 400x800 hole at 2048 px: 1050x1086 of the 1708x2048 map).
 */
export function addSourceDetailNear(fill: RgbImage, image: RgbImage, hole: MaskImage, sources: SourceCells, gain: number, ramp?: DetailRamp): void {
  const box = sourcesBox(hole, sources, 1, 3 * bandRadius(pixelsPerSourcePixel(hole, sources)) + 1);
  const part = cropImage(fill, box);
  addSourceDetail(part, cropImage(image, box), cropImage(hole, box), pixelSources(sources, hole, box), gain, ramp);
  const plane = fill.width * fill.height;
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < box.height; r++) {
      const from = (c * box.height + r) * box.width;
      fill.data.set(part.data.subarray(from, from + box.width), c * plane + (box.y + r) * fill.width + box.x);
    }
  }
}

/**
 * The orientations of the self-ensemble, by ensemble size: the identity first, then a mirror, then
 * the transpose and a quarter turn, then the other four. Neither G1 nor G2 is mirror- or
 * rotation-invariant, so each orientation fills the hole a little differently; averaging keeps what
 * the fills agree on and smooths what they do not: the part the known region does not determine
 * (fine texture) and each fill's own artefacts (the faint grid of patch-swapped cells). Measured
 * on the validation split (11 photos; shipped networks, locality 1; docs/results.md), 256 centre
 * hole / random rectangles:
 *
 *   ensemble   hole l1 %      SSIM            perceptual     detail %  s / image
 *   1          13.21 / 10.06  0.841 / 0.883   1.262 / 0.998  59 / 62   0.23
 *   2          12.87 /  9.81  0.846 / 0.887   1.225 / 0.970  47 / 50   0.35
 *   4          12.70 /  9.69  0.850 / 0.890   1.213 / 0.968  38 / 44   0.69
 *   8          12.67 /  9.61  0.851 / 0.891   1.229 / 0.974  33 / 39   1.36
 *
 * (Seconds: the evaluation's, centre hole. Detail: `detail_hole`, the fill's pixel-to-pixel
 * variation in % of the original's; Telea's fill 39 / 49.) 4 beats PatchMatch and Telea on l1
 * and SSIM and is as smooth as diffusion; 2 gains most of that and keeps most of the detail; 1,
 * the default, is the paper's pipeline, the sharpest and the fastest.
 */
export const ENSEMBLE_ORIENTATIONS: Readonly<Record<number, readonly Orientation[]>> = (() => {
  const o = (transpose: boolean, flipX: boolean, flipY: boolean): Orientation => ({ transpose, flipX, flipY });
  const identity = o(false, false, false);
  const mirror = o(false, true, false);
  const diagonal = [o(true, false, false), o(true, true, false)]; // the transpose, a quarter turn clockwise
  const rest = [o(false, false, true), o(false, true, true), o(true, false, true), o(true, true, true)];
  return { 1: [identity], 2: [identity, mirror], 4: [identity, mirror, ...diagonal], 8: [identity, mirror, ...diagonal, ...rest] };
})();

/** One orientation of a region, with the pyramid of its hole seen that way. */
export interface RegionView {
  orientation: Orientation;
  /** The hole at full resolution, seen this way. */
  mask: MaskImage;
  /** The pixels a user excluded, at full resolution, seen this way. */
  unread?: MaskImage;
  plans: ScalePlan[];
}

/**
 * The views of a region's self-ensemble. Each has its own pyramid: where a side is not a multiple
 * of the feature stride, a mirrored hole covers other feature cells.
 * @param count an ensemble size, a key of ENSEMBLE_ORIENTATIONS
 * @param noSource, unread as `planScales` takes them
 */
export function planViews(mask: MaskImage, scales: readonly number[], count: number, noSource?: MaskImage, unread?: MaskImage): RegionView[] {
  return ENSEMBLE_ORIENTATIONS[count].map((orientation) => {
    const seen = orient(mask, orientation);
    const excluded = unread && orient(unread, orientation);
    return { orientation, mask: seen, unread: excluded, plans: planScales(seen, scales, noSource && orient(noSource, orientation), excluded) };
  });
}

/**
 * `orientImage` without its copy for the identity, the only view of the default ensemble: the
 * pipeline only reads its input, and a fill it returns is its own.
 */
function orient<T extends RgbImage | MaskImage>(img: T, o: Orientation, inverse = false): T {
  return o.transpose || o.flipX || o.flipY ? orientImage(img, o, inverse) : img;
}

/**
 * Fills one region with the self-ensemble: runs the stage on every view and averages the fills,
 * each turned back to the region's orientation. The debug pictures are those of the first view
 * (the identity).
 * @param stage 'g1': G1's coarse fill alone (`coarseRegion`); 'full': the pyramid (`inpaintRegion`)
 */
export async function fillRegion(
  nets: Networks,
  image: RgbImage,
  views: readonly RegionView[],
  options: RegionOptions & { stage: 'full' | 'g1' },
): Promise<RegionOutput> {
  let output: RegionOutput | undefined;
  for (const [i, { orientation, mask, unread, plans }] of views.entries()) {
    const seen = orient(image, orientation);
    if (options.stage === 'g1') options.onScale?.(0);
    const result =
      options.stage === 'g1'
        ? { fill: await coarseRegion(nets, seen, plans[0]) }
        : await inpaintRegion(nets, seen, mask, plans, { ...options, unread, debug: options.debug && i === 0, onScaleDone: i === 0 ? options.onScaleDone : undefined });
    const fill = orient(result.fill, orientation, true);
    if (!output) output = { ...result, fill };
    else for (let k = 0; k < fill.data.length; k++) output.fill.data[k] += fill.data[k];
  }
  const sum = output!.fill.data;
  if (views.length > 1) for (let k = 0; k < sum.length; k++) sum[k] /= views.length;
  return output!;
}
