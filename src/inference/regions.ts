/**
 * Where and at which scales the networks work [ours; the paper works on whole 256 and 512 images].
 *
 * Regions. An image whose longer side is at most `WHOLE_IMAGE_MAX` is processed whole, as in the
 * paper: every known patch of it is a patch-swap candidate. A larger photo is processed as crops
 * around its holes: each hole (a connected group of mask tiles) gets a context box of its bounding
 * box grown by the hole's longer side on every side (the crop is about 3x the hole, so the hole is
 * about a third of what the networks see, inside the 32-128 of 256 and 224 of 512 holes they were
 * trained on; a thin hole's by at most 4 times its thickness, `THIN_MARGIN`) and at least
 * `BASE_SCALE` pixels across where the photo allows; crops that overlap are
 * merged into their union, so crops never overlap and each hole is filled once. Only the crops are ever resampled
 * for the networks, so the work and the memory follow the holes, not the photo.
 *
 * Scales. A scale s means: the region is resized so that its longer side is s pixels (then padded
 * to the networks' modulus). G1 runs at the first scale; each later one refines (paper §3.4).
 * Default: `BASE_SCALE` (for a strip more than twice as long as it is wide, the scale that keeps
 * 128 px across it: `firstScale`), then, while the last scale would leave the fill enlarged `MAX_ENLARGEMENT`
 * times or more, one more at most twice the last, up to the region's own size: 256 below 384 px;
 * 256 and the region's size up to 512, then 512; 256, 512 and the region's size from 768 to 1024
 * px; then 256, 512 and 1024 below 1536; and so on to `DOUBLED_SCALE` (2048). A region of 1.5 x
 * 2048 (3072 px) or more gets instead, or after 2048, the least scale that leaves it enlarged less
 * than 1.5x: 256, 512, 1024 and 2667 for 4000 px (at most 3 times the one before; past 4608 px
 * 2048 stays in between, past 9216 px 4096 too, past 18432 px 8192, and so on), up to
 * `LARGEST_SCALE`: regions up to 98304 px, which holds every photo of up to 100 megapixels with a
 * short side of 1018 px or more. What bounds a large fill is the memory it takes: on a machine
 * without enough, its last scale is lowered (`memoryCap`, with a notice), but not below 1024. Each doubling costs
 * about 4 times the pixels, and
 * the last step no more than the fill needs: the 4000x3000 region of a 1400x1000 hole took 1.3
 * times as long at 2667 as at 2048 enlarged (3.4 GB against 3.0), where its own size took 3.5
 * times (5.1 GB). `maxScale` caps all of it. A model with no G2
 * trained at a finer scale renders there only the fine band (`keepCoarseBand` in pipeline.ts): its
 * G2 trained at 256 has only seen features of 256-pixel images, and rendering 512 with it whole
 * measured worse than enlarging (docs/results.md). A scale past 512 costs less than the scales
 * before it (the bench's 4000x3000 photo with a 300x200 hole: 1.56 times the time of 256 and 512
 * alone), as its match searches near the previous scale's and reads only the hole's window
 * (`renderNear` in pipeline.ts). A fill enlarged anyway (under the memory budget or a caller's
 * cap) gets its fine detail from its sources' own pixels, searched again at the region's
 * resolution (`refine.ts`).
 */
import type { Box, MaskImage } from '../core/raster.ts';

/** The scale G1 and the first G2 were trained at (paper: 256). */
export const BASE_SCALE = 256;
/** The second scale for larger regions (paper: F2I is also trained at 512). */
export const REFINE_SCALE = 512;
/** A default fill is enlarged from its last scale to the region's size less than this (issue 23). */
export const MAX_ENLARGEMENT = 1.5;
/** The default pyramid doubles up to this scale; past it, it goes only as far as the fill needs. */
export const DOUBLED_SCALE = 2048;
/**
 * The finest working scale accepted (`InpaintOptions.scales` and `maxScale`), and the default cap: a
 * 30000x3000 region (a 10000x1000 hole in a 90-megapixel strip) was filled at 20001 in 16 min and
 * 14.0 GB on this project's 2-core machine, on a day it ran at a third of its usual speed
 * (docs/results-history.md, "Session 31").
 */
export const LARGEST_SCALE = 65536;
/** Images whose longer side is at most this are processed whole, without cropping. */
export const WHOLE_IMAGE_MAX = 512;
/** Holes are grouped on a grid of tiles this many pixels wide (cheap on a 12-megapixel mask). */
const TILE = 32;
/** Beyond this many separate holes, one region around them all bounds the planning work. */
const MAX_SEPARATE_HOLES = 64;

/** A part of the image that is inpainted in one go. */
export interface Region {
  /** The crop the networks see, in image pixels. */
  box: Box;
  /** The bounding box of the hole pixels inside it. */
  holeBox: Box;
}

function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * One axis of the context box: the hole span grown by `margin` each side, at least `least`, inside
 * [0, size). Where the image ends first, the span is moved inside it whole, so that the networks see
 * the hole at the size it has elsewhere; with `clip` (a thin hole) it is cut there instead, down to
 * `least`: a strip along the frame gets its margin on the inner side, not twice that.
 */
function contextSpan(start: number, length: number, margin: number, least: number, size: number, clip: boolean): [number, number] {
  let span = Math.min(size, Math.max(length + 2 * margin, least));
  let from = Math.round(start + length / 2 - span / 2);
  if (clip) {
    const [a, b] = [Math.max(0, from), Math.min(size, from + span)];
    span = Math.min(size, Math.max(b - a, least));
    from = Math.round((a + b) / 2 - span / 2);
  }
  return [Math.min(Math.max(0, from), size - span), span];
}

/**
 * A thin hole's crop grows it by at most this many times its thickness (its box's shorter side), not
 * by its length: a hole at most 4 times as long as it is thick gets the margin of its longer side
 * as before; a wire, or a strip along the frame (the corners `--rotate` leaves, a border `--extend`
 * adds), gets a strip of context along it instead of most of the photo. The four corners of a
 * 4000x3000 photo turned 3 degrees, each about 2000 px long and 100 thick, had crops that met and
 * made the whole photo one region (docs/results-history.md, "Session 40").
 */
const THIN_MARGIN = 4;

/**
 * The crop around a hole: its bounding box grown by its longer side on every side (for a thin hole,
 * by `THIN_MARGIN` times its thickness, where that is less), at least `BASE_SCALE` pixels across,
 * clamped to the image.
 */
export function contextBox(hole: Box, width: number, height: number): Box {
  const [long, short] = [Math.max(hole.width, hole.height), Math.min(hole.width, hole.height)];
  const thin = long > THIN_MARGIN * short;
  const margin = thin ? THIN_MARGIN * short : long;
  const [x, w] = contextSpan(hole.x, hole.width, margin, BASE_SCALE, width, thin);
  const [y, h] = contextSpan(hole.y, hole.height, margin, BASE_SCALE, height, thin);
  return { x, y, width: w, height: h };
}

/**
 * The bounding boxes of the hole pixels of each 8-connected group of hole tiles.
 * @param within a box holding every hole pixel: only it is scanned
 */
function holeGroups(mask: MaskImage, within: Box): Box[] {
  const { width, height, data } = mask;
  const [tw, th] = [Math.ceil(width / TILE), Math.ceil(height / TILE)];
  const tiles = new Uint8Array(tw * th);
  for (let y = within.y; y < within.y + within.height; y++) {
    const row = data.subarray(y * width, (y + 1) * width);
    const tileRow = Math.floor(y / TILE) * tw;
    // Jump from hole pixel to the next tile: a native search instead of a test per pixel.
    for (let x = row.indexOf(1, within.x); x >= 0 && x < within.x + within.width; x = row.indexOf(1, (Math.floor(x / TILE) + 1) * TILE)) {
      tiles[tileRow + Math.floor(x / TILE)] = 1;
    }
  }
  const label = new Int32Array(tw * th).fill(-1);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let t = 0; t < tiles.length; t++) {
    if (!tiles[t] || label[t] >= 0) continue;
    const id = boxes.length;
    let [x0, y0, x1, y1] = [width, height, -1, -1];
    label[t] = id;
    stack.push(t);
    while (stack.length > 0) {
      const s = stack.pop()!;
      const [tx, ty] = [s % tw, Math.floor(s / tw)];
      // The exact pixel extent, from this tile's hole pixels.
      for (let y = ty * TILE; y < Math.min(height, (ty + 1) * TILE); y++) {
        for (let x = tx * TILE; x < Math.min(width, (tx + 1) * TILE); x++) {
          if (!data[y * width + x]) continue;
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [tx + dx, ty + dy];
          if (nx < 0 || ny < 0 || nx >= tw || ny >= th) continue;
          const n = ny * tw + nx;
          if (tiles[n] && label[n] < 0) {
            label[n] = id;
            stack.push(n);
          }
        }
      }
    }
    boxes.push({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
  }
  return boxes;
}

/**
 * Splits the work on an image into regions (see the file comment).
 * @param mask the (dilated) mask at the image's size, 0 or 1 a pixel, with at least one hole pixel
 * @param within a box holding every hole pixel (default the whole image): only it is scanned
 * @example
 * planRegions(mask); // [{ box: { x: 3450, y: 2200, width: 900, height: 800 }, holeBox: ... }]
 */
export function planRegions(mask: MaskImage, within: Box = { x: 0, y: 0, width: mask.width, height: mask.height }): Region[] {
  const { width, height } = mask;
  let holes = holeGroups(mask, within);
  if (Math.max(width, height) <= WHOLE_IMAGE_MAX) {
    return [{ box: { x: 0, y: 0, width, height }, holeBox: holes.reduce(union) }];
  }
  if (holes.length > MAX_SEPARATE_HOLES) holes = [holes.reduce(union)];
  // Merge regions whose crops overlap until none do. A merged crop is the union of its members'
  // crops, not the context box of their union: two small holes far apart would otherwise get a
  // margin as wide as the span between them (two people 250 px apart in an 800 px photo made the
  // whole photo one region, filled at 256 and enlarged 3x).
  let regions = holes.map((holeBox) => ({ box: contextBox(holeBox, width, height), holeBox }));
  for (let merged = true; merged; ) {
    merged = false;
    outer: for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        if (overlaps(regions[i].box, regions[j].box)) {
          const joined = { box: union(regions[i].box, regions[j].box), holeBox: union(regions[i].holeBox, regions[j].holeBox) };
          regions = [...regions.filter((_, k) => k !== i && k !== j), joined];
          merged = true;
          break outer;
        }
      }
    }
  }
  return regions;
}

/** A strip's first working image keeps at least this many pixels across its short side (`firstScale`). */
const FIRST_SHORT_SIDE = 128;
/** ... and at most this many pixels in all (the first scale's patch-swap searches all of it). */
const FIRST_AREA_AT_MOST = 4 * BASE_SCALE * BASE_SCALE;

/**
 * The first scale of a region's default pyramid [ours]: `BASE_SCALE`, or for a strip (a region more
 * than twice as long as it is wide) the scale that keeps its short side at `FIRST_SHORT_SIDE`
 * pixels, up to the region's size, `maxScale` and `FIRST_AREA_AT_MOST` pixels in all. At 256 across,
 * a 10:1 strip is 26 pixels tall: G1 and the guide, trained on 256x256 crops, see a sliver, and the
 * ramps and bands that count the first scale's pixels reach across the whole hole. On 4:1 and 8:1
 * strips cut from photos-other with a centred hole (30% x 50%), against 256 first: SSIM +0.0007
 * [-0.0000, +0.0015] and +0.0027 [+0.0013, +0.0043], hole l1 +0.06 [-0.16, +0.30] and -0.20
 * [-0.36, -0.04] (docs/results-history.md, "Session 31").
 */
export function firstScale(box: Box, maxScale = LARGEST_SCALE): number {
  const [side, short] = [Math.max(box.width, box.height), Math.min(box.width, box.height)];
  const strip = Math.min(Math.ceil((FIRST_SHORT_SIDE * side) / short), Math.floor(Math.sqrt((FIRST_AREA_AT_MOST * side) / short)));
  return Math.max(BASE_SCALE, Math.min(strip, side, maxScale));
}

/**
 * The default scales for a region (see the file comment).
 * @param maxScale the largest (`InpaintOptions.maxScale`), from `BASE_SCALE` to `LARGEST_SCALE`
 */
export function defaultScales(box: Box, maxScale = LARGEST_SCALE): number[] {
  const side = Math.max(box.width, box.height);
  const enlarged = (scale: number) => side >= MAX_ENLARGEMENT * scale;
  const scales = [firstScale(box, maxScale)];
  const doubledTo = Math.min(maxScale, DOUBLED_SCALE);
  for (let last = scales[0]; enlarged(last) && last < doubledTo; ) {
    last = Math.min(side, last === BASE_SCALE ? REFINE_SCALE : 2 * last, doubledTo);
    scales.push(last);
  }
  // Past it, the least scale that leaves the fill enlarged less than 1.5x, each step at most 3 times
  // the one before: in the last doubling's place where that allows, else after it, else after 2x.
  for (let last = scales[scales.length - 1]; enlarged(last) && last < maxScale; last = scales[scales.length - 1]) {
    const least = Math.min(Math.floor(side / MAX_ENLARGEMENT) + 1, maxScale);
    if (scales.length > 1 && least <= 3 * scales[scales.length - 2]) scales[scales.length - 1] = least;
    else scales.push(least <= 3 * last ? least : 2 * last);
  }
  return scales;
}

/**
 * About how much memory a fill takes at its peak, in bytes [ours]: a base (the networks and the
 * process), and per pixel of the photo (its float copies), of the region at full resolution (its
 * planes and the last steps' box) and of the region at its last scale (VGG's features, the swap
 * and G2 there). Fitted to the peaks measured without ONNX Runtime's arena, at or above each and
 * at most 1.1 GB above: a 300x200 and a 1400x1000 hole in a 4000x3000 photo (1.1 and 2.4 GB), a
 * person's 400x800 in it (1.6 to 1.8), 2000x1500 in 6000x4500 (4.5), 2700x2000 in 8000x6000 (5.8
 * at 4096, 6.9 at 5334), 4500x1500 in a 16000x4000 panorama (8.25 at 8192, 9.05 at 9009;
 * docs/results-history.md, "Session 30"), and 10000x1000 in a 30000x3000 strip (14.0 at 20001,
 * estimated 14.2 before it was measured; "Session 31").
 */
export function fillMemory(photoPixels: number, box: Box, lastScale: number): number {
  const work = workingSize(box.width, box.height, lastScale);
  return fullResolutionMemory(photoPixels, box) + BYTES_PER_WORKING_PIXEL * work.width * work.height;
}

/** `fillMemory`'s bytes per pixel of the region at its last scale. */
const BYTES_PER_WORKING_PIXEL = 145;

const fullResolutionMemory = (photoPixels: number, box: Box) => 0.8e9 + 24 * photoPixels + 60 * box.width * box.height;

/**
 * The least scale the memory budget lowers a fill to (`memoryCap`). Below it a fill's memory hardly
 * falls: its last scale takes at most 145 MB there, and the photo and the region at full resolution
 * take at least 0.8 GB whatever the scale; its quality does (a 25-megapixel photo's whole-photo
 * region at 256 px was enlarged 23x).
 */
export const LEAST_BUDGETED_SCALE = 1024;

/**
 * The largest scale up to `maxScale` at which a region's fill stays within `budget` bytes by
 * `fillMemory`; at least `LEAST_BUDGETED_SCALE` (or `maxScale` where that is less), whatever the
 * budget: a fill that does not fit there fits nowhere.
 */
export function memoryCap(photoPixels: number, box: Box, budget: number, maxScale: number): number {
  const least = Math.min(LEAST_BUDGETED_SCALE, maxScale);
  const [long, short] = [Math.max(box.width, box.height), Math.min(box.width, box.height)];
  const left = Math.max(0, budget - fullResolutionMemory(photoPixels, box));
  let fits = Math.min(maxScale, Math.floor(Math.sqrt((left / BYTES_PER_WORKING_PIXEL) * (long / short))));
  // The working size's rounding (and its least side) moves the answer by a pixel or so.
  while (fits > least && fillMemory(photoPixels, box, fits) > budget) fits--;
  while (fits < maxScale && fillMemory(photoPixels, box, fits + 1) <= budget) fits++;
  return Math.max(least, fits);
}

/** The least side of a working image: VGG's two pools leave 4 cells, room for a 3x3 patch. */
export const MIN_WORKING_SIDE = 16;

/**
 * The size a `width` x `height` region is resized to at `scale`: the longer side becomes `scale`;
 * a very thin region is stretched to `MIN_WORKING_SIDE` across (its result is resized back).
 */
export function workingSize(width: number, height: number, scale: number): { width: number; height: number } {
  const f = scale / Math.max(width, height);
  return { width: Math.max(MIN_WORKING_SIDE, Math.round(width * f)), height: Math.max(MIN_WORKING_SIDE, Math.round(height * f)) };
}
