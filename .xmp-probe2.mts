import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { readMetadata, writeImage, readImage } from './src/core/image.ts';
const src = readFileSync('./.xmp-probe.mts', 'utf8');
const packet = src.slice(src.indexOf('`<?xpacket') + 1, src.indexOf('<?xpacket end="w"?>`') + '<?xpacket end="w"?>'.length);
const photo = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#808080' } }).withXmp(packet).jpeg().toBuffer();
console.log('in xmp', (await sharp(photo).metadata()).xmp?.length);
const meta = await readMetadata(photo, { onNotice: console.log });
console.log('clean', meta.xmp?.length);
const img = await readImage(photo);
for (const ext of ['png', 'jpg', 'webp', 'tif']) {
  await writeImage('/tmp/x.' + ext, img, meta);
  const x = (await sharp('/tmp/x.' + ext).metadata()).xmp?.toString('utf8') ?? '';
  console.log(ext, x.length, x.includes('A day at the beach'), x.includes('SECRET'));
}
const bad = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withXmp('<x:xmpmeta><rdf:RDF>').jpeg().toBuffer();
console.log(await readMetadata(bad, { onNotice: (n) => console.log('notice:', n) }));
