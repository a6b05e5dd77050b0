/**
 * A photo's ICC profile read from its encoded bytes, for the page: the browser's decoders convert
 * to sRGB unless asked not to, and with the profile a fill made on the stored values is written
 * back in the photo's own colour space (an iPhone's Display P3). Node reads profiles through sharp
 * (`readMetadata` with `keepProfile`). No platform.
 */
import { ascii, concatBytes, containerOf, inflate, jpegSegments, pngChunks, riffChunks } from './bytes.ts';
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
    for (const { marker, data } of jpegSegments(bytes)) if (marker === 0xe2 && ascii(data, 0, 12) === 'ICC_PROFILE\0') parts.push([data[12], data.subarray(14)]);
    if (parts.length > 0) icc = concatBytes(parts.sort((a, b) => a[0] - b[0]).map(([, part]) => part));
  } else if (format === 'png') {
    for (const { type, data } of pngChunks(bytes)) {
      if (type !== 'iCCP') continue;
      // After the profile's name, its zero and the compression method: the profile, deflated.
      icc = await inflate(data.subarray(data.indexOf(0) + 2)).catch(() => undefined);
      break;
    }
  } else if (format === 'webp') {
    for (const { type, data } of riffChunks(bytes)) if (type === 'ICCP') icc = data;
  } else if (format === 'heif') icc = heifIcc(bytes);
  return icc && isRgbProfile(icc) ? icc : undefined;
}

/** Whether an ICC profile describes RGB pixels (its header's colour space is 'RGB '). */
export const isRgbProfile = (icc: Uint8Array): boolean => icc.length >= 128 && ascii(icc, 16, 4) === 'RGB ';
