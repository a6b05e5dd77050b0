import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from './errors.ts';
import { ADVANCE, BLACK, Bitmap, drawText, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth, WHITE } from './font.ts';

const CHARSET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.,-_:/+=()%|?';

/** The ink of one character drawn at (1, 1) on a blank bitmap, as a string of '#' and '.'. */
function inkOf(ch: string, scale = 1): string {
  const bmp = new Bitmap(GLYPH_WIDTH * scale + 2, GLYPH_HEIGHT * scale + 2, WHITE);
  drawText(bmp, ch, 1, 1, BLACK, scale);
  let s = '';
  for (let y = 0; y < bmp.height; y++) for (let x = 0; x < bmp.width; x++) s += bmp.get(x, y)[0] === 0 ? '#' : '.';
  return s;
}

describe('bitmap font', () => {
  it('has a distinct glyph with ink inside its 5x9 cell for every digit, letter and the punctuation', () => {
    const seen = new Map<string, string>();
    const border = (x: number, y: number) => x === 0 || y === 0 || x === GLYPH_WIDTH + 1 || y === GLYPH_HEIGHT + 1;
    for (const ch of CHARSET) {
      const ink = inkOf(ch);
      assert.ok(ink.includes('#'), `${ch} has no ink`);
      [...ink].forEach((p, i) => assert.ok(p === '.' || !border(i % (GLYPH_WIDTH + 2), Math.floor(i / (GLYPH_WIDTH + 2))), `${ch} draws outside its cell`));
      assert.equal(seen.get(ink), undefined, `${ch} looks like ${seen.get(ink)}`);
      seen.set(ink, ch);
    }
  });

  it('draws unknown characters as ? and spaces as nothing', () => {
    assert.equal(inkOf('\u00e9'), inkOf('?'));
    assert.ok(!inkOf(' ').includes('#'));
  });

  it('scales each font pixel to a square, and measures text', () => {
    const one = inkOf('7');
    const two = inkOf('7', 2);
    assert.equal([...two].filter((p) => p === '#').length, 4 * [...one].filter((p) => p === '#').length);
    assert.equal(textWidth('abc'), 3 * ADVANCE - 1);
    assert.equal(textWidth('abc', 2), 2 * (3 * ADVANCE - 1));
    assert.equal(textWidth(''), 0);
    const bmp = new Bitmap(40, 12);
    assert.equal(drawText(bmp, 'abc', 3, 1, BLACK), 3 + textWidth('abc'));
  });

  it('clips text to a rectangle', () => {
    const bmp = new Bitmap(30, 12, WHITE);
    drawText(bmp, 'MMMM', 0, 0, BLACK, 1, { x: 0, y: 0, width: 8, height: 12 });
    for (let y = 0; y < 12; y++) for (let x = 8; x < 30; x++) assert.deepEqual(bmp.get(x, y), WHITE, `pixel ${x},${y}`);
    assert.deepEqual(bmp.get(0, 0), BLACK);
  });

  it('encodes an opaque RGB PNG of the right size and pixels', async () => {
    const bmp = new Bitmap(7, 5, [10, 20, 30]);
    bmp.set(6, 4, [200, 100, 50]);
    const { data, info } = await sharp(await bmp.toPng()).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [7, 5, 3]);
    assert.deepEqual([...data.subarray(0, 3)], [10, 20, 30]);
    assert.deepEqual([...data.subarray(-3)], [200, 100, 50]);
  });

  it('rejects a size that is not a positive integer', () => {
    assert.throws(() => new Bitmap(0, 5), UsageError);
    assert.throws(() => new Bitmap(4, 2.5), UsageError);
  });
});
