/**
 * Native-resolution detail for a fill made at a smaller working scale [ours; issue 23's "carry the
 * match to full resolution"].
 *
 * A region larger than its last working scale (a 512-pixel photo filled at 256, a 800-pixel crop
 * filled at 256) gets G2's rendering enlarged: the right colours and shapes, but none of the
 * detail finer than the working scale can hold, so the fill looks blurred next to the photo. Yet
 * patch-swap has already said where every hole patch comes from: its provenance at the working
 * scale names a source cell of the known region for each hole cell. Multi-scale PatchMatch carries
 * its nearest-neighbour field up the pyramid the same way (Barnes et al. 2009; Wexler et al. 2007).
 *
 * So the fill is treated as two bands, as in structure/texture inpainting (Bertalmio et al. 2003):
 * the coarse band is the enlarged rendering; the fine band, what enlargement cannot supply, is
 * taken from the photo's own pixels at full resolution at each hole cell's source: the photo's
 * detail layer (the photo minus its blur over the known pixels, a band-pass of about the working
 * scale's pixel) is copied with the cell's offset and added. Copying the detail layer rather than
 * the pixels keeps the brightness and colour the networks chose, and where neighbouring cells came
 * from different places the seam between them is a change of texture, not a step. A fill enlarged
 * at the end first has its sources searched again at full resolution, around those offsets
 * (`refineSources` in refine.ts), as PatchMatch refines its field at each finer level.
 */
import { smooth, smoothedOnes } from '../core/blur.ts';
import { type Box, type MaskImage, maskBoundingBox, type RgbImage } from '../core/raster.ts';
import { chamferDistance } from './blend.ts';
import type { SourceCells } from './pixels.ts';

/**
 * How much of the source's detail is added. The sources are the match's guesses, not the truth, so
 * their detail is as likely out of phase as in: all of it (gain 1) doubled the fill's pixel-to-pixel
 * variation to 104% of the original's and cost hole l1 0.5% and SSIM 0.013 on photos-other's
 * 512 protocol. With colour in the match (`match-colour.ts`), whose patches are a little smoother,
 * gains 0.3 / 0.36 / 0.4 / 0.45 give detail 46 / 50 / 52 / 55% of the original's at SSIM 0.0051 /
 * 0.0059 / 0.0065 / 0.0072 below Telea's (hole l1 within 0.06% of each other): 0.4 keeps the fill
 * above half the photo's detail with a margin (docs/results.md).
 */
export const DETAIL_GAIN = 0.4;

/**
 * The sources' detail with the feature guide (`Networks.guided`), whose fills are smoother than
 * G1-guided ones (its predictions average what the hole could hold), and which also lose their
 * mid band (`removeMidBand`): for fills made at the region's own resolution, a gain of 1.4 of the
 * photo's finest band (`bandRadius`: the photo minus its [1 2 1] blur, which holds all of its
 * 2-pixel waves but half of its 4-pixel ones, hence gains over 1); 1.5 for those rendered at
 * their size over an enlarged coarse band (the 512 pass of `keepCoarseBand`; 1.65 until its match
 * searched near the 256 one's, whose more coherent patches render more detail); 1.35 for those
 * rendered so at a third scale or later (a region of 768 px or more, rendered at its own size or at
 * 1024, over the 512 pass enlarged; docs/results-history.md, "Session 25"); 1.05 for enlarged
 * fills, whose band is wider; 0.75 for the query of that 512 pass (what its match looks for); and
 * none of it near the known region (`ramp`). Near the seam G2's rendering already continues the
 * photo's texture, and the truth follows its surroundings, so copied detail there is noise: a thin
 * hole (a painted stroke) needs none. Each gain keeps about half the original's detail on photos-other
 * (docs/results-history.md, "Session 16"; the ramp, "Session 14").
 */
export const GUIDED_DETAIL = { native: 1.4, banded: 1.5, bandedAgain: 1.35, enlarged: 1.05, query: 0.75, ramp: { from: 4, to: 12 } } as const;

/**
 * The band `removeMidBand` takes out of a guided fill, as box radii of `smooth` in working pixels of
 * the first scale: between its finest blur (radius 0, the [1 2 1] kernel) and its blur with box
 * passes of radius 10 (sigma about 10.5 px).
 */
export const MID_BAND = { from: 0, to: 10 } as const;

/**
 * Takes the mid band (`MID_BAND`) out of a fill's hole, in place [ours]. Patch-swap's fill is a
 * collage of 3x3-cell patches, 4 working pixels a cell, from different places: where two meet, the
 * tone steps, in blotches and edges a few to a few tens of pixels across. What the truth holds at
 * those sizes the fill rarely guesses, and SSIM counts every bit of texture out of phase with the
 * truth as lost structure. The pixel-to-pixel detail a fill shows, though, lies mostly in its
 * finest band (G2's grain, the sources' detail), which costs SSIM least for the detail it gives.
 * So the fill keeps its coarse band (the colours and shapes, which carry the hole l1) and its
 * finest band, loses what lies between, and gets more of its sources' finest band: on
 * photos-other, at about equal detail, SSIM +0.0018 to +0.0026 and hole l1 -0.24 to -0.30 on the
 * three protocols, beyond the noise (docs/results-history.md, "Session 16"). A fill whose coarse band was
 * enlarged from the first working scale (the 512 pass over the 256 fill, an enlarged fill) has that
 * scale's blotches as many times larger: its band reaches as many times further.
 * @param fill changed in its hole only
 * @param mask the hole (1 = hole)
 * @param weight per pixel (default 1): guided fills spare the seam as their sources' detail does
 * @param scale the fill's pixels per pixel of the first working scale
 */
export function removeMidBand(fill: RgbImage, mask: MaskImage, weight?: Float32Array, scale = 1): void {
  const { width, height } = fill;
  const plane = width * height;
  const [from, to] = [MID_BAND.from, Math.round(MID_BAND.to * Math.max(1, scale))];
  const hole = maskBoundingBox(mask);
  if (!hole) return;
  // Only the hole changes: the blurs run on its box grown by their reach (3 box passes of the
  // coarse radius), which gives the hole the values a blur of the whole fill would.
  const reach = 3 * to + 1;
  const [x0, y0] = [Math.max(0, hole.x - reach), Math.max(0, hole.y - reach)];
  const [bw, bh] = [Math.min(width, hole.x + hole.width + reach) - x0, Math.min(height, hole.y + hole.height + reach) - y0];
  // The blurs' windows are clipped at the edges: dividing by the blurred ones keeps a flat fill
  // flat up to the photo's border, where a hole may lie.
  const fineNorm = smoothedOnes(bw, bh, from);
  const coarseNorm = smoothedOnes(bw, bh, to);
  const values = new Float32Array(bw * bh);
  const box = { x: x0, y: y0, width: bw, height: bh };
  for (let c = 0; c < 3; c++) {
    const channel = fill.data.subarray(c * plane, (c + 1) * plane);
    for (let y = 0; y < bh; y++) values.set(channel.subarray((y + y0) * width + x0, (y + y0) * width + x0 + bw), y * bw);
    const fine = blurred(values, bw, bh, from, fineNorm);
    const coarse = blurred(values, bw, bh, to, coarseNorm);
    subtractMidBand(channel, width, mask.data, box, values, fine, coarse, weight);
  }
}

// removeMidBand's and mixDiffusion's per-channel loops are functions of their own: V8 optimises a
// long loop while it runs, and code after it in the same function that has not run yet throws that
// away, on every call (engine.md's pitfall "code V8 optimises late").

/** One channel's hole pixels within `box` set to its box's `values` less `weight` of their mid band (`fine` - `coarse`), clamped to [0, 1]. */
function subtractMidBand(channel: Float32Array, width: number, hole: Uint8Array, box: Box, values: Float32Array, fine: Float32Array, coarse: Float32Array, weight: Float32Array | undefined): void {
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const i = (y + box.y) * width + x + box.x;
      const k = y * box.width + x;
      if (hole[i]) channel[i] = Math.min(1, Math.max(0, values[k] - (weight ? weight[i] : 1) * (fine[k] - coarse[k])));
    }
  }
}

/**
 * The shares of a diffusion fill (coherence transport's, `coherence.ts`) in a guided fill's bands
 * (`mixDiffusion`): half of its coarse band; of its mid band 0.75 at the known region's edge, and
 * past the seam's ramp (`GUIDED_DETAIL.ramp`) 0.1 where the diffusion carries no edge (a smear,
 * and a seam where its fronts meet) rising to 0.8 where it carries a clear one (its coherence,
 * `coherenceTransport`).
 */
export const DIFFUSION_MIX = { coarse: 0.5, mid: { seam: 0.75, flat: 0.1, edge: 0.8 } } as const;

/**
 * Mixes a diffusion fill into a guided fill's coarse and mid bands, in place [ours;
 * docs/decisions/diffusion-mix.md]: the bands of `removeMidBand` (the mid band between the finest
 * blur and box radius `MID_BAND.to` x scale, the coarse band below it), by `DIFFUSION_MIX`. The
 * fill's finest band (G2's grain and the sources' detail) is left as it is. The match guesses each
 * hole patch from elsewhere in the photo and the diffusion continues the hole's edge inward (its
 * colours, its isophotes), so their errors are largely independent; the diffusion's mid band is in
 * phase with the truth near the edge (the structures that cross the seam), and deep inside where it
 * carries an edge on; elsewhere deep inside it is a smear. On photos-other, at equal detail: hole
 * l1 -0.13 to -0.34 and SSIM +0.0013 to +0.0025 on the three protocols (docs/results-history.md,
 * "Session 17"); the share by coherence, against 0.15 everywhere deep inside: 11 to 13 more points
 * of texture and 0.1 less hole l1, at the same SSIM ("Session 43").
 * Every pixel is mixed, the known ones too: the diffusion's known pixels are the photo's, so the
 * fill's tone drift there (what blending carries into the hole, blend.ts) shrinks as the hole's
 * does, and is not added twice.
 * @param fill the rendering, `diffusion`'s size
 * @param diffusion the region with its hole filled by diffusion
 * @param scale the fill's pixels per pixel of the first working scale
 * @param depth per pixel, 0 at the known region to 1 past the seam's ramp (`rampWeights`); absent:
 *   deep everywhere
 * @param coherence per pixel, how clearly the diffusion carries an edge there (0 to 1,
 *   `coherenceTransport`); absent: no edge anywhere
 */
export function mixDiffusion(fill: RgbImage, diffusion: RgbImage, scale = 1, depth?: Float32Array, coherence?: Float32Array): void {
  const { width, height } = fill;
  const plane = width * height;
  const to = Math.round(MID_BAND.to * Math.max(1, scale));
  const fineNorm = smoothedOnes(width, height, MID_BAND.from);
  const coarseNorm = smoothedOnes(width, height, to);
  const difference = new Float32Array(plane);
  for (let c = 0; c < 3; c++) {
    const own = fill.data.subarray(c * plane, (c + 1) * plane);
    // The blurs are linear: the bands of the difference are the differences of the bands.
    subtract(diffusion.data.subarray(c * plane, (c + 1) * plane), own, difference);
    const fine = blurred(difference, width, height, MID_BAND.from, fineNorm);
    const coarse = blurred(difference, width, height, to, coarseNorm);
    mixBands(own, fine, coarse, depth, coherence);
  }
}

/** `out` = `a` - `b`. */
function subtract(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i];
}

/** One channel of `mixDiffusion`: the diffusion's coarse band (`coarse`) and its mid band (`fine` - `coarse`) by `DIFFUSION_MIX`, clamped to [0, 1]. */
function mixBands(own: Float32Array, fine: Float32Array, coarse: Float32Array, depth: Float32Array | undefined, coherence: Float32Array | undefined): void {
  const coarseShare = DIFFUSION_MIX.coarse;
  const { seam, flat, edge } = DIFFUSION_MIX.mid;
  for (let i = 0; i < own.length; i++) {
    const deep = coherence ? flat + (edge - flat) * coherence[i] : flat;
    const midShare = depth ? seam + (deep - seam) * depth[i] : deep;
    own[i] = Math.min(1, Math.max(0, own[i] + coarseShare * coarse[i] + midShare * (fine[i] - coarse[i])));
  }
}

/** `plane` blurred by `smooth` at `radius`, divided by `norm` (its `smoothedOnes`): a new plane. */
function blurred(plane: Float32Array, width: number, height: number, radius: number, norm: Float32Array): Float32Array {
  const out = plane.slice();
  smooth(out, width, height, radius);
  for (let k = 0; k < out.length; k++) out[k] /= norm[k];
  return out;
}

/**
 * How the detail is weighted by the distance of each hole pixel from the known region, in working
 * pixels: none up to `from`, all of it from `to` on, linear between.
 */
export interface DetailRamp {
  from: number;
  to: number;
}

/**
 * The photo's detail layer: each plane minus its blur over the known pixels only (normalised
 * convolution), so that hole pixels, whatever they hold, never leak into it. Zero in the hole.
 * @param radius of the blur's box passes (sigma about radius + 0.5)
 */
export function detailLayer(image: RgbImage, mask: MaskImage, radius: number): Float32Array {
  const { width, height } = image;
  const plane = width * height;
  const weight = new Float32Array(plane);
  for (let i = 0; i < plane; i++) if (!mask.data[i]) weight[i] = 1;
  const norm = weight.slice();
  smooth(norm, width, height, radius);
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const src = image.data.subarray(c * plane, (c + 1) * plane);
    const blurred = new Float32Array(plane);
    for (let i = 0; i < plane; i++) blurred[i] = weight[i] * src[i];
    smooth(blurred, width, height, radius);
    const dst = out.subarray(c * plane, (c + 1) * plane);
    for (let i = 0; i < plane; i++) if (weight[i] && norm[i] > 1e-6) dst[i] = src[i] - blurred[i] / norm[i];
  }
  return out;
}

/** The feature stride the provenance's cells are counted in (relu3_1: 4 working pixels). */
export const CELL = 4;

/** Where each pixel of a region's hole takes its detail from, at the region's resolution. */
export interface PixelSources {
  width: number;
  height: number;
  /** The region's pixels per working pixel of the match (1: the match was made at this size). */
  scale: number;
  /** Per pixel (row-major), the flat index of its source pixel, or -1 for none (known pixels too). */
  data: Int32Array;
}

/**
 * The provenance of the working scale, carried to the region's pixels as it is: each hole pixel
 * takes the offset of the feature cell it lies in.
 * @param mask the region's hole at full resolution (1 = hole)
 * @param box only this part of the region (default all of it), its pixels counted from its corner: a
 *   source outside it counts as none
 */
export function pixelSources(sources: SourceCells, mask: MaskImage, box: Box = { x: 0, y: 0, width: mask.width, height: mask.height }): PixelSources {
  const { width, height } = mask;
  const [sx, sy] = [width / sources.imageWidth, height / sources.imageHeight];
  const data = new Int32Array(box.width * box.height).fill(-1);
  for (let y = box.y; y < box.y + box.height; y++) {
    const cy = Math.min(sources.height - 1, Math.floor(y / sy / CELL));
    for (let x = box.x; x < box.x + box.width; x++) {
      if (!mask.data[y * width + x]) continue;
      const cx = Math.min(sources.width - 1, Math.floor(x / sx / CELL));
      const source = Number(sources.data[cy * sources.width + cx]);
      if (source < 0) continue;
      const qx = x + Math.round((source % sources.width - cx) * CELL * sx) - box.x;
      const qy = y + Math.round((Math.floor(source / sources.width) - cy) * CELL * sy) - box.y;
      if (qx >= 0 && qy >= 0 && qx < box.width && qy < box.height) data[(y - box.y) * box.width + x - box.x] = qy * box.width + qx;
    }
  }
  return { width: box.width, height: box.height, scale: (sx + sy) / 2, data };
}

/**
 * The blur radius that splits a region `scale` times its working size into the band its fill has
 * and the band only the photo has (`addSourceDetail` copies the second). A fill made at the
 * region's own size (scale 1) gets the photo's finest band, radius 0 (the [1 2 1] blur): its own
 * mid band is taken out (`removeMidBand`), and the finest band gives the most detail for what it
 * costs SSIM.
 */
export function bandRadius(scale: number): number {
  return scale <= 1 ? 0 : Math.max(1, Math.round(scale - 0.5));
}

/**
 * Adds the full-resolution detail of each hole cell's patch-swap source to a fill (enlarged, or
 * guided at its own resolution), in place. A source in the hole adds nothing: the detail layer is
 * zero there.
 * @param fill the rendering, `image`'s size
 * @param image the region at full resolution (its known pixels are read)
 * @param mask the region's hole at full resolution (1 = hole): only these pixels change
 * @param sources the last swap's provenance, at the working scale, or already carried to the
 *   region's pixels (`pixelSources`, `refineSources` in refine.ts)
 * @param gain the share of the detail added (`DETAIL_GAIN`, `GUIDED_DETAIL`)
 * @param ramp where it is added (`DetailRamp`); everywhere in the hole when absent
 * @param detail `image`'s detail layer at `bandRadius(scale)`, when the caller has it already
 */
export function addSourceDetail(
  fill: RgbImage,
  image: RgbImage,
  mask: MaskImage,
  sources: SourceCells | PixelSources,
  gain = DETAIL_GAIN,
  ramp?: DetailRamp,
  detail?: Float32Array,
): void {
  const { width, height } = image;
  const plane = width * height;
  const field = 'imageWidth' in sources ? pixelSources(sources, mask) : sources;
  // The band the enlargement lacks: finer than about one working pixel.
  detail ??= detailLayer(image, mask, bandRadius(field.scale));
  const weight = ramp ? rampWeights(mask, ramp, field.scale) : undefined;
  for (let i = 0; i < plane; i++) {
    const q = field.data[i];
    if (!mask.data[i] || q < 0) continue;
    const g = weight ? gain * weight[i] : gain;
    for (let c = 0; c < 3; c++) {
      const k = c * plane + i;
      fill.data[k] = Math.min(1, Math.max(0, fill.data[k] + g * detail[c * plane + q]));
    }
  }
}

/** Each pixel's weight under `ramp`, from its distance to the nearest known pixel (`scale` image pixels a working pixel). */
export function rampWeights(mask: MaskImage, ramp: DetailRamp, scale: number): Float32Array {
  const { width, height } = mask;
  const known = new Uint8Array(width * height);
  for (let i = 0; i < known.length; i++) known[i] = mask.data[i] ? 0 : 1;
  const weight = chamferDistance(known, width, height);
  for (let i = 0; i < weight.length; i++) weight[i] = Math.min(1, Math.max(0, (weight[i] / scale - ramp.from) / (ramp.to - ramp.from)));
  return weight;
}
