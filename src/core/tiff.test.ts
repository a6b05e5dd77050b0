import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { Rng } from './random.ts';
import { decodeTiff, isTiff, lzw } from './tiff.ts';

const [W, H] = [67, 45]; // odd sizes: the last strip and the edge tiles are partial

/** An RGBA picture with gradients, noise and (with `alpha`) a ramp of transparency. */
function picture(alpha = false): Buffer {
  const rng = new Rng(7);
  const out = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = 4 * (y * W + x);
      out[p] = (x * 255) / (W - 1);
      out[p + 1] = (y * 255) / (H - 1);
      out[p + 2] = rng.int(0, 256);
      out[p + 3] = alpha ? Math.min(255, 40 + 5 * x) : 255;
    }
  }
  return out;
}

/** What sharp (libvips, libtiff) decodes from `tiff`, as RGBA 8 bits, upright. */
async function bySharp(tiff: Uint8Array): Promise<Buffer> {
  return sharp(tiff).rotate().ensureAlpha().toColourspace('srgb').raw().toBuffer();
}

async function sameAsSharp(tiff: Uint8Array, what: string, tolerance = 0): Promise<void> {
  assert.ok(isTiff(tiff), what);
  const ours = await decodeTiff(tiff);
  const meta = await sharp(tiff).rotate().toBuffer({ resolveWithObject: true });
  assert.deepEqual([ours.width, ours.height], [meta.info.width, meta.info.height], what);
  const theirs = await bySharp(tiff);
  let most = 0;
  for (let i = 0; i < theirs.length; i++) most = Math.max(most, Math.abs(ours.rgba[i] - theirs[i]));
  assert.ok(most <= tolerance, `${what}: ${most} levels off sharp's decoding`);
}

/**
 * A TIFF written by hand: one IFD of `tags` ([tag, type (3 SHORT, 4 LONG, 7 UNDEFINED), values]),
 * the image data as given strips; `little` picks the byte order.
 */
function handMade(tags: [number, number, number[]][], strips: Uint8Array[], little = true): Uint8Array {
  const entries = [...tags, [273, 4, []] as [number, number, number[]], [279, 4, strips.map((s) => s.length)] as [number, number, number[]]].sort((a, b) => a[0] - b[0]);
  const size = (type: number) => (type === 3 ? 2 : type === 4 ? 4 : 1);
  const ifdBytes = 2 + 12 * entries.length + 4;
  let valuesAt = 8 + ifdBytes;
  const extra = entries.map(([, type, v]) => {
    const n = Math.max(v.length, 1) * size(type);
    if (n <= 4) return 0;
    const at = valuesAt;
    valuesAt += n + (n % 2);
    return at;
  });
  // The strip offsets' own values come before the data.
  const stripsTag = entries.findIndex((e) => e[0] === 273);
  if (strips.length > 1) {
    extra[stripsTag] = valuesAt;
    valuesAt += 4 * strips.length;
  }
  let dataAt = valuesAt;
  entries[stripsTag][2] = strips.map((s) => {
    const at = dataAt;
    dataAt += s.length;
    return at;
  });
  const out = new Uint8Array(dataAt);
  const view = new DataView(out.buffer);
  out.set(little ? [0x49, 0x49, 42, 0] : [0x4d, 0x4d, 0, 42]);
  view.setUint32(4, 8, little);
  view.setUint16(8, entries.length, little);
  const put = (at: number, type: number, v: number) => (type === 3 ? view.setUint16(at, v, little) : type === 4 ? view.setUint32(at, v, little) : view.setUint8(at, v));
  entries.forEach(([tag, type, values], i) => {
    const at = 10 + 12 * i;
    view.setUint16(at, tag, little);
    view.setUint16(at + 2, type, little);
    view.setUint32(at + 4, values.length, little);
    const base = values.length * size(type) <= 4 ? at + 8 : extra[i];
    if (base !== at + 8) view.setUint32(at + 8, base, little);
    values.forEach((v, k) => put(base + k * size(type), type, v));
  });
  let at = valuesAt;
  for (const s of strips) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

describe('decodeTiff', () => {
  it('decodes what sharp writes: every compression, the predictor, strips and tiles, alpha', async () => {
    const rgb = sharp(picture(), { raw: { width: W, height: H, channels: 4 } }).removeAlpha();
    const rgba = () => sharp(picture(true), { raw: { width: W, height: H, channels: 4 } });
    const cases: [string, Sharp][] = [
      ['uncompressed', rgb.clone().tiff({ compression: 'none' })],
      ['LZW', rgb.clone().tiff({ compression: 'lzw' })],
      ['LZW with the predictor', rgb.clone().tiff({ compression: 'lzw', predictor: 'horizontal' })],
      ['Deflate with the predictor', rgb.clone().tiff({ compression: 'deflate', predictor: 'horizontal' })],
      ['PackBits', rgb.clone().tiff({ compression: 'packbits' })],
      ['tiles of 16, LZW', rgb.clone().tiff({ compression: 'lzw', tile: true, tileWidth: 16, tileHeight: 16 })],
      ['RGBA, Deflate', rgba().tiff({ compression: 'deflate' })],
      ['grey, LZW with the predictor', rgb.clone().greyscale().tiff({ compression: 'lzw', predictor: 'horizontal' })],
      ['grey, 1 bit', rgb.clone().greyscale().tiff({ compression: 'none', bitdepth: 1 })],
      ['grey, 4 bits', rgb.clone().greyscale().tiff({ compression: 'none', bitdepth: 4 })],
    ];
    for (const [what, pipeline] of cases) await sameAsSharp(new Uint8Array(await pipeline.toBuffer()), what);
  });

  it('rounds 16 bits to 8, the predictor undone on 16-bit samples, in either byte order', async () => {
    const source = picture();
    const wide = (compression: 'lzw' | 'none') =>
      sharp(source, { raw: { width: W, height: H, channels: 4 } }).removeAlpha().toColourspace('rgb16').tiff({ compression, predictor: compression === 'lzw' ? 'horizontal' : 'none' }).toBuffer();
    const [packed, plain] = [await decodeTiff(new Uint8Array(await wide('lzw'))), await decodeTiff(new Uint8Array(await wide('none')))];
    assert.deepEqual(packed.rgba, plain.rgba, 'the predictor and LZW undone on 16-bit samples');
    // libvips' 8-to-16-bit conversion is not exactly x 257: within a level of the 8-bit source.
    for (let i = 0; i < W * H * 4; i++) assert.ok(Math.abs(packed.rgba[i] - source[i]) <= 1, `value ${i}: ${packed.rgba[i]} against ${source[i]}`);
    // Big-endian, by hand: 2x1 pixels of 16 bits, stored as differences.
    const strip = Uint8Array.from([0x12, 0x34, 0x80, 0x00, 0xff, 0xff, 0x01, 0x00, 0x7f, 0xff, 0x00, 0x00]);
    const be = handMade([[256, 3, [2]], [257, 3, [1]], [258, 3, [16, 16, 16]], [259, 3, [1]], [262, 3, [2]], [277, 3, [3]], [278, 3, [1]], [317, 3, [2]]], [strip], false);
    // Second pixel: 0x1234 + 0x0100 = 0x1334, 0x8000 + 0x7fff = 0xffff, 0xffff + 0 = 0xffff.
    const scaled = (v: number) => Math.round((v * 255) / 65535);
    assert.deepEqual([...(await decodeTiff(be)).rgba], [scaled(0x1234), scaled(0x8000), 255, 255, scaled(0x1334), 255, 255, 255]);
  });

  it('turns the image upright by its orientation tag, as libvips does, for all eight', async () => {
    const source = picture();
    const rgbBytes = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) rgbBytes.set(source.subarray(4 * i, 4 * i + 3), 3 * i);
    for (let orientation = 1; orientation <= 8; orientation++) {
      const tiff = handMade([[256, 3, [W]], [257, 3, [H]], [258, 3, [8, 8, 8]], [259, 3, [1]], [262, 3, [2]], [274, 3, [orientation]], [277, 3, [3]], [278, 3, [H]]], [rgbBytes]);
      await sameAsSharp(tiff, `orientation ${orientation}`);
    }
  });

  it('decodes a palette, CMYK, planar samples, associated alpha and white-is-zero', async () => {
    // A 4-colour palette, 2 bits a pixel: 3x2 pixels, rows padded to a byte.
    const map = [0, 65535, 0, 32896, /* green */ 0, 0, 65535, 32896, /* blue */ 0, 0, 0, 32896];
    const palette = handMade([[256, 3, [3]], [257, 3, [2]], [258, 3, [2]], [259, 3, [1]], [262, 3, [3]], [277, 3, [1]], [278, 3, [2]], [320, 3, map]], [Uint8Array.from([0b00011011, 0b11100100])]);
    assert.deepEqual([...(await decodeTiff(palette)).rgba], [0, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255, 128, 128, 128, 255, 0, 255, 0, 255, 255, 0, 0, 255]);
    await sameAsSharp(palette, 'palette');

    // CMYK: cyan, magenta, black at half, white.
    const cmyk = handMade([[256, 3, [4]], [257, 3, [1]], [258, 3, [8, 8, 8, 8]], [259, 3, [1]], [262, 3, [5]], [277, 3, [4]], [278, 3, [1]]], [Uint8Array.from([255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 128, 0, 0, 0, 0])]);
    assert.deepEqual([...(await decodeTiff(cmyk)).rgba], [0, 255, 255, 255, 255, 0, 255, 255, 127, 127, 127, 255, 255, 255, 255, 255]);

    // Planar: the red plane, then green, then blue, one strip each.
    const planar = handMade([[256, 3, [2]], [257, 3, [1]], [258, 3, [8, 8, 8]], [259, 3, [1]], [262, 3, [2]], [277, 3, [3]], [278, 3, [1]], [284, 3, [2]]], [Uint8Array.from([10, 20]), Uint8Array.from([30, 40]), Uint8Array.from([50, 60])]);
    assert.deepEqual([...(await decodeTiff(planar)).rgba], [10, 30, 50, 255, 20, 40, 60, 255]);

    // Associated alpha: colour premultiplied, divided out.
    const premultiplied = handMade([[256, 3, [1]], [257, 3, [1]], [258, 3, [8, 8, 8, 8]], [259, 3, [1]], [262, 3, [2]], [277, 3, [4]], [278, 3, [1]], [338, 3, [1]]], [Uint8Array.from([50, 25, 0, 100])]);
    assert.deepEqual([...(await decodeTiff(premultiplied)).rgba], [128, 64, 0, 100]);

    const white = handMade([[256, 3, [2]], [257, 3, [1]], [258, 3, [8]], [259, 3, [1]], [262, 3, [0]], [277, 3, [1]], [278, 3, [1]]], [Uint8Array.from([0, 200])]);
    assert.deepEqual([...(await decodeTiff(white)).rgba], [255, 255, 255, 255, 55, 55, 55, 255]);
  });

  it('gives the ICC profile, and refuses what it does not decode with an error that names it', async () => {
    const p3 = new Uint8Array(await sharp(picture(), { raw: { width: W, height: H, channels: 4 } }).removeAlpha().withIccProfile('p3').tiff({ compression: 'lzw' }).toBuffer());
    const { icc } = await decodeTiff(p3);
    assert.ok(icc && icc.length > 100 && String.fromCharCode(...icc.subarray(36, 40)) === 'acsp', 'an ICC profile');

    const jpeg = new Uint8Array(await sharp(picture(), { raw: { width: W, height: H, channels: 4 } }).removeAlpha().tiff({ compression: 'jpeg' }).toBuffer());
    await assert.rejects(decodeTiff(jpeg), /JPEG inside the TIFF, which the page does not decode: save it with LZW/);
    await assert.rejects(decodeTiff(Uint8Array.from([0x49, 0x49, 43, 0, 8, 0, 0, 0])), /BigTIFF/);
    await assert.rejects(decodeTiff(new TextEncoder().encode('not a tiff at all')), /not a TIFF file/);
    const whole = new Uint8Array(await sharp(picture(), { raw: { width: W, height: H, channels: 4 } }).tiff({ compression: 'lzw' }).toBuffer());
    await assert.rejects(decodeTiff(whole.subarray(0, whole.length - 200)), /cut short/);
    const float = handMade([[256, 3, [1]], [257, 3, [1]], [258, 3, [16]], [259, 3, [1]], [262, 3, [1]], [277, 3, [1]], [278, 3, [1]], [339, 3, [3]]], [new Uint8Array(2)]);
    await assert.rejects(decodeTiff(float), /floating-point samples/);
  });

  it('a damaged file decodes or fails with an Error, quickly: bytes changed at random, cut short, or claiming a huge size', async () => {
    const rng = new Rng(11);
    const base = sharp(picture(true), { raw: { width: W, height: H, channels: 4 } });
    const files = await Promise.all(
      (['none', 'lzw', 'deflate', 'packbits'] as const).map(async (compression) => new Uint8Array(await base.clone().tiff({ compression, predictor: compression === 'lzw' ? 'horizontal' : 'none', tile: compression === 'deflate', tileWidth: 16, tileHeight: 16 }).toBuffer())),
    );
    let failed = 0;
    for (let k = 0; k < 300; k++) {
      const file = files[k % files.length].slice();
      // Damage the header and IFD more often than the pixels: that is where a decoder can be led astray.
      for (let n = rng.int(1, 6); n > 0; n--) file[rng.next() < 0.7 ? rng.int(0, Math.min(400, file.length)) : rng.int(0, file.length)] = rng.int(0, 256);
      const damaged = rng.next() < 0.3 ? file.subarray(0, rng.int(8, file.length)) : file;
      const t0 = performance.now();
      try {
        const out = await decodeTiff(damaged);
        assert.equal(out.rgba.length, out.width * out.height * 4);
      } catch (err) {
        assert.ok(err instanceof Error && err.message.length > 0, `case ${k}: ${String(err)}`);
        failed++;
      }
      assert.ok(performance.now() - t0 < 2000, `case ${k} took ${performance.now() - t0} ms`);
    }
    assert.ok(failed > 30, `${failed} of 300 damaged files refused`);
    const huge = handMade([[256, 4, [100_000]], [257, 4, [100_000]], [258, 3, [8]], [259, 3, [1]], [262, 3, [1]], [277, 3, [1]], [278, 3, [1]]], [new Uint8Array(1)]);
    await assert.rejects(decodeTiff(huge), /100000x100000, more than 100 megapixels/);
  });

  it("LZW: a stream that widens its codes to 12 bits decodes to libtiff's bytes", async () => {
    // Noise compresses badly: the table fills and is cleared many times over.
    const rng = new Rng(3);
    const grey = Uint8Array.from({ length: 300 * 200 }, () => rng.int(0, 256));
    const tiff = new Uint8Array(await sharp(grey, { raw: { width: 300, height: 200, channels: 1 } }).tiff({ compression: 'lzw' }).toBuffer());
    assert.deepEqual([...(await decodeTiff(tiff)).rgba].filter((_, i) => i % 4 === 0), [...grey]);
    assert.throws(() => lzw(Uint8Array.from([0x80, 0x7f, 0xff]), 10), /corrupt LZW/);
  });
});
