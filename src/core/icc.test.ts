import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { displayP3Profile, TEST_HEIC, TEST_HEIC_P3 } from '../inference/testing.ts';
import { pngWithProfile } from './bytes.ts';
import { rgbProfileOf, withRgbProfile } from './icc.ts';

describe('rgbProfileOf and withRgbProfile (the page)', () => {
  const grey = () => sharp({ create: { width: 12, height: 8, channels: 3, background: '#808080' } });

  test("read a JPEG's, PNG's, WebP's and HEIC's RGB profile, none where there is none or it is greyscale", async () => {
    const p3 = await displayP3Profile();
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      assert.deepEqual(await rgbProfileOf(await grey().withIccProfile('p3').toFormat(format).toBuffer()), p3, format);
      assert.equal(await rgbProfileOf(await grey().toFormat(format).toBuffer()), undefined, format);
    }
    assert.deepEqual(await rgbProfileOf(new Uint8Array(await readFile(TEST_HEIC_P3))), new Uint8Array((await sharp(TEST_HEIC_P3).metadata()).icc!));
    assert.equal(await rgbProfileOf(new Uint8Array(await readFile(TEST_HEIC))), undefined);
    // A greyscale profile (its header's colour space 'GRAY') is not one to keep the pixels in.
    const greyProfile = p3.slice();
    greyProfile.set([0x47, 0x52, 0x41, 0x59], 16);
    const greyPng = pngWithProfile(new Uint8Array(await grey().png().toBuffer()), deflateSync(greyProfile));
    assert.equal(await rgbProfileOf(greyPng), undefined);
    assert.deepEqual(await rgbProfileOf(pngWithProfile(new Uint8Array(await grey().png().toBuffer()), deflateSync(p3))), p3);
  });

  test('store a profile in place of the one there, in parts where it is larger than a JPEG segment', async () => {
    const p3 = await displayP3Profile();
    for (const format of ['jpeg', 'png'] as const) {
      const srgb = new Uint8Array(await grey().withIccProfile('srgb').toFormat(format).toBuffer());
      const tagged = await withRgbProfile(srgb, format, p3);
      assert.deepEqual(new Uint8Array((await sharp(tagged).metadata()).icc!), p3, format);
      assert.deepEqual(await rgbProfileOf(tagged), p3, format);
    }
    // A profile of 150 000 bytes (a large LUT profile): three APP2 segments, read back whole, in order.
    const large = new Uint8Array(150_000).map((_, i) => (i * 31) % 251);
    large.set(p3.subarray(0, 128));
    const jpeg = await withRgbProfile(new Uint8Array(await grey().jpeg().toBuffer()), 'jpeg', large);
    assert.deepEqual(await rgbProfileOf(jpeg), large);
    assert.deepEqual([(await sharp(jpeg).metadata()).width, (await sharp(jpeg).metadata()).height], [12, 8]);
  });
});
