/**
 * A photo's EXIF carried into its filled copy: the date it was taken, the camera, the exposure and
 * the place stay with the photo, as photo editors keep them (a common request to inpainting tools:
 * IOPaint's issue 202). Byte work only, no platform: Node's writers and the browser page share it.
 *
 * EXIF is a TIFF structure: a byte order, IFD0 (the main image's tags), and the sub-IFDs it points
 * to (Exif, GPS, and Interoperability under Exif). `cleanExif` rebuilds it from those alone:
 * - IFD1, the thumbnail, is left out: it shows the photo before the fill (the person removed);
 * - so is the MakerNote, whose private format holds previews of the original on many cameras;
 * - and the tags that describe the old pixels: the orientation becomes 1 (the pixels are written
 *   turned as viewers showed them), the sizes become the output's, and strip, tile and ICC profile
 *   tags go (a block has no pixel data of its own, and a profile kept is written as the format's
 *   own, `WriteOptions.icc`).
 * Every offset is checked against the block; a block that does not parse is dropped whole
 * (`cleanExif` returns undefined), never written half.
 */
import { ascii, concatBytes, containerOf, jpegSegments, pngChunk, pngChunks, riffChunks, u32be } from './bytes.ts';
import { heifExif } from './heif.ts';
import { isTiff } from './tiff.ts';

/** The EXIF block as a TIFF structure, without the "Exif\0\0" header that JPEG puts before it. */
export type ExifBlock = Uint8Array;

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/** Bytes of one value of each TIFF type (1 BYTE to 12 DOUBLE; 13 IFD). */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];

const TAG = {
  imageWidth: 0x0100,
  imageLength: 0x0101,
  stripOffsets: 0x0111,
  orientation: 0x0112,
  stripByteCounts: 0x0117,
  tileOffsets: 0x0144,
  tileByteCounts: 0x0145,
  subIfds: 0x014a,
  jpegOffset: 0x0201,
  jpegLength: 0x0202,
  iccProfile: 0x8773,
  exifIfd: 0x8769,
  gpsIfd: 0x8825,
  makerNote: 0x927c,
  pixelX: 0xa002,
  pixelY: 0xa003,
  interopIfd: 0xa005,
} as const;

/** Tags left out: the old pixels' layout and profile, pointers to what is not kept, the MakerNote. */
const DROPPED = new Set<number>([TAG.stripOffsets, TAG.stripByteCounts, TAG.tileOffsets, TAG.tileByteCounts, TAG.subIfds, TAG.jpegOffset, TAG.jpegLength, TAG.iccProfile, TAG.makerNote]);

/** The pointer tags to the sub-IFDs that are kept: Exif and GPS (from IFD0), Interop (from Exif). */
const POINTERS = new Set<number>([TAG.exifIfd, TAG.gpsIfd, TAG.interopIfd]);

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** The value's bytes, in the block's byte order (absent for a pointer, which `sub` replaces). */
  data?: Uint8Array;
  /** For a pointer tag: the IFD it points to. */
  sub?: Entry[];
}

class Reader {
  readonly view: DataView;
  readonly little: boolean;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const order = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
    if (order !== 'II' && order !== 'MM') throw new Error('no byte order');
    this.little = order === 'II';
    if (this.u16(2) !== 42) throw new Error('not TIFF');
  }
  check(offset: number, length: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.bytes.length)) throw new Error('out of bounds');
  }
  u16(offset: number): number {
    this.check(offset, 2);
    return this.view.getUint16(offset, this.little);
  }
  u32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, this.little);
  }

  /**
   * The entries of the IFD at `offset`, pointers followed `depth` levels down; with `everything`,
   * an image's own IFD read whole (its strips' offsets too, and no pointer followed).
   */
  ifd(offset: number, depth: number, everything = false): Entry[] {
    const count = this.u16(offset);
    this.check(offset + 2, count * 12 + 4);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + 12 * i;
      const tag = this.u16(at);
      const type = this.u16(at + 2);
      const n = this.u32(at + 4);
      if (DROPPED.has(tag) && !everything) continue;
      if (POINTERS.has(tag) && !everything) {
        if (depth > 0 && n === 1) entries.push({ tag, type: 4, count: 1, sub: this.ifd(this.u32(at + 8), depth - 1) });
        continue;
      }
      const size = TYPE_SIZE[type] ?? 0;
      if (size === 0 || type === 13) continue; // an unknown type, or an IFD pointer we do not know
      const length = size * n;
      const start = length <= 4 ? at + 8 : this.u32(at + 8);
      this.check(start, length);
      entries.push({ tag, type, count: n, data: this.bytes.slice(start, start + length) });
    }
    return entries;
  }
}

class Writer {
  private readonly out: number[] = [];
  constructor(readonly little: boolean) {}
  get length(): number {
    return this.out.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
  u16(v: number): void {
    if (this.little) this.out.push(v & 0xff, v >>> 8);
    else this.out.push(v >>> 8, v & 0xff);
  }
  u32(v: number): void {
    if (this.little) this.out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    else this.out.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  raw(data: Uint8Array): void {
    for (const b of data) this.out.push(b);
  }
  set32(at: number, v: number): void {
    const b = this.little ? [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24] : [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    for (let i = 0; i < 4; i++) this.out[at + i] = b[i];
  }

  /** Writes an IFD here (entries sorted by tag, as TIFF asks), then its values and sub-IFDs. */
  ifd(entries: Entry[]): void {
    const sorted = [...entries].sort((a, b) => a.tag - b.tag);
    const start = this.length;
    this.u16(sorted.length);
    const slots: number[] = [];
    for (const e of sorted) {
      this.u16(e.tag);
      this.u16(e.type);
      this.u32(e.count);
      slots.push(this.length);
      if (e.data && e.data.length <= 4) {
        this.raw(e.data);
        for (let k = e.data.length; k < 4; k++) this.out.push(0);
      } else this.u32(0); // filled below
    }
    this.u32(0); // no next IFD: IFD1, the thumbnail, is not kept
    if (this.length !== start + 2 + 12 * sorted.length + 4) throw new Error('bad IFD size');
    sorted.forEach((e, i) => {
      if (!e.sub && !(e.data && e.data.length > 4)) return;
      if (this.length % 2) this.out.push(0); // values and IFDs start on a word boundary
      this.set32(slots[i], this.length);
      if (e.sub) this.ifd(e.sub);
      else this.raw(e.data!);
    });
  }
}

/** A SHORT or LONG of one value, in the block's byte order. */
function uint(value: number, type: 3 | 4, little: boolean): Entry['data'] {
  const data = new Uint8Array(type === 3 ? 2 : 4);
  const view = new DataView(data.buffer);
  if (type === 3) view.setUint16(0, value, little);
  else view.setUint32(0, value, little);
  return data;
}

/**
 * The photo's EXIF block made fit for its filled copy of `width` x `height` pixels, as the module
 * comment says; undefined when it does not parse (or holds nothing left to keep).
 */
export function cleanExif(block: Uint8Array, width: number, height: number): ExifBlock | undefined {
  try {
    const tiff = startsWith(block, EXIF_HEADER) ? block.subarray(6) : block;
    const r = new Reader(tiff);
    const ifd0 = r.ifd(r.u32(4), 2);
    const size = (e: Entry, value: number) => {
      const type = value > 0xffff ? 4 : e.type === 3 ? 3 : 4;
      return { ...e, type, count: 1, data: uint(value, type, r.little) };
    };
    const fix = (entries: Entry[]): Entry[] =>
      entries.map((e) => {
        if (e.sub) return { ...e, sub: fix(e.sub) };
        if (e.tag === TAG.orientation && e.type === 3) return { ...e, count: 1, data: uint(1, 3, r.little) };
        if (e.tag === TAG.imageWidth || e.tag === TAG.pixelX) return size(e, width);
        if (e.tag === TAG.imageLength || e.tag === TAG.pixelY) return size(e, height);
        return e;
      });
    return blockOf(fix(ifd0), r.little);
  } catch {
    return undefined;
  }
}

/** A block of one IFD (its sub-IFDs after it) in the given byte order; undefined for no entries. */
function blockOf(ifd0: Entry[], little: boolean): ExifBlock | undefined {
  if (ifd0.length === 0) return undefined;
  const w = new Writer(little);
  w.raw(little ? Uint8Array.of(0x49, 0x49) : Uint8Array.of(0x4d, 0x4d));
  w.u16(42);
  w.u32(8);
  w.ifd(ifd0);
  return w.bytes();
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

/**
 * The EXIF block of an encoded JPEG, PNG, WebP, HEIC/AVIF (as stored, "Exif\0\0" header dropped) or
 * TIFF (its first IFD's EXIF tags, `TIFF_EXIF`, and its Exif and GPS sub-IFDs), or
 * undefined when it has none or is another format. The browser page's way in; Node reads it through
 * sharp (`readMetadata`), and here for a TIFF, whose EXIF sharp does not give.
 */
export function exifOf(bytes: Uint8Array): ExifBlock | undefined {
  if (isTiff(bytes)) return tiffExif(bytes);
  const format = containerOf(bytes);
  if (format === 'heif') {
    try {
      return heifExif(bytes);
    } catch {
      return undefined; // a box that runs past the end: no EXIF to keep
    }
  }
  if (format === 'jpeg') {
    for (const { marker, data } of jpegSegments(bytes)) if (marker === 0xe1 && startsWith(data, EXIF_HEADER)) return data.slice(6);
  } else if (format === 'png') {
    for (const { type, data } of pngChunks(bytes)) if (type === 'eXIf') return data.slice();
  } else if (format === 'webp') {
    for (const { type, data } of riffChunks(bytes)) if (type === 'EXIF') return (startsWith(data, EXIF_HEADER) ? data.subarray(6) : data).slice();
  }
  return undefined;
}

/** The formats `withExif` writes EXIF into. */
export type ExifFormat = 'jpeg' | 'png' | 'webp' | 'tiff';

/**
 * The tags of a TIFF's first IFD that are EXIF's (what describes the photo, and the pointers to the
 * Exif and GPS sub-IFDs), among the many that say how its pixels are stored (sizes, compression,
 * strips, JPEG tables, resolution, orientation) or carry other blocks (Photoshop's, IPTC's): only
 * these pass between a photo's EXIF and a TIFF's first IFD.
 */
const TIFF_EXIF = new Set([0x010e, 0x010f, 0x0110, 0x0131, 0x0132, 0x013b, 0x013c, 0x8298, TAG.exifIfd, TAG.gpsIfd]);

/**
 * A TIFF with `block`'s tags added to its first IFD (the camera, the date; its Exif and GPS
 * sub-IFDs pointed to: `TIFF_EXIF`), which readers of TIFF files take as its EXIF. The image's own tags win;
 * the new IFD and the values it needs are appended, and the header points to it, so the pixels
 * stay where they are.
 */
function tiffWithExif(tiff: Uint8Array, block: ExifBlock): Uint8Array {
  const exif = new Reader(block);
  const added = exif.ifd(exif.u32(4), 2).filter((e) => TIFF_EXIF.has(e.tag));
  return tiffWith(tiff, added, exif.little);
}

/**
 * A TIFF with `added` entries (in the given byte order) in its first IFD, where the image's own
 * tags win: the new IFD and the values it needs are appended, and the header points to it, so the
 * pixels stay where they are.
 */
function tiffWith(tiff: Uint8Array, added: Entry[], little: boolean): Uint8Array {
  const image = new Reader(tiff);
  const own = image.ifd(image.u32(4), 0, true);
  const tags = new Set(own.map((e) => e.tag));
  const fresh = added.filter((e) => !tags.has(e.tag));
  const w = new Writer(image.little);
  w.raw(tiff);
  if (w.length % 2) w.raw(Uint8Array.of(0));
  const at = w.length;
  w.ifd([...own, ...(little === image.little ? fresh : fresh.map(swapped))]);
  const out = w.bytes();
  new DataView(out.buffer).setUint32(4, at, image.little);
  return out;
}

/** The tag of a TIFF's first IFD that holds IPTC-IIM datasets (IPTC-NAA; `iptc.ts`). */
const IPTC_NAA = 33723;

/** A TIFF's IPTC-IIM datasets (its IPTC-NAA tag's bytes, whatever type it is written as), or undefined. */
export function tiffIptc(tiff: Uint8Array): Uint8Array | undefined {
  try {
    const r = new Reader(tiff);
    return r.ifd(r.u32(4), 0, true).find((e) => e.tag === IPTC_NAA)?.data;
  } catch {
    return undefined;
  }
}

/** A TIFF with IPTC-IIM datasets in its first IFD's IPTC-NAA tag (as bytes: UNDEFINED), unless it has one. */
export function tiffWithIptc(tiff: Uint8Array, datasets: Uint8Array): Uint8Array {
  return tiffWith(tiff, [{ tag: IPTC_NAA, type: 7, count: datasets.length, data: datasets }], true);
}

/** A TIFF's EXIF as a block of its own (`exifOf`); undefined when nothing is left, or it does not parse. */
function tiffExif(tiff: Uint8Array): ExifBlock | undefined {
  try {
    const r = new Reader(tiff);
    return blockOf(r.ifd(r.u32(4), 2).filter((e) => TIFF_EXIF.has(e.tag)), r.little);
  } catch {
    return undefined;
  }
}

/** An entry's values in the other byte order (sub-IFDs too). */
function swapped(e: Entry): Entry {
  if (e.sub) return { ...e, sub: e.sub.map(swapped) };
  const unit = { 3: 2, 8: 2, 4: 4, 9: 4, 11: 4, 5: 4, 10: 4, 12: 8 }[e.type] ?? 1;
  const data = e.data!.slice();
  for (let at = 0; at + unit <= data.length; at += unit) data.subarray(at, at + unit).reverse();
  return { ...e, data };
}

/**
 * An encoded JPEG, PNG, WebP or TIFF of `width` x `height` pixels with `block` (from `cleanExif`)
 * stored in it, where each format keeps it: a JPEG's APP1 segment after its JFIF header, a PNG's
 * eXIf chunk after IHDR, a WebP's EXIF chunk (an extended WebP made of a simple one), a TIFF's first
 * IFD (`tiffWithExif`). Returns the image unchanged when it already has EXIF or the block is too
 * large for a JPEG segment (64 kB).
 */
export function withExif(encoded: Uint8Array, format: ExifFormat, block: ExifBlock, width: number, height: number): Uint8Array {
  if (format === 'tiff') return tiffWithExif(encoded, block);
  if (exifOf(encoded)) return encoded;
  if (format === 'jpeg') {
    if (block.length + 8 > 0xffff) return encoded;
    // After SOI and a JFIF APP0 segment, if there is one.
    let at = 2;
    if (encoded[2] === 0xff && encoded[3] === 0xe0) at = 4 + ((encoded[4] << 8) | encoded[5]);
    const length = 2 + 6 + block.length;
    return concatBytes([encoded.subarray(0, at), Uint8Array.of(0xff, 0xe1, length >>> 8, length & 0xff), Uint8Array.from(EXIF_HEADER), block, encoded.subarray(at)]);
  }
  if (format === 'png') {
    const ihdrEnd = 8 + 12 + u32be(encoded, 8);
    return concatBytes([encoded.subarray(0, ihdrEnd), pngChunk('eXIf', block), encoded.subarray(ihdrEnd)]);
  }
  // WebP: a simple file (one VP8 or VP8L chunk) becomes an extended one, with a VP8X chunk first.
  let chunks = encoded.subarray(12);
  if (ascii(chunks, 0, 4) !== 'VP8X') {
    const vp8x = new Uint8Array(18);
    vp8x.set([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0]);
    // VP8L may carry alpha: its header's alpha bit (byte 4 of the bitstream, bit 4) sets the flag.
    if (ascii(chunks, 0, 4) === 'VP8L' && chunks[8 + 4] & 0x10) vp8x[8] |= 0x10;
    setU24le(vp8x, 12, width - 1);
    setU24le(vp8x, 15, height - 1);
    chunks = concatBytes([vp8x, chunks]);
  } else chunks = chunks.slice();
  chunks[8] |= 0x08; // the EXIF flag
  const exif = new Uint8Array(8 + block.length + (block.length % 2));
  exif.set([0x45, 0x58, 0x49, 0x46]);
  exif.set(u32leBytes(block.length), 4);
  exif.set(block, 8);
  const body = concatBytes([chunks, exif]);
  return concatBytes([Uint8Array.of(0x52, 0x49, 0x46, 0x46), u32leBytes(body.length + 4), Uint8Array.of(0x57, 0x45, 0x42, 0x50), body]);
}

function setU24le(bytes: Uint8Array, at: number, v: number): void {
  bytes[at] = v & 0xff;
  bytes[at + 1] = (v >>> 8) & 0xff;
  bytes[at + 2] = (v >>> 16) & 0xff;
}

const u32leBytes = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

