import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { concatBytes } from './bytes.ts';
import { cleanIptc, iptcAsXmp, iptcOf, withIptc } from './iptc.ts';
import { Rng } from './random.ts';
import { cleanXmp } from './xmp.ts';

/** One IIM dataset: record, dataset number, value. */
function dataset(record: number, number: number, value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  return Uint8Array.from([0x1c, record, number, bytes.length >> 8, bytes.length & 0xff, ...bytes]);
}

/** Photoshop image resources ("8BIM" blocks), each with a name (a Pascal string padded to even) and its content padded to even. */
function resources(...blocks: [number, string, Uint8Array][]): Uint8Array {
  return concatBytes(
    blocks.map(([id, name, data]) => {
      const nameBytes = Uint8Array.from([name.length, ...new TextEncoder().encode(name)]);
      const size = Uint8Array.of(data.length >>> 24, (data.length >>> 16) & 0xff, (data.length >>> 8) & 0xff, data.length & 0xff);
      return concatBytes([new TextEncoder().encode('8BIM'), Uint8Array.of(id >> 8, id & 0xff), nameBytes, new Uint8Array(nameBytes.length % 2), size, data, new Uint8Array(data.length % 2)]);
    }),
  );
}

/** A JPEG with APP13 segments of `contents` after its JFIF header. */
async function jpegWithApp13(...contents: Uint8Array[]): Promise<Uint8Array> {
  const jpeg = new Uint8Array(await sharp({ create: { width: 16, height: 12, channels: 3, background: '#468' } }).jpeg().toBuffer());
  const at = 4 + ((jpeg[4] << 8) | jpeg[5]);
  const segments = contents.map((c) => concatBytes([Uint8Array.of(0xff, 0xed, (c.length + 2) >> 8, (c.length + 2) & 0xff), c]));
  return concatBytes([jpeg.subarray(0, at), ...segments, jpeg.subarray(at)]);
}

const PHOTOSHOP = new TextEncoder().encode('Photoshop 3.0\0');

const CAPTION = dataset(2, 120, 'Two swimmers at Cold Water beach, July 2009');
const KEYWORDS = [dataset(2, 25, 'beach'), dataset(2, 25, 'sea'), dataset(2, 25, 'Ærø')];
const CHARSET = dataset(1, 90, '\x1b%G');
const VERSION = dataset(2, 0, Uint8Array.of(0, 4));
const DESCRIBING = concatBytes([CHARSET, VERSION, CAPTION, ...KEYWORDS, dataset(2, 80, 'A. Photographer'), dataset(2, 116, '© 2009')]);

describe('cleanIptc', () => {
  it('keeps the envelope and the application record, without the object preview and the image records', () => {
    const record = concatBytes([DESCRIBING, dataset(2, 200, Uint8Array.of(0, 11)), dataset(2, 202, new Uint8Array(300).fill(0xd8)), dataset(3, 60, 'x'), dataset(8, 10, new Uint8Array(50))]);
    assert.deepEqual(cleanIptc(record), DESCRIBING);
  });

  it('reads it from Photoshop resources or a JPEG APP13 content, past other resources (the thumbnail)', () => {
    const irb = resources([0x040c, '', new Uint8Array(101).fill(7)], [0x0404, 'IPTC', DESCRIBING], [0x03ed, '', new Uint8Array(16)]);
    assert.deepEqual(cleanIptc(irb), DESCRIBING);
    assert.deepEqual(cleanIptc(concatBytes([PHOTOSHOP, irb])), DESCRIBING);
  });

  it('gives nothing for a record that describes nothing, or does not parse', () => {
    assert.equal(cleanIptc(concatBytes([CHARSET, VERSION])), undefined);
    assert.equal(cleanIptc(CAPTION.subarray(0, CAPTION.length - 3)), undefined, 'a value cut short');
    assert.equal(cleanIptc(concatBytes([CAPTION, Uint8Array.of(0x1d, 2, 25, 0, 1, 65)])), undefined, 'no tag marker');
    assert.deepEqual(cleanIptc(concatBytes([CAPTION, new Uint8Array(3)])), CAPTION, 'zero padding at the end is no damage');
    assert.equal(cleanIptc(resources([0x040c, '', new Uint8Array(10)])), undefined, 'no IPTC resource');
  });

  it('never throws on damaged records and resources', () => {
    const rng = new Rng(5);
    const good = concatBytes([PHOTOSHOP, resources([0x0404, '', DESCRIBING])]);
    for (let trial = 0; trial < 300; trial++) {
      const bytes = good.slice(0, rng.int(0, good.length));
      for (let k = 0; k < 3; k++) if (bytes.length > 0) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
      const out = cleanIptc(bytes);
      assert.ok(out === undefined || out instanceof Uint8Array);
    }
  });
});

describe('iptcOf and withIptc', () => {
  it('write a JPEG record that libvips reads back, after the EXIF and XMP headers, the pixels untouched', async () => {
    const jpeg = new Uint8Array(await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c84' } }).withExif({ IFD0: { Artist: 'A. Photographer' } }).jpeg().toBuffer());
    const written = withIptc(jpeg, 'jpeg', DESCRIBING);
    assert.deepEqual(iptcOf(written), DESCRIBING);
    const meta = await sharp(written).metadata();
    assert.ok(meta.iptc && meta.exif, 'libvips finds the IPTC and still the EXIF');
    assert.deepEqual(cleanIptc(new Uint8Array(meta.iptc)), DESCRIBING);
    assert.deepEqual(await sharp(written).raw().toBuffer(), await sharp(jpeg).raw().toBuffer());
    assert.equal(withIptc(written, 'jpeg', CAPTION), written, 'a JPEG with a record is left as it is');
  });

  it('read a JPEG whose resources span two APP13 segments', async () => {
    const irb = resources([0x0404, '', DESCRIBING]);
    const two = await jpegWithApp13(concatBytes([PHOTOSHOP, irb.subarray(0, 30)]), concatBytes([PHOTOSHOP, irb.subarray(30)]));
    assert.deepEqual(iptcOf(two), DESCRIBING);
  });

  it('write a TIFF record (the IPTC-NAA tag) that libvips reads back, the pixels untouched', async () => {
    const tiff = new Uint8Array(await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c84' } }).tiff({ compression: 'deflate' }).toBuffer());
    const written = withIptc(tiff, 'tiff', DESCRIBING);
    assert.deepEqual(iptcOf(written), DESCRIBING);
    assert.deepEqual(cleanIptc(new Uint8Array((await sharp(written).metadata()).iptc!)), DESCRIBING);
    assert.deepEqual(await sharp(written).raw().toBuffer(), await sharp(tiff).raw().toBuffer());
  });

  it('find none in a PNG, or a JPEG without one', async () => {
    assert.equal(iptcOf(new Uint8Array(await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer())), undefined);
    assert.equal(iptcOf(await jpegWithApp13(concatBytes([PHOTOSHOP, resources([0x040c, '', new Uint8Array(8)])]))), undefined);
  });
});

describe('iptcAsXmp', () => {
  it('says in XMP what the record says, by the IPTC mapping, in UTF-8 where the envelope says so', () => {
    const record = concatBytes([CHARSET, VERSION, CAPTION, ...KEYWORDS, dataset(2, 80, 'A. Photographer'), dataset(2, 116, '© 2009'), dataset(2, 90, 'Ærøskøbing <old town> & harbour'), dataset(2, 55, '20090714'), dataset(2, 15, 'unmapped')]);
    const xmp = iptcAsXmp(record)!;
    // cleanXmp keeps all of it: well formed, and only what describes the photo.
    assert.equal(cleanXmp(xmp) !== undefined, true);
    for (const part of [
      '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Two swimmers at Cold Water beach, July 2009</rdf:li></rdf:Alt></dc:description>',
      '<dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sea</rdf:li><rdf:li>Ærø</rdf:li></rdf:Bag></dc:subject>',
      '<dc:creator><rdf:Seq><rdf:li>A. Photographer</rdf:li></rdf:Seq></dc:creator>',
      '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2009</rdf:li></rdf:Alt></dc:rights>',
      '<photoshop:City>Ærøskøbing &lt;old town&gt; &amp; harbour</photoshop:City>',
      '<photoshop:DateCreated>2009-07-14</photoshop:DateCreated>',
    ]) {
      assert.ok(xmp.includes(part), `${part} in ${xmp}`);
      assert.ok(cleanXmp(xmp)!.includes(part), `${part} kept by cleanXmp`);
    }
    assert.ok(!xmp.includes('unmapped'));
  });

  it('reads Latin-1 where the envelope names no character set, and gives nothing where nothing maps', () => {
    const latin1 = Uint8Array.from([0x1c, 2, 120, 0, 4, 0x43, 0x61, 0x66, 0xe9]); // "Café" in Latin-1
    assert.ok(iptcAsXmp(latin1)!.includes('>Café</rdf:li>'));
    assert.equal(iptcAsXmp(concatBytes([CHARSET, VERSION, dataset(2, 15, 'unmapped')])), undefined);
  });
});
