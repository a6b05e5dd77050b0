/**
 * A tiny RGBA raster and a built-in 5x7 bitmap font, shared by training's loss plots and the sample
 * grids (core/sample-grid.ts) so that neither needs a plotting or font dependency. PNG encoding goes
 * through sharp, already used for images.
 *
 * Glyphs sit in a 5x9 cell: rows 0-6 hold capitals, digits and ascenders (row 6 is the baseline),
 * rows 7-8 the descenders of g, j, p, q, y and the comma. Characters without a glyph draw as '?'.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { expect } from './errors.ts';
import { writeFileAtomic } from './files.ts';

/** An opaque colour, 0..255 per channel. */
export type Color = readonly [number, number, number];

export const BLACK: Color = [0, 0, 0];
export const WHITE: Color = [255, 255, 255];

/** Width of a glyph in pixels (at scale 1). */
export const GLYPH_WIDTH = 5;
/** Height of a text line in pixels (at scale 1), descenders included. */
export const GLYPH_HEIGHT = 9;
/** Horizontal advance per character: the glyph and one pixel of spacing. */
export const ADVANCE = GLYPH_WIDTH + 1;

/** A clipping rectangle: columns x..x+width-1, rows y..y+height-1. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An opaque RGBA image in memory, row-major, 4 bytes a pixel (alpha always 255). */
export class Bitmap {
  readonly data: Uint8ClampedArray;

  /**
   * @throws UsageError for a size that is not a positive integer
   * @example const bmp = new Bitmap(320, 200, WHITE);
   */
  constructor(
    readonly width: number,
    readonly height: number,
    background: Color = WHITE,
  ) {
    expect(Number.isInteger(width) && width > 0, 'bitmap width', 'a positive integer', width);
    expect(Number.isInteger(height) && height > 0, 'bitmap height', 'a positive integer', height);
    this.data = new Uint8ClampedArray(4 * width * height);
    this.fillRect({ x: 0, y: 0, width, height }, background);
  }

  /** Sets one pixel; pixels outside the bitmap (or outside `clip`) are ignored, so callers need not clip. */
  set(x: number, y: number, c: Color, clip?: Rect): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    if (clip && (x < clip.x || y < clip.y || x >= clip.x + clip.width || y >= clip.y + clip.height)) return;
    const i = 4 * (y * this.width + x);
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
    this.data[i + 3] = 255;
  }

  /** The colour at (x, y). */
  get(x: number, y: number): Color {
    const i = 4 * (y * this.width + x);
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** Fills a rectangle (clipped to the bitmap). */
  fillRect(r: Rect, c: Color): void {
    for (let y = Math.max(0, r.y); y < Math.min(this.height, r.y + r.height); y++) {
      for (let x = Math.max(0, r.x); x < Math.min(this.width, r.x + r.width); x++) this.set(x, y, c);
    }
  }

  /** Encodes as an 8-bit RGB PNG. */
  async toPng(): Promise<Uint8Array> {
    const png = await sharp(this.data, { raw: { width: this.width, height: this.height, channels: 4 } }).removeAlpha().png().toBuffer();
    return new Uint8Array(png);
  }

  /** Writes a PNG atomically (a reader never sees half a file), creating missing parent folders. */
  async writePng(path: string): Promise<void> {
    const bytes = await this.toPng();
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes);
  }
}

// Each glyph: rows of '#' (ink) and '.', top to bottom; rows not given are blank.
// Lowercase letters and punctuation that start lower list their leading blank rows.
const GLYPHS: Record<string, string> = {
  ' ': '',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... ####. #...# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .#### #...# #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... ..... .##.. .##.. .#...',
  '-': '..... ..... ..... ##### ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... ..... #####',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
};

/** Ink pixels of each glyph as [col, row] pairs, decoded once. */
const INK: ReadonlyMap<string, readonly (readonly [number, number])[]> = new Map(
  Object.entries(GLYPHS).map(([ch, rows]) => [
    ch,
    rows
      .split(' ')
      .filter((r) => r.length > 0)
      .flatMap((row, y) => [...row].flatMap((c, x) => (c === '#' ? [[x, y] as const] : []))),
  ]),
);

/** Width in pixels of `text` drawn at `scale` (no trailing spacing). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale` square.
 * Pixels outside `clip` (default: the whole bitmap) are not drawn.
 * @returns the x just past the text
 * @example drawText(bmp, 'loss 1e-3', 10, 10, BLACK, 2);
 */
export function drawText(bmp: Bitmap, text: string, x: number, y: number, color: Color, scale = 1, clip?: Rect): number {
  let cx = x;
  for (const ch of text) {
    for (const [gx, gy] of INK.get(ch) ?? INK.get('?')!) {
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) bmp.set(cx + gx * scale + dx, y + gy * scale + dy, color, clip);
      }
    }
    cx += ADVANCE * scale;
  }
  return x + textWidth(text, scale);
}
