import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from './errors.ts';
import type { RgbImage } from './image.ts';
import { Rng } from './random.ts';
import { renderSampleGrid, SEPARATOR, writeSampleGrid } from './sample-grid.ts';

const dir = mkdtempSync(join(tmpdir(), 'samples-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An image of random 8-bit levels (k / 255), so its encoded bytes are known exactly. */
function image(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.int(0, 255) / 255) };
}

async function decode(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray(3 * (y * info.width + x), 3 * (y * info.width + x) + 3)];
  return { info, at };
}

describe('sample grids', () => {
  it('writes a PNG whose cells hold exactly the source pixels, with 2-px separators and labels', async () => {
    const rows = [0, 1].map((r) => [0, 1, 2].map((c) => image(10, 8, 3 * r + c)));
    const path = join(dir, 'nested', 'grid.png');
    const grid = await writeSampleGrid(path, rows, { labels: ['in', 'G1', 'gt'] });
    const { info, at } = await decode(path);
    assert.equal(SEPARATOR, 2);
    // Label band: a 9-px text line at scale 1 (2-letter labels do not fit 10 px at scale 2), 3 px of
    // padding above and below, then a separator.
    assert.equal(grid.cells[0][0].y, 9 + 2 * 3 + SEPARATOR);
    assert.equal(info.width, 3 * 10 + 2 * SEPARATOR);
    assert.equal(info.height, grid.cells[0][0].y + 2 * 8 + SEPARATOR);
    rows.forEach((row, r) =>
      row.forEach((img, c) => {
        const cell = grid.cells[r][c];
        assert.deepEqual(cell, { x: c * (10 + SEPARATOR), y: grid.cells[0][0].y + r * (8 + SEPARATOR), width: 10, height: 8 });
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 10; x++) {
            const expected = [0, 1, 2].map((ch) => Math.round(img.data[ch * 80 + y * 10 + x] * 255));
            assert.deepEqual(at(cell.x + x, cell.y + y), expected, `row ${r} col ${c} pixel ${x},${y}`);
          }
        }
      }),
    );
    // Separators: the two columns between cells, the two rows between the image rows and under the labels.
    for (const x of [10, 11, 22, 23]) assert.deepEqual(at(x, grid.cells[1][0].y + 3), [128, 128, 128]);
    for (const y of [grid.cells[0][0].y - 2, grid.cells[0][0].y - 1, grid.cells[0][0].y + 8, grid.cells[0][0].y + 9]) {
      assert.deepEqual(at(4, y), [128, 128, 128], `row ${y}`);
    }
    // Label text: dark pixels in the band above each column.
    for (let c = 0; c < 3; c++) {
      let ink = 0;
      for (let y = 0; y < grid.cells[0][0].y - SEPARATOR; y++) for (let x = c * 12; x < c * 12 + 10; x++) if (at(x, y)[0] === 0) ink++;
      assert.ok(ink > 5, `column ${c} label has ${ink} ink pixels`);
    }
  });

  it('sizes columns and rows to their largest image, and leaves no label band without labels', () => {
    const grid = renderSampleGrid([
      [image(6, 4, 1), image(3, 3, 2)],
      [image(2, 5, 3), image(4, 2, 4)],
    ]);
    assert.equal(grid.bitmap.width, 6 + SEPARATOR + 4);
    assert.equal(grid.bitmap.height, 4 + SEPARATOR + 5);
    assert.deepEqual(grid.cells[1][1], { x: 6 + SEPARATOR, y: 4 + SEPARATOR, width: 4, height: 2 });
    assert.deepEqual(grid.bitmap.get(6 + SEPARATOR + 3, 3), [255, 255, 255]); // unused corner of cell [0][1]
  });

  it('draws labels twice as large when they fit', () => {
    const small = renderSampleGrid([[image(20, 4, 1)]], { labels: ['ab'] });
    const large = renderSampleGrid([[image(40, 4, 1)]], { labels: ['ab'] });
    assert.ok(large.cells[0][0].y > small.cells[0][0].y, `${large.cells[0][0].y} vs ${small.cells[0][0].y}`);
  });

  it('rejects empty or ragged rows, a wrong label count and malformed images', () => {
    assert.throws(() => renderSampleGrid([]), UsageError);
    assert.throws(() => renderSampleGrid([[image(2, 2, 1)], [image(2, 2, 1), image(2, 2, 1)]]), UsageError);
    assert.throws(() => renderSampleGrid([[image(2, 2, 1)]], { labels: ['a', 'b'] }), UsageError);
    assert.throws(() => renderSampleGrid([[{ width: 2, height: 2, data: new Float32Array(5) }]]), UsageError);
  });
});
