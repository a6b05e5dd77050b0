/**
 * Selecting by colour (the page's wand): the connected area of pixels like the one clicked. For an
 * object that stands out from what is around it (a red buoy on the sea, a sign, a dark figure
 * against the sky), one click outlines it more closely than a brush.
 *
 * - Like: every channel (red, green, blue and alpha) within `tolerance` of the seed's, the mean of
 *   the 3x3 pixels around the click (so that one noisy pixel does not decide).
 * - Connected: through the pixels' four sides, from the click; or, not `contiguous`, anywhere in the
 *   picture (every digit of a date stamp, every letter of a watermark, with one click).
 * - Holes closed: what the area encloses is added to it where each enclosed part is smaller than a
 *   sixteenth of the area (a highlight on the object, its lettering, its noise), not where it is
 *   larger (an island of another thing in a selected sky stays out).
 *
 * The area is returned as runs over its bounding box, so that the page's history keeps a click
 * as a few kilobytes whatever the photo's size, and replays it without the photo.
 */
import { expect } from './errors.ts';
import { type Box, cropImage, type MaskImage, maskBoundingBox } from './raster.ts';

/** An area of a picture: its bounding box, and the runs of selected pixels in it. */
export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
  /** (start, length) pairs; start counts the box's pixels row by row. Runs do not cross rows. */
  runs: Uint32Array;
}

/** RGBA pixels, 4 bytes a pixel, row by row (a canvas's ImageData). */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** The enclosed parts smaller than this share of the area are added to it. */
const CLOSED_HOLE_SHARE = 1 / 16;

/**
 * The area of pixels like the one at (x, y), connected to it (or, not `contiguous`, anywhere).
 * @param tolerance the largest difference on any channel, 0 to 255
 * @returns undefined when (x, y) is outside the picture
 */
export function selectSimilar(pixels: Rgba, x: number, y: number, tolerance: number, contiguous = true): Area | undefined {
  const { width, height, data } = pixels;
  x = Math.floor(x);
  y = Math.floor(y);
  if (!(x >= 0 && y >= 0 && x < width && y < height)) return undefined;
  const seed = [0, 0, 0, 0];
  let n = 0;
  for (let yy = Math.max(0, y - 1); yy <= Math.min(height - 1, y + 1); yy++) {
    for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) {
      for (let c = 0; c < 4; c++) seed[c] += data[4 * (yy * width + xx) + c];
      n++;
    }
  }
  const [r, g, b, a] = seed.map((v) => v / n);
  const t = Math.max(0, tolerance);
  const like = (i: number): boolean => {
    const p = 4 * i;
    return Math.abs(data[p] - r) <= t && Math.abs(data[p + 1] - g) <= t && Math.abs(data[p + 2] - b) <= t && Math.abs(data[p + 3] - a) <= t;
  };

  const inArea = new Uint8Array(width * height);
  let [x0, y0, x1, y1] = [x, y, x, y];
  if (!contiguous) {
    inArea[y * width + x] = 1;
    for (let py = 0; py < height; py++) {
      for (let px = 0; px < width; px++) {
        if (!like(py * width + px)) continue;
        inArea[py * width + px] = 1;
        if (px < x0) x0 = px;
        if (px > x1) x1 = px;
        if (py < y0) y0 = py;
        if (py > y1) y1 = py;
      }
    }
    return areaWithin(inArea, width, height, { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
  }
  // A scanline flood fill through the four sides: each popped seed takes its whole row segment, and
  // seeds the start of each segment of like pixels above and below it.
  let stack = new Int32Array(1024);
  let top = 0;
  const push = (i: number): void => {
    if (top === stack.length) {
      const grown = new Int32Array(stack.length * 2);
      grown.set(stack);
      stack = grown;
    }
    stack[top++] = i;
  };
  // The clicked pixel belongs to the area even where the 3x3 mean is not within tolerance of it.
  push(y * width + x);
  let first = true;
  while (top > 0) {
    const i = stack[--top];
    if (inArea[i] || !(first || like(i))) continue;
    first = false;
    const py = Math.floor(i / width);
    const row = py * width;
    let left = i - row;
    let right = left;
    while (left > 0 && !inArea[row + left - 1] && like(row + left - 1)) left--;
    while (right < width - 1 && !inArea[row + right + 1] && like(row + right + 1)) right++;
    inArea.fill(1, row + left, row + right + 1);
    if (left < x0) x0 = left;
    if (right > x1) x1 = right;
    if (py < y0) y0 = py;
    if (py > y1) y1 = py;
    for (const ny of [py - 1, py + 1]) {
      if (ny < 0 || ny >= height) continue;
      const next = ny * width;
      let inRun = false;
      for (let nx = left; nx <= right; nx++) {
        const j = next + nx;
        const ok = !inArea[j] && like(j);
        if (ok && !inRun) push(j);
        inRun = ok;
      }
    }
  }

  return areaWithin(inArea, width, height, { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
}

/** The area `inArea` (0 or 1 a pixel, a picture `width` x `height`) marks within `box`, its small enclosed parts closed. */
function areaWithin(inArea: Uint8Array, width: number, height: number, box: Box): Area {
  const inBox = cropImage({ width, height, data: inArea }, box).data;
  let count = 0;
  for (const v of inBox) count += v;
  closeSmallHoles(inBox, box.width, box.height, count * CLOSED_HOLE_SHARE);
  return { ...box, runs: runsOf(inBox, box.width, box.height) };
}

/**
 * Sets (in place) the parts of `area` that are 0, not connected to the box's edge, and smaller
 * than `maxSize` pixels each.
 */
export function closeSmallHoles(area: Uint8Array, width: number, height: number, maxSize: number): void {
  // 0 = not yet seen, 1 = in the area, 2 = reached from outside, 3 = enclosed and seen.
  const state = area.slice();
  const stack: number[] = [];
  const flood = (start: number, mark: number, visit?: (i: number) => void): void => {
    state[start] = mark;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      visit?.(i);
      const px = i % width;
      if (px > 0 && state[i - 1] === 0) (state[i - 1] = mark), stack.push(i - 1);
      if (px < width - 1 && state[i + 1] === 0) (state[i + 1] = mark), stack.push(i + 1);
      if (i >= width && state[i - width] === 0) (state[i - width] = mark), stack.push(i - width);
      if (i + width < area.length && state[i + width] === 0) (state[i + width] = mark), stack.push(i + width);
    }
  };
  for (let xx = 0; xx < width; xx++) {
    for (const i of [xx, (height - 1) * width + xx]) if (state[i] === 0) flood(i, 2);
  }
  for (let yy = 0; yy < height; yy++) {
    for (const i of [yy * width, yy * width + width - 1]) if (state[i] === 0) flood(i, 2);
  }
  for (let i = 0; i < area.length; i++) {
    if (state[i] !== 0) continue;
    const part: number[] = [];
    flood(i, 3, (j) => part.push(j));
    if (part.length < maxSize) for (const j of part) area[j] = 1;
  }
}

function runsOf(area: Uint8Array, width: number, height: number): Uint32Array {
  const runs: number[] = [];
  for (let yy = 0; yy < height; yy++) {
    let xx = 0;
    while (xx < width) {
      const i = yy * width + xx;
      if (!area[i]) {
        xx++;
        continue;
      }
      let end = xx;
      while (end < width && area[yy * width + end]) end++;
      runs.push(i, end - xx);
      xx = end;
    }
  }
  return Uint32Array.from(runs);
}

/** The area a mask marks (nonzero), as its bounding box and runs; undefined when it marks nothing. */
export function areaOf(mask: MaskImage): Area | undefined {
  const box = maskBoundingBox(mask);
  return box ? { ...box, runs: runsOf(cropImage(mask, box).data, box.width, box.height) } : undefined;
}

/**
 * A mask of the picture (`width` x `height`) marking the pixels of `areas`, on a copy of `onto` (a
 * mask of the picture's size) when given: the hole that selections make, with one painted.
 * @throws UsageError `onto` of another size
 */
export function maskOfAreas(areas: readonly Area[], width: number, height: number, onto?: MaskImage): MaskImage {
  if (onto) expect(onto.width === width && onto.height === height, 'onto', `a mask of ${width}x${height}`, `${onto.width}x${onto.height}`);
  const data = onto ? onto.data.slice() : new Uint8Array(width * height);
  for (const area of areas) {
    // Runs do not cross rows: each is one stretch of the picture's row.
    for (let k = 0; k < area.runs.length; k += 2) {
      const start = (area.y + Math.floor(area.runs[k] / area.width)) * width + area.x + (area.runs[k] % area.width);
      data.fill(1, start, start + area.runs[k + 1]);
    }
  }
  return { width, height, data };
}

/** The number of pixels an area holds. */
export function areaSize(area: Area): number {
  let n = 0;
  for (let k = 1; k < area.runs.length; k += 2) n += area.runs[k];
  return n;
}
