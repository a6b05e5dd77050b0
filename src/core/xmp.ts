/**
 * A photo's XMP carried into its filled copy: what describes the photo (its title, caption,
 * keywords, creator, copyright and licence, rating, the place and the date it shows) stays with it,
 * as photo editors keep it. Lightroom, Photoshop, digiKam and photo agencies write these into XMP
 * (and the IPTC fields the same programs mirror there). Text work only, no platform.
 *
 * XMP also holds what must not follow a filled copy, so `cleanXmp` keeps only the properties it
 * names (`KEPT`), never "all but the known dangers". Among what is left out:
 * - pictures of the photo before the fill: xmp:Thumbnails, the original image and depth map of a
 *   phone's portrait (Google's GImage and GDepth), gain maps (hdrgm);
 * - regions of faces with the names of the people in them (mwg-rs, MP), Iptc4xmpExt:PersonInImage;
 * - what described the old pixels: tiff:Orientation (the copy is written upright), their sizes,
 *   dc:format, photoshop:ICCProfile, Iptc4xmpExt:DigitalSourceType (a filled photo is no longer
 *   a plain capture);
 * - Camera Raw's develop settings (crs), which Lightroom and Photoshop would apply again to
 *   pixels already developed;
 * - the edit history and document ids (xmpMM), and the EXIF and TIFF tags mirrored in XMP (the
 *   EXIF itself is carried, cleaned, by exif.ts).
 * A packet that does not parse is dropped whole, never written half.
 *
 * `xmpOf` and `withXmp` read and store a packet in JPEG, PNG and WebP bytes, for the page's
 * downloads; Node reads and writes every format through sharp (`readMetadata`, `writeImage`).
 */
import { afterJpegAppHeaders, ascii, concatBytes, containerOf, inflate, jpegSegments, pngChunk, pngChunks, riffChunks, u32be } from './bytes.ts';
import { heifXmp } from './heif.ts';
import { tiffXmp } from './tiff.ts';

const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

/** The properties kept, by namespace: their local names, or every property of the namespace. */
const KEPT: ReadonlyMap<string, ReadonlySet<string> | 'all'> = new Map<string, ReadonlySet<string> | 'all'>([
  ['http://purl.org/dc/elements/1.1/', new Set(['title', 'description', 'creator', 'rights', 'subject', 'contributor', 'publisher', 'coverage'])],
  ['http://ns.adobe.com/xap/1.0/', new Set(['Rating', 'Label', 'CreateDate'])],
  ['http://ns.adobe.com/xap/1.0/rights/', 'all'],
  [
    'http://ns.adobe.com/photoshop/1.0/',
    new Set(['Headline', 'Credit', 'Source', 'City', 'State', 'Country', 'DateCreated', 'Instructions', 'TransmissionReference', 'AuthorsPosition', 'CaptionWriter', 'Category', 'SupplementalCategories', 'Urgency']),
  ],
  ['http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/', 'all'],
  ['http://iptc.org/std/Iptc4xmpExt/2008-02-29/', new Set(['LocationCreated', 'LocationShown', 'Event'])],
  ['http://ns.adobe.com/lightroom/1.0/', new Set(['hierarchicalSubject'])],
  ['http://ns.useplus.org/ldf/xmp/1.0/', 'all'],
]);

const isKept = (uri: string | undefined, local: string): boolean => {
  const kept = uri === undefined ? undefined : KEPT.get(uri);
  return kept === 'all' || (kept !== undefined && kept.has(local));
};

/** An element of the packet: its name and attributes as written, and where it lies in the text. */
interface XmlElement {
  name: string;
  /** [name, the attribute as written: name="value"] */
  attrs: [string, string][];
  values: Map<string, string>;
  children: XmlElement[];
  start: number;
  end: number;
}

/**
 * The elements of an XML document (a forest: an XMP packet has one root), with their places in
 * `text`. Comments, processing instructions (the xpacket wrapper), CDATA and text are skipped.
 * @throws Error when the text is not well formed, or declares a DOCTYPE (entities are not read)
 */
function parseXml(text: string): XmlElement[] {
  const roots: XmlElement[] = [];
  const open: XmlElement[] = [];
  const skip = (from: number, end: string) => {
    const at = text.indexOf(end, from);
    if (at < 0) throw new Error(`no ${end}`);
    return at + end.length;
  };
  let at = 0;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    if (lt < 0) break;
    if (text.startsWith('<?', lt)) at = skip(lt, '?>');
    else if (text.startsWith('<!--', lt)) at = skip(lt, '-->');
    else if (text.startsWith('<![CDATA[', lt)) at = skip(lt, ']]>');
    else if (text.startsWith('<!', lt)) throw new Error('a DOCTYPE');
    else if (text.startsWith('</', lt)) {
      const gt = skip(lt, '>');
      const name = text.slice(lt + 2, gt - 1).trim();
      const element = open.pop();
      if (!element || element.name !== name) throw new Error(`</${name}> closes nothing`);
      element.end = gt;
      at = gt;
    } else {
      const tag = /^<([^\s/>]+)/.exec(text.slice(lt, lt + 300));
      if (!tag) throw new Error('a bad tag');
      const element: XmlElement = { name: tag[1], attrs: [], values: new Map(), children: [], start: lt, end: -1 };
      const attr = /\s*([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')|\s*(\/?>)/y;
      attr.lastIndex = lt + tag[0].length;
      for (;;) {
        const m = attr.exec(text);
        if (!m) throw new Error(`a bad attribute in <${element.name}>`);
        if (m[3] !== undefined) {
          at = attr.lastIndex;
          if (m[3] === '/>') element.end = at;
          break;
        }
        element.attrs.push([m[1], `${m[1]}=${m[2]}`]);
        element.values.set(m[1], m[2].slice(1, -1));
      }
      (open.at(-1)?.children ?? roots).push(element);
      if (element.end < 0) open.push(element);
    }
  }
  if (open.length > 0) throw new Error(`<${open.at(-1)!.name}> is not closed`);
  return roots;
}

/** A name's namespace (from `scope`: prefix -> URI) and local part. */
function resolve(name: string, scope: ReadonlyMap<string, string>): { uri: string | undefined; local: string } {
  const colon = name.indexOf(':');
  return colon < 0 ? { uri: scope.get(''), local: name } : { uri: scope.get(name.slice(0, colon)), local: name.slice(colon + 1) };
}

/** The prefix of a name (of an attribute as written too), '' for none. */
const prefixOf = (name: string): string => {
  const colon = name.search(/[:=]/);
  return colon < 0 || name[colon] === '=' ? '' : name.slice(0, colon);
};

/** The prefixes of `element`'s name, its attributes' and its descendants'. */
const prefixesIn = (element: XmlElement): string[] => [prefixOf(element.name), ...element.attrs.map(([name]) => prefixOf(name)), ...element.children.flatMap(prefixesIn)];

/** `scope` with the namespaces `element` declares. */
function scopeOf(element: XmlElement, scope: ReadonlyMap<string, string>): Map<string, string> {
  const inner = new Map(scope);
  for (const [name, value] of element.values) {
    if (name === 'xmlns') inner.set('', value);
    else if (name.startsWith('xmlns:')) inner.set(name.slice(6), value);
  }
  return inner;
}

/**
 * The photo's XMP packet made fit for its filled copy: a new packet holding only the properties the
 * module comment names; undefined when it holds none of them.
 * @throws Error when the packet is not well-formed XML
 */
export function cleanXmp(packet: string): string | undefined {
  const roots = parseXml(packet);
  const descriptions: string[] = [];
  const visit = (element: XmlElement, outer: ReadonlyMap<string, string>, inRdf: boolean) => {
    const scope = scopeOf(element, outer);
    const { uri, local } = resolve(element.name, scope);
    if (inRdf && uri === RDF && local === 'Description') {
      const properties = element.attrs
        .filter(([name]) => {
          const { uri: ns, local: property } = resolve(name, scope);
          return !name.startsWith('xmlns') && isKept(ns, property);
        })
        .map(([, written]) => written);
      const children = element.children.filter((child) => {
        const { uri: childUri, local: childLocal } = resolve(child.name, scopeOf(child, scope));
        return isKept(childUri, childLocal);
      });
      if (properties.length === 0 && children.length === 0) return;
      // The namespaces what is kept uses, declared again on the new description.
      const used = new Set([prefixOf(element.name), ...properties.map(prefixOf), ...children.flatMap(prefixesIn)]);
      const declared = [...scope].filter(([prefix]) => prefix !== 'xml' && used.has(prefix)).map(([prefix, ns]) => `${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${ns.replace(/"/g, '&quot;')}"`);
      const attrs = [...declared, `${resolvePrefix(scope, RDF)}:about=""`, ...properties].join(' ');
      descriptions.push(`<${element.name} ${attrs}>${children.map((c) => packet.slice(c.start, c.end)).join('')}</${element.name}>`);
      return;
    }
    const rdf = inRdf || (uri === RDF && local === 'RDF');
    for (const child of element.children) visit(child, scope, rdf);
  };
  for (const root of roots) visit(root, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), false);
  if (descriptions.length === 0) return undefined;
  return (
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="${RDF}">${descriptions.join('')}</rdf:RDF></x:xmpmeta>` +
    '<?xpacket end="w"?>'
  );
}

/** The prefix `scope` binds to `uri` (an rdf:Description's own name says it is bound). */
function resolvePrefix(scope: ReadonlyMap<string, string>, uri: string): string {
  for (const [prefix, ns] of scope) if (ns === uri && prefix !== '') return prefix;
  return 'rdf';
}

/** The APP1 segment of a JPEG's XMP starts with this namespace, zero-terminated. */
const JPEG_XMP = 'http://ns.adobe.com/xap/1.0/\0';
/** The keyword of a PNG's XMP chunk (iTXt). */
const PNG_XMP = 'XML:com.adobe.xmp';

const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * The XMP packet of an encoded JPEG, PNG (an iTXt chunk, or the zTXt chunk libvips writes), WebP,
 * HEIF (HEIC, AVIF: its application/rdf+xml item) or TIFF (tag 700), as text; undefined when it has
 * none, or is another format.
 */
export async function xmpOf(bytes: Uint8Array): Promise<string | undefined> {
  const format = containerOf(bytes);
  if (format === 'jpeg') {
    for (const { marker, data } of jpegSegments(bytes)) if (marker === 0xe1 && ascii(data, 0, JPEG_XMP.length) === JPEG_XMP) return utf8(data.subarray(JPEG_XMP.length));
  } else if (format === 'png') {
    const start = PNG_XMP.length + 1; // after the keyword and its zero
    for (const { type, data } of pngChunks(bytes)) {
      if (ascii(data, 0, start) !== `${PNG_XMP}\0`) continue;
      // zTXt: the compression method, then the text compressed.
      if (type === 'zTXt') return utf8(await inflate(data.subarray(start + 1)));
      if (type !== 'iTXt') continue;
      // iTXt: compressed or not, the method, a language tag and a translated keyword (each zero-terminated), the text.
      let text = start + 2;
      for (let nul = 0; nul < 2 && text > 0; nul++) text = data.indexOf(0, text) + 1;
      if (text === 0) return undefined;
      return utf8(data[start] === 1 ? await inflate(data.subarray(text)) : data.subarray(text));
    }
  } else if (format === 'webp') {
    for (const { type, data } of riffChunks(bytes)) if (type === 'XMP ') return utf8(data);
  } else if (format === 'heif') {
    const packet = heifXmp(bytes);
    return packet && utf8(packet);
  } else {
    const packet = tiffXmp(bytes);
    return packet && utf8(packet);
  }
  return undefined;
}

/**
 * An encoded JPEG or PNG with `packet` stored in it: a JPEG's APP1 segment after its other APP0
 * and APP1 segments (JFIF, EXIF), a PNG's uncompressed iTXt chunk after IHDR. Returns the image
 * unchanged when it already has XMP or the packet is too large for a JPEG segment (64 kB).
 */
export async function withXmp(encoded: Uint8Array, format: 'jpeg' | 'png', packet: string): Promise<Uint8Array> {
  if ((await xmpOf(encoded)) !== undefined) return encoded;
  const text = new TextEncoder().encode(packet);
  if (format === 'jpeg') {
    const length = 2 + JPEG_XMP.length + text.length;
    if (length > 0xffff) return encoded;
    const at = afterJpegAppHeaders(encoded);
    const header = Uint8Array.from(JPEG_XMP, (c) => c.charCodeAt(0));
    return concatBytes([encoded.subarray(0, at), Uint8Array.of(0xff, 0xe1, length >>> 8, length & 0xff), header, text, encoded.subarray(at)]);
  }
  const ihdrEnd = 8 + 12 + u32be(encoded, 8);
  const keyword = Uint8Array.from(`${PNG_XMP}\0\0\0\0\0`, (c) => c.charCodeAt(0));
  return concatBytes([encoded.subarray(0, ihdrEnd), pngChunk('iTXt', concatBytes([keyword, text])), encoded.subarray(ihdrEnd)]);
}
