/**
 * The sources of an enlarged fill, refined at the region's own resolution [ours; issue 23: the
 * sources' pixels "pulled up and refined at the native scale"].
 *
 * Patch-swap names one source per feature cell of the working scale, 4 working pixels: 7 of the
 * photo's pixels when a region is 1.78 times its last scale. Copied with that one offset, the
 * source's detail (`addSourceDetail`) can land up to half a cell from where its structure would
 * continue the fill, and a cell's edge in the source beside the fill's edge. Multi-scale PatchMatch
 * meets the same problem each time it carries its nearest-neighbour field to a finer level
 * (Barnes et al. 2009): it searches again around each upsampled match, and propagates good matches
 * to their neighbours. So does `refineSources`, on blocks of 4x4 pixels at full resolution.
 *
 * A block's candidates are compared on what both sides have: the fill's low band (it was enlarged,
 * so it has nothing finer) against the photo's low band at the source, over the block and 2 pixels
 * around it, every source pixel known. The detail then copied is the source's own fine band, now
 * aligned to the fill's structure at the photo's resolution.
 */
import { smooth, smoothedOnes } from '../core/blur.ts';
import { type MaskImage, maskBoundingBox, type RgbImage } from '../core/raster.ts';
import { bandRadius, CELL, type PixelSources } from './detail.ts';

/** The side of the blocks that share one offset (on a grid from the region's corner), and the margin around each that is compared. */
export const BLOCK = 4;
const MARGIN = 2;

/**
 * How far `refineSources` reads the photo past the hole's box and past where the sources it starts
 * from lie: a block's compared margin and its offset's search window, and the detail layer's blur
 * at `scale` (`bandRadius`).
 */
export function refineReach(scale: number): number {
  return BLOCK + MARGIN + searchWindow(scale) + 1 + 3 * bandRadius(scale) + 1;
}

/** How far `refineSources` searches each way by default, in pixels: half a working cell. */
function searchWindow(scale: number): number {
  return Math.ceil((scale * CELL) / 2);
}

/**
 * Searches again around each block's source, then propagates the better offsets to neighbouring
 * blocks (one sweep down and right, one up and left).
 * @param initial from `pixelSources`
 * @param fill the enlarged fill at the region's resolution; only its hole pixels are read
 * @param image the region at full resolution (its known pixels are the candidates)
 * @param mask the region's hole (1 = hole)
 * @param detail `image`'s detail layer at `bandRadius(initial.scale)` (`detailLayer`): the photo's
 *   low band is the photo minus it
 * @param window how far the search goes each way, in pixels (default: half a working cell)
 * @returns new sources, one offset per 4x4 block; a block with no candidate keeps its own
 */
export function refineSources(
  initial: PixelSources,
  fill: RgbImage,
  image: RgbImage,
  mask: MaskImage,
  detail: Float32Array,
  window = searchWindow(initial.scale),
): PixelSources {
  const { width, height } = image;
  const plane = width * height;
  const radius = bandRadius(initial.scale);
  const holeBox = maskBoundingBox(mask);
  if (!holeBox) return initial;
  // The fill's low band, with the photo's own pixels around the hole, over the hole's box grown by
  // the compared patches and the blur's reach (beyond that the blur would see the crop's edge).
  const grow = BLOCK + MARGIN + 3 * radius + 1;
  const x0 = Math.max(0, holeBox.x - grow);
  const y0 = Math.max(0, holeBox.y - grow);
  const qw = Math.min(width, holeBox.x + holeBox.width + grow) - x0;
  const qh = Math.min(height, holeBox.y + holeBox.height + grow) - y0;
  const qPlane = qw * qh;
  const query = new Float32Array(3 * qPlane);
  // The box passes' windows are clipped at the edges: dividing by the blurred ones keeps the
  // image's borders as bright as the photo's low band there.
  const norm = smoothedOnes(qw, qh, radius);
  for (let c = 0; c < 3; c++) {
    const q = query.subarray(c * qPlane, (c + 1) * qPlane);
    for (let y = 0; y < qh; y++) {
      for (let x = 0; x < qw; x++) {
        const i = (y + y0) * width + x + x0;
        q[y * qw + x] = (mask.data[i] ? fill.data : image.data)[c * plane + i];
      }
    }
    smooth(q, qw, qh, radius);
    for (let k = 0; k < qPlane; k++) q[k] /= norm[k];
  }
  const pixels = image.data;

  const [bw, bh] = [Math.ceil(width / BLOCK), Math.ceil(height / BLOCK)];
  const dx = new Int32Array(bw * bh);
  const dy = new Int32Array(bw * bh);
  const best = new Float64Array(bw * bh).fill(Infinity);
  const active = new Uint8Array(bw * bh);

  /** The squared difference of block b's patch under offset (ox, oy), or Infinity past `bound`. */
  const cost = (b: number, ox: number, oy: number, bound: number): number => {
    const bx = (b % bw) * BLOCK - MARGIN;
    const by = Math.floor(b / bw) * BLOCK - MARGIN;
    const [xs, xe] = [Math.max(0, bx), Math.min(width, bx + BLOCK + 2 * MARGIN)];
    if (xs + ox < 0 || xe + ox > width) return Infinity;
    let sum = 0;
    for (let y = Math.max(0, by); y < Math.min(height, by + BLOCK + 2 * MARGIN); y++) {
      const sy = y + oy;
      if (sy < 0 || sy >= height) return Infinity;
      for (let x = xs; x < xe; x++) {
        const s = sy * width + x + ox;
        if (mask.data[s]) return Infinity;
        const p = (y - y0) * qw + x - x0;
        const r = query[p] - pixels[s] + detail[s];
        const g = query[qPlane + p] - pixels[plane + s] + detail[plane + s];
        const u = query[2 * qPlane + p] - pixels[2 * plane + s] + detail[2 * plane + s];
        sum += r * r + g * g + u * u;
      }
      if (sum >= bound) return Infinity;
    }
    return sum;
  };
  const tryOffset = (b: number, ox: number, oy: number): void => {
    const c = cost(b, ox, oy, best[b]);
    if (c < best[b]) {
      best[b] = c;
      dx[b] = ox;
      dy[b] = oy;
    }
  };

  // Each block starts from the source of its first hole pixel that has one, and searches the
  // window: every other offset, then the eight around the best.
  const bx0 = Math.floor(holeBox.x / BLOCK);
  const by0 = Math.floor(holeBox.y / BLOCK);
  for (let by = by0; by < Math.ceil((holeBox.y + holeBox.height) / BLOCK); by++) {
    for (let bx = bx0; bx < Math.ceil((holeBox.x + holeBox.width) / BLOCK); bx++) {
      const b = by * bw + bx;
      const start = firstOffset(initial, bx * BLOCK, by * BLOCK);
      if (!start) continue;
      active[b] = 1;
      const [ox, oy] = start;
      [dx[b], dy[b]] = start;
      for (let wy = -window; wy <= window; wy += 2) for (let wx = -window; wx <= window; wx += 2) tryOffset(b, ox + wx, oy + wy);
      const [cx, cy] = [dx[b], dy[b]];
      for (let wy = -1; wy <= 1; wy++) {
        for (let wx = -1; wx <= 1; wx++) if (Math.abs(cx + wx - ox) <= window && Math.abs(cy + wy - oy) <= window) tryOffset(b, cx + wx, cy + wy);
      }
    }
  }
  for (const forward of [true, false]) {
    const step = forward ? 1 : -1;
    for (let b = forward ? 0 : bw * bh - 1; b >= 0 && b < bw * bh; b += step) {
      if (!active[b]) continue;
      const [bx, by] = [b % bw, Math.floor(b / bw)];
      const side = b - step;
      const vertical = b - step * bw;
      if (bx - step >= 0 && bx - step < bw && active[side]) tryOffset(b, dx[side], dy[side]);
      if (by - step >= 0 && by - step < bh && active[vertical]) tryOffset(b, dx[vertical], dy[vertical]);
    }
  }

  const data = initial.data.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const b = Math.floor(y / BLOCK) * bw + Math.floor(x / BLOCK);
      if (data[i] < 0 || !active[b] || best[b] === Infinity) continue;
      const [qx, qy] = [x + dx[b], y + dy[b]];
      data[i] = qx >= 0 && qy >= 0 && qx < width && qy < height ? qy * width + qx : -1;
    }
  }
  return { ...initial, data };
}

/** The offset (x, y) of the first hole pixel of the block at (x0, y0) that has a source, if any. */
function firstOffset(sources: PixelSources, x0: number, y0: number): [number, number] | undefined {
  const { width, height, data } = sources;
  for (let y = y0; y < Math.min(height, y0 + BLOCK); y++) {
    for (let x = x0; x < Math.min(width, x0 + BLOCK); x++) {
      const s = data[y * width + x];
      if (s >= 0) return [(s % width) - x, Math.floor(s / width) - y];
    }
  }
  return undefined;
}

