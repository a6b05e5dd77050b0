import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { cropImage, type RgbImage, resizeImage, writeMask } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { makeMask } from '../data/masks.ts';
import { checkProtocols, maskSeed, prepareImage, protocolMask } from './protocols.ts';

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.next()) };
}

describe('prepareImage', () => {
  it('resizes the short side to the size and cuts out the centre square', () => {
    const photo = randomImage(60, 40, 1);
    const got = prepareImage(photo, 20);
    // 60x40 -> 30x20, then columns 5..24.
    assert.deepEqual(got, cropImage(resizeImage(photo, 30, 20), { x: 5, y: 0, width: 20, height: 20 }));
    const tall = prepareImage(randomImage(10, 30, 2), 16); // enlarged: 16x48, rows 16..31
    assert.deepEqual([tall.width, tall.height], [16, 16]);
  });

  it('only crops a photo whose short side already has the size', () => {
    const photo = randomImage(30, 20, 3);
    assert.deepEqual(prepareImage(photo, 20), cropImage(photo, { x: 5, y: 0, width: 20, height: 20 }));
  });
});

describe('checkProtocols', () => {
  it('accepts known names and refuses unknown, repeated or no names', () => {
    assert.deepEqual(checkProtocols(['strokes-256', 'centre-512']), ['strokes-256', 'centre-512']);
    assert.throws(() => checkProtocols(['centre-256', 'centre-2048']), /Unknown protocol "centre-2048": use one of centre-512, centre-256/);
    assert.throws(() => checkProtocols(['centre-256', 'centre-256']), UsageError);
    assert.throws(() => checkProtocols([]), UsageError);
  });
});

describe('protocolMask', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'protocol-mask-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('draws the seeded mask of its kind, saves it, and reads the saved file back on the next call', async () => {
    const first = await protocolMask(dir, 'rectangles-256', 3, 7);
    assert.equal(first.reused, false);
    assert.equal(first.path, join(dir, 'rectangles-256', '0003-seed7.png'));
    assert.deepEqual(first.mask, await makeMask('rectangles', 256, 256, new Rng(maskSeed(7, 'rectangles-256', 3))));
    const again = await protocolMask(dir, 'rectangles-256', 3, 7);
    assert.equal(again.reused, true);
    assert.deepEqual(again.mask, first.mask);
    // Another seed or index is another mask.
    assert.notDeepEqual((await protocolMask(dir, 'rectangles-256', 3, 8)).mask, first.mask);
    assert.notDeepEqual((await protocolMask(dir, 'rectangles-256', 4, 7)).mask, first.mask);
  });

  it('gives the centre protocols the paper hole and cycles the stroke families', async () => {
    const centre = await protocolMask(dir, 'centre-512', 0, 0);
    assert.equal(centre.mask.data.reduce((a, b) => a + b, 0), 224 * 224);
    const kinds = [];
    for (let i = 0; i < 4; i++) kinds.push((await protocolMask(dir, 'strokes-256', i, 0)).kind);
    assert.deepEqual(kinds, ['strokes-thin', 'strokes-medium', 'strokes-thick', 'strokes-thin']);
  });

  it('uses a saved mask as it is, and refuses one of the wrong size', async () => {
    const path = join(dir, 'centre-256', '0000-seed5.png');
    const own = await makeMask('rectangles', 256, 256, new Rng(1));
    await writeMask(path, own);
    assert.deepEqual((await protocolMask(dir, 'centre-256', 0, 5)).mask, own);
    await writeMask(path, await makeMask('centre', 128, 128, new Rng(1)));
    await assert.rejects(protocolMask(dir, 'centre-256', 0, 5), (err: Error) => err instanceof InputError && /is 128x128, but centre-256 needs 256x256; delete it/.test(err.message));
    await writeFile(path, 'not a png');
    await assert.rejects(protocolMask(dir, 'centre-256', 0, 5), InputError);
    assert.equal((await readFile(path, 'utf8')), 'not a png');
  });
});
