/**
 * Seeded hole masks for training and evaluation. Every kind takes the image size and an `Rng`, so
 * a seed reproduces a mask exactly. Sizes are given at 256x256 and scale with min(width, height).
 *
 * - `centre`: the paper's fixed square hole in the middle. Side 128 at 256 and 224 at 512 (its two
 *   settings); linear between, ratio 1/2 below 256 and 7/16 above 512. `holeSize` overrides it.
 * - `rectangles`: 1 to 4 rectangles, each side 32 to 128, anywhere inside the image (may overlap).
 * - `edge`: one rectangle against a side of the image (which side at random): 40 to 100 across the
 *   side, 64 to 160 along it, anywhere along it. An object at the photo's edge, cut by the frame.
 * - `border`: a strip along a whole side (which side at random), 20 to 50 deep: the border that
 *   `inpaint run --extend` adds, and the corners a straightened photo leaves are its short cousins.
 * - `strokes-*`: free-form brush strokes in the manner of LaMa's irregular masks: each stroke is a
 *   random walk of line segments drawn with a round brush of one width, each segment turning from
 *   the last by up to ±90°, clipped to the image. A draw covering more than 70% of the image is
 *   redrawn (LaMa also caps holes at 0.7), so a mask is never all hole. Parameters (at 256):
 *
 *   | family | strokes | segments a stroke | segment length | brush width | mean hole fraction |
 *   | ------ | ------- | ----------------- | -------------- | ----------- | ------------------ |
 *   | thin   | 4 – 16  | 1 – 5             | 10 – 50        | 2 – 8       | ≈ 0.06             |
 *   | medium | 2 – 5   | 1 – 5             | 20 – 90        | 12 – 30     | ≈ 0.14             |
 *   | thick  | 1 – 4   | 1 – 5             | 30 – 130       | 35 – 70     | ≈ 0.29             |
 *
 * - `folder`: masks drawn from a directory of mask images (`MaskFolder`).
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { expect, InputError, UsageError } from '../core/errors.ts';
import { type Box, holeFraction, IMAGE_EXTENSIONS, type MaskImage, READABLE_FORMATS, readMask, resizeMask } from '../core/image.ts';
import type { Rng } from '../core/random.ts';

/** A seeded synthetic mask of the given size. */
export type MaskGenerator = (width: number, height: number, rng: Rng) => MaskImage;

export const MASK_KINDS = ['centre', 'rectangles', 'strokes-thin', 'strokes-medium', 'strokes-thick', 'edge', 'border', 'folder'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

export interface MaskOptions {
  /** `centre` only: the side of the square hole in pixels (default: the paper's, see above). */
  holeSize?: number;
  /** `folder` only, and required there: the folder to draw from. */
  folder?: MaskFolder;
}

/** Scale factor from the 256-pixel reference size. */
function scaleOf(width: number, height: number): number {
  return Math.min(width, height) / 256;
}

function fillBox(mask: MaskImage, box: Box): void {
  for (let y = box.y; y < box.y + box.height; y++) mask.data.fill(1, y * mask.width + box.x, y * mask.width + box.x + box.width);
}

function emptyMask(width: number, height: number): MaskImage {
  return { width, height, data: new Uint8Array(width * height) };
}

// ---------------------------------------------------------------------------------------------
// centre

/** The paper's hole side for a square image of side `size` (see the file comment). */
function defaultHoleSize(size: number): number {
  if (size <= 256) return Math.round(size / 2);
  if (size >= 512) return Math.round((size * 7) / 16);
  return Math.round(128 + ((size - 256) * 96) / 256);
}

function centreMask(holeSize: number | undefined): MaskGenerator {
  return (width, height) => {
    const side = holeSize ?? defaultHoleSize(Math.min(width, height));
    expect(Number.isInteger(side) && side >= 1 && side <= Math.min(width, height), 'holeSize', `an integer from 1 to ${Math.min(width, height)}`, side);
    const mask = emptyMask(width, height);
    fillBox(mask, { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), width: side, height: side });
    return mask;
  };
}

// ---------------------------------------------------------------------------------------------
// rectangles

/** The boxes the `rectangles` kind fills, for the same rng state: 1 to 4, sides 32 to 128 at 256. */
export function sampleRectangles(width: number, height: number, rng: Rng): Box[] {
  const s = scaleOf(width, height);
  const lo = Math.max(1, Math.round(32 * s));
  const hi = Math.round(128 * s);
  const side = (limit: number) => rng.int(Math.min(lo, limit), Math.min(hi, limit));
  return Array.from({ length: rng.int(1, 4) }, () => {
    const w = side(width);
    const h = side(height);
    return { x: rng.int(0, width - w), y: rng.int(0, height - h), width: w, height: h };
  });
}

const rectanglesMask: MaskGenerator = (width, height, rng) => {
  const mask = emptyMask(width, height);
  for (const box of sampleRectangles(width, height, rng)) fillBox(mask, box);
  return mask;
};

// ---------------------------------------------------------------------------------------------
// edge, border

/**
 * A box against one side of a `width` x `height` image, `across` deep and `along` long (at 256,
 * scaled; `along` undefined: the whole side), at a random place along the side.
 */
function sideBox(width: number, height: number, rng: Rng, across: [number, number], along?: [number, number]): Box {
  const s = scaleOf(width, height);
  const side = rng.int(0, 3); // left, top, right, bottom
  const [length, depthLimit] = side % 2 === 0 ? [height, width] : [width, height];
  const depth = Math.min(depthLimit - 1, Math.max(1, rng.int(Math.round(across[0] * s), Math.round(across[1] * s))));
  const extent = along ? Math.min(length, Math.max(1, rng.int(Math.round(along[0] * s), Math.round(along[1] * s)))) : length;
  const start = rng.int(0, length - extent);
  const from = side < 2 ? 0 : depthLimit - depth;
  return side % 2 === 0 ? { x: from, y: start, width: depth, height: extent } : { x: start, y: from, width: extent, height: depth };
}

const edgeMask: MaskGenerator = (width, height, rng) => {
  const mask = emptyMask(width, height);
  fillBox(mask, sideBox(width, height, rng, [40, 100], [64, 160]));
  return mask;
};

const borderMask: MaskGenerator = (width, height, rng) => {
  const mask = emptyMask(width, height);
  fillBox(mask, sideBox(width, height, rng, [20, 50]));
  return mask;
};

// ---------------------------------------------------------------------------------------------
// strokes

interface StrokeFamily {
  strokes: [number, number];
  segments: [number, number];
  length: [number, number];
  width: [number, number];
}

const STROKES: Record<'thin' | 'medium' | 'thick', StrokeFamily> = {
  thin: { strokes: [4, 16], segments: [1, 5], length: [10, 50], width: [2, 8] },
  medium: { strokes: [2, 5], segments: [1, 5], length: [20, 90], width: [12, 30] },
  thick: { strokes: [1, 4], segments: [1, 5], length: [30, 130], width: [35, 70] },
};

const MAX_STROKE_HOLE_FRACTION = 0.7;

/** Marks every pixel whose centre lies within `radius` of the segment (x0,y0)-(x1,y1): a capsule. */
function drawCapsule(mask: MaskImage, x0: number, y0: number, x1: number, y1: number, radius: number): void {
  const { width, height, data } = mask;
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const r2 = radius * radius;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - radius));
  const xb = Math.min(width - 1, Math.ceil(Math.max(x0, x1) + radius));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - radius));
  const yb = Math.min(height - 1, Math.ceil(Math.max(y0, y1) + radius));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      // Closest point of the segment: projection clamped to its ends (a point when len2 is 0).
      const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, (px * dx + py * dy) / len2));
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= r2) data[y * width + x] = 1;
    }
  }
}

function strokesMask(family: StrokeFamily): MaskGenerator {
  return (width, height, rng) => {
    const s = scaleOf(width, height);
    for (;;) {
      const mask = emptyMask(width, height);
      const strokes = rng.int(family.strokes[0], family.strokes[1]);
      for (let i = 0; i < strokes; i++) {
        // Radius at least 1 px: every point is within √2/2 of a pixel centre, so a stroke always marks pixels.
        const radius = Math.max(1, (rng.uniform(family.width[0], family.width[1]) * s) / 2);
        let x = rng.uniform(0, width);
        let y = rng.uniform(0, height);
        let angle = rng.uniform(0, 2 * Math.PI);
        const segments = rng.int(family.segments[0], family.segments[1]);
        for (let j = 0; j < segments; j++) {
          if (j > 0) angle += rng.uniform(-Math.PI / 2, Math.PI / 2);
          const length = rng.uniform(family.length[0], family.length[1]) * s;
          const nx = Math.min(width, Math.max(0, x + length * Math.cos(angle)));
          const ny = Math.min(height, Math.max(0, y + length * Math.sin(angle)));
          drawCapsule(mask, x, y, nx, ny, radius);
          x = nx;
          y = ny;
        }
      }
      if (holeFraction(mask) <= MAX_STROKE_HOLE_FRACTION) return mask;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// folder


/**
 * A directory of mask images (hole = white, or painted on transparency: see `readMask`). `sample`
 * picks one with the rng, resizes it with `resizeMask` (thin strokes survive shrinking) and flips
 * it at random horizontally and vertically, so each file yields four masks.
 */
export class MaskFolder {
  private constructor(
    readonly dir: string,
    /** The mask files, sorted by name so that a seed picks the same file on every file system. */
    readonly files: readonly string[],
  ) {}

  /**
   * Lists the image files of `dir` (not recursive, by `IMAGE_EXTENSIONS`).
   * @throws InputError the folder cannot be read or holds no mask images
   */
  static async open(dir: string): Promise<MaskFolder> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw new InputError(`Cannot list the mask folder ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const files = names.filter((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase())).sort();
    if (files.length === 0) throw new InputError(`The mask folder ${dir} holds no ${READABLE_FORMATS} images (${IMAGE_EXTENSIONS.join(', ')} files)`);
    return new MaskFolder(dir, files);
  }

  /**
   * A mask of the given size from a randomly chosen file.
   * @throws InputError the chosen file is not a readable image
   */
  async sample(width: number, height: number, rng: Rng): Promise<MaskImage> {
    // Every random draw happens before the read, so concurrent samples sharing one rng stay reproducible.
    const file = this.files[rng.int(0, this.files.length - 1)];
    const flipX = rng.next() < 0.5;
    const flipY = rng.next() < 0.5;
    const src = resizeMask(await readMask(join(this.dir, file)), width, height);
    const out = emptyMask(width, height);
    for (let y = 0; y < height; y++) {
      const sy = flipY ? height - 1 - y : y;
      for (let x = 0; x < width; x++) out.data[y * width + x] = src.data[sy * width + (flipX ? width - 1 - x : x)];
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// registry

const GENERATORS: Record<Exclude<MaskKind, 'folder'>, (options: MaskOptions) => MaskGenerator> = {
  centre: (o) => centreMask(o.holeSize),
  rectangles: () => rectanglesMask,
  'strokes-thin': () => strokesMask(STROKES.thin),
  'strokes-medium': () => strokesMask(STROKES.medium),
  'strokes-thick': () => strokesMask(STROKES.thick),
  edge: () => edgeMask,
  border: () => borderMask,
};

/**
 * A mask of `kind` (one of `MASK_KINDS`) at width x height, drawn with `rng`. Asynchronous because
 * the `folder` kind reads files; the others resolve at once.
 * @throws UsageError unknown kind, bad size or holeSize, or `folder` without `options.folder`
 * @throws InputError (`folder`) the chosen mask file is unreadable
 */
export async function makeMask(kind: string, width: number, height: number, rng: Rng, options: MaskOptions = {}): Promise<MaskImage> {
  expect(Number.isInteger(width) && width > 0, 'width', 'a positive integer', width);
  expect(Number.isInteger(height) && height > 0, 'height', 'a positive integer', height);
  if (kind === 'folder') {
    if (!options.folder) throw new UsageError("Mask kind 'folder' needs options.folder: open one with MaskFolder.open(dir)");
    return options.folder.sample(width, height, rng);
  }
  if (!Object.hasOwn(GENERATORS, kind)) throw new UsageError(`Unknown mask kind ${JSON.stringify(kind)}: use one of ${MASK_KINDS.join(', ')}`);
  return GENERATORS[kind as keyof typeof GENERATORS](options)(width, height, rng);
}
