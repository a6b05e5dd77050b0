import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { TEST_HEIC } from '../inference/testing.ts';
import { cleanExif, exifOf, withExif } from './exif.ts';

type Value = { type: 2; text: string } | { type: 3; values: number[] } | { type: 4; values: number[] } | { type: 5; values: [number, number][] } | { type: 7; bytes: number[] };
interface Ifd {
  [tag: number]: Value | Ifd;
}

/**
 * A TIFF-structured EXIF block, written the plain way (values after each IFD), with IFD1 (a
 * thumbnail) when `thumbnail` is given: what cameras write, for `cleanExif` to clean.
 */
function buildExif(little: boolean, ifd0: Ifd, thumbnail?: Uint8Array): Uint8Array {
  const u16 = (v: number) => (little ? [v & 255, v >> 8] : [v >> 8, v & 255]);
  const u32 = (v: number) => (little ? [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24] : [v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]);
  const out: number[] = [...(little ? [0x49, 0x49] : [0x4d, 0x4d]), ...u16(42), ...u32(8)];
  const put32 = (at: number, v: number) => out.splice(at, 4, ...u32(v));
  const bytesOf = (v: Value): number[] => {
    if (v.type === 2) return [...`${v.text}\0`].map((c) => c.charCodeAt(0));
    if (v.type === 3) return v.values.flatMap(u16);
    if (v.type === 4) return v.values.flatMap(u32);
    if (v.type === 5) return v.values.flatMap(([n, d]) => [...u32(n), ...u32(d)]);
    return v.bytes;
  };
  /** Writes the IFD at the end of `out`; returns where its next-IFD offset lies. */
  const writeIfd = (ifd: Ifd): number => {
    const tags = Object.keys(ifd).map(Number).sort((a, b) => a - b);
    out.push(...u16(tags.length));
    const later: [number, Value | Ifd][] = [];
    for (const tag of tags) {
      const v = ifd[tag];
      out.push(...u16(tag));
      if (!('type' in v)) {
        out.push(...u16(4), ...u32(1));
        later.push([out.length, v]);
        out.push(0, 0, 0, 0);
        continue;
      }
      const value = v as Value;
      const bytes = bytesOf(value);
      const size = [0, 1, 1, 2, 4, 8, 1, 1][value.type];
      out.push(...u16(value.type), ...u32(bytes.length / size));
      if (bytes.length <= 4) out.push(...bytes, ...Array<number>(4 - bytes.length).fill(0));
      else {
        later.push([out.length, value]);
        out.push(0, 0, 0, 0);
      }
    }
    const nextAt = out.length;
    out.push(0, 0, 0, 0);
    for (const [slot, v] of later) {
      if (out.length % 2) out.push(0);
      put32(slot, out.length);
      if ('type' in v) out.push(...bytesOf(v as Value));
      else writeIfd(v as Ifd);
    }
    return nextAt;
  };
  const next = writeIfd(ifd0);
  if (thumbnail) {
    put32(next, out.length);
    const thumbAt = out.length + 2 + 2 * 12 + 4;
    writeIfd({ 0x0201: { type: 4, values: [thumbAt] }, 0x0202: { type: 4, values: [thumbnail.length] } });
    out.push(...thumbnail);
  }
  return Uint8Array.from(out);
}

const SECRET_THUMBNAIL = new TextEncoder().encode('THUMBNAIL OF THE PHOTO BEFORE THE FILL');
const SECRET_MAKERNOTE = 'PREVIEW IN THE MAKERNOTE';

/** A camera's EXIF: IFD0, Exif (with a MakerNote and Interop), GPS, and a thumbnail in IFD1. */
const cameraExif = (little: boolean) =>
  buildExif(
    little,
    {
      0x010f: { type: 2, text: 'Acme' },
      0x0110: { type: 2, text: 'Snapper 3000' },
      0x0112: { type: 3, values: [6] },
      0x011a: { type: 5, values: [[72, 1]] },
      0x8769: {
        0x829a: { type: 5, values: [[1, 125]] },
        0x9003: { type: 2, text: '2021:07:14 18:30:05' },
        0x927c: { type: 7, bytes: [...new TextEncoder().encode(SECRET_MAKERNOTE)] },
        0xa002: { type: 3, values: [4000] },
        0xa003: { type: 3, values: [3000] },
        0xa005: { 0x0001: { type: 2, text: 'R98' } },
      },
      0x8825: {
        0x0001: { type: 2, text: 'N' },
        0x0002: { type: 5, values: [[55, 1], [40, 1], [125, 10]] },
      },
    },
    SECRET_THUMBNAIL,
  );

const contains = (bytes: Uint8Array, text: string) => Buffer.from(bytes).includes(Buffer.from(text));

describe('cleanExif', () => {
  for (const little of [true, false]) {
    test(`keeps the date, camera, exposure and place; drops the thumbnail and the MakerNote; orientation 1, the output's size (${little ? 'little' : 'big'}-endian)`, () => {
      const block = cameraExif(little);
      const before = exifReader(Buffer.from(block));
      assert.equal(before.Image?.Orientation, 6, 'the test block parses');
      assert.ok(before.Thumbnail && contains(block, 'THUMBNAIL') && contains(block, SECRET_MAKERNOTE));

      const clean = cleanExif(block, 300, 400)!;
      const after = exifReader(Buffer.from(clean));
      assert.equal(after.bigEndian, !little, 'the byte order is kept');
      assert.equal(after.Image?.Make, 'Acme');
      assert.equal(after.Image?.Model, 'Snapper 3000');
      assert.equal(after.Image?.Orientation, 1);
      assert.equal(after.Image?.XResolution, 72);
      assert.equal(after.Photo?.ExposureTime, 1 / 125);
      assert.deepEqual(after.Photo?.DateTimeOriginal, before.Photo?.DateTimeOriginal);
      assert.deepEqual([after.Photo?.PixelXDimension, after.Photo?.PixelYDimension], [300, 400]);
      assert.equal(after.Iop?.InteroperabilityIndex, 'R98');
      assert.deepEqual(after.GPSInfo?.GPSLatitude, [55, 40, 12.5]);
      assert.equal(after.GPSInfo?.GPSLatitudeRef, 'N');
      assert.equal(after.Thumbnail, undefined);
      assert.equal(after.Photo?.MakerNote, undefined);
      assert.ok(!contains(clean, 'THUMBNAIL') && !contains(clean, SECRET_MAKERNOTE), 'neither is left in the bytes either');
      // The "Exif\0\0" header JPEG puts before the block is accepted too.
      assert.deepEqual(cleanExif(new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...block]), 300, 400), clean);
    });
  }

  test('a block that does not parse is dropped whole', () => {
    const block = cameraExif(true);
    for (const bad of [block.subarray(0, 40), block.subarray(0, 7), new TextEncoder().encode('not exif at all'), new Uint8Array(0)]) {
      assert.equal(cleanExif(bad, 10, 10), undefined);
    }
    // An IFD pointing past the end.
    const broken = block.slice();
    broken.set([0xff, 0xff, 0, 0], 4);
    assert.equal(cleanExif(broken, 10, 10), undefined);
  });
});

describe('withExif and exifOf', () => {
  const w = 30;
  const h = 20;
  const pixels = Buffer.alloc(w * h * 4).map((_, i) => (i * 37) % 256);
  const encoders = {
    jpeg: () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha().jpeg(),
    png: () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha().png(),
    webp: () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha().webp({ quality: 95 }),
    'webp, lossless': () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha().webp({ lossless: true }),
    'webp with alpha': () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).webp({ quality: 95 }),
    'webp with alpha, lossless': () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).webp({ lossless: true }),
  };

  for (const [name, encoder] of Object.entries(encoders)) {
    test(`${name}: the block is stored where sharp finds it, and the pixels are unchanged`, async () => {
      const format = name.startsWith('webp') ? 'webp' : (name as 'jpeg' | 'png');
      const plain = new Uint8Array(await encoder().toBuffer());
      const block = cleanExif(cameraExif(true), w, h)!;
      const tagged = withExif(plain, format, block, w, h);
      const meta = await sharp(tagged).metadata();
      assert.equal(meta.format, format === 'jpeg' ? 'jpeg' : format);
      assert.equal(meta.orientation, 1);
      assert.equal(meta.hasAlpha, name.includes('alpha'));
      const parsed = exifReader(meta.exif!);
      assert.equal(parsed.Image?.Make, 'Acme');
      assert.equal(parsed.Photo?.PixelXDimension, w);
      const [a, b] = await Promise.all([sharp(plain).raw().toBuffer(), sharp(tagged).raw().toBuffer()]);
      assert.ok(a.equals(b), 'the same pixels');
      assert.deepEqual(exifOf(tagged), block, 'exifOf reads back what withExif stored');
      assert.equal(withExif(tagged, format, block, w, h), tagged, 'EXIF is not stored twice');
    });
  }

  test('tiff: the tags join its first IFD (the image\'s own win), from either byte order; exifOf reads them back without the image\'s', async () => {
    const plain = new Uint8Array(await sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha().tiff({ compression: 'lzw' }).toBuffer());
    for (const little of [true, false]) {
      const block = cleanExif(cameraExif(little), w, h)!;
      const tagged = withExif(plain, 'tiff', block, w, h);
      const parsed = exifReader(Buffer.from(tagged));
      assert.deepEqual([parsed.Image?.Make, parsed.Image?.Model, parsed.Image?.ImageWidth, parsed.Image?.Compression], ['Acme', 'Snapper 3000', w, 5], `little ${little}`);
      assert.equal(parsed.Photo?.DateTimeOriginal?.toISOString(), '2021-07-14T18:30:05.000Z');
      assert.equal(parsed.Photo?.ExposureTime, 1 / 125);
      assert.deepEqual(parsed.GPSInfo?.GPSLatitude, [55, 40, 12.5]);
      assert.ok(!contains(tagged, 'THUMBNAIL OF THE PHOTO') && !contains(tagged, SECRET_MAKERNOTE));
      const [a, b] = await Promise.all([sharp(plain).raw().toBuffer(), sharp(tagged).raw().toBuffer()]);
      assert.ok(a.equals(b), 'the same pixels');
      const back = exifReader(Buffer.from(exifOf(tagged)!));
      assert.deepEqual([back.Image?.Make, back.Image?.ImageWidth, back.Image?.Compression, back.Photo?.ExposureTime], ['Acme', undefined, undefined, 1 / 125], 'not the image\'s own tags');
    }
  });

  test('exifOf reads the block sharp stores in a JPEG, PNG, WebP and AVIF, and heif-enc in a HEIC; nothing from a photo without one', async () => {
    const raw = () => sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).removeAlpha();
    for (const format of ['jpeg', 'png', 'webp', 'avif'] as const) {
      const tagged = new Uint8Array(await raw().withExif({ IFD0: { Make: 'Acme', Model: `in ${format}` } })[format]().toBuffer());
      const block = exifOf(tagged);
      assert.ok(block, format);
      assert.equal(exifReader(Buffer.from(block)).Image?.Model, `in ${format}`);
      assert.equal(exifOf(new Uint8Array(await raw()[format]().toBuffer())), undefined, `${format} without EXIF`);
    }
    assert.equal(exifOf(new Uint8Array(await raw().tiff().toBuffer())), undefined, 'a TIFF without EXIF');
    // heif-enc copied the EXIF of the JPEG it encoded into the HEIC (an item in its meta box).
    const heic = exifOf(new Uint8Array(await readFile(TEST_HEIC)));
    assert.deepEqual([exifReader(Buffer.from(heic!)).Image?.Make, exifReader(Buffer.from(heic!)).Image?.Model], ['Acme', 'iPhone 99']);
    assert.equal(exifOf(new Uint8Array(await readFile(TEST_HEIC)).subarray(0, 300)), undefined, 'a cut file: no EXIF, no error');
  });
});
