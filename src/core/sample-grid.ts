/**
 * Sample grids: one row per example, one column per stage (e.g. input with hole | G1 | final | ground
 * truth), labelled in the built-in bitmap font. Training draws them to watch a run, evaluation and
 * the tools to show fills side by side; it lives in core/ so that none of them imports another.
 */
import { expect } from './errors.ts';
import type { RgbImage } from './image.ts';
import { BLACK, Bitmap, type Color, drawText, GLYPH_HEIGHT, type Rect, textWidth, WHITE } from './font.ts';

/** Width of the lines between cells, in pixels. */
export const SEPARATOR = 2;
const SEPARATOR_COLOR: Color = [128, 128, 128];
const LABEL_PAD = 3;

export interface SampleGridOptions {
  /** One label per column, drawn above it (clipped to the column). */
  labels?: readonly string[];
}

/** A rendered grid and where each image went. */
export interface SampleGrid {
  bitmap: Bitmap;
  /** cells[row][col]: the rectangle holding that image (its own size, at the cell's top-left). */
  cells: Rect[][];
}

/**
 * Lays the images out: each column as wide as its widest image, each row as tall as its tallest,
 * smaller images at the top-left of their cell on white, `SEPARATOR` grey pixels between cells and
 * under the label band. Pixel values are rounded to 8 bits exactly as `encodeImage` does.
 * @throws UsageError for no rows, rows of different lengths, a malformed image, or a label count
 *   that differs from the column count
 * @example const { bitmap } = renderSampleGrid([[input, g1, out, gt]], { labels: ['input', 'G1', 'output', 'truth'] });
 */
export function renderSampleGrid(rows: readonly (readonly RgbImage[])[], options: SampleGridOptions = {}): SampleGrid {
  expect(rows.length > 0 && rows[0].length > 0, 'rows', 'at least one row of at least one image', rows);
  const cols = rows[0].length;
  rows.forEach((row, r) => {
    expect(row.length === cols, `row ${r}`, `${cols} images like row 0`, row.length);
    row.forEach((img, c) => {
      const ok = Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0 && img.data.length === 3 * img.width * img.height;
      expect(ok, `image [${r}][${c}]`, 'an RgbImage with width * height * 3 values', img);
    });
  });
  const labels = options.labels;
  if (labels) expect(labels.length === cols, 'labels', `${cols} labels (one per column)`, labels);

  const colW = Array.from({ length: cols }, (_, c) => Math.max(...rows.map((row) => row[c].width)));
  const rowH = rows.map((row) => Math.max(...row.map((img) => img.height)));
  // Labels at double size when every one fits its column, else at single size (then clipped).
  const scale = labels && labels.every((l, c) => textWidth(l, 2) + 2 * LABEL_PAD <= colW[c]) ? 2 : 1;
  const labelH = labels ? GLYPH_HEIGHT * scale + 2 * LABEL_PAD + SEPARATOR : 0;
  const width = colW.reduce((a, b) => a + b, 0) + SEPARATOR * (cols - 1);
  const height = labelH + rowH.reduce((a, b) => a + b, 0) + SEPARATOR * (rows.length - 1);
  const bmp = new Bitmap(width, height, SEPARATOR_COLOR);

  const colX = colW.map((_, c) => colW.slice(0, c).reduce((a, b) => a + b, 0) + SEPARATOR * c);
  if (labels) {
    labels.forEach((label, c) => {
      const band: Rect = { x: colX[c], y: 0, width: colW[c], height: labelH - SEPARATOR };
      bmp.fillRect(band, WHITE);
      const x = band.x + Math.max(LABEL_PAD, Math.floor((band.width - textWidth(label, scale)) / 2));
      drawText(bmp, label, x, LABEL_PAD, BLACK, scale, band);
    });
  }
  const pixel: [number, number, number] = [0, 0, 0];
  const cells = rows.map((row, r) => {
    const y0 = labelH + rowH.slice(0, r).reduce((a, b) => a + b, 0) + SEPARATOR * r;
    return row.map((img, c) => {
      bmp.fillRect({ x: colX[c], y: y0, width: colW[c], height: rowH[r] }, WHITE);
      const plane = img.width * img.height;
      for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
          const i = y * img.width + x;
          // Same rounding as toRgba8 (Uint8ClampedArray: clamp, round half to even).
          for (let ch = 0; ch < 3; ch++) pixel[ch] = img.data[ch * plane + i] * 255;
          bmp.set(colX[c] + x, y0 + y, pixel);
        }
      }
      return { x: colX[c], y: y0, width: img.width, height: img.height };
    });
  });
  return { bitmap: bmp, cells };
}

/**
 * Writes a sample grid as PNG (atomically, creating missing folders); see `renderSampleGrid`.
 * @throws UsageError as `renderSampleGrid`
 * @example await writeSampleGrid('runs/g1/samples/step-1000.png', batch.map((b) => [b.input, b.g1, b.out, b.gt]), { labels: ['input', 'G1', 'output', 'truth'] });
 */
export async function writeSampleGrid(path: string, rows: readonly (readonly RgbImage[])[], options: SampleGridOptions = {}): Promise<SampleGrid> {
  const grid = renderSampleGrid(rows, options);
  await grid.bitmap.writePng(path);
  return grid;
}
