import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composite, mirrorPad, provenancePicture, unpad } from './pixels.ts';

describe('mirrorPad', () => {
  it('mirrors past the right and bottom edges, repeating the edge pixel, for any amount', () => {
    const mask = { width: 3, height: 1, data: Uint8Array.of(1, 0, 0) };
    assert.deepEqual([...mirrorPad(mask, 8, 2).data], [1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0]);
  });

  it('is undone by unpad', () => {
    const img = { width: 2, height: 2, data: Float32Array.from({ length: 12 }, (_, i) => i / 12) };
    const padded = mirrorPad(img, 5, 3);
    assert.equal(padded.data.length, 3 * 15);
    assert.equal(padded.data[4], img.data[0]); // x = 4 reads x = 0 (period 4)
    assert.deepEqual(unpad(padded, 2, 2), img);
  });
});

describe('composite', () => {
  it('takes the fill in the hole and the known pixels elsewhere', () => {
    const known = { width: 2, height: 1, data: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6) };
    const fill = { width: 2, height: 1, data: new Float32Array(6).fill(1) };
    const out = composite(fill, known, { width: 2, height: 1, data: Uint8Array.of(0, 1) });
    assert.deepEqual([...out.data], [...Float32Array.of(0.1, 1, 0.3, 1, 0.5, 1)]);
  });
});

describe('provenancePicture', () => {
  it('colours hole pixels by their source cell and dims known pixels', () => {
    // 8x4 pixels = 2x1 cells; pixel columns 0-3 are known (cell 0), 4-7 are the hole (cell 1).
    const image = { width: 8, height: 4, data: new Float32Array(96).fill(0.8) };
    const mask = { width: 8, height: 4, data: new Uint8Array(32) };
    for (let y = 0; y < 4; y++) mask.data.fill(1, y * 8 + 4, y * 8 + 8);
    const plane = 32;
    const colour = (pic: { data: Float32Array }, i: number) => [0, 1, 2].map((c) => pic.data[c * plane + i]);
    const fromLeft = provenancePicture(image, mask, BigInt64Array.of(-1n, 0n), 2, 1);
    assert.ok(Math.abs(fromLeft.data[0] - 0.28) < 1e-6);
    assert.deepEqual(colour(fromLeft, 5), colour(fromLeft, 31)); // one source: one colour
    const fromRight = provenancePicture(image, mask, BigInt64Array.of(-1n, 1n), 2, 1);
    assert.notDeepEqual(colour(fromRight, 5), colour(fromLeft, 5));
  });
});
