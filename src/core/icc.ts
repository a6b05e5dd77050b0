/**
 * A photo's ICC profile read from its encoded bytes, for the page: the browser's decoders convert
 * to sRGB unless asked not to, and with the profile a fill made on the stored values is written
 * back in the photo's own colour space (an iPhone's Display P3). Node reads profiles through sharp
 * (`readMetadata` with `keepProfile`). No platform.
 */
import { afterJpegAppHeaders, ascii, concatBytes, containerOf, deflate, inflate, jpegSegments, pngChunks, pngWithProfile, riffChunks } from './bytes.ts';
import { heifIcc } from './heif.ts';

/**
 * The ICC profile of an encoded JPEG (its APP2 ICC_PROFILE segments, in their order), PNG (iCCP),
 * WebP (ICCP) or HEIF (colr) when it describes RGB pixels; undefined when there is none, or it is
 * a greyscale or CMYK one.
 */
export async function rgbProfileOf(bytes: Uint8Array): Promise<Uint8Array | undefined> {
  let icc: Uint8Array | undefined;
  const format = containerOf(bytes);
  if (format === 'jpeg') {
    const parts: [number, Uint8Array][] = [];
    for (const { marker, data } of jpegSegments(bytes)) if (isIccSegment(marker, data)) parts.push([data[12], data.subarray(14)]);
    if (parts.length > 0) icc = concatBytes(parts.sort((a, b) => a[0] - b[0]).map(([, part]) => part));
  } else if (format === 'png') {
    for (const { type, data } of pngChunks(bytes)) {
      if (type !== 'iCCP') continue;
      // After the profile's name, its zero and the compression method: the profile, deflated.
      icc = await inflate(data.subarray(data.indexOf(0) + 2)).catch(() => undefined);
      break;
    }
  } else if (format === 'webp') {
    for (const { type, data } of riffChunks(bytes)) if (type === 'ICCP') icc = new Uint8Array(data);
  } else if (format === 'heif') icc = heifIcc(bytes);
  return icc && isRgbProfile(icc) ? icc : undefined;
}

/** Whether a JPEG segment holds a part of an ICC profile (APP2, "ICC_PROFILE"). */
const isIccSegment = (marker: number, data: Uint8Array) => marker === 0xe2 && ascii(data, 0, 12) === 'ICC_PROFILE\0';

/** Whether an ICC profile describes RGB pixels (its header's colour space is 'RGB '). */
export const isRgbProfile = (icc: Uint8Array): boolean => icc.length >= 128 && ascii(icc, 16, 4) === 'RGB ';

/**
 * An encoded JPEG or PNG that says its pixels are in the colour space of `icc`, in place of the
 * profile it had (a browser's canvas writes its own): a JPEG's APP2 ICC_PROFILE segments (the
 * profile cut in parts of at most 65519 bytes) after its APP0 and APP1 segments, a PNG's iCCP chunk
 * (`pngWithProfile`). The page's downloads made from a canvas of stored values use it; Node writes
 * profiles through sharp.
 */
export async function withRgbProfile(encoded: Uint8Array, format: 'jpeg' | 'png', icc: Uint8Array): Promise<Uint8Array> {
  if (format === 'png') return pngWithProfile(encoded, await deflate(icc));
  const kept: Uint8Array[] = [];
  let from = 0;
  for (const { marker, data, start, end } of jpegSegments(encoded)) {
    if (!isIccSegment(marker, data)) continue;
    kept.push(encoded.subarray(from, start));
    from = end;
  }
  const plain = concatBytes([...kept, encoded.subarray(from)]);
  const PART = 65519;
  const count = Math.ceil(icc.length / PART);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = icc.subarray(i * PART, (i + 1) * PART);
    const length = 2 + 14 + part.length;
    segments.push(Uint8Array.of(0xff, 0xe2, length >>> 8, length & 0xff), Uint8Array.from('ICC_PROFILE\0', (c) => c.charCodeAt(0)), Uint8Array.of(i + 1, count), part);
  }
  const at = afterJpegAppHeaders(plain);
  return concatBytes([plain.subarray(0, at), ...segments, plain.subarray(at)]);
}
