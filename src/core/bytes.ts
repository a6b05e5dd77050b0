/** Bytes joined and framed, with no platform (Node's Buffer and zlib are not in the browser). */

/** `length` bytes from `at` as text, one character a byte (a box's or chunk's type). */
export const ascii = (bytes: Uint8Array, at: number, length: number): string => String.fromCharCode(...bytes.subarray(at, at + length));

/** The big-endian 32-bit unsigned integer at `at`. */
export const u32be = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** The little-endian 32-bit unsigned integer at `at`. */
export const u32le = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** The format of encoded image bytes, by their signature, among those whose metadata is read here. */
export function containerOf(bytes: Uint8Array): 'jpeg' | 'png' | 'webp' | 'heif' | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  if (ascii(bytes, 1, 3) === 'PNG') return 'png';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (ascii(bytes, 4, 4) === 'ftyp') return 'heif';
  return undefined;
}

/**
 * A JPEG's header segments, up to its image data: each one's marker, content (after its length)
 * and place in the bytes [start, end).
 */
export function* jpegSegments(bytes: Uint8Array): Generator<{ marker: number; data: Uint8Array; start: number; end: number }> {
  for (let at = 2; at + 4 <= bytes.length && bytes[at] === 0xff; ) {
    const marker = bytes[at + 1];
    if (marker === 0xda || marker === 0xd9) return; // the image data: no more headers
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    yield { marker, data: bytes.subarray(at + 4, at + 2 + length), start: at, end: at + 2 + length };
    at += 2 + length;
  }
}

/** Where a JPEG's leading APP0 and APP1 segments (JFIF, EXIF, XMP) end: the place for the next header. */
export function afterJpegAppHeaders(bytes: Uint8Array): number {
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff && (bytes[at + 1] === 0xe0 || bytes[at + 1] === 0xe1)) at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  return at;
}

/** A PNG's chunks before IEND: each one's type and content. */
export function* pngChunks(bytes: Uint8Array): Generator<{ type: string; data: Uint8Array }> {
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = u32be(bytes, at);
    const type = ascii(bytes, at + 4, 4);
    if (type === 'IEND') return;
    yield { type, data: bytes.subarray(at + 8, at + 8 + length) };
    at += 12 + length;
  }
}

/** A WebP's (RIFF) chunks: each one's four-character code and content. */
export function* riffChunks(bytes: Uint8Array): Generator<{ type: string; data: Uint8Array }> {
  for (let at = 12; at + 8 <= bytes.length; ) {
    const length = u32le(bytes, at + 4);
    yield { type: ascii(bytes, at, 4), data: bytes.subarray(at + 8, at + 8 + length) };
    at += 8 + length + (length % 2);
  }
}

/** zlib-compressed bytes inflated, by the platform's DecompressionStream (Node and browsers). */
export async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Bytes zlib-compressed, by the platform's CompressionStream (Node and browsers). */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Byte arrays joined end to end. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as PNG's chunks use). */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG chunk: its length, type, data and CRC. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typed = concatBytes([Uint8Array.from(type, (c) => c.charCodeAt(0)), data]);
  const crc = crc32(typed);
  return concatBytes([Uint8Array.of(data.length >>> 24, (data.length >>> 16) & 0xff, (data.length >>> 8) & 0xff, data.length & 0xff), typed, Uint8Array.of(crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff)]);
}

/** The PNG chunks that say what colour space the pixels are in. */
const COLOUR_CHUNKS = new Set(['iCCP', 'sRGB', 'gAMA', 'cHRM', 'cICP']);

/**
 * A PNG that says its pixels are in the colour space of an ICC profile: an iCCP chunk after IHDR
 * (named "icc", method 0, `deflatedIcc` the profile zlib-compressed), its own colour chunks
 * dropped. A decoder then converts the pixels to sRGB: how a HEIC's pixels, which libheif gives in
 * the photo's colour space, are converted in Node (sharp) and in the page (the browser).
 */
export function pngWithProfile(png: Uint8Array, deflatedIcc: Uint8Array): Uint8Array<ArrayBuffer> {
  const ihdrEnd = 8 + 12 + u32be(png, 8);
  const parts = [png.subarray(0, ihdrEnd), pngChunk('iCCP', concatBytes([Uint8Array.of(0x69, 0x63, 0x63, 0, 0), deflatedIcc]))];
  for (let at = ihdrEnd; at + 12 <= png.length; ) {
    const end = at + 12 + u32be(png, at);
    if (!COLOUR_CHUNKS.has(ascii(png, at + 4, 4))) parts.push(png.subarray(at, end));
    at = end;
  }
  return concatBytes(parts);
}
