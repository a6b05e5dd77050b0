import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { TEST_XMP } from '../inference/testing.ts';
import { cleanExif, exifOf, withExif } from './exif.ts';
import { cleanXmp, withXmp, xmpOf } from './xmp.ts';

const wrap = (description: string) =>
  `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">${description}</rdf:RDF></x:xmpmeta>`;

describe('cleanXmp', () => {
  test("keeps what describes the photo, as written, and nothing that shows or describes the old pixels", () => {
    const clean = cleanXmp(TEST_XMP)!;
    for (const kept of [
      '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">A day at the beach</rdf:li></rdf:Alt></dc:title>',
      '<dc:creator><rdf:Seq><rdf:li>Ana Photographer</rdf:li></rdf:Seq></dc:creator>',
      '<rdf:li xml:lang="x-default">© 2026 Ana</rdf:li>',
      '<rdf:li>beach</rdf:li><rdf:li>sea</rdf:li>',
      'xmp:Rating="5"',
      "photoshop:City='Lisbon &amp; around'",
      '<Iptc4xmpCore:CiEmailWork>ana@example.org</Iptc4xmpCore:CiEmailWork>',
    ]) {
      assert.ok(clean.includes(kept), kept);
    }
    for (const dropped of ['SECRET', 'Orientation', 'crs:', 'dc:format', 'xmp.did', 'Thumbnails', 'mwg-rs', 'GImage', 'tiff:']) assert.ok(!clean.includes(dropped), dropped);
    assert.ok(clean.startsWith('<?xpacket begin="\uFEFF"') && clean.endsWith('<?xpacket end="w"?>'), 'a packet');
    // What it writes reads back the same: well formed, every prefix declared where it is used.
    assert.equal(cleanXmp(clean), clean);
  });

  test('namespaces decide, not prefixes: any prefix for a kept namespace, none for a prefix bound elsewhere; the default namespace too', () => {
    const clean = cleanXmp(
      wrap(
        '<rdf:Description rdf:about="" xmlns:d="http://purl.org/dc/elements/1.1/" xmlns:dc="http://example.org/not-dublin-core/">' +
          '<d:title><rdf:Alt><rdf:li xml:lang="x-default">kept</rdf:li></rdf:Alt></d:title><dc:title>dropped</dc:title></rdf:Description>' +
          '<Description xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Label="Red"/>',
      ),
    )!;
    assert.ok(clean.includes('<d:title>') && clean.includes('xmlns:d="http://purl.org/dc/elements/1.1/"'), clean);
    assert.ok(!clean.includes('dropped') && !clean.includes('not-dublin-core'), clean);
    assert.ok(clean.includes('<Description xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:xmp="http://ns.adobe.com/xap/1.0/" rdf:about="" xmp:Label="Red"></Description>'), clean);
    assert.equal(cleanXmp(clean), clean);
  });

  test('nothing to keep gives undefined; what is not well formed, or declares a DOCTYPE, throws', () => {
    assert.equal(cleanXmp(wrap('<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+1.00"/>')), undefined);
    assert.equal(cleanXmp(''), undefined);
    for (const bad of ['<x:xmpmeta><rdf:RDF>', '<a></b>', '<a b=c/>', '<!DOCTYPE x [<!ENTITY e "boom">]><a>&e;</a>', '<a><!-- open']) assert.throws(() => cleanXmp(bad), Error, bad);
  });
});

describe('xmpOf and withXmp (the page\'s downloads)', () => {
  const packet = cleanXmp(TEST_XMP)!;
  const grey = () => sharp({ create: { width: 12, height: 8, channels: 3, background: '#808080' } });

  test('read what sharp (libvips) writes in JPEG, PNG (compressed), WebP, AVIF (a HEIF item) and TIFF; nothing from an image without XMP', async () => {
    for (const format of ['jpeg', 'png', 'webp', 'avif', 'tiff'] as const) {
      assert.equal(await xmpOf(await grey().withXmp(packet).toFormat(format).toBuffer()), packet, format);
      assert.equal(await xmpOf(await grey().toFormat(format).toBuffer()), undefined, format);
    }
  });

  test('store a packet that sharp reads back, after the EXIF; once', async () => {
    const camera = exifOf(await grey().withExif({ IFD0: { Make: 'Acme' } }).jpeg().toBuffer())!;
    for (const format of ['jpeg', 'png'] as const) {
      const plain = new Uint8Array(await grey().toFormat(format).toBuffer());
      const stored = await withXmp(withExif(plain, format, cleanExif(camera, 12, 8)!, 12, 8), format, packet);
      const meta = await sharp(stored).metadata();
      assert.equal(meta.xmp?.toString('utf8'), packet, format);
      assert.equal(exifReader(meta.exif!).Image?.Make, 'Acme', format);
      assert.deepEqual([meta.width, meta.height], [12, 8]);
      assert.equal(await withXmp(stored, format, 'another'), stored, 'an image with XMP is left as it is');
      assert.equal(await xmpOf(stored), packet);
    }
  });
});
