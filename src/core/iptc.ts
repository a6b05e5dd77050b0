/**
 * A photo's IPTC-IIM record carried into its filled copy: the caption, headline, keywords, byline,
 * credit, copyright, city and country that news agencies, Photoshop before XMP, Picasa and many
 * photo libraries write, and read back. Newer tools write the same in XMP (`xmp.ts`), but a photo
 * described by an older one has only this, and lost it in every result until session 38. Byte
 * work only, no platform: Node's writers and the browser page share it.
 *
 * IIM is a list of datasets: 0x1C, a record number, a dataset number, a 2-byte length, the value.
 * `cleanIptc` keeps the envelope (record 1: among others the character set, 1:90) and the
 * application record (record 2: what describes the photo), without its object preview (2:200 to
 * 2:202: a small copy of the photo before the fill, as EXIF's thumbnail is) and without the records
 * that hold image data or its parameters (3 and up). A record that does not parse is dropped whole.
 *
 * Where it is stored: in a JPEG, an APP13 segment ("Photoshop 3.0") of Photoshop image resources,
 * resource 0x0404; in a TIFF, the first IFD's IPTC-NAA tag (33723). PNG, WebP and HEIF have no
 * place for it that readers agree on: their results carry the photo's XMP, which for a photo
 * described in IIM alone is made from the record (`iptcAsXmp`).
 */
import { afterJpegAppHeaders, ascii, concatBytes, containerOf, jpegSegments } from './bytes.ts';
import { tiffIptc, tiffWithIptc } from './exif.ts';
import { isTiff } from './tiff.ts';

/** IPTC-IIM datasets, as stored in a TIFF's IPTC-NAA tag or Photoshop's resource 0x0404. */
export type IptcBlock = Uint8Array;

const PHOTOSHOP = 'Photoshop 3.0\0';
const IPTC_RESOURCE = 0x0404;
/** The object preview's datasets: its file format, its version, its data. */
const PREVIEW = new Set([200, 201, 202]);

/**
 * The datasets worth keeping (see the module comment) of an IIM record, given as the datasets
 * themselves, as Photoshop image resources, or as a JPEG's APP13 content (which is what sharp's
 * `metadata().iptc` gives); undefined when it does not parse or holds nothing that describes the
 * photo.
 */
export function cleanIptc(data: Uint8Array): IptcBlock | undefined {
  const iim = ascii(data, 0, PHOTOSHOP.length) === PHOTOSHOP ? resource(data.subarray(PHOTOSHOP.length), IPTC_RESOURCE) : ascii(data, 0, 4) === '8BIM' ? resource(data, IPTC_RESOURCE) : data;
  if (!iim) return undefined;
  const kept: Uint8Array[] = [];
  let describes = false;
  let at = 0;
  while (at < iim.length) {
    if (iim[at] !== 0x1c) {
      // Writers pad the record with zeros to an even or 4-byte length: anything else is damage.
      if (iim.subarray(at).every((b) => b === 0)) break;
      return undefined;
    }
    if (at + 5 > iim.length) return undefined;
    const record = iim[at + 1];
    const dataset = iim[at + 2];
    let length = (iim[at + 3] << 8) | iim[at + 4];
    let start = at + 5;
    const extended = (length & 0x8000) !== 0;
    if (extended) {
      // An extended dataset: the length's own length, then the length (only object data uses it).
      const n = length & 0x7fff;
      if (n < 1 || n > 4 || start + n > iim.length) return undefined;
      length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + iim[start + k];
      start += n;
    }
    const end = start + length;
    if (end > iim.length) return undefined;
    if (!extended && (record === 1 || (record === 2 && !PREVIEW.has(dataset)))) {
      kept.push(iim.subarray(at, end));
      // The record's version (2:0) and the envelope alone describe nothing.
      if (record === 2 && dataset !== 0) describes = true;
    }
    at = end;
  }
  return describes ? concatBytes(kept) : undefined;
}

/** The content of Photoshop image resource `id` among `resources` ("8BIM" blocks), or undefined. */
function resource(resources: Uint8Array, id: number): Uint8Array | undefined {
  let at = 0;
  while (at + 12 <= resources.length && ascii(resources, at, 4) === '8BIM') {
    const type = (resources[at + 4] << 8) | resources[at + 5];
    // A Pascal string (its length byte first), padded to an even size.
    const nameSize = resources[at + 6] + 1;
    const sizeAt = at + 6 + nameSize + (nameSize % 2);
    if (sizeAt + 4 > resources.length) return undefined;
    const size = ((resources[sizeAt] << 24) | (resources[sizeAt + 1] << 16) | (resources[sizeAt + 2] << 8) | resources[sizeAt + 3]) >>> 0;
    const start = sizeAt + 4;
    if (start + size > resources.length) return undefined;
    if (type === id) return resources.subarray(start, start + size);
    at = start + size + (size % 2);
  }
  return undefined;
}

/**
 * The IIM record of an encoded JPEG (its APP13 segments' Photoshop resource 0x0404) or TIFF (its
 * IPTC-NAA tag), as stored, or undefined; `cleanIptc` makes it fit to keep. The page's way in;
 * Node reads it through sharp (`readMetadata`).
 */
export function iptcOf(bytes: Uint8Array): Uint8Array | undefined {
  if (isTiff(bytes)) return tiffIptc(bytes);
  if (containerOf(bytes) !== 'jpeg') return undefined;
  // Photoshop splits resources larger than a segment over several APP13 segments: joined here.
  const parts: Uint8Array[] = [];
  for (const { marker, data } of jpegSegments(bytes)) {
    if (marker === 0xed && ascii(data, 0, PHOTOSHOP.length) === PHOTOSHOP) parts.push(data.subarray(PHOTOSHOP.length));
  }
  return parts.length > 0 ? resource(concatBytes(parts), IPTC_RESOURCE) : undefined;
}

/** The formats `withIptc` writes an IIM record into. */
export type IptcFormat = 'jpeg' | 'tiff';

/**
 * An encoded JPEG or TIFF with `block` (from `cleanIptc`) stored where readers look for it: a
 * JPEG's APP13 segment after its APP0 and APP1 headers (JFIF, EXIF, XMP), a TIFF's IPTC-NAA tag.
 * Returns the image unchanged when it already has a record, or the block is too large for a JPEG
 * segment (64 kB).
 */
export function withIptc(encoded: Uint8Array, format: IptcFormat, block: IptcBlock): Uint8Array {
  if (iptcOf(encoded)) return encoded;
  if (format === 'tiff') return tiffWithIptc(encoded, block);
  const padded = block.length % 2;
  // One resource, 0x0404, with an empty name (its length byte and a pad byte).
  const resourceBytes = concatBytes([new TextEncoder().encode('8BIM'), Uint8Array.of(0x04, 0x04, 0, 0), u32beBytes(block.length), block, new Uint8Array(padded)]);
  const length = 2 + PHOTOSHOP.length + resourceBytes.length;
  if (length > 0xffff) return encoded;
  const at = afterJpegAppHeaders(encoded);
  return concatBytes([encoded.subarray(0, at), Uint8Array.of(0xff, 0xed, length >>> 8, length & 0xff), new TextEncoder().encode(PHOTOSHOP), resourceBytes, encoded.subarray(at)]);
}

const u32beBytes = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

/** IIM's application-record datasets and the XMP properties the IPTC Photo Metadata standard maps them to. */
const AS_XMP: ReadonlyMap<number, { ns: 'dc' | 'photoshop' | 'Iptc4xmpCore'; name: string; kind: 'alt' | 'bag' | 'seq' | 'text' | 'date' }> = new Map([
  [5, { ns: 'dc', name: 'title', kind: 'alt' }],
  [120, { ns: 'dc', name: 'description', kind: 'alt' }],
  [25, { ns: 'dc', name: 'subject', kind: 'bag' }],
  [80, { ns: 'dc', name: 'creator', kind: 'seq' }],
  [116, { ns: 'dc', name: 'rights', kind: 'alt' }],
  [105, { ns: 'photoshop', name: 'Headline', kind: 'text' }],
  [110, { ns: 'photoshop', name: 'Credit', kind: 'text' }],
  [115, { ns: 'photoshop', name: 'Source', kind: 'text' }],
  [90, { ns: 'photoshop', name: 'City', kind: 'text' }],
  [95, { ns: 'photoshop', name: 'State', kind: 'text' }],
  [101, { ns: 'photoshop', name: 'Country', kind: 'text' }],
  [40, { ns: 'photoshop', name: 'Instructions', kind: 'text' }],
  [122, { ns: 'photoshop', name: 'CaptionWriter', kind: 'text' }],
  [85, { ns: 'photoshop', name: 'AuthorsPosition', kind: 'text' }],
  [55, { ns: 'photoshop', name: 'DateCreated', kind: 'date' }],
  [92, { ns: 'Iptc4xmpCore', name: 'Location', kind: 'text' }],
  [100, { ns: 'Iptc4xmpCore', name: 'CountryCode', kind: 'text' }],
]);

const NAMESPACES = { dc: 'http://purl.org/dc/elements/1.1/', photoshop: 'http://ns.adobe.com/photoshop/1.0/', Iptc4xmpCore: 'http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/' };

const escapeXml = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * An XMP packet saying what an IIM record (from `cleanIptc`) says, by the IPTC Photo Metadata
 * standard's mapping (the caption as dc:description, the keywords as dc:subject, the byline as
 * dc:creator, the city as photoshop:City, …), for a photo with IPTC and no XMP: so that a PNG or
 * WebP result, which has no place for IIM, keeps its description. The text is UTF-8 where the
 * envelope says so (1:90), else Latin-1, as IIM's writers meant. Undefined when nothing maps.
 */
export function iptcAsXmp(block: IptcBlock): string | undefined {
  const values = new Map<number, Uint8Array[]>();
  let utf8 = false;
  for (let at = 0; at + 5 <= block.length; ) {
    const record = block[at + 1];
    const dataset = block[at + 2];
    const length = (block[at + 3] << 8) | block[at + 4];
    const value = block.subarray(at + 5, at + 5 + length);
    if (record === 1 && dataset === 90) utf8 = ascii(value, 0, value.length) === '\x1b%G';
    if (record === 2 && AS_XMP.has(dataset)) values.set(dataset, [...(values.get(dataset) ?? []), value]);
    at += 5 + length;
  }
  const decoder = new TextDecoder(utf8 ? 'utf-8' : 'latin1');
  const properties: string[] = [];
  const used = new Set<string>();
  for (const [dataset, { ns, name, kind }] of AS_XMP) {
    const texts = (values.get(dataset) ?? []).map((v) => decoder.decode(v).replace(/\0+$/, '').trim()).filter((t) => t !== '');
    if (texts.length === 0) continue;
    used.add(ns);
    const tag = `${ns}:${name}`;
    const items = (container: string, attr = '') => `<${tag}><rdf:${container}>${texts.map((t) => `<rdf:li${attr}>${escapeXml(t)}</rdf:li>`).join('')}</rdf:${container}></${tag}>`;
    if (kind === 'alt') properties.push(`<${tag}><rdf:Alt><rdf:li xml:lang="x-default">${escapeXml(texts.join(' '))}</rdf:li></rdf:Alt></${tag}>`);
    else if (kind === 'bag') properties.push(items('Bag'));
    else if (kind === 'seq') properties.push(items('Seq'));
    else if (kind === 'date') {
      // CCYYMMDD, as IIM writes it; anything else is not a date to keep.
      const m = /^(\d{4})(\d{2})(\d{2})$/.exec(texts[0]);
      if (m) properties.push(`<${tag}>${m[1]}-${m[2]}-${m[3]}</${tag}>`);
    } else properties.push(`<${tag}>${escapeXml(texts[0])}</${tag}>`);
  }
  if (properties.length === 0) return undefined;
  const xmlns = [...used].map((ns) => `xmlns:${ns}="${NAMESPACES[ns as keyof typeof NAMESPACES]}"`).join(' ');
  return (
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
    `<rdf:Description rdf:about="" ${xmlns}>${properties.join('')}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
  );
}
