/**
 * Selecting an object by a box drawn around it (the page's Object tool, `inpaint run --box`):
 * GrabCut (Rother, Kolmogorov and Blake, "GrabCut: interactive foreground extraction using iterated
 * graph cuts", SIGGRAPH 2004). Where the wand needs an object of one colour, this finds a person, a
 * bin or a sign of many colours against what is around it, from one drag.
 *
 * - What is outside the box is background. The colours of a ring around the box (a quarter of its
 *   size on each side) and of the box are each modelled by a mixture of 5 Gaussians in RGB.
 * - Each pixel in the box then takes the side that costs least: how unlike it is to each model,
 *   plus, for every neighbour on the other side, a cost that falls with how different their colours
 *   are (so the outline runs along the object's edges). A minimum cut finds the best split
 *   (`GridCut`); the models are learnt again from it, five times or until nothing changes.
 * - It works on the box and its ring shrunk to at most `workPixels` (90000 by default: a 300x300
 *   box and ring), so a drag takes a fraction of a second whatever the photo's size. The result is
 *   enlarged to the photo's pixels along smooth outlines, its specks dropped and small enclosed
 *   parts closed, and grown by a `margin`, as a removal needs the object's soft edge and any halo.
 *
 * The selection is returned as an `Area` (runs over its box), as the wand's is.
 */
import { UsageError } from './errors.ts';
import { GridCut } from './maxflow.ts';
import { type Box, dilateMask, type MaskImage } from './raster.ts';
import { type Area, areaOf, areaSize, closeSmallHoles, type Rgba } from './select.ts';

export interface SelectObjectOptions {
  /** The most pixels the segmentation works on, the box and its ring together (default 90000). */
  workPixels?: number;
  /** Rounds of learning the colour models and cutting (default 5). */
  iterations?: number;
  /**
   * Pixels to grow the selection by. Default: 1% of the box's longer side, at least 2 px and at
   * least one working pixel (the outline is found at the working size).
   */
  margin?: number;
}

const COMPONENTS = 5;
/** The weight of the outline's cost against the colours' (GrabCut's gamma). */
const GAMMA = 50;
const DEFAULT_WORK_PIXELS = 90_000;
/** The ring of background sampled around the box, as a share of the box's longer side. */
const RING = 0.25;
/** A part of the selection smaller than this share of it is a speck, and dropped. */
const SPECK_SHARE = 0.01;
/** The enclosed parts smaller than this share of the selection are added to it, as the wand does. */
const CLOSED_HOLE_SHARE = 1 / 16;

/**
 * The object inside `box`: the pixels GrabCut separates from what surrounds the box.
 * @returns undefined where nothing in the box stands apart from its surroundings
 * @throws UsageError a box not of finite numbers, of less than 2x2 pixels in the picture, or one that leaves none of it outside
 */
export function selectObject(pixels: Rgba, box: Box, options: SelectObjectOptions = {}): Area | undefined {
  const { width, height } = pixels;
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) throw new UsageError(`Expected a box of four finite numbers but received ${JSON.stringify(box)}`);
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.ceil(box.x + box.width));
  const y1 = Math.min(height, Math.ceil(box.y + box.height));
  if (x1 - x0 < 2 || y1 - y0 < 2) throw new UsageError(`The box (${describeBox(box)}) holds less than 2x2 pixels of the ${width}x${height} picture: draw it around the object.`);
  if (x0 === 0 && y0 === 0 && x1 === width && y1 === height) {
    throw new UsageError(`The box (${describeBox(box)}) covers the whole picture: draw it around the object, with some of what surrounds it outside the box.`);
  }
  if (options.margin !== undefined && !(Number.isInteger(options.margin) && options.margin >= 0)) throw new UsageError(`Expected a non-negative integer for the margin but received ${options.margin}`);
  const crop = grownBox(x0, y0, x1, y1, Math.max(4, Math.round(RING * Math.max(x1 - x0, y1 - y0))), width, height);

  // The working grid: the crop shrunk so that it holds at most `workPixels`.
  const workPixels = options.workPixels ?? DEFAULT_WORK_PIXELS;
  const shrink = Math.max(1, Math.sqrt((crop.width * crop.height) / workPixels));
  const cw = Math.max(1, Math.round(crop.width / shrink));
  const ch = Math.max(1, Math.round(crop.height / shrink));
  const sx = crop.width / cw;
  const sy = crop.height / ch;
  const colours = shrinkColours(pixels, crop, cw, ch);
  // The box on that grid: the cells whose centres lie in it, at least one.
  const bx0 = Math.min(cw - 1, Math.max(0, Math.ceil((x0 - crop.x) / sx - 0.5)));
  const by0 = Math.min(ch - 1, Math.max(0, Math.ceil((y0 - crop.y) / sy - 0.5)));
  const bw = Math.max(1, Math.min(cw, Math.ceil((x1 - crop.x) / sx - 0.5)) - bx0);
  const bh = Math.max(1, Math.min(ch, Math.ceil((y1 - crop.y) / sy - 0.5)) - by0);
  if (bw * bh === cw * ch) throw new UsageError(`The box (${describeBox(box)}) leaves too little of the picture outside it: draw it around the object, with some of what surrounds it outside.`);

  const object = segment(colours, cw, ch, { x: bx0, y: by0, width: bw, height: bh }, options.iterations ?? 5);
  let count = tidy(object, bw, bh);
  if (count === 0) return undefined;

  // Enlarged to the photo's pixels (bilinear over the 0/1 grid, cut at a half: smooth outlines),
  // then grown by the margin.
  const margin = options.margin ?? Math.max(2, Math.ceil(Math.max(sx, sy)), Math.round(0.01 * Math.max(x1 - x0, y1 - y0)));
  const out = grownBox(x0, y0, x1, y1, margin, width, height);
  let mask: MaskImage = { width: out.width, height: out.height, data: new Uint8Array(out.width * out.height) };
  const at = (gx: number, gy: number): number => (gx >= 0 && gy >= 0 && gx < bw && gy < bh ? object[gy * bw + gx] : 0);
  count = 0;
  for (let y = y0; y < y1; y++) {
    const gy = (y + 0.5 - crop.y) / sy - 0.5 - by0;
    const gy0 = Math.floor(gy);
    const fy = gy - gy0;
    for (let x = x0; x < x1; x++) {
      const gx = (x + 0.5 - crop.x) / sx - 0.5 - bx0;
      const gx0 = Math.floor(gx);
      const fx = gx - gx0;
      const v = (1 - fy) * ((1 - fx) * at(gx0, gy0) + fx * at(gx0 + 1, gy0)) + fy * ((1 - fx) * at(gx0, gy0 + 1) + fx * at(gx0 + 1, gy0 + 1));
      if (v >= 0.5) {
        mask.data[(y - out.y) * out.width + (x - out.x)] = 1;
        count++;
      }
    }
  }
  if (count === 0) return undefined;
  if (margin > 0) mask = dilateMask(mask, margin);
  const area = areaOf(mask)!;
  return { ...area, x: area.x + out.x, y: area.y + out.y };
}

/**
 * A box as a person types it, "X,Y,W,H": its left and top edges, its width and its height, in the
 * picture's pixels (`inpaint run --box`, the API's `box` field). Whether it lies in the picture is
 * `selectObject`'s to say.
 * @param name what the text was given as, for the message (a flag, a field)
 * @throws UsageError anything but four numbers, or a width or height that is not above 0
 */
export function parseBox(text: string, name = 'the box'): Box {
  // Number('') is 0: an empty part is no number.
  const values = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  const [x, y, width, height] = values;
  if (values.length !== 4 || !values.every(Number.isFinite) || !(width > 0 && height > 0)) {
    throw new UsageError(`Expected X,Y,W,H for ${name} (four numbers: the box's left and top edges, its width and its height in pixels, W and H above 0) but received ${JSON.stringify(text)}`);
  }
  return { x, y, width, height };
}

/** A box as given (its text, to name it in messages) and as read (`parseBox`). */
export interface BoxInput {
  text: string;
  box: Box;
}

/**
 * The object `selectObject` finds in each box, each box's size said in a notice.
 * @param name what the boxes were given as, for the messages ("--box", "box")
 * @throws UsageError a box that leaves the picture or covers it, or one in which nothing stands out
 */
export function objectsInBoxes(pixels: Rgba, boxes: readonly BoxInput[], name: string, onNotice?: (notice: string) => void, options: SelectObjectOptions = {}): Area[] {
  return boxes.map(({ text, box }) => {
    let area: Area | undefined;
    try {
      area = selectObject(pixels, box, options);
    } catch (err) {
      if (err instanceof UsageError) err.message = `${name} ${text}: ${err.message}`;
      throw err;
    }
    if (!area) throw new UsageError(`${name} ${text}: nothing in the box stands apart from what surrounds it; draw the box closer around the object, or give a mask of it`);
    onNotice?.(`${name} ${text}: selected ${areaSize(area).toLocaleString('en-US')} px`);
    return area;
  });
}

/** The box [x0, x1) x [y0, y1) grown by `by` on each side, within a `width` x `height` picture. */
function grownBox(x0: number, y0: number, x1: number, y1: number, by: number, width: number, height: number): Box {
  const x = Math.max(0, x0 - by);
  const y = Math.max(0, y0 - by);
  return { x, y, width: Math.min(width, x1 + by) - x, height: Math.min(height, y1 + by) - y };
}

function describeBox(box: Box): string {
  return `${box.width}x${box.height} at ${box.x},${box.y}`;
}

/** The crop's RGB shrunk to `cw` x `ch` by averaging each cell's pixels: 3 floats a cell. */
function shrinkColours(pixels: Rgba, crop: Box, cw: number, ch: number): Float32Array {
  const out = new Float32Array(cw * ch * 3);
  const { width, data } = pixels;
  for (let gy = 0; gy < ch; gy++) {
    const ya = crop.y + Math.floor((gy * crop.height) / ch);
    const yb = Math.max(ya + 1, crop.y + Math.floor(((gy + 1) * crop.height) / ch));
    for (let gx = 0; gx < cw; gx++) {
      const xa = crop.x + Math.floor((gx * crop.width) / cw);
      const xb = Math.max(xa + 1, crop.x + Math.floor(((gx + 1) * crop.width) / cw));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = ya; y < yb; y++) {
        for (let x = xa; x < xb; x++) {
          const p = 4 * (y * width + x);
          r += data[p];
          g += data[p + 1];
          b += data[p + 2];
        }
      }
      const n = (yb - ya) * (xb - xa);
      const o = 3 * (gy * cw + gx);
      out[o] = r / n;
      out[o + 1] = g / n;
      out[o + 2] = b / n;
    }
  }
  return out;
}

/**
 * GrabCut on a `cw` x `ch` grid of colours where every cell outside `box` is background.
 * @returns 1 for the object's cells, per cell of the box
 */
function segment(colours: Float32Array, cw: number, ch: number, box: Box, iterations: number): Uint8Array {
  const { x: bx, y: by, width: bw, height: bh } = box;
  const n = bw * bh;
  const inBox = (gx: number, gy: number): boolean => gx >= bx && gy >= by && gx < bx + bw && gy < by + bh;

  // The outline's cost between neighbours: GAMMA / distance * exp(-beta * |colour difference|²),
  // beta from the mean squared difference over the grid.
  const diff2 = (a: number, b: number): number => {
    const dr = colours[3 * a] - colours[3 * b];
    const dg = colours[3 * a + 1] - colours[3 * b + 1];
    const db = colours[3 * a + 2] - colours[3 * b + 2];
    return dr * dr + dg * dg + db * db;
  };
  let sum = 0;
  let pairs = 0;
  for (let gy = 0; gy < ch; gy++) {
    for (let gx = 0; gx < cw; gx++) {
      const i = gy * cw + gx;
      if (gx + 1 < cw) (sum += diff2(i, i + 1)), pairs++;
      if (gy + 1 < ch) (sum += diff2(i, i + cw)), pairs++;
      if (gx + 1 < cw && gy + 1 < ch) (sum += diff2(i, i + cw + 1)), pairs++;
      if (gx > 0 && gy + 1 < ch) (sum += diff2(i, i + cw - 1)), pairs++;
    }
  }
  const beta = sum > 0 ? pairs / (2 * sum) : 0;
  const DIRS = [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1], [-1, 1], [1, -1]];
  // Per box cell: its links to its neighbours in the box, and what its links to the background
  // outside the box cost when it is taken as the object.
  const links = new Float32Array(8 * n);
  const toBackground = new Float64Array(n);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const k = y * bw + x;
      const i = (by + y) * cw + bx + x;
      for (let d = 0; d < 8; d++) {
        const gx = bx + x + DIRS[d][0];
        const gy = by + y + DIRS[d][1];
        if (gx < 0 || gy < 0 || gx >= cw || gy >= ch) continue;
        const w = (GAMMA / (d < 4 ? 1 : Math.SQRT2)) * Math.exp(-beta * diff2(i, gy * cw + gx));
        if (inBox(gx, gy)) links[8 * k + d] = w;
        else toBackground[k] += w;
      }
    }
  }

  // The cells the colour models learn from: outside the box always background; in it, as labelled.
  const outside: number[] = [];
  for (let gy = 0; gy < ch; gy++) for (let gx = 0; gx < cw; gx++) if (!inBox(gx, gy)) outside.push(gy * cw + gx);
  const cellOf = (k: number): number => (by + Math.floor(k / bw)) * cw + bx + (k % bw);
  const label = new Uint8Array(n).fill(1);
  const background = new Gmm(cw * ch);
  const object = new Gmm(cw * ch);
  background.init(colours, outside);
  object.init(colours, Array.from({ length: n }, (_, k) => cellOf(k)));

  for (let round = 0; round < iterations; round++) {
    const bgCells = outside.slice();
    const fgCells: number[] = [];
    for (let k = 0; k < n; k++) (label[k] ? fgCells : bgCells).push(cellOf(k));
    if (fgCells.length === 0) break;
    background.learn(colours, bgCells);
    object.learn(colours, fgCells);

    const cut = new GridCut(bw, bh);
    for (let k = 0; k < n; k++) {
      const c = cellOf(k);
      // Taken as background, a cell pays how unlike the background it is; taken as the object,
      // how unlike the object, plus its links to the background outside the box.
      cut.addTerminals(k, background.cost(colours, c), object.cost(colours, c) + toBackground[k]);
      // The even directions (right, down and the two below) hold each link once; setLink sets both ways.
      for (let d = 0; d < 8; d += 2) if (links[8 * k + d] > 0) cut.setLink(k, d, links[8 * k + d]);
    }
    cut.maxflow();
    let changed = 0;
    for (let k = 0; k < n; k++) {
      const v = cut.isSource(k) ? 1 : 0;
      if (v !== label[k]) (label[k] = v), changed++;
    }
    if (changed === 0) break;
  }
  return label;
}

/**
 * Drops the specks of a 0/1 grid (parts, 8-connected, under `SPECK_SHARE` of the whole) and closes
 * its small enclosed parts, in place.
 * @returns the cells left selected
 */
function tidy(grid: Uint8Array, w: number, h: number): number {
  const part = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  let total = 0;
  const stack: number[] = [];
  for (let s = 0; s < grid.length; s++) {
    if (!grid[s] || part[s] >= 0) continue;
    const id = sizes.length;
    let size = 0;
    part[s] = id;
    stack.push(s);
    while (stack.length > 0) {
      const i = stack.pop()!;
      size++;
      const x = i % w;
      const y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const j = ny * w + nx;
          if (grid[j] && part[j] < 0) (part[j] = id), stack.push(j);
        }
      }
    }
    sizes.push(size);
    total += size;
  }
  let count = 0;
  for (let i = 0; i < grid.length; i++) {
    if (grid[i] && sizes[part[i]] < SPECK_SHARE * total) grid[i] = 0;
    count += grid[i];
  }
  if (count > 0) closeSmallHoles(grid, w, h, count * CLOSED_HOLE_SHARE);
  count = 0;
  for (const v of grid) count += v;
  return count;
}

/** A mixture of Gaussians over RGB, with full covariances. */
class Gmm {
  readonly weight = new Float64Array(COMPONENTS);
  readonly mean = new Float64Array(3 * COMPONENTS);
  /** The inverse covariance of each component, row by row. */
  readonly inverse = new Float64Array(9 * COMPONENTS);
  /** log(weight) - log(det(covariance)) / 2 per component (the constant dropped). */
  readonly logScale = new Float64Array(COMPONENTS);
  /** Each cell's component (by cell of the grid), from k-means first, then its most likely one. */
  readonly #component: Uint8Array;

  constructor(cells: number) {
    this.#component = new Uint8Array(cells);
  }

  /**
   * Components from k-means over the cells' colours (a few thousand of them, evenly spread),
   * started from quantiles of brightness. `learn` then gives every cell its likeliest.
   */
  init(colours: Float32Array, all: number[]): void {
    const step = Math.max(1, Math.floor(all.length / 4000));
    const cells = step === 1 ? all : all.filter((_, s) => s % step === 0);
    const brightness = (c: number): number => colours[3 * c] + colours[3 * c + 1] + colours[3 * c + 2];
    const sorted = cells.slice().sort((a, b) => brightness(a) - brightness(b));
    const centres = new Float64Array(3 * COMPONENTS);
    for (let k = 0; k < COMPONENTS; k++) {
      const c = sorted[Math.min(sorted.length - 1, Math.floor(((k + 0.5) * sorted.length) / COMPONENTS))];
      for (let j = 0; j < 3; j++) centres[3 * k + j] = colours[3 * c + j];
    }
    const assignment = new Uint8Array(cells.length);
    for (let round = 0; round < 10; round++) {
      for (let s = 0; s < cells.length; s++) {
        const c = cells[s];
        let best = 0;
        let bestD = Infinity;
        for (let k = 0; k < COMPONENTS; k++) {
          const dr = colours[3 * c] - centres[3 * k];
          const dg = colours[3 * c + 1] - centres[3 * k + 1];
          const db = colours[3 * c + 2] - centres[3 * k + 2];
          const d = dr * dr + dg * dg + db * db;
          if (d < bestD) (bestD = d), (best = k);
        }
        assignment[s] = best;
      }
      const sums = new Float64Array(4 * COMPONENTS);
      for (let s = 0; s < cells.length; s++) {
        const k = assignment[s];
        for (let j = 0; j < 3; j++) sums[4 * k + j] += colours[3 * cells[s] + j];
        sums[4 * k + 3]++;
      }
      for (let k = 0; k < COMPONENTS; k++) if (sums[4 * k + 3] > 0) for (let j = 0; j < 3; j++) centres[3 * k + j] = sums[4 * k + j] / sums[4 * k + 3];
    }
    for (let s = 0; s < cells.length; s++) this.#component[cells[s]] = assignment[s];
    this.#fit(colours, cells);
  }

  /** Each cell to its most likely component, then the components fitted to their cells. */
  learn(colours: Float32Array, cells: number[]): void {
    for (const c of cells) this.#component[c] = this.#likeliest(colours, c);
    this.#fit(colours, cells);
  }

  /** -log of the mixture's density at the cell's colour (up to a constant). */
  cost(colours: Float32Array, c: number): number {
    let top = -Infinity;
    const logs = new Float64Array(COMPONENTS);
    for (let k = 0; k < COMPONENTS; k++) {
      logs[k] = this.#logDensity(colours, c, k);
      if (logs[k] > top) top = logs[k];
    }
    if (top === -Infinity) return 1e6;
    let s = 0;
    for (let k = 0; k < COMPONENTS; k++) s += Math.exp(logs[k] - top);
    return -(top + Math.log(s));
  }

  #logDensity(colours: Float32Array, c: number, k: number): number {
    if (this.weight[k] === 0) return -Infinity;
    const d0 = colours[3 * c] - this.mean[3 * k];
    const d1 = colours[3 * c + 1] - this.mean[3 * k + 1];
    const d2 = colours[3 * c + 2] - this.mean[3 * k + 2];
    const m = this.inverse;
    const o = 9 * k;
    const q = d0 * (m[o] * d0 + m[o + 1] * d1 + m[o + 2] * d2) + d1 * (m[o + 3] * d0 + m[o + 4] * d1 + m[o + 5] * d2) + d2 * (m[o + 6] * d0 + m[o + 7] * d1 + m[o + 8] * d2);
    return this.logScale[k] - 0.5 * q;
  }

  #likeliest(colours: Float32Array, c: number): number {
    let best = 0;
    let bestLog = -Infinity;
    for (let k = 0; k < COMPONENTS; k++) {
      const l = this.#logDensity(colours, c, k);
      if (l > bestLog) (bestLog = l), (best = k);
    }
    return best;
  }

  #fit(colours: Float32Array, cells: number[]): void {
    const sums = new Float64Array(13 * COMPONENTS);
    for (const c of cells) {
      const k = this.#component[c];
      const o = 13 * k;
      const r = colours[3 * c];
      const g = colours[3 * c + 1];
      const b = colours[3 * c + 2];
      sums[o] += r;
      sums[o + 1] += g;
      sums[o + 2] += b;
      sums[o + 3] += r * r;
      sums[o + 4] += r * g;
      sums[o + 5] += r * b;
      sums[o + 6] += g * g;
      sums[o + 7] += g * b;
      sums[o + 8] += b * b;
      sums[o + 12]++;
    }
    for (let k = 0; k < COMPONENTS; k++) {
      const o = 13 * k;
      const count = sums[o + 12];
      this.weight[k] = count / Math.max(1, cells.length);
      if (count === 0) continue;
      const m = [sums[o] / count, sums[o + 1] / count, sums[o + 2] / count];
      this.mean.set(m, 3 * k);
      // The covariance, with a little added to its diagonal so that one flat colour stays invertible.
      const cov = (sum: number, a: number, b: number): number => sums[o + 3 + sum] / count - m[a] * m[b];
      const rr = cov(0, 0, 0) + 0.01;
      const rg = cov(1, 0, 1);
      const rb = cov(2, 0, 2);
      const gg = cov(3, 1, 1) + 0.01;
      const gb = cov(4, 1, 2);
      const bb = cov(5, 2, 2) + 0.01;
      const det = rr * (gg * bb - gb * gb) - rg * (rg * bb - gb * rb) + rb * (rg * gb - gg * rb);
      if (!(det > 0)) {
        this.weight[k] = 0;
        continue;
      }
      const inv = [gg * bb - gb * gb, rb * gb - rg * bb, rg * gb - rb * gg, 0, rr * bb - rb * rb, rg * rb - rr * gb, 0, 0, rr * gg - rg * rg];
      inv[3] = inv[1];
      inv[6] = inv[2];
      inv[7] = inv[5];
      for (let j = 0; j < 9; j++) this.inverse[9 * k + j] = inv[j] / det;
      this.logScale[k] = Math.log(this.weight[k]) - 0.5 * Math.log(det);
    }
  }
}
