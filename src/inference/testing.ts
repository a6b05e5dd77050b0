/**
 * Helpers for the inference tests and the benchmark: a model bundle with randomly initialised
 * networks (the pipeline's geometry, blending and error handling do not depend on trained weights),
 * and the VGG weights file the tests use.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { pngWithProfile } from '../core/bytes.ts';
import type { Box, MaskImage, RawPixels } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { mergeStores, writeBundle } from '../models/bundle.ts';
import { type ModelPreset, resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { initNetwork } from '../nn/params.ts';
import { VGG_SHA256 } from '../features/vgg-weights.ts';

/** The shared copy of the VGG weights (tests must fail, not skip, when it is missing). */
export const TEST_VGG_WEIGHTS = fileURLToPath(new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url));

/** A 64x48 HEIC photo (HEVC: red, green / blue, white quadrants; EXIF Make 'Acme', Model 'iPhone 99'), made with libheif's heif-enc. */
export const TEST_HEIC = fileURLToPath(new URL('../../test/fixtures/hevc-64x48.heic', import.meta.url));

/** The same quadrants converted to Display P3, the profile embedded (as an iPhone's photos are). */
export const TEST_HEIC_P3 = fileURLToPath(new URL('../../test/fixtures/hevc-p3-64x48.heic', import.meta.url));

/** sharp's Display P3 profile, as an iPhone's photos carry it. */
export async function displayP3Profile(): Promise<Uint8Array> {
  const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).withIccProfile('p3').png().toBuffer();
  return new Uint8Array((await sharp(tagged).metadata()).icc!);
}

/**
 * A photo whose pixels are `rgb` (8-bit, interleaved) as stored, in Display P3 with its profile
 * embedded: the colours sRGB cannot show that a phone's photo holds. A JPEG's pixels are `rgb`
 * up to its compression.
 */
export async function displayP3Photo(rgb: Uint8Array, width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
  const tagged = Buffer.from(pngWithProfile(png, deflateSync(await displayP3Profile())));
  if (format === 'png') return tagged;
  return sharp(tagged, { ignoreIcc: true }).keepIccProfile().jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

/**
 * An XMP packet as Lightroom and phones write them: what describes the photo (title "A day at the
 * beach", creator, rights, keywords, rating, city, the creator's e-mail in a structure) beside what
 * must not follow a filled copy, each holding the word SECRET (a thumbnail, a portrait's original
 * image, face regions and a person's name) or describing the old pixels (orientation 6, develop
 * settings, the format, a document id).
 */
export const TEST_XMP = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.6">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <!-- a comment -->
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:GImage="http://ns.google.com/photos/1.0/image/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmp:Rating="5" tiff:Orientation="6" crs:Exposure2012="+1.00" dc:format="image/jpeg" photoshop:City='Lisbon &amp; around'
    GImage:Data="SECRET-IMAGE" xmpMM:DocumentID="xmp.did:1234">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">A day at the beach</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>Ana Photographer</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2026 Ana</rdf:li></rdf:Alt></dc:rights>
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sea</rdf:li></rdf:Bag></dc:subject>
   <xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource"><xmpGImg:image>SECRET-THUMBNAIL</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>
   <Iptc4xmpCore:CreatorContactInfo rdf:parseType="Resource"><Iptc4xmpCore:CiEmailWork>ana@example.org</Iptc4xmpCore:CiEmailWork></Iptc4xmpCore:CreatorContactInfo>
   <Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>SECRET-BOB</rdf:li></rdf:Bag></Iptc4xmpExt:PersonInImage>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/">
   <mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li mwg-rs:Name="SECRET-BOB"/></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;

/** The folder of real photos the end-to-end tests and the benchmark read. */
export const TEST_PHOTOS = fileURLToPath(new URL('../../../shared/data/photos/', import.meta.url));

/** Photos from other sources than the training photos, never trained on: the validation photos. */
export const VALIDATION_PHOTOS = fileURLToPath(new URL('../../../shared/data/photos-other/', import.meta.url));

/**
 * Writes a bundle whose G1 and G2 (one per scale), and feature guide if asked, hold freshly
 * initialised weights. G1 and G2 do not depend on `guide`: the same seed gives the same ones.
 * @example
 * await writeRandomBundle('/tmp/bundle', { preset: 'tiny', g2Scales: [256] });
 */
export async function writeRandomBundle(
  dir: string,
  options: { preset: ModelPreset; g2Scales: readonly number[]; seed?: number; vggSha256?: string; guide?: boolean },
): Promise<void> {
  const model = resolveModelConfig({ preset: options.preset });
  const rng = new Rng(options.seed ?? 1);
  const values = (kind: 'g1' | 'g2' | 'guide') => {
    const { params, buffers } = initNetwork(networkSpecs(createNetwork(kind, model)), rng);
    return mergeStores(params, buffers);
  };
  const g1 = values('g1');
  const g2 = new Map(options.g2Scales.map((s) => [s, values('g2')] as const));
  const guide = options.guide ? { guide: values('guide') } : {};
  await writeBundle(dir, { model, vggSha256: options.vggSha256 ?? VGG_SHA256, info: { random: true } }, { g1, g2, ...guide });
}

/** A real photo resized (stretched) to exactly `width` x `height`, as raw 8-bit RGB. */
export async function photoPixels(width: number, height: number, file = 'python3-sklearn/china.jpg'): Promise<RawPixels> {
  const data = await sharp(join(TEST_PHOTOS, file)).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}

/** A mask of the given size with the given rectangles as holes. */
export function rectMask(width: number, height: number, ...holes: Box[]): MaskImage {
  const data = new Uint8Array(width * height);
  for (const b of holes) for (let y = b.y; y < b.y + b.height; y++) data.fill(1, y * width + b.x, y * width + b.x + b.width);
  return { width, height, data };
}
