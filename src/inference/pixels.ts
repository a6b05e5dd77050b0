/**
 * Pixel plumbing of the inference pipeline: padding to the networks' size modulus, compositing a
 * fill into the known pixels, and the patch-provenance picture of the debug output.
 */
import type { MaskImage, RgbImage } from '../core/raster.ts';

/**
 * The index that position `i` (possibly past either end) reads from when a line of `n` values is
 * extended by repeated mirroring with the edge value doubled (…c b a | a b c | c b a…). Unlike a
 * single reflection it works for any amount of padding, even more than `n`.
 */
function mirrorIndex(i: number, n: number): number {
  const period = 2 * n;
  const j = ((i % period) + period) % period;
  return j < n ? j : period - 1 - j;
}

/** Planar data of any number of planes: images, masks, feature maps. */
interface Planes {
  width: number;
  height: number;
  data: Float32Array | Uint8Array;
}

/**
 * Extends planar data (an image, a mask, a feature map) to `width` x `height` by mirroring it past
 * its right and bottom edges; returns the input itself when it has that size already. Mirrored
 * content keeps the statistics the networks expect at the border (zeros or grey would read as an
 * edge); a mask is mirrored like its image, so a hole touching the edge stays a hole in the padding.
 */
export function mirrorPad<T extends Planes>(img: T, width: number, height: number): T {
  if (img.width === width && img.height === height) return img;
  const planes = img.data.length / (img.width * img.height);
  const out = new (img.data.constructor as { new (n: number): T['data'] })(planes * width * height);
  const cols = Int32Array.from({ length: width }, (_, x) => mirrorIndex(x, img.width));
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < height; y++) {
      const src = (p * img.height + mirrorIndex(y, img.height)) * img.width;
      const dst = (p * height + y) * width;
      out.set(img.data.subarray(src, src + img.width), dst);
      for (let x = img.width; x < width; x++) out[dst + x] = img.data[src + cols[x]];
    }
  }
  return { ...img, width, height, data: out };
}

/** The top-left `width` x `height` of an image: undoes `mirrorPad`. */
export function unpad(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return img;
  const out = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const src = (c * img.height + y) * img.width;
      out.set(img.data.subarray(src, src + width), (c * height + y) * width);
    }
  }
  return { width, height, data: out };
}

/** `fill` where the mask is a hole, `known` elsewhere (all three the same size). */
export function composite(fill: RgbImage, known: RgbImage, mask: MaskImage): RgbImage {
  const plane = known.width * known.height;
  const out = known.data.slice();
  for (let i = 0; i < plane; i++) {
    if (!mask.data[i]) continue;
    out[i] = fill.data[i];
    out[plane + i] = fill.data[plane + i];
    out[2 * plane + i] = fill.data[2 * plane + i];
  }
  return { width: known.width, height: known.height, data: out };
}

/** The mask as float32 planes (1 = hole), the layout the networks read. */
export function maskToFloat(mask: MaskImage): Float32Array {
  // A plain loop: Float32Array.from with a mapping function is ten times slower (12 ms at 256x256).
  const out = new Float32Array(mask.data.length);
  for (let i = 0; i < out.length; i++) if (mask.data[i]) out[i] = 1;
  return out;
}

/** Where patch-swap copied each feature cell from, on the grid of one scale. */
export interface SourceCells {
  /** The feature grid, in cells; each cell is 4x4 pixels of the working image. */
  width: number;
  height: number;
  /** The working image's size in pixels (the region resized to that scale). */
  imageWidth: number;
  imageHeight: number;
  /** Per cell (row-major), the flat index y * width + x of its source cell, or -1 for a known cell. */
  data: BigInt64Array;
}

/**
 * Marks (sets to 1) in `out` the pixels the fill copied from: for every hole cell of `sources`, its
 * source cell (4x4 working pixels) carried to the photo, the region being `box` of it. For a person
 * to see where a wrong-looking fill took its patches (and exclude that place).
 * @param out photo-sized, 1 = copied from
 */
export function markSources(out: MaskImage, sources: SourceCells, box: { x: number; y: number; width: number; height: number }): void {
  const [fx, fy] = [(4 * box.width) / sources.imageWidth, (4 * box.height) / sources.imageHeight];
  const seen = new Uint8Array(sources.width * sources.height);
  for (const s of sources.data) {
    if (s < 0n) continue;
    const cell = Number(s);
    if (seen[cell]) continue;
    seen[cell] = 1;
    const [sx, sy] = [cell % sources.width, Math.floor(cell / sources.width)];
    const x1 = Math.min(box.x + box.width, out.width, box.x + Math.ceil((sx + 1) * fx));
    const y1 = Math.min(box.y + box.height, out.height, box.y + Math.ceil((sy + 1) * fy));
    for (let y = box.y + Math.floor(sy * fy); y < y1; y++) out.data.fill(1, y * out.width + box.x + Math.floor(sx * fx), y * out.width + x1);
  }
}

/** HSV (h in turns, s and v in [0, 1]) to RGB in [0, 1]. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/**
 * The patch-provenance picture: every hole pixel is coloured by where its features were copied from
 * (a colour wheel over the source position: the hue is the direction of the source from the image
 * centre, the saturation its distance), so that a hole filled from one place shows as one flat
 * colour and a mosaic of many sources as many colours. Known pixels show the image at 35% brightness.
 * @param image the image the swap worked on (its known pixels are shown), `width` x `height`
 * @param mask 1 = hole, the same size
 * @param provenance per feature cell (`cellsWide` cells a row), the flat source cell index or -1 (known cell)
 */
export function provenancePicture(image: RgbImage, mask: MaskImage, provenance: BigInt64Array, cellsWide: number, cellsHigh: number): RgbImage {
  const { width, height } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const [cx, cy] = [(cellsWide - 1) / 2, (cellsHigh - 1) / 2];
  const reach = Math.hypot(cx, cy) || 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const source = Number(provenance[(y >> 2) * cellsWide + (x >> 2)]);
      if (!mask.data[i] || source < 0) {
        for (let c = 0; c < 3; c++) out[c * plane + i] = 0.35 * image.data[c * plane + i];
        continue;
      }
      const [sx, sy] = [source % cellsWide, Math.floor(source / cellsWide)];
      const turn = (Math.atan2(sy - cy, sx - cx) / (2 * Math.PI) + 1) % 1;
      const rgb = hsv(turn, Math.min(1, Math.hypot(sx - cx, sy - cy) / reach), 1);
      for (let c = 0; c < 3; c++) out[c * plane + i] = rgb[c];
    }
  }
  return { width, height, data: out };
}
