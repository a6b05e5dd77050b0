/**
 * TIFF decoding without a native library, for the page (no browser decodes TIFF): a scanner's, a
 * raw converter's or a photo editor's export opens there as it does on the command line, which reads
 * it through sharp.
 *
 * The first image of the file (a TIFF of several pages: its first, as the command line reads it),
 * its orientation applied, as 8-bit RGBA, and its ICC profile:
 * - strips or tiles, chunky or planar;
 * - uncompressed, LZW, Deflate or PackBits, with or without the horizontal predictor;
 * - 1, 2, 4, 8 or 16 bits a sample (16 are rounded to 8);
 * - greyscale (either way round), RGB, a palette, or CMYK; an alpha channel (associated alpha is
 *   divided out).
 * What it does not decode (JPEG inside TIFF, fax compressions, floating-point samples, YCbCr, Lab,
 * BigTIFF) is refused with an error that names it.
 */
import { inflate } from './bytes.ts';

export interface DecodedTiff {
  width: number;
  height: number;
  /** 4 bytes a pixel, row by row, upright. */
  rgba: Uint8ClampedArray<ArrayBuffer>;
  /** The ICC profile it embeds, if any. */
  icc?: Uint8Array;
}

/** Whether `bytes` start as a TIFF file ("II*\0" or "MM\0*"). */
export function isTiff(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 42 && bytes[3] === 0) || (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 42));
}

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  orientation: 274,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planar: 284,
  predictor: 317,
  colorMap: 320,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  inkSet: 332,
  extraSamples: 338,
  sampleFormat: 339,
  icc: 34675,
  xmp: 700,
} as const;

const COMPRESSIONS: Record<number, string> = { 2: 'CCITT fax', 3: 'CCITT fax', 4: 'CCITT fax', 6: 'old-style JPEG', 7: 'JPEG', 34712: 'JPEG 2000', 34887: 'LERC', 50000: 'Zstandard', 50001: 'WebP', 34925: 'LZMA' };

class TiffError extends Error {}

/** The tags of one IFD: each tag's values as numbers, and its raw bytes (for the ICC profile). */
class Ifd {
  readonly values = new Map<number, number[]>();
  readonly raw = new Map<number, Uint8Array>();
  constructor(bytes: Uint8Array, view: DataView, little: boolean, offset: number) {
    const check = (at: number, n: number) => {
      if (!(at >= 0 && at + n <= bytes.length)) throw new TiffError('the file is cut short (an entry points past its end)');
    };
    check(offset, 2);
    const count = view.getUint16(offset, little);
    check(offset + 2, 12 * count);
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + 12 * i;
      const tag = view.getUint16(at, little);
      const type = view.getUint16(at + 2, little);
      const n = view.getUint32(at + 4, little);
      const size = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4][type] ?? 0;
      if (size === 0) continue;
      const start = size * n <= 4 ? at + 8 : view.getUint32(at + 8, little);
      check(start, size * n);
      this.raw.set(tag, bytes.subarray(start, start + size * n));
      if (tag === TAG.icc || tag === TAG.xmp) continue;
      const read = (k: number): number => {
        const p = start + size * k;
        switch (type) {
          case 3:
            return view.getUint16(p, little);
          case 4:
          case 13:
            return view.getUint32(p, little);
          case 8:
            return view.getInt16(p, little);
          case 9:
            return view.getInt32(p, little);
          case 6:
            return view.getInt8(p);
          default:
            return bytes[p];
        }
      };
      if (size > 4 && type !== 13) continue; // rationals and doubles: no tag read here has them
      this.values.set(tag, Array.from({ length: n }, (_, k) => read(k)));
    }
  }
  get(tag: number, fallback?: number): number {
    const v = this.values.get(tag)?.[0] ?? fallback;
    if (v === undefined) throw new TiffError(`the image lacks the TIFF tag ${tag}`);
    return v;
  }
  list(tag: number): number[] | undefined {
    return this.values.get(tag);
  }
}

/** The XMP packet of a TIFF's first image (tag 700), or undefined; undefined too for a file that does not parse. */
export function tiffXmp(bytes: Uint8Array): Uint8Array | undefined {
  if (!isTiff(bytes)) return undefined;
  try {
    const little = bytes[0] === 0x49;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Ifd(bytes, view, little, view.getUint32(4, little)).raw.get(TAG.xmp)?.slice();
  } catch {
    return undefined;
  }
}

/** The most pixels `decodeTiff` takes by default: the command line's limit. */
const MAX_PIXELS = 100_000_000;

/**
 * Decodes the first image of a TIFF file.
 * @param maxPixels a larger image is refused before anything is allocated for it
 * @throws Error naming what is wrong or not supported
 */
export async function decodeTiff(bytes: Uint8Array, maxPixels = MAX_PIXELS): Promise<DecodedTiff> {
  try {
    return await decode(bytes, maxPixels);
  } catch (err) {
    // A read past the end, a stream that does not inflate: what a damaged file gives, said so.
    if (err instanceof TiffError) throw err;
    throw new TiffError(`the file is damaged (${(err as Error).message})`);
  }
}

async function decode(bytes: Uint8Array, maxPixels: number): Promise<DecodedTiff> {
  if (!isTiff(bytes)) {
    if (bytes.length >= 4 && (bytes[2] === 43 || bytes[3] === 43)) throw new TiffError('a BigTIFF file, which the page does not decode: save it as a plain TIFF, PNG or JPEG');
    throw new TiffError('not a TIFF file');
  }
  const little = bytes[0] === 0x49;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ifd = new Ifd(bytes, view, little, view.getUint32(4, little));
  const width = ifd.get(TAG.width);
  const height = ifd.get(TAG.height);
  if (width <= 0 || height <= 0) throw new TiffError(`the image is ${width}x${height}`);
  if (width * height > maxPixels) throw new TiffError(`the image is ${width}x${height}, more than ${maxPixels / 1e6} megapixels`);
  const spp = ifd.get(TAG.samplesPerPixel, 1);
  if (!(spp >= 1 && spp <= 16)) throw new TiffError(`${spp} samples a pixel`);
  const bits = ifd.list(TAG.bitsPerSample) ?? [1];
  const depth = bits[0];
  if (bits.some((b) => b !== depth) || ![1, 2, 4, 8, 16].includes(depth)) throw new TiffError(`${bits.join('/')} bits a sample, which the page does not decode: save it as 8 or 16 bits`);
  if ((ifd.list(TAG.sampleFormat) ?? [1]).some((f) => f === 3)) throw new TiffError('floating-point samples (an HDR image), which the page does not decode: save it as 8 or 16 bits');
  const compression = ifd.get(TAG.compression, 1);
  if (![1, 5, 8, 32946, 32773].includes(compression)) throw new TiffError(`${COMPRESSIONS[compression] ?? `compression ${compression}`} inside the TIFF, which the page does not decode: save it with LZW, Deflate or no compression, or as PNG or JPEG`);
  const photometric = ifd.get(TAG.photometric, spp >= 3 ? 2 : 1);
  const colours = { 0: 1, 1: 1, 2: 3, 3: 1, 5: 4 }[photometric];
  if (colours === undefined) throw new TiffError(`the colour space ${{ 6: 'YCbCr', 8: 'CIE Lab', 9: 'ICC Lab', 10: 'ITU Lab', 32844: 'LogL', 32845: 'LogLuv' }[photometric] ?? `number ${photometric}`}, which the page does not decode: save it as RGB`);
  if (photometric === 3 && depth > 8) throw new TiffError('a palette of more than 256 colours');
  if (photometric === 5 && ifd.get(TAG.inkSet, 1) !== 1) throw new TiffError('CMYK with inks other than cyan, magenta, yellow and black');
  if (spp < colours) throw new TiffError(`${spp} samples a pixel for a colour space of ${colours}`);
  const extra = ifd.list(TAG.extraSamples) ?? [];
  // The first extra sample is alpha when it says so; a fourth sample of RGB (second of grey) that says nothing is taken as alpha too.
  const alphaKind = spp > colours ? (extra[0] ?? 2) : 0;
  const hasAlpha = alphaKind === 1 || alphaKind === 2;
  const planar = ifd.get(TAG.planar, 1) === 2;
  const predictor = ifd.get(TAG.predictor, 1);
  if (predictor !== 1 && predictor !== 2) throw new TiffError('the floating-point predictor, which the page does not decode');

  const tiled = ifd.values.has(TAG.tileOffsets);
  const chunkW = tiled ? ifd.get(TAG.tileWidth) : width;
  const chunkH = tiled ? ifd.get(TAG.tileLength) : Math.min(height, ifd.get(TAG.rowsPerStrip, height));
  if (!(chunkW > 0 && chunkH > 0 && chunkW * chunkH <= 4 * maxPixels)) throw new TiffError(`strips or tiles of ${chunkW}x${chunkH}`);
  const offsets = ifd.list(tiled ? TAG.tileOffsets : TAG.stripOffsets);
  const counts = ifd.list(tiled ? TAG.tileByteCounts : TAG.stripByteCounts);
  if (!offsets || !counts || offsets.length !== counts.length) throw new TiffError('the image data is not where the file says (strip or tile offsets missing)');
  const across = Math.ceil(width / chunkW);
  const down = Math.ceil(height / chunkH);
  const planes = planar ? spp : 1;
  if (offsets.length < across * down * planes) throw new TiffError(`the file holds ${offsets.length} strips or tiles of ${across * down * planes}`);

  // Every sample of the image, scaled to 0..255: planes [sample][y * width + x].
  const perPixel = planar ? 1 : spp;
  const samples = Array.from({ length: spp }, () => new Uint8Array(width * height));
  const max = 2 ** depth - 1;
  for (let plane = 0; plane < planes; plane++) {
    for (let cy = 0; cy < down; cy++) {
      for (let cx = 0; cx < across; cx++) {
        const k = plane * across * down + cy * across + cx;
        const rowBytes = Math.ceil((chunkW * perPixel * depth) / 8);
        // The last strip may hold fewer rows; a tile is always whole.
        const rows = tiled ? chunkH : Math.min(chunkH, height - cy * chunkH);
        const start = offsets[k];
        if (!(start + counts[k] <= bytes.length)) throw new TiffError('the file is cut short (its image data ends early)');
        const chunk = await decompress(bytes.subarray(start, start + counts[k]), compression, rowBytes * rows);
        if (predictor === 2) undoPredictor(chunk, rowBytes, rows, perPixel, depth, little);
        for (let r = 0; r < rows; r++) {
          const y = cy * chunkH + r;
          if (y >= height) break;
          const columns = Math.min(chunkW, width - cx * chunkW);
          const to = y * width + cx * chunkW;
          if (depth === 8) {
            // The common case without a call per sample: a 12-megapixel photo decodes in a fraction of the time.
            for (let s = 0; s < perPixel; s++) {
              const plane8 = samples[planar ? plane : s];
              for (let c = 0, from = r * rowBytes + s; c < columns; c++, from += perPixel) plane8[to + c] = chunk[from];
            }
            continue;
          }
          for (let c = 0; c < columns; c++) {
            for (let s = 0; s < perPixel; s++) {
              const v = sampleAt(chunk, r * rowBytes, c * perPixel + s, depth, little);
              samples[planar ? plane : s][to + c] = photometric === 3 ? v : Math.round((v * 255) / max);
            }
          }
        }
      }
    }
  }

  const rgba = new Uint8ClampedArray(width * height * 4);
  const map = ifd.list(TAG.colorMap);
  if (photometric === 3 && (!map || map.length < 3 * 2 ** depth)) throw new TiffError('a palette image without its palette');
  for (let i = 0; i < width * height; i++) {
    const p = 4 * i;
    const a = hasAlpha ? samples[colours][i] : 255;
    if (photometric === 2) {
      rgba[p] = samples[0][i];
      rgba[p + 1] = samples[1][i];
      rgba[p + 2] = samples[2][i];
    } else if (photometric === 3) {
      const v = samples[0][i];
      const n = 2 ** depth;
      rgba[p] = map![v] >> 8;
      rgba[p + 1] = map![n + v] >> 8;
      rgba[p + 2] = map![2 * n + v] >> 8;
    } else if (photometric === 5) {
      const k = 255 - samples[3][i];
      for (let c = 0; c < 3; c++) rgba[p + c] = Math.round(((255 - samples[c][i]) * k) / 255);
    } else {
      const g = photometric === 0 ? 255 - samples[0][i] : samples[0][i];
      rgba[p] = rgba[p + 1] = rgba[p + 2] = g;
    }
    rgba[p + 3] = a;
    // Associated (premultiplied) alpha: divided out, as a canvas's pixels are not premultiplied.
    if (alphaKind === 1 && a > 0 && a < 255) for (let c = 0; c < 3; c++) rgba[p + c] = Math.round((rgba[p + c] * 255) / a);
  }
  const icc = ifd.raw.get(TAG.icc);
  const upright = orient(rgba, width, height, ifd.get(TAG.orientation, 1));
  return { ...upright, ...(icc ? { icc: icc.slice() } : {}) };
}

async function decompress(data: Uint8Array, compression: number, expected: number): Promise<Uint8Array> {
  let out: Uint8Array;
  if (compression === 1) out = data;
  else if (compression === 5) out = lzw(data, expected);
  else if (compression === 32773) out = packBits(data, expected);
  else out = await inflate(data);
  if (out.length >= expected) return out.length === expected ? out.slice() : out.slice(0, expected);
  // A short chunk (a writer that stopped early): the rest reads as zeros.
  const padded = new Uint8Array(expected);
  padded.set(out);
  return padded;
}

/** Sample `index` of the row starting at byte `row`. */
function sampleAt(chunk: Uint8Array, row: number, index: number, depth: number, little: boolean): number {
  if (depth === 8) return chunk[row + index];
  if (depth === 16) {
    const at = row + 2 * index;
    return little ? chunk[at] | (chunk[at + 1] << 8) : (chunk[at] << 8) | chunk[at + 1];
  }
  const bit = index * depth;
  return (chunk[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & (2 ** depth - 1);
}

/** The horizontal predictor undone in place: each sample was stored as its difference to the one before it in the row. */
function undoPredictor(chunk: Uint8Array, rowBytes: number, rows: number, perPixel: number, depth: number, little: boolean): void {
  if (depth === 8) {
    for (let r = 0; r < rows; r++) for (let i = r * rowBytes + perPixel; i < (r + 1) * rowBytes; i++) chunk[i] = (chunk[i] + chunk[i - perPixel]) & 0xff;
  } else if (depth === 16) {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let r = 0; r < rows; r++) {
      for (let i = r * rowBytes + 2 * perPixel; i + 1 < (r + 1) * rowBytes; i += 2) view.setUint16(i, (view.getUint16(i, little) + view.getUint16(i - 2 * perPixel, little)) & 0xffff, little);
    }
  } else throw new TiffError(`the horizontal predictor on ${depth}-bit samples`);
}

/** TIFF's LZW (MSB-first codes, 9 to 12 bits, widening one code early). */
export function lzw(input: Uint8Array, expected: number): Uint8Array {
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  const first = new Uint8Array(4096);
  for (let i = 0; i < 256; i++) [prefix[i], suffix[i], length[i], first[i]] = [-1, i, 1, i];
  let out = new Uint8Array(Math.max(expected, 1024));
  let pos = 0;
  const emit = (code: number) => {
    const n = length[code];
    if (pos + n > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, pos + n));
      grown.set(out);
      out = grown;
    }
    for (let c = code, at = pos + n - 1; c >= 0; c = prefix[c], at--) out[at] = suffix[c];
    pos += n;
  };
  let next = 258;
  let width = 9;
  let old = -1;
  let buffer = 0;
  let bitCount = 0;
  let at = 0;
  for (;;) {
    while (bitCount < width && at < input.length) {
      buffer = ((buffer << 8) | input[at++]) >>> 0;
      bitCount += 8;
    }
    if (bitCount < width) break;
    const code = (buffer >>> (bitCount - width)) & ((1 << width) - 1);
    bitCount -= width;
    buffer &= (1 << bitCount) - 1;
    if (code === 257) break;
    if (code === 256) {
      [next, width, old] = [258, 9, -1];
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new TiffError('corrupt LZW data');
      emit(code);
      old = code;
      continue;
    }
    if (code > next) throw new TiffError('corrupt LZW data');
    if (next < 4096) {
      prefix[next] = old;
      suffix[next] = code < next ? first[code] : first[old];
      length[next] = length[old] + 1;
      first[next] = first[old];
      next++;
    }
    emit(code);
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, pos);
}

/** PackBits: runs of a repeated byte and literal stretches. */
function packBits(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let pos = 0;
  let at = 0;
  while (at < input.length && pos < expected) {
    const n = (input[at++] << 24) >> 24;
    if (n >= 0) {
      out.set(input.subarray(at, at + n + 1).subarray(0, expected - pos), pos);
      pos += n + 1;
      at += n + 1;
    } else if (n !== -128) {
      out.fill(input[at++], pos, Math.min(expected, pos + 1 - n));
      pos += 1 - n;
    }
  }
  return out;
}

/** The pixels turned upright by the TIFF orientation tag (the EXIF one's values, 1 to 8). */
function orient(rgba: Uint8ClampedArray<ArrayBuffer>, w: number, h: number, orientation: number): { width: number; height: number; rgba: Uint8ClampedArray<ArrayBuffer> } {
  if (orientation <= 1 || orientation > 8) return { width: w, height: h, rgba };
  const swap = orientation >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  const out = new Uint8ClampedArray(rgba.length);
  const words = new Uint32Array(rgba.buffer);
  const into = new Uint32Array(out.buffer);
  // The stored pixel shown at (x, y): sx = x0 + xx * x + xy * y, sy = y0 + yx * x + yy * y.
  const [x0, xx, xy, y0, yx, yy] = [
    [0, 1, 0, 0, 0, 1],
    [w - 1, -1, 0, 0, 0, 1],
    [w - 1, -1, 0, h - 1, 0, -1],
    [0, 1, 0, h - 1, 0, -1],
    [0, 0, 1, 0, 1, 0],
    [0, 0, 1, h - 1, -1, 0],
    [w - 1, 0, -1, h - 1, -1, 0],
    [w - 1, 0, -1, 0, 1, 0],
  ][orientation - 1];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) into[y * ow + x] = words[(y0 + yx * x + yy * y) * w + x0 + xx * x + xy * y];
  }
  return { width: ow, height: oh, rgba: out };
}
