/**
 * Images and masks: reading and writing them through sharp, and files. The images in memory and
 * every pixel helper live in `raster.ts` (no platform in it, shared with the browser build) and are
 * re-exported here, so this stays the one module Node code imports for images.
 *
 * Decoding and encoding go through sharp; everything that must be exact about geometry
 * (resampling, mask resizing, dilation) is plain TypeScript in raster.ts.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { pngWithProfile } from './bytes.ts';
import { expect, InputError, UsageError } from './errors.ts';
import { cleanExif, type ExifBlock, exifOf, withExif } from './exif.ts';
import { writeFileAtomic } from './files.ts';
import { isRgbProfile } from './icc.ts';
import { cleanIptc, iptcAsXmp, type IptcBlock, withIptc } from './iptc.ts';
import { cleanXmp } from './xmp.ts';
import {
  DEFAULT_MAX_PIXELS,
  checkImage,
  checkMask,
  type DecodedPixels,
  decodeRawPixels,
  describeSource,
  type ImageFormat,
  type ImageSource,
  type ImageWithAlpha,
  imageFromPixels,
  isGrey,
  isRawPixels,
  type MaskImage,
  maskFromPixels,
  type ReadOptions,
  type RgbImage,
  toRgba8,
} from './raster.ts';

export * from './raster.ts';
export type { ExifBlock } from './exif.ts';
export type { IptcBlock } from './iptc.ts';

/**
 * The limit when a reader is given none: env INPAINT_MAX_PIXELS when set (the `--max-pixels` of
 * `eval` and `train` sets it, so that every reader of those commands, worker threads included,
 * sees it), else `DEFAULT_MAX_PIXELS`.
 * @throws UsageError INPAINT_MAX_PIXELS is not a positive integer
 */
export function defaultMaxPixels(): number {
  const env = process.env.INPAINT_MAX_PIXELS;
  if (env === undefined || env === '') return DEFAULT_MAX_PIXELS;
  const n = Number(env);
  expect(Number.isSafeInteger(n) && n > 0, 'INPAINT_MAX_PIXELS', 'a positive integer', env);
  return n;
}

/** The formats every reader decodes, as messages name them. */
export const READABLE_FORMATS = 'JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC';

/** The file extensions of those formats: what folders of photos and masks are listed by. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif'];

/**
 * sharp's names of the formats read. AVIF and HEIC are both its 'heif', with AV1 and HEVC
 * compression; sharp's libvips is built without an HEVC decoder, so a HEIC photo (an iPhone's) is
 * decoded by libheif compiled to WebAssembly (`heic-decode`), loaded on first use.
 */
const DECODED = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);

const isHeic = (meta: Pick<Metadata, 'format' | 'compression'>) => meta.format === 'heif' && meta.compression === 'hevc';

/** Whether the readers decode an image of this header (sharp's metadata). */
export function isDecodable(meta: Pick<Metadata, 'format' | 'compression'>): boolean {
  return DECODED.has(meta.format) && (meta.format !== 'heif' || meta.compression === 'av1' || isHeic(meta));
}

// ---------------------------------------------------------------------------------------------
// Reading

async function decode(source: ImageSource, options: ReadOptions, keep16Bit: boolean): Promise<DecodedPixels> {
  if (isRawPixels(source)) return decodeRawPixels(source);
  const maxPixels = options.maxPixels ?? defaultMaxPixels();
  expect(Number.isInteger(maxPixels) && maxPixels > 0, 'maxPixels', 'a positive integer', maxPixels);
  const label = describeSource(source);
  const unreadable = (reason: string, cause?: unknown) =>
    new InputError(`${label} is not a readable ${READABLE_FORMATS} image (${reason})`, { cause });
  let meta: Metadata;
  try {
    // Header only, unlimited, so that an oversized image gets the message below rather than sharp's.
    meta = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw unreadable((err as Error).message, err);
  }
  if (!isDecodable(meta)) throw unreadable(`it is ${meta.format}${meta.compression ? ` (${meta.compression})` : ''}`);
  const pages = meta.pages ?? 1;
  if (pages > 1) {
    const what =
      meta.format === 'tiff' ? `has ${pages} pages: only its first page` : meta.format === 'heif' ? `holds ${pages} images: only its first image` : `is animated (${pages} frames): only its first frame`;
    options.onNotice?.(`${label} ${what} is used`);
  }
  if (meta.width * meta.height > maxPixels) {
    const mp = (n: number) => `${(n / 1e6).toFixed(1)} megapixels`;
    throw new InputError(
      `${label} is ${meta.width}x${meta.height} (${mp(meta.width * meta.height)}), over the limit of ${mp(maxPixels)}; ` +
        `raise the limit to read it anyway: --max-pixels ${meta.width * meta.height} on the command line, maxPixels in code`,
    );
  }
  // The photo's own colour space, as stored: its ICC profile is written with the copy (readMetadata).
  const own = options.keepProfile === true && rgbProfile(meta) !== undefined;
  if (isHeic(meta)) return decodeHeic(source, own ? undefined : meta.icc, unreadable);
  const sixteen = keep16Bit && meta.depth === 'ushort';
  if (sixteen) options.onNotice?.(`${label} has 16 bits per channel: it is read at 16-bit precision (a PNG or TIFF result keeps 16 bits, JPEG and WebP have 8)`);
  try {
    // rotate(): apply the EXIF orientation, so pixels come out the way viewers show them.
    // toColourspace: greyscale is replicated to RGB, CMYK and ICC profiles converted to sRGB (unless
    // `own`); alpha is kept. The decoder enforces the limit too, and needs it set to read beyond
    // sharp's default 268 MP.
    const { data, info } = await sharp(source, { limitInputPixels: maxPixels, ignoreIcc: own })
      .rotate()
      .toColourspace(sixteen ? 'rgb16' : 'srgb')
      .raw(sixteen ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
    const pixels = sixteen ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) : data;
    // sharp converts a 16-bit photo with a profile to Display P3, not sRGB: the last step is ours.
    if (sixteen && !own && rgbProfile(meta)) displayP3ToSrgb(pixels as Uint16Array, info.channels);
    return { width: info.width, height: info.height, channels: info.channels, data: pixels, max: sixteen ? 65535 : 255 };
  } catch (err) {
    throw unreadable((err as Error).message, err);
  }
}

/**
 * 16-bit Display P3 pixels (interleaved, alpha after the colour if any) converted to sRGB in place:
 * both spaces have sRGB's transfer curve and white point, so it is the curve undone, the primaries'
 * 3x3 matrix, colours outside sRGB clipped, and the curve again.
 */
function displayP3ToSrgb(data: Uint16Array, channels: number): void {
  const M = [1.2249401, -0.2249404, 0, -0.0420569, 1.0420571, 0, -0.0196376, -0.0786361, 1.0982735];
  const linear = new Float64Array(65536);
  for (let v = 0; v < 65536; v++) {
    const c = v / 65535;
    linear[v] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  const encode = (l: number) => {
    const c = l <= 0 ? 0 : l >= 1 ? 1 : l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
    return Math.round(c * 65535);
  };
  for (let i = 0; i < data.length; i += channels) {
    const [r, g, b] = [linear[data[i]], linear[data[i + 1]], linear[data[i + 2]]];
    data[i] = encode(M[0] * r + M[1] * g + M[2] * b);
    data[i + 1] = encode(M[3] * r + M[4] * g + M[5] * b);
    data[i + 2] = encode(M[6] * r + M[7] * g + M[8] * b);
  }
}

/** What `heic-decode` exports: libheif (with libde265, its HEVC decoder) compiled to WebAssembly. */
type HeicDecoder = (input: { buffer: Uint8Array }) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
/** A variable, so that the type checker and bundlers leave the untyped, Node-only module alone. */
const HEIC_DECODER = 'heic-decode';

/**
 * A HEIC photo's first image, its rotation and mirroring applied, as 8-bit RGBA in sRGB. libheif
 * gives the pixels in the photo's own colour space (an iPhone's is Display P3); with the photo's
 * ICC profile (`icc`) sharp converts them, as it converts a JPEG's, from a PNG that carries it.
 */
async function decodeHeic(source: string | Uint8Array, icc: Uint8Array | undefined, unreadable: (reason: string, cause?: unknown) => InputError): Promise<DecodedPixels> {
  try {
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    const { default: decodeHeicBytes } = (await import(HEIC_DECODER)) as { default: HeicDecoder };
    const { width, height, data } = await decodeHeicBytes({ buffer: bytes });
    if (!icc) return { width, height, channels: 4, data, max: 255 };
    const png = await sharp(data, { raw: { width, height, channels: 4 } }).png({ compressionLevel: 0 }).toBuffer();
    const srgb = await sharp(pngWithProfile(png, deflateSync(icc))).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width, height, channels: srgb.info.channels, data: srgb.data, max: 255 };
  } catch (err) {
    throw unreadable(`its HEVC image could not be decoded: ${(err as Error).message}`, err);
  }
}

/**
 * Reads a photo as planar float RGB in [0, 1]. EXIF orientation is applied, greyscale is replicated
 * to three channels, alpha is dropped (colour kept as stored, not composited; `readImageWithAlpha`
 * keeps it), and 16-bit PNGs keep their 16-bit precision.
 * @throws InputError the source is missing, not a JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC image, corrupt, or over `maxPixels`
 * @throws UsageError raw pixels whose data length does not match their size, or a bad `maxPixels`
 */
export async function readImage(source: ImageSource, options: ReadOptions = {}): Promise<RgbImage> {
  return (await readImageWithAlpha(source, options)).image;
}

/**
 * `readImage`, plus the alpha channel when the image has one that is not fully opaque everywhere
 * (an opaque alpha is dropped: it says nothing).
 * @example
 * const { image, alpha } = await readImageWithAlpha('cutout.png');
 * await writeImage('out.png', image, { alpha });
 * @throws as `readImage`
 */
export async function readImageWithAlpha(source: ImageSource, options: ReadOptions = {}): Promise<ImageWithAlpha> {
  return imageFromPixels(await decode(source, options, true));
}

/**
 * Reads a mask from any image. The rule, per pixel:
 * - If the image has an alpha channel that is transparent (alpha <= 0.5) somewhere, and its opaque
 *   pixels all have the same colour (each channel within 0.1), the alpha is the mask: hole where
 *   alpha > 0.5. This is a mask painted with one brush colour on a transparent layer; the colour of
 *   transparent pixels is ignored because editors store it as anything (black or white).
 * - Otherwise hole where the luminance (Rec. 709 weights) is > 0.5: white (or light) on black.
 * EXIF orientation is applied, as for `readImage`.
 * @throws InputError / UsageError as `readImage`
 */
export async function readMask(source: ImageSource, options: ReadOptions = {}): Promise<MaskImage> {
  return maskFromPixels(await decode(source, options, false), source, options);
}

/** What a filled copy carries over from its photo (`readMetadata`), as `writeImage` options. */
export interface PhotoMetadata {
  /** The photo's EXIF, made fit for a filled copy at its size as read (`cleanExif`). */
  exif?: ExifBlock;
  /** 16 when the photo has 16 bits a channel, which a PNG or TIFF copy keeps. */
  bits?: 16;
  /** True when the file is greyscale (one channel, or grey and alpha), which a copy keeps where its pixels are all grey. */
  grey?: true;
  /** The ICC profile of an RGB photo read with `keepProfile`: the colour space its pixels are in. */
  icc?: Uint8Array;
  /** The photo's XMP packet, only what describes the photo kept (title, keywords, rights: `cleanXmp`). */
  xmp?: string;
  /**
   * The photo's IPTC-IIM record, only what describes the photo kept (caption, keywords, credit:
   * `cleanIptc`). A photo with no XMP gets its `xmp` from it (`iptcAsXmp`), for PNG and WebP.
   */
  iptc?: IptcBlock;
}

/**
 * A photo's ICC profile when it describes RGB pixels (its header's colour space is 'RGB '), not
 * greyscale or CMYK ones, which are converted to sRGB whatever the reader asks.
 */
function rgbProfile(meta: Pick<Metadata, 'icc'>): Uint8Array | undefined {
  const icc = meta.icc && new Uint8Array(meta.icc.buffer, meta.icc.byteOffset, meta.icc.length);
  return icc && isRgbProfile(icc) ? icc : undefined;
}

/**
 * What a filled copy of the photo should keep of it: its EXIF (no thumbnail, no MakerNote,
 * orientation 1: `cleanExif`), its XMP (what describes the photo: `cleanXmp`), its bit depth and,
 * with `keepProfile` (for pixels read with it), its ICC profile. Nothing for raw pixels. EXIF or
 * XMP that does not parse is dropped with a notice.
 * @example
 * const read = { keepProfile: true };
 * const result = await inpainter.inpaint(await readImageWithAlpha('photo.jpg', read), 'mask.png');
 * await writeImage('filled.jpg', result.image, await readMetadata('photo.jpg', read));
 * @throws InputError as `readImage`, when the file cannot be read
 */
export async function readMetadata(source: ImageSource, options: Pick<ReadOptions, 'onNotice' | 'keepProfile'> = {}): Promise<PhotoMetadata> {
  if (isRawPixels(source)) return {};
  let meta: Metadata;
  try {
    meta = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new InputError(`${describeSource(source)} is not a readable ${READABLE_FORMATS} image (${(err as Error).message})`, { cause: err });
  }
  const icc = options.keepProfile ? rgbProfile(meta) : undefined;
  const out: PhotoMetadata = { ...(meta.depth === 'ushort' ? { bits: 16 } : {}), ...(meta.channels <= 2 ? { grey: true } : {}), ...(icc ? { icc } : {}) };
  if (meta.xmp) {
    try {
      const xmp = cleanXmp(meta.xmp.toString('utf8'));
      if (xmp) out.xmp = xmp;
    } catch {
      options.onNotice?.(`the XMP of ${describeSource(source)} could not be parsed: the result is written without it`);
    }
  }
  // sharp gives a JPEG's APP13 content, or a TIFF's IPTC-NAA tag.
  if (meta.iptc) {
    const iptc = cleanIptc(new Uint8Array(meta.iptc.buffer, meta.iptc.byteOffset, meta.iptc.length));
    if (iptc) out.iptc = iptc;
    // Described in IIM alone (Picasa, older Photoshop): the same in XMP, which every format keeps.
    const xmp = iptc && !out.xmp ? iptcAsXmp(iptc) : undefined;
    if (xmp) out.xmp = cleanXmp(xmp);
  }
  // sharp gives no EXIF for a TIFF: its first IFD and sub-IFDs hold it.
  const block = meta.exif ?? (meta.format === 'tiff' ? exifOf(typeof source === 'string' ? await readFile(source) : source) : undefined);
  if (!block) return out;
  const { width, height } = meta.autoOrient;
  const exif = cleanExif(block, width, height);
  if (!exif) options.onNotice?.(`the EXIF of ${describeSource(source)} could not be parsed: the result is written without it`);
  return exif ? { ...out, exif } : out;
}

// ---------------------------------------------------------------------------------------------
// Writing

const WRITTEN: Record<string, ImageFormat> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff' };

/**
 * The format a path's extension names: .png, .jpg/.jpeg, .webp or .tif/.tiff (any case).
 * @throws UsageError for any other extension
 */
export function formatFromPath(path: string): ImageFormat {
  const format = WRITTEN[extname(path).toLowerCase()];
  if (!format) throw new UsageError(`Cannot tell which image format to write for "${path}": use a .png, .jpg, .jpeg, .webp, .tif or .tiff extension`);
  return format;
}

/**
 * The encoder every written image goes through: JPEG and WebP at quality 95, JPEG without chroma
 * subsampling (outputs are compared pixel by pixel, and the default 4:2:0 smears colour across
 * exactly the hole boundary we care about); PNG and TIFF (deflate) lossless.
 */
function encodeAs(pipeline: Sharp, format: ImageFormat): Sharp {
  if (format === 'jpeg') return pipeline.jpeg({ quality: 95, chromaSubsampling: '4:4:4' });
  if (format === 'webp') return pipeline.webp({ quality: 95 });
  if (format === 'tiff') return pipeline.tiff({ compression: 'deflate' });
  return pipeline.png();
}

async function encodeRaw(
  data: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 1 | 4,
  format: ImageFormat,
  options: { keepAlpha?: boolean; icc?: Uint8Array; xmp?: string } = {},
): Promise<Uint8Array> {
  const pipeline = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) pipeline.toColourspace('b-w');
  else if (!options.keepAlpha || format === 'jpeg') pipeline.removeAlpha();
  return encodeIn(pipeline, format, options.icc, options.xmp);
}

/**
 * Encodes `pipeline` (raw pixels) as `format`, with `xmp`, saying the pixels are in the colour space
 * of `icc` when given. sharp takes raw pixels for sRGB and attaches a profile only by converting to
 * it, so a PNG gets the profile's iCCP chunk put in, and the other formats are made from a lossless
 * PNG with that chunk, whose profile sharp keeps without converting the pixels (`keepIccProfile`).
 */
async function encodeIn(pipeline: Sharp, format: ImageFormat, icc: Uint8Array | undefined, xmp: string | undefined, sixteen = false): Promise<Uint8Array> {
  const encode = async (p: Sharp) => new Uint8Array(await encodeAs(xmp ? p.withXmp(xmp) : p, format).toBuffer());
  if (!icc) return encode(pipeline);
  if (format === 'png') return pngWithProfile(await encode(pipeline), deflateSync(icc));
  const png = pngWithProfile(await pipeline.png({ compressionLevel: 0 }).toBuffer(), deflateSync(icc));
  const profiled = sharp(png, { limitInputPixels: false, ignoreIcc: true }).keepIccProfile();
  return encode(sixteen ? profiled.toColourspace('rgb16') : profiled);
}

export interface WriteOptions {
  /** An alpha channel to store with the image (one value a pixel in [0, 1], as `readImageWithAlpha` gives); PNG, WebP and TIFF keep it, JPEG has none. */
  alpha?: Float32Array;
  /** EXIF to store with the image, from `readMetadata`; every format keeps it. */
  exif?: ExifBlock;
  /** 16 writes a PNG or TIFF with 16 bits a channel (JPEG and WebP have 8); default 8. */
  bits?: 8 | 16;
  /**
   * Write a PNG, JPEG or TIFF with one channel (and alpha) where every pixel is grey (`isGrey`), as
   * a greyscale photo was (`readMetadata`); WebP has no greyscale. Ignored with `icc`.
   */
  grey?: boolean;
  /**
   * The ICC profile of the colour space the pixels are in (`readMetadata` with `keepProfile`),
   * stored in every format; without it the pixels are sRGB, as the readers give them by default.
   */
  icc?: Uint8Array;
  /** An XMP packet to store with the image, from `readMetadata`; every format keeps it. */
  xmp?: string;
  /** An IPTC-IIM record to store with the image, from `readMetadata`; JPEG and TIFF keep it (`lostMetadata`). */
  iptc?: IptcBlock;
}

/**
 * What `format` cannot keep of a photo's metadata, as a notice's words; undefined when it keeps it
 * all. Only the IPTC-IIM record has no place in PNG and WebP; where the photo's XMP is kept, it says
 * the same (writers keep the two alike, and `readMetadata` makes it from the record for a photo
 * without one), so nothing is lost unless the record holds nothing XMP maps.
 */
export function lostMetadata(meta: Pick<PhotoMetadata, 'iptc' | 'xmp'>, format: ImageFormat): string | undefined {
  if (!meta.iptc || meta.xmp || format === 'jpeg' || format === 'tiff') return undefined;
  return `its IPTC description (caption, keywords, credit) has no place in ${format === 'png' ? 'PNG' : 'WebP'}: written without it (a .jpg or .tif result keeps it)`;
}

/**
 * Encodes an image as PNG, JPEG (quality 95, 4:4:4), WebP (quality 95) or TIFF (deflate), with
 * `alpha` (not in JPEG), `exif`, `icc`, `xmp` and `iptc` (JPEG and TIFF only) when given, with 8 bits a channel or, for
 * PNG and TIFF, the `bits` asked for.
 * @throws UsageError a malformed image or alpha
 */
export async function encodeImage(img: RgbImage, format: ImageFormat, options: WriteOptions = {}): Promise<Uint8Array> {
  checkImage(img, 'img');
  const { alpha, bits = 8, icc, xmp } = options;
  expect(bits === 8 || bits === 16, 'bits', '8 or 16', bits);
  if (alpha !== undefined) {
    expect(alpha instanceof Float32Array && alpha.length === img.width * img.height, 'alpha', `a Float32Array of ${img.width}*${img.height}`, alpha);
  }
  let bytes: Uint8Array;
  if (options.grey && !icc && format !== 'webp' && isGrey(img)) {
    bytes = await encodeGrey(img, format === 'jpeg' ? undefined : alpha, format, bits === 16 && format !== 'jpeg', xmp);
  } else if (bits === 16 && (format === 'png' || format === 'tiff')) {
    bytes = await encode16(img, alpha, format, icc, xmp);
  } else {
    const rgba = toRgba8(img);
    if (alpha !== undefined) for (let i = 0; i < alpha.length; i++) rgba[4 * i + 3] = alpha[i] * 255;
    bytes = await encodeRaw(rgba, img.width, img.height, 4, format, { keepAlpha: alpha !== undefined, icc, xmp });
  }
  // The EXIF's pixel dimensions are the image's, whatever size `readMetadata` read the photo at (a result made larger: `--extend`).
  const exif = options.exif && (cleanExif(options.exif, img.width, img.height) ?? options.exif);
  if (exif) bytes = withExif(bytes, format, exif, img.width, img.height);
  if (options.iptc && (format === 'jpeg' || format === 'tiff')) bytes = withIptc(bytes, format, options.iptc);
  return bytes;
}

/** One channel (the mean of the three, and alpha when given), with 8 or 16 bits. */
async function encodeGrey(img: RgbImage, alpha: Float32Array | undefined, format: ImageFormat, sixteen: boolean, xmp: string | undefined): Promise<Uint8Array> {
  const plane = img.width * img.height;
  const channels = alpha ? 2 : 1;
  const [data, top] = sixteen ? [new Uint16Array(plane * channels), 65535] : [new Uint8Array(plane * channels), 255];
  // Rounded as the colour writers round: half to even for 8 bits (Uint8ClampedArray), to nearest for 16.
  const clamped = new Uint8ClampedArray(1);
  const level = (v: number) => (sixteen ? Math.round(Math.min(1, Math.max(0, v)) * top) : ((clamped[0] = v * top), clamped[0]));
  for (let i = 0; i < plane; i++) {
    data[channels * i] = level((img.data[i] + img.data[plane + i] + img.data[2 * plane + i]) / 3);
    if (alpha) data[channels * i + 1] = level(alpha[i]);
  }
  const pipeline = sharp(data, { raw: { width: img.width, height: img.height, channels } }).toColourspace(sixteen ? 'grey16' : 'b-w');
  return encodeIn(pipeline, format, undefined, xmp, sixteen);
}

/** A PNG or TIFF with 16 bits a channel: each value rounded to the nearest of 65536 levels. */
async function encode16(img: RgbImage, alpha: Float32Array | undefined, format: 'png' | 'tiff', icc: Uint8Array | undefined, xmp: string | undefined): Promise<Uint8Array> {
  const plane = img.width * img.height;
  const channels = alpha ? 4 : 3;
  const data = new Uint16Array(plane * channels);
  const level = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 65535);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[channels * i + c] = level(img.data[c * plane + i]);
    if (alpha) data[channels * i + 3] = level(alpha[i]);
  }
  const pipeline = sharp(data, { raw: { width: img.width, height: img.height, channels } }).toColourspace('rgb16');
  return encodeIn(pipeline, format, icc, xmp, true);
}

/**
 * Writes an image, the format taken from the extension; creates missing parent folders. The bytes
 * go to a temporary file that is renamed over `path` when complete, so an interrupted write never
 * leaves a truncated file (or destroys the file that was there).
 * @throws UsageError unknown extension or a malformed image
 */
export async function writeImage(path: string, img: RgbImage, options: WriteOptions = {}): Promise<void> {
  const bytes = await encodeImage(img, formatFromPath(path), options);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/**
 * Writes a mask as greyscale, hole = 255 (white), known = 0, so `readMask` reads it back unchanged.
 * @throws UsageError unknown extension or a malformed mask
 */
export async function writeMask(path: string, mask: MaskImage): Promise<void> {
  const bytes = await encodeMask(mask, formatFromPath(path));
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/**
 * A mask's bytes as `writeMask` writes them: greyscale, hole = 255, known = 0.
 * @throws UsageError for a malformed mask
 */
export async function encodeMask(mask: MaskImage, format: ImageFormat = 'png'): Promise<Uint8Array> {
  checkMask(mask, 'mask');
  const grey = new Uint8Array(mask.data.length);
  for (let i = 0; i < grey.length; i++) grey[i] = mask.data[i] ? 255 : 0;
  return encodeRaw(grey, mask.width, mask.height, 1, format);
}
