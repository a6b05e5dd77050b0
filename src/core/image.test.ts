import assert from 'node:assert/strict';
import { copyFile, link, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { InputError, UsageError } from './errors.ts';
import {
  cropImage,
  defaultMaxPixels,
  dilateMask,
  encodeImage,
  holeFraction,
  type MaskImage,
  maskBoundingBox,
  type Orientation,
  orientImage,
  pasteImage,
  readImage,
  readImageWithAlpha,
  readMask,
  readMetadata,
  resizeImage,
  resizeMask,
  type RgbImage,
  toRgba8,
  withTransparentAsHole,
  writeImage,
  writeMask,
} from './image.ts';
import { displayP3Photo, displayP3Profile, TEST_HEIC, TEST_HEIC_P3, TEST_XMP } from '../inference/testing.ts';
import { cleanXmp } from './xmp.ts';
import { pngWithProfile } from './bytes.ts';
import { Rng } from './random.ts';

const PHOTOS = '/work/shared/data/photos';
const ASTRONAUT = `${PHOTOS}/python3-skimage/astronaut.jpg`;
const CAMERA = `${PHOTOS}/python3-skimage/camera.jpg`; // greyscale content
const CHELSEA = `${PHOTOS}/python3-skimage/chelsea.jpg`;
const CHINA = `${PHOTOS}/python3-sklearn/china.jpg`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Value of channel c at (x, y) of a planar image. */
function at(img: RgbImage, c: number, x: number, y: number): number {
  return img.data[(c * img.height + y) * img.width + x];
}

function maskFrom(width: number, height: number, holes: [number, number][]): MaskImage {
  const data = new Uint8Array(width * height);
  for (const [x, y] of holes) data[y * width + x] = 1;
  return { width, height, data };
}

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { width, height, data: Float32Array.from({ length: 3 * width * height }, () => rng.next()) };
}

describe('readImage', () => {
  test('real photos come out planar, in [0,1], equal to the decoded 8-bit pixels', async () => {
    for (const file of [ASTRONAUT, CHELSEA, CHINA, CAMERA]) {
      const img = await readImage(file);
      const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 3, file);
      assert.deepEqual([img.width, img.height], [info.width, info.height], file);
      assert.equal(img.data.length, 3 * img.width * img.height);
      const plane = img.width * img.height;
      let maxDiff = 0;
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[c * plane + i] - data[3 * i + c] / 255));
      }
      assert.ok(maxDiff < 1e-6, `${file}: differs from the decoder by ${maxDiff}`);
    }
  });

  test('a one-channel greyscale JPEG is replicated to three equal channels', async () => {
    const file = join(dir, 'grey.jpg');
    await sharp(CAMERA).toColourspace('b-w').jpeg().toFile(file);
    assert.equal((await sharp(file).metadata()).channels, 1);
    const img = await readImage(file);
    const grey = await sharp(file).toColourspace('b-w').raw().toBuffer();
    assert.equal(grey.length, img.width * img.height);
    const plane = img.width * img.height;
    for (let i = 0; i < plane; i += 97) {
      assert.equal(img.data[i], Math.fround(grey[i] / 255));
      assert.equal(img.data[plane + i], img.data[i]);
      assert.equal(img.data[2 * plane + i], img.data[i]);
    }
  });

  test('alpha is dropped, colour kept as stored', async () => {
    const rgba = new Uint8Array([200, 100, 50, 0, 10, 20, 30, 128, 255, 255, 255, 255, 0, 0, 0, 40]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    for (const source of [png, { data: rgba, width: 2, height: 2, channels: 4 as const }]) {
      const img = await readImage(source);
      assert.deepEqual([img.width, img.height], [2, 2]);
      assert.deepEqual(Array.from(img.data, (v) => Math.round(v * 255)), [200, 10, 255, 0, 100, 20, 255, 0, 50, 30, 255, 0]);
    }
  });

  test('16-bit PNGs keep more than 8 bits of precision', async () => {
    const width = 256;
    const values = Uint16Array.from({ length: width * 3 }, (_, i) => 1000 + 37 * i); // not multiples of 257
    const file = join(dir, 'deep.png');
    await sharp(values, { raw: { width, height: 1, channels: 3 } }).toColourspace('rgb16').png().toFile(file);
    assert.equal((await sharp(file).metadata()).depth, 'ushort');
    const img = await readImage(file);
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(img, c, x, 0) * 65535 - values[3 * x + c]) < 0.01, `x=${x} c=${c}`);
    }
    // Neighbours 37/65535 apart: an 8-bit read would merge most of them.
    assert.notEqual(at(img, 0, 0, 0), at(img, 1, 0, 0));
    assert.ok(Math.abs(at(img, 1, 0, 0) - at(img, 0, 0, 0) - 37 / 65535) < 1e-6);
  });

  test('EXIF orientation is applied: dimensions swap and content turns 90° clockwise', async () => {
    // Stored 40x20 in quadrants: top-left red, top-right blue, bottom-left green, bottom-right white.
    const w = 40;
    const h = 20;
    const colours = { red: [255, 0, 0], blue: [0, 0, 255], green: [0, 255, 0], white: [255, 255, 255] };
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = y < h / 2 ? (x < w / 2 ? colours.red : colours.blue) : x < w / 2 ? colours.green : colours.white;
        rgb.set(c, 3 * (y * w + x));
      }
    }
    const file = join(dir, 'rotated.jpg');
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    assert.equal((await sharp(file).metadata()).orientation, 6);
    const img = await readImage(file);
    assert.deepEqual([img.width, img.height], [20, 40]);
    // Turned clockwise, the stored left column becomes the top row: green TL, red TR, white BL, blue BR.
    const expected: [number, number, number[]][] = [
      [5, 10, colours.green],
      [15, 10, colours.red],
      [5, 30, colours.white],
      [15, 30, colours.blue],
    ];
    for (const [x, y, colour] of expected) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(img, c, x, y) * 255 - colour[c]) < 20, `(${x},${y}) channel ${c}`);
    }
  });

  test('corrupt bytes, text files and missing files are InputErrors naming the source', async () => {
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'this is not an image\n');
    const truncated = (await readFile(ASTRONAUT)).subarray(0, 300);
    const badJpeg = join(dir, 'broken.jpg');
    await writeFile(badJpeg, truncated);
    for (const [source, name] of [
      [text, text],
      [badJpeg, badJpeg],
      [join(dir, 'missing.png'), 'missing.png'],
      [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'image buffer (8 bytes)'],
    ] as const) {
      await assert.rejects(readImage(source), (err: Error) => {
        assert.ok(err instanceof InputError, err.message);
        assert.match(err.message, /not a readable JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC image/);
        assert.ok(err.message.includes(name), err.message);
        return true;
      });
    }
  });

  test('images over maxPixels are refused with their size in the message', async () => {
    await assert.rejects(readImage(ASTRONAUT, { maxPixels: 512 * 511 }), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /512x512 \(0\.3 megapixels\), over the limit/);
      return true;
    });
    assert.equal((await readImage(ASTRONAUT, { maxPixels: 512 * 512 })).width, 512);
  });

  test('TIFF, GIF and AVIF are read as the PNG they were made from; a 16-bit TIFF keeps its precision', async () => {
    // Six flat colours: a GIF's palette holds them exactly, and AVIF's loss stays small on flat areas.
    const w = 48;
    const h = 32;
    const rgb = new Uint8Array(w * h * 3);
    const palette = [[200, 30, 40], [20, 160, 60], [30, 40, 220], [240, 240, 240], [10, 10, 10], [250, 200, 0]];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set(palette[Math.floor(x / 16) + 3 * Math.floor(y / 16)], 3 * (y * w + x));
    const raw = () => sharp(rgb, { raw: { width: w, height: h, channels: 3 } });
    const reference = await readImage(await raw().png().toBuffer());
    const farthest = (img: RgbImage) => img.data.reduce((m, v, i) => Math.max(m, Math.abs(v - reference.data[i])), 0);
    for (const [format, bytes, tolerance] of [
      ['tiff', await raw().tiff({ compression: 'lzw' }).toBuffer(), 0],
      ['gif', await raw().gif().toBuffer(), 0],
      ['avif', await raw().avif({ quality: 90 }).toBuffer(), 12 / 255],
    ] as const) {
      const img = await readImage(bytes);
      assert.deepEqual([img.width, img.height], [w, h], format);
      assert.ok(farthest(img) <= tolerance + 1e-6, `${format}: ${farthest(img) * 255} levels from the PNG`);
    }
    const deep = await readImage(await sharp(new Uint16Array(12).fill(30000), { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer());
    assert.ok(Math.abs(deep.data[0] - 30000 / 65535) < 1e-6, `a 16-bit TIFF keeps its precision (${deep.data[0] * 65535})`);
  });

  test("a HEIC photo (an iPhone's) is read, from a file or bytes; an SVG is not a photo", async () => {
    // Four quadrants, red, green / blue, white, as heif-enc encoded them: sharp's libvips has no HEVC decoder.
    const file = join(dir, 'IMG_0001.HEIC');
    await copyFile(TEST_HEIC, file);
    const expected = [[220, 30, 30], [30, 200, 40], [30, 40, 220], [240, 240, 240]];
    for (const source of [file, new Uint8Array(await readFile(TEST_HEIC))]) {
      const img = await readImage(source);
      assert.deepEqual([img.width, img.height], [64, 48]);
      for (const [q, [x, y]] of [[16, 12], [48, 12], [16, 36], [48, 36]].entries()) {
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(img, c, x, y) * 255 - expected[q][c]) < 12, `quadrant ${q} channel ${c}: ${at(img, c, x, y) * 255}`);
      }
    }
    // Stored in Display P3 with its profile, as an iPhone stores them: converted to sRGB, as a JPEG's
    // pixels are (libheif alone gives the P3 values, up to 65 levels away).
    const p3 = await readImage(TEST_HEIC_P3);
    for (const [q, [x, y]] of [[16, 12], [48, 12], [16, 36], [48, 36]].entries()) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(p3, c, x, y) * 255 - expected[q][c]) < 12, `P3 quadrant ${q} channel ${c}: ${at(p3, c, x, y) * 255}`);
    }
    const truncated = (await readFile(TEST_HEIC)).subarray(0, 400);
    await assert.rejects(readImage(truncated), /not a readable .* image/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>');
    await assert.rejects(readMask(svg), /is not a readable JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC image \(it is svg\)/);
  });

  test('raw pixels of the wrong length are a UsageError', async () => {
    await assert.rejects(readImage({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }), UsageError);
  });
});

describe('readMask', () => {
  async function png(rgbaOrGrey: number[], width: number, height: number, channels: 1 | 4): Promise<Uint8Array> {
    return sharp(new Uint8Array(rgbaOrGrey), { raw: { width, height, channels } }).png().toBuffer();
  }

  test('white on black: hole where luminance > 0.5', async () => {
    const mask = await readMask(await png([0, 255, 127, 128, 200, 30], 3, 2, 1));
    assert.deepEqual([mask.width, mask.height], [3, 2]);
    assert.deepEqual(Array.from(mask.data), [0, 1, 0, 1, 1, 0]);
    // Luminance, not any channel: pure blue (0.07) is dark, pure green (0.72) is light.
    const colour = await readMask({ data: new Uint8Array([0, 0, 255, 0, 255, 0]), width: 2, height: 1, channels: 3 });
    assert.deepEqual(Array.from(colour.data), [0, 1]);
  });

  test('alpha-only mask: uniform colour on transparency, hole where opaque', async () => {
    // Black brush on a transparent layer whose hidden colour is white: luminance would invert it.
    const px = (opaque: boolean) => (opaque ? [0, 0, 0, 255] : [255, 255, 255, 0]);
    const mask = await readMask(await png([px(true), px(false), px(false), px(true)].flat(), 2, 2, 4));
    assert.deepEqual(Array.from(mask.data), [1, 0, 0, 1]);
  });

  test('alpha present but opaque colours vary, or alpha fully opaque: luminance decides', async () => {
    const varied = await readMask(await png([255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0], 3, 1, 4));
    assert.deepEqual(Array.from(varied.data), [1, 0, 1]);
    const opaque = await readMask(await png([0, 0, 0, 255, 255, 255, 255, 255], 2, 1, 4));
    assert.deepEqual(Array.from(opaque.data), [0, 1]);
  });

  test('writeMask and readMask round-trip', async () => {
    const mask = maskFrom(5, 4, [[0, 0], [4, 3], [2, 1]]);
    for (const ext of ['png', 'webp']) {
      const file = join(dir, `m.${ext}`);
      await writeMask(file, mask);
      assert.deepEqual(await readMask(file), mask, ext);
    }
  });
});

describe('writeImage / encodeImage', () => {
  test('PNG round-trips to 8-bit precision; JPEG and WebP decode to the same size', async () => {
    const img = randomImage(17, 9, 1);
    const file = join(dir, 'sub', 'out.png');
    await writeImage(file, img);
    const back = await readImage(file);
    assert.deepEqual([back.width, back.height], [17, 9]);
    for (let i = 0; i < img.data.length; i++) assert.ok(Math.abs(back.data[i] - img.data[i]) <= 0.5 / 255 + 1e-6);
    for (const format of ['jpeg', 'webp'] as const) {
      const decoded = await readImage(await encodeImage(img, format));
      assert.deepEqual([decoded.width, decoded.height], [17, 9], format);
    }
  });

  test('TIFF keeps every pixel and the alpha, as PNG does', async () => {
    const img = randomImage(13, 7, 2);
    const alpha = new Float32Array(13 * 7).map((_, i) => (i % 3) / 2);
    for (const name of ['out.tif', 'OUT.TIFF']) {
      const file = join(dir, name);
      await writeImage(file, img, { alpha });
      assert.equal((await sharp(file).metadata()).format, 'tiff');
      const back = await readImageWithAlpha(file);
      for (let i = 0; i < img.data.length; i++) assert.ok(Math.abs(back.image.data[i] - img.data[i]) <= 0.5 / 255 + 1e-6, name);
      for (let i = 0; i < alpha.length; i++) assert.ok(Math.abs(back.alpha![i] - alpha[i]) <= 0.5 / 255 + 1e-6, name);
    }
  });

  test('bits 16 writes PNG and TIFF with 16 bits (alpha too), exact to 1/65535; readMetadata says when a photo has them', async () => {
    const img = randomImage(11, 5, 3);
    const alpha = new Float32Array(55).map((_, i) => i / 54);
    for (const name of ['deep.png', 'deep.tif']) {
      const file = join(dir, name);
      await writeImage(file, img, { alpha, bits: 16 });
      assert.equal((await sharp(file).metadata()).depth, 'ushort', name);
      assert.deepEqual(await readMetadata(file), { bits: 16 });
      const back = await readImageWithAlpha(file);
      for (let i = 0; i < img.data.length; i++) assert.ok(Math.abs(back.image.data[i] - img.data[i]) <= 0.5 / 65535 + 1e-7, `${name} value ${i}`);
      for (let i = 0; i < alpha.length; i++) assert.ok(Math.abs(back.alpha![i] - alpha[i]) <= 0.5 / 65535 + 1e-7, `${name} alpha ${i}`);
    }
    // JPEG and WebP have 8 bits whatever is asked; an 8-bit photo has no bits to keep.
    await writeImage(join(dir, 'deep.jpg'), img, { bits: 16 });
    assert.equal((await sharp(join(dir, 'deep.jpg')).metadata()).depth, 'uchar');
    assert.deepEqual(await readMetadata(ASTRONAUT), {});
    await assert.rejects(encodeImage(img, 'png', { bits: 12 as 16 }), UsageError);
  });

  test('grey writes a grey image with one channel (alpha, 16 bits kept) where the format has greyscale; readMetadata says when a photo is greyscale', async () => {
    const [w, h] = [12, 6];
    const img = randomImage(w, h, 4);
    const plane = w * h;
    for (let i = 0; i < plane; i++) img.data[plane + i] = img.data[2 * plane + i] = img.data[i];
    const alpha = new Float32Array(plane).map((_, i) => i / (plane - 1));
    const channels = async (bytes: Uint8Array) => {
      const { channels, depth } = await sharp(bytes).metadata();
      return `${channels} ${depth}`;
    };
    assert.equal(await channels(await encodeImage(img, 'png', { grey: true })), '1 uchar');
    assert.equal(await channels(await encodeImage(img, 'png', { grey: true, alpha })), '2 uchar');
    assert.equal(await channels(await encodeImage(img, 'tiff', { grey: true, bits: 16 })), '1 ushort');
    assert.equal(await channels(await encodeImage(img, 'png', { grey: true, bits: 16, alpha })), '2 ushort');
    assert.equal(await channels(await encodeImage(img, 'jpeg', { grey: true, alpha })), '1 uchar');
    assert.equal(await channels(await encodeImage(img, 'webp', { grey: true })), '3 uchar', 'WebP has no greyscale');
    assert.equal(await channels(await encodeImage(img, 'png')), '3 uchar', 'only when asked');
    // The same levels as the colour writer's, and back as the photo was.
    for (const bits of [8, 16] as const) {
      const file = join(dir, `grey${bits}.png`);
      await writeImage(file, img, { grey: true, bits, alpha });
      assert.deepEqual(await readMetadata(file), bits === 16 ? { bits: 16, grey: true } : { grey: true });
      const back = await readImageWithAlpha(file);
      const colour = await readImageWithAlpha(await encodeImage(img, 'png', { bits, alpha }));
      assert.deepEqual(back.image.data, colour.image.data, `${bits} bits`);
      assert.deepEqual(back.alpha, colour.alpha, `${bits} bits, alpha`);
    }
    // A colour image stays colour.
    img.data[5] = 1 - img.data[5];
    assert.equal(await channels(await encodeImage(img, 'png', { grey: true })), '3 uchar');
  });

  test("keepProfile: a Display P3 photo's pixels are read as stored and written back with its profile, in every format", async () => {
    // Colours of a phone's photo that sRGB cannot all show: converted to sRGB, they are clipped.
    // Six blocks of 8x8 pixels, so that JPEG and WebP keep each block's colour at its centre.
    const colours = [[250, 20, 20], [20, 240, 30], [30, 40, 250], [200, 100, 50], [10, 10, 10], [240, 240, 240]];
    const stored = new Uint8Array(24 * 16 * 3).map((_, i) => colours[Math.floor((i / 3) % 24 / 8) + 3 * Math.floor(i / 3 / 24 / 8)][i % 3]);
    const photo = await displayP3Photo(stored, 24, 16, 'png');
    const profile = await displayP3Profile();
    const levels = (img: RgbImage) => Array.from(toRgba8(img).filter((_, i) => i % 4 !== 3));
    const centres = (values: ArrayLike<number>) =>
      colours.flatMap((_, b) => {
        const at = 3 * (24 * (4 + 8 * Math.floor(b / 3)) + 4 + 8 * (b % 3));
        return [values[at], values[at + 1], values[at + 2]];
      });
    const srgb = levels(await readImage(photo));
    assert.deepEqual(srgb, Array.from(await sharp(photo).removeAlpha().raw().toBuffer()), 'by default converted to sRGB, as sharp converts');
    assert.ok(srgb.some((v, i) => Math.abs(v - stored[i]) > 10), 'the conversion moves the stored levels');
    const read = { keepProfile: true };
    const own = await readImage(photo, read);
    assert.deepEqual(levels(own), Array.from(stored), 'as stored');
    assert.equal((await readMetadata(photo)).icc, undefined, 'a profile only for pixels read in it');
    assert.deepEqual((await readMetadata(photo, read)).icc, profile);
    for (const name of ['p3.png', 'p3.tif', 'p3.jpg', 'p3.webp']) {
      const file = join(dir, name);
      await writeImage(file, own, { icc: profile });
      assert.deepEqual(new Uint8Array((await sharp(file).metadata()).icc!), profile, `${name} carries the profile`);
      const back = levels(await readImage(file, read));
      if (name === 'p3.png' || name === 'p3.tif') {
        assert.deepEqual(back, Array.from(stored), `${name} as stored`);
        // What a viewer shows, converted to sRGB, is the photo's colour.
        assert.deepEqual(levels(await readImage(file)), srgb, `${name} in sRGB`);
      } else {
        const [want, got] = [centres(stored), centres(back)];
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 3, `${name} block ${Math.floor(i / 3)}: ${got[i]} against ${want[i]}`);
      }
    }
    // 16 bits a channel: as stored, to the level, in a 16-bit PNG or TIFF with the profile.
    const deep = new Uint16Array(stored.length).map((_, i) => stored[i] * 257 + (i % 7));
    const png16 = pngWithProfile(await sharp(deep, { raw: { width: 24, height: 16, channels: 3 } }).toColourspace('rgb16').png().toBuffer(), deflateSync(profile));
    const own16 = await readImage(png16, read);
    // Read without keepProfile, a 16-bit photo with a profile is sRGB too (sharp gives Display P3),
    // as its 8-bit copy is, to a level; one with an sRGB profile reads as stored, to 2.5 levels.
    const srgb16 = levels(await readImage(png16));
    for (let i = 0; i < srgb.length; i++) assert.ok(Math.abs(srgb16[i] - srgb[i]) <= 1, `16-bit in sRGB, value ${i}: ${srgb16[i]} against ${srgb[i]}`);
    const srgbProfile = (await sharp(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).withIccProfile('srgb').png().toBuffer()).metadata()).icc!;
    const tagged16 = await readImage(pngWithProfile(await sharp(deep, { raw: { width: 24, height: 16, channels: 3 } }).toColourspace('rgb16').png().toBuffer(), deflateSync(srgbProfile)));
    for (let i = 0; i < 24 * 16; i++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(tagged16.data[c * 24 * 16 + i] * 65535 - deep[3 * i + c]) <= 2.5 * 257, `sRGB-tagged 16-bit value ${i}`);
    const meta16 = await readMetadata(png16, read);
    assert.deepEqual(meta16, { bits: 16, icc: profile });
    const plane = 24 * 16;
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) assert.equal(Math.round(own16.data[c * plane + i] * 65535), deep[3 * i + c]);
    await writeImage(join(dir, 'p3-16.tif'), own16, meta16);
    assert.deepEqual(await readImage(join(dir, 'p3-16.tif'), read), own16);
    assert.deepEqual(new Uint8Array((await sharp(join(dir, 'p3-16.tif')).metadata()).icc!), profile);
    // An iPhone's HEIC: libheif's P3 levels, and its profile.
    const heicOwn = levels(await readImage(TEST_HEIC_P3, read));
    const heicSrgb = levels(await readImage(TEST_HEIC_P3));
    assert.ok(heicOwn.some((v, i) => Math.abs(v - heicSrgb[i]) > 10), 'the P3 levels, not sRGB');
    const heicProfile = (await readMetadata(TEST_HEIC_P3, read)).icc;
    assert.equal(heicProfile && Buffer.from(heicProfile.subarray(16, 20)).toString('latin1'), 'RGB ');
  });

  test("readMetadata keeps an XMP's description (cleanXmp), writeImage stores it in every format; XMP that does not parse is dropped with a notice", async () => {
    const photo = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#808080' } }).withXmp(TEST_XMP).jpeg().toBuffer();
    const meta = await readMetadata(photo);
    assert.equal(meta.xmp, cleanXmp(TEST_XMP));
    for (const name of ['xmp.png', 'xmp.jpg', 'xmp.webp', 'xmp.tif']) {
      await writeImage(join(dir, name), await readImage(photo), meta);
      const written = (await sharp(join(dir, name)).metadata()).xmp?.toString('utf8') ?? '';
      assert.ok(written.includes('A day at the beach') && !written.includes('SECRET'), `${name}: ${written.slice(0, 200)}`);
    }
    const notices: string[] = [];
    const broken = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withXmp('<x:xmpmeta><rdf:RDF>').jpeg().toBuffer();
    assert.deepEqual(await readMetadata(broken, { onNotice: (n) => notices.push(n) }), {});
    assert.match(notices.join('\n'), /the XMP of .* could not be parsed: the result is written without it/);
  });

  test('unknown extension is a UsageError', async () => {
    await assert.rejects(writeImage(join(dir, 'out.bmp'), randomImage(2, 2, 1)), UsageError);
    await assert.rejects(writeMask(join(dir, 'out'), maskFrom(2, 2, [])), UsageError);
  });

  test('toRgba8 rounds, clamps and interleaves', () => {
    const img = { width: 2, height: 1, data: new Float32Array([0, 1.2, 0.5, -0.1, 1 / 255, 0.999]) };
    assert.deepEqual(Array.from(toRgba8(img)), [0, 128, 1, 255, 255, 0, 255, 255]);
  });
});

describe('resizeImage', () => {
  test('pixel centres align: enlarging a two-pixel ramp is symmetric', () => {
    const img = { width: 2, height: 1, data: new Float32Array([0, 1, 0, 1, 0, 1]) };
    const big = resizeImage(img, 8, 1);
    assert.deepEqual(Array.from(big.data.subarray(0, 8)), [0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1]);
  });

  test('shrinking averages (antialiasing) and keeps constants exact', () => {
    // A factor of 3 puts output centres on input centres: point sampling would return 0s and 1s.
    const w = 63;
    const checker = new Float32Array(3 * w * w);
    for (let i = 0; i < checker.length; i++) checker[i] = ((i % w) + Math.floor(i / w)) % 2;
    for (const kernel of ['bilinear', 'lanczos'] as const) {
      const small = resizeImage({ width: w, height: w, data: checker }, 21, 21, kernel);
      for (const v of small.data) assert.ok(Math.abs(v - 0.5) < 0.02, `${kernel}: ${v}`);
      const flat = resizeImage({ width: 10, height: 7, data: new Float32Array(210).fill(0.3) }, 23, 4, kernel);
      for (const v of flat.data) assert.ok(Math.abs(v - 0.3) < 1e-6);
    }
  });

  test('a real photo resized stays in [0,1] with its mean colour', async () => {
    const img = await readImage(CHELSEA);
    const mean = (x: RgbImage, c: number) => {
      const plane = x.width * x.height;
      return x.data.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b) / plane;
    };
    for (const kernel of ['bilinear', 'lanczos'] as const) {
      for (const [w, h] of [[128, 85], [900, 600]]) {
        const out = resizeImage(img, w, h, kernel);
        assert.equal(out.data.length, 3 * w * h);
        assert.ok(out.data.every((v) => v >= 0 && v <= 1));
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(mean(out, c) - mean(img, c)) < 0.01, `${kernel} ${w}x${h} c=${c}`);
      }
    }
  });

  test('a window of the resized image is that part of the whole one, to the bit', async () => {
    const img = await readImage(CHELSEA);
    for (const kernel of ['bilinear', 'lanczos'] as const) {
      for (const [w, h, box] of [
        [1.7 * img.width, 1.7 * img.height, { x: 101, y: 37, width: 203, height: 150 }],
        [img.width / 2, img.height / 2, { x: 0, y: 60, width: 40, height: 13 }],
        [img.width, img.height, { x: img.width - 9, y: img.height - 1, width: 9, height: 1 }],
      ] as const) {
        const [W, H] = [Math.round(w), Math.round(h)];
        assert.deepEqual(resizeImage(img, W, H, kernel, box), cropImage(resizeImage(img, W, H, kernel), box), `${kernel} ${W}x${H}`);
      }
    }
    assert.throws(() => resizeImage(img, 10, 10, 'lanczos', { x: 5, y: 0, width: 6, height: 1 }), /window/);
  });
});

describe('resizeMask', () => {
  test('shrinking 4x keeps a one-pixel stroke', () => {
    const holes: [number, number][] = [];
    for (let y = 0; y < 64; y++) holes.push([13, y]);
    for (let x = 0; x < 64; x++) holes.push([x, 50]);
    const small = resizeMask(maskFrom(64, 64, holes), 16, 16);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) assert.equal(small.data[y * 16 + x], x === 3 || y === 12 ? 1 : 0, `(${x},${y})`);
    }
  });

  test('enlarging by an integer factor is nearest-neighbour', () => {
    const big = resizeMask(maskFrom(3, 2, [[1, 0], [2, 1]]), 6, 4);
    const expected = maskFrom(6, 4, [[2, 0], [3, 0], [2, 1], [3, 1], [4, 2], [5, 2], [4, 3], [5, 3]]);
    assert.deepEqual(big, expected);
  });
});

describe('dilateMask', () => {
  test('one pixel grows to a disc or a square of the radius', () => {
    const dot = maskFrom(21, 21, [[10, 10]]);
    const count = (m: MaskImage) => m.data.reduce((a, b) => a + b, 0);
    assert.equal(count(dilateMask(dot, 3)), 29); // integer points with x² + y² <= 9
    assert.equal(count(dilateMask(dot, 3, 'square')), 49);
    assert.deepEqual(dilateMask(dot, 0), dot);
    assert.deepEqual(maskBoundingBox(dilateMask(dot, 3)), { x: 7, y: 7, width: 7, height: 7 });
  });

  test('matches brute force on random masks, at the borders too, for radii up to past the picture', () => {
    const rng = new Rng(3);
    for (const [w, h, n, r] of [[30, 20, 12, 4], [30, 20, 12, 1], [25, 40, 30, 7], [17, 9, 3, 13], [40, 31, 60, 2], [12, 12, 1, 40], [1, 15, 2, 3], [15, 1, 2, 3]]) {
      const holes: [number, number][] = [];
      for (let i = 0; i < n; i++) holes.push([rng.int(0, w - 1), rng.int(0, h - 1)]);
      if (n > 2) holes.push([0, 0], [w - 1, h - 1]);
      const mask = maskFrom(w, h, holes);
      for (const shape of ['disc', 'square'] as const) {
        const out = dilateMask(mask, r, shape);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const near = holes.some(([hx, hy]) =>
              shape === 'disc' ? (hx - x) ** 2 + (hy - y) ** 2 <= r * r : Math.abs(hx - x) <= r && Math.abs(hy - y) <= r,
            );
            assert.equal(out.data[y * w + x], near ? 1 : 0, `${w}x${h}, radius ${r}, ${shape} (${x},${y})`);
          }
        }
      }
    }
  });

  test('a negative or fractional radius is a UsageError', () => {
    assert.throws(() => dilateMask(maskFrom(2, 2, []), -1), UsageError);
    assert.throws(() => dilateMask(maskFrom(2, 2, []), 1.5), UsageError);
  });
});

describe('orientImage', () => {
  // 3 wide, 2 high:  1 2 3
  //                  4 5 6
  const mask: MaskImage = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const rows = (m: MaskImage) => Array.from({ length: m.height }, (_, y) => [...m.data.subarray(y * m.width, (y + 1) * m.width)]);
  const all: Orientation[] = [false, true].flatMap((transpose) => [false, true].flatMap((flipX) => [false, true].map((flipY) => ({ transpose, flipX, flipY }))));

  test('each step does what its name says, in the documented order', () => {
    assert.deepEqual(rows(orientImage(mask, { transpose: false, flipX: true, flipY: false })), [[3, 2, 1], [6, 5, 4]]);
    assert.deepEqual(rows(orientImage(mask, { transpose: false, flipX: false, flipY: true })), [[4, 5, 6], [1, 2, 3]]);
    assert.deepEqual(rows(orientImage(mask, { transpose: true, flipX: false, flipY: false })), [[1, 4], [2, 5], [3, 6]]);
    // Transpose, then mirror: a quarter turn clockwise.
    assert.deepEqual(rows(orientImage(mask, { transpose: true, flipX: true, flipY: false })), [[4, 1], [5, 2], [6, 3]]);
  });

  test('the 8 orientations differ, and inverse undoes each, on images and masks', () => {
    const seen = new Set(all.map((o) => JSON.stringify(rows(orientImage(mask, o)))));
    assert.equal(seen.size, 8);
    const img = randomImage(5, 3, 11);
    for (const o of all) {
      const there = orientImage(img, o);
      assert.deepEqual([there.width, there.height], o.transpose ? [3, 5] : [5, 3]);
      assert.deepEqual(orientImage(there, o, true), img);
      assert.deepEqual(orientImage(orientImage(mask, o), o, true), mask);
    }
  });
});

describe('boxes, crop and paste', () => {
  test('maskBoundingBox and holeFraction', () => {
    const mask = maskFrom(10, 8, [[2, 5], [7, 1], [4, 4]]);
    assert.deepEqual(maskBoundingBox(mask), { x: 2, y: 1, width: 6, height: 5 });
    assert.equal(holeFraction(mask), 3 / 80);
    assert.equal(maskBoundingBox(maskFrom(4, 4, [])), null);
  });

  test('crop then paste back restores the image; works on masks too', () => {
    const img = randomImage(12, 9, 5);
    const box = { x: 3, y: 2, width: 5, height: 4 };
    const crop = cropImage(img, box);
    assert.deepEqual([crop.width, crop.height], [5, 4]);
    for (let c = 0; c < 3; c++) assert.equal(at(crop, c, 1, 2), at(img, c, 4, 4));
    const blank = { width: 12, height: 9, data: new Float32Array(3 * 12 * 9) };
    const pasted = pasteImage(blank, crop, 3, 2);
    assert.deepEqual(cropImage(pasted, box), crop);
    assert.equal(at(pasted, 0, 2, 2), 0);
    assert.deepEqual(pasteImage(img, crop, 3, 2), img);
    const mask = maskFrom(6, 6, [[4, 3]]);
    assert.deepEqual(cropImage(mask, { x: 3, y: 3, width: 2, height: 2 }), maskFrom(2, 2, [[1, 0]]));
  });

  test('boxes outside the image are UsageErrors', () => {
    const img = randomImage(4, 4, 1);
    assert.throws(() => cropImage(img, { x: 2, y: 0, width: 3, height: 1 }), UsageError);
    assert.throws(() => pasteImage(img, randomImage(2, 2, 1), 3, 0), UsageError);
  });
});

describe('alpha, notices and limits (issue 19)', () => {
  /** A 4x2 RGBA PNG: the left half opaque grey, the right half fully transparent stored black. */
  async function cutout(): Promise<string> {
    const rgba = new Uint8Array(4 * 8);
    for (let i = 0; i < 8; i++) rgba.set(i % 4 < 2 ? [128, 128, 128, 255] : [0, 0, 0, 0], 4 * i);
    rgba[3] = 100; // one partly transparent pixel: alpha kept, but not a hole
    const file = join(dir, 'cutout.png');
    await sharp(rgba, { raw: { width: 4, height: 2, channels: 4 } }).png().toFile(file);
    return file;
  }

  test('readImageWithAlpha keeps the alpha, writeImage stores it back; an opaque image has none', async () => {
    const { image, alpha } = await readImageWithAlpha(await cutout());
    assert.deepEqual(Array.from(alpha!, (a) => Math.round(a * 255)), [100, 255, 0, 0, 255, 255, 0, 0]);
    const out = join(dir, 'cutout-out.png');
    await writeImage(out, image, { alpha });
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    assert.deepEqual(Array.from({ length: 8 }, (_, i) => data[4 * i + 3]), [100, 255, 0, 0, 255, 255, 0, 0]);
    assert.equal((await readImageWithAlpha(ASTRONAUT)).alpha, undefined);
    const opaque = join(dir, 'opaque-rgba.png');
    await sharp(new Uint8Array(16).fill(255), { raw: { width: 2, height: 2, channels: 4 } }).png().toFile(opaque);
    assert.equal((await readImageWithAlpha(opaque)).alpha, undefined, 'an alpha of 255 everywhere says nothing');
    // Without alpha the output is opaque.
    await writeImage(out, image);
    assert.equal((await sharp(out).metadata()).hasAlpha, false);
  });

  test('withTransparentAsHole adds the fully transparent pixels (alpha 0) to the hole, not the partly transparent', async () => {
    const { alpha } = await readImageWithAlpha(await cutout());
    const hole = maskFrom(4, 2, [[0, 1]]);
    const { mask, added } = withTransparentAsHole(hole, alpha!);
    assert.deepEqual(Array.from(mask.data), [0, 0, 1, 1, 1, 0, 1, 1]);
    assert.equal(added, 4);
    assert.deepEqual(Array.from(hole.data), [0, 0, 0, 0, 1, 0, 0, 0], 'the given mask is not changed');
    assert.equal(withTransparentAsHole(hole, new Float32Array(8).fill(1)).mask, hole);
  });

  test('an animated WebP, a 16-bit PNG and a grey mask are read with a notice saying how', async () => {
    const frame = (colour: string) => sharp({ create: { width: 8, height: 6, channels: 3, background: colour } }).png().toBuffer();
    const animated = join(dir, 'animated.webp');
    await sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } }).webp({ lossless: true }).toFile(animated);
    const notes: string[] = [];
    const first = await readImage(animated, { onNotice: (n) => notes.push(n) });
    assert.deepEqual([first.width, first.height], [8, 6]);
    assert.ok(first.data[0] > 0.9 && first.data[2 * 48] < 0.1, 'the first frame (red)');
    assert.deepEqual(notes, [`${animated} is animated (2 frames): only its first frame is used`]);

    const pages = join(dir, 'pages.tiff');
    await sharp([await frame('#00ff00'), await frame('#0000ff')], { join: { animated: true } }).tiff().toFile(pages);
    notes.length = 0;
    const page = await readImage(pages, { onNotice: (n) => notes.push(n) });
    assert.ok(page.data[48] > 0.9 && page.data[0] < 0.1, 'the first page (green)');
    assert.deepEqual(notes, [`${pages} has 2 pages: only its first page is used`]);

    const deep = join(dir, 'deep-notice.png');
    await sharp(new Uint16Array(12).fill(30000), { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').png().toFile(deep);
    notes.length = 0;
    await readImage(deep, { onNotice: (n) => notes.push(n) });
    assert.deepEqual(notes, [`${deep} has 16 bits per channel: it is read at 16-bit precision (a PNG or TIFF result keeps 16 bits, JPEG and WebP have 8)`]);

    const grey = join(dir, 'grey-mask.png');
    await sharp(new Uint8Array([0, 255, 100, 200]), { raw: { width: 4, height: 1, channels: 1 } }).png().toFile(grey);
    notes.length = 0;
    const mask = await readMask(grey, { onNotice: (n) => notes.push(n) });
    assert.deepEqual(Array.from(mask.data), [0, 1, 0, 1]);
    assert.deepEqual(notes, [`the mask ${grey} has 2 grey pixels (neither black nor white): those lighter than 50% are taken as hole`]);
    notes.length = 0;
    await readMask(join(dir, 'm.png'), { onNotice: (n) => notes.push(n) }); // black and white only
    await readImage(ASTRONAUT, { onNotice: (n) => notes.push(n) });
    assert.deepEqual(notes, [], 'no notice for plain files');
  });

  test('the maxPixels message names the flag and the value that reads the image; INPAINT_MAX_PIXELS sets the default', async () => {
    await assert.rejects(readImage(ASTRONAUT, { maxPixels: 1000 }), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /raise the limit to read it anyway: --max-pixels 262144 on the command line, maxPixels in code/);
      return true;
    });
    const saved = process.env.INPAINT_MAX_PIXELS;
    try {
      process.env.INPAINT_MAX_PIXELS = '1000';
      assert.equal(defaultMaxPixels(), 1000);
      await assert.rejects(readImage(ASTRONAUT), /over the limit of 0\.0 megapixels/);
      assert.equal((await readImage(ASTRONAUT, { maxPixels: 262144 })).width, 512, 'an explicit limit wins');
      process.env.INPAINT_MAX_PIXELS = 'lots';
      assert.throws(() => defaultMaxPixels(), UsageError);
    } finally {
      if (saved === undefined) delete process.env.INPAINT_MAX_PIXELS;
      else process.env.INPAINT_MAX_PIXELS = saved;
    }
    assert.equal(defaultMaxPixels(), 100_000_000);
  });

  test('writeImage replaces a file by renaming a complete new one over it (an interrupted write cannot truncate it)', async () => {
    const target = join(dir, 'replace-me.png');
    await writeImage(target, randomImage(6, 4, 2));
    await link(target, join(dir, 'replace-me-link.png'));
    await writeImage(target, randomImage(6, 4, 3));
    assert.deepEqual(await readImage(join(dir, 'replace-me-link.png')), await readImage(await encodeImage(randomImage(6, 4, 2), 'png')), 'the old file is untouched');
  });
});
