/**
 * What the page and the EXIF reader need of a HEIF file (HEIC, AVIF): its EXIF and XMP items and its
 * ICC profile, found by walking its boxes (ISO base media format). No platform, no decoding.
 */
import { ascii, concatBytes, u32be } from './bytes.ts';

/** The boxes (ISO base media format) in bytes [start, end): type and the range of each one's content. */
function* boxes(bytes: Uint8Array, start: number, end: number): Generator<{ type: string; from: number; to: number }> {
  for (let at = start; at + 8 <= end; ) {
    let size = u32be(bytes, at);
    let header = 8;
    if (size === 1) {
      size = u32be(bytes, at + 8) * 2 ** 32 + u32be(bytes, at + 12); // a 64-bit size
      header = 16;
    } else if (size === 0) size = end - at; // to the end
    if (size < header || at + size > end) throw new Error('a box runs past its parent');
    yield { type: ascii(bytes, at + 4, 4), from: at + header, to: at + size };
    at += size;
  }
}

/**
 * A HEIF's (HEIC, AVIF) EXIF item: named 'Exif' in the meta box's item list (iinf), found where
 * its location (iloc) says, in the file or the meta box's idat; its data starts with the offset
 * of the TIFF header after it.
 */
export function heifExif(bytes: Uint8Array): Uint8Array | undefined {
  const item = heifItem(bytes, (type) => type === 'Exif');
  if (!item || item.length < 4) return undefined;
  const tiff = item.subarray(4 + u32be(item, 0));
  return tiff.length > 8 ? tiff.slice() : undefined;
}

/** A HEIF's XMP packet: the item of type 'mime' whose content type is application/rdf+xml. */
export function heifXmp(bytes: Uint8Array): Uint8Array | undefined {
  return heifItem(bytes, (type, contentType) => type === 'mime' && contentType === 'application/rdf+xml');
}

/**
 * The bytes of the first item the meta box's item list (iinf) describes as `wanted` (its type and,
 * for a 'mime' item, its content type), from where its location (iloc) says: in the file or the
 * meta box's idat.
 */
function heifItem(bytes: Uint8Array, wanted: (type: string, contentType: string) => boolean): Uint8Array | undefined {
  const children = metaChildren(bytes);
  if (!children) return undefined;
  const uint = (at: number, size: number) => (size === 0 ? 0 : size === 2 ? (bytes[at] << 8) | bytes[at + 1] : size === 4 ? u32be(bytes, at) : u32be(bytes, at) * 2 ** 32 + u32be(bytes, at + 4));
  const iinf = children.find((b) => b.type === 'iinf');
  if (!iinf) return undefined;
  let itemId: number | undefined;
  const version = bytes[iinf.from];
  for (const infe of boxes(bytes, iinf.from + 4 + (version === 0 ? 2 : 4), iinf.to)) {
    const v = bytes[infe.from];
    if (infe.type !== 'infe' || v < 2) continue;
    const idSize = v === 2 ? 2 : 4;
    const typeAt = infe.from + 4 + idSize + 2;
    // After the type: the item's name, then (a 'mime' item) its content type, each zero-terminated.
    const nameEnd = bytes.indexOf(0, typeAt + 4);
    const typeEnd = nameEnd < 0 || nameEnd >= infe.to ? -1 : bytes.indexOf(0, nameEnd + 1);
    const contentType = typeEnd < 0 || typeEnd > infe.to ? '' : ascii(bytes, nameEnd + 1, typeEnd - nameEnd - 1);
    if (itemId === undefined && wanted(ascii(bytes, typeAt, 4), contentType)) itemId = uint(infe.from + 4, idSize);
  }
  const iloc = children.find((b) => b.type === 'iloc');
  if (itemId === undefined || !iloc) return undefined;
  // iloc: where that item's bytes lie.
  const v = bytes[iloc.from];
  let at = iloc.from + 4;
  const [offsetSize, lengthSize] = [bytes[at] >> 4, bytes[at] & 15];
  const [baseSize, indexSize] = [bytes[at + 1] >> 4, v >= 1 ? bytes[at + 1] & 15 : 0];
  at += 2;
  const count = uint(at, v < 2 ? 2 : 4);
  at += v < 2 ? 2 : 4;
  for (let i = 0; i < count; i++) {
    const id = uint(at, v < 2 ? 2 : 4);
    at += v < 2 ? 2 : 4;
    const method = v >= 1 ? bytes[at + 1] & 15 : 0;
    if (v >= 1) at += 2;
    at += 2; // data_reference_index
    const base = uint(at, baseSize);
    at += baseSize;
    const extents = uint(at, 2);
    at += 2;
    const parts: Uint8Array[] = [];
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      const offset = uint(at, offsetSize);
      at += offsetSize;
      const length = uint(at, lengthSize);
      at += lengthSize;
      if (id !== itemId) continue;
      const idat = children.find((b) => b.type === 'idat');
      const origin = method === 1 && idat ? idat.from : method === 0 ? 0 : NaN;
      const from = origin + base + offset;
      if (!(from >= 0 && from + length <= bytes.length)) throw new Error('an item outside the file');
      parts.push(bytes.subarray(from, from + length));
    }
    if (id !== itemId) continue;
    return concatBytes(parts);
  }
  return undefined;
}

/** The children of a HEIF's meta box, or undefined when it has none. */
function metaChildren(bytes: Uint8Array): { type: string; from: number; to: number }[] | undefined {
  const meta = [...boxes(bytes, 0, bytes.length)].find((b) => b.type === 'meta');
  return meta && [...boxes(bytes, meta.from + 4, meta.to)]; // meta is a full box: version and flags first
}

/**
 * A HEIF's ICC profile (an iPhone's Display P3): the first 'colr' box of type 'prof' or 'rICC'
 * among the item properties (iprp/ipco); undefined when it has none (or only an nclx colour box),
 * or when a box runs past the end.
 */
export function heifIcc(bytes: Uint8Array): Uint8Array | undefined {
  try {
    if (ascii(bytes, 4, 4) !== 'ftyp') return undefined;
    const iprp = metaChildren(bytes)?.find((b) => b.type === 'iprp');
    const ipco = iprp && [...boxes(bytes, iprp.from, iprp.to)].find((b) => b.type === 'ipco');
    if (!ipco) return undefined;
    for (const colr of boxes(bytes, ipco.from, ipco.to)) {
      if (colr.type === 'colr' && ['prof', 'rICC'].includes(ascii(bytes, colr.from, 4))) return bytes.slice(colr.from + 4, colr.to);
    }
    return undefined;
  } catch {
    return undefined;
  }
}
