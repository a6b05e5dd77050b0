import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { readMask } from '../core/image.ts';
import { iptcOf, withIptc } from '../core/iptc.ts';
import { Rng } from '../core/random.ts';
import { displayP3Photo, displayP3Profile, TEST_HEIC, TEST_VGG_WEIGHTS, TEST_XMP, writeRandomBundle } from '../inference/testing.ts';
import { createServer, type InpaintServer, type ServerOptions } from './app.ts';
import { Methods } from './methods.ts';
import { formBody, gated, maskBytes, photoBytes, pixels } from './testing.ts';

const W = 120;
const H = 90;
const HOLE = { x: 40, y: 30, width: 30, height: 24 };

/**
 * A 200x120 PNG of noisy stripes with two objects on them (as grabcut.test.ts draws one): discs
 * whose top half is red and bottom half blue. Returns it, its RGB bytes and the discs.
 */
async function objectsScene(): Promise<{ png: Buffer; raw: Uint8Array; discs: { cx: number; cy: number; r: number }[] }> {
  const [w, h] = [200, 120];
  const discs = [{ cx: 60, cy: 60, r: 25 }, { cx: 150, cy: 60, r: 20 }];
  const rng = new Rng(1);
  const raw = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const [x, y] = [i % w, Math.floor(i / w)];
    const disc = discs.find((d) => (x - d.cx) ** 2 + (y - d.cy) ** 2 <= d.r ** 2);
    const colour = disc ? (y < disc.cy ? [200, 40, 40] : [40, 60, 200]) : Math.floor(x / 23) % 2 ? [90, 160, 80] : [150, 150, 140];
    for (let c = 0; c < 3; c++) raw[3 * i + c] = colour[c] + Math.round((rng.next() * 2 - 1) * 12);
  }
  return { png: await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer(), raw, discs };
}

describe('inpaint server API', () => {
  let dir: string;
  let methods: Methods;
  let photo: Buffer;
  let mask: Buffer;
  const servers: InpaintServer[] = [];
  const serve = async (options: Partial<ServerOptions> = {}) => {
    const s = await createServer({ methods, page: false, ...options });
    servers.push(s);
    return s;
  };

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'inpaint-server-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    methods = await Methods.load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS });
    photo = await photoBytes(W, H);
    mask = await maskBytes(W, H, HOLE);
  });

  after(async () => {
    for (const s of servers) await s.close();
    await methods?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const post = async (s: InpaintServer, parts: Parameters<typeof formBody>[0]) => {
    const { body, headers } = await formBody(parts);
    return s.app.inject({ method: 'POST', url: '/api/v1/inpaint', payload: body, headers });
  };

  /** Posts each case (with method telea) and checks its status and its JSON error and message. */
  const refusesEach = async (s: InpaintServer, cases: [string, Parameters<typeof formBody>[0], number, string, RegExp][]) => {
    for (const [what, parts, status, error, message] of cases) {
      const res = await post(s, { method: 'telea', ...parts });
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assert.deepEqual(res.json(), { error, message: res.json().message }, what);
      assert.match(res.json().message, message, what);
    }
  };

  /** Whether every pixel outside `hole` grown by `margin` equals the input's. */
  const knownUnchanged = (a: { data: Buffer; channels: number; width: number }, b: { data: Buffer }, hole: typeof HOLE, margin: number) => {
    let changed = 0;
    for (let i = 0; i < a.data.length; i++) {
      const p = Math.floor(i / a.channels);
      const [x, y] = [p % a.width, Math.floor(p / a.width)];
      const near = x >= hole.x - margin && x < hole.x + hole.width + margin && y >= hole.y - margin && y < hole.y + hole.height + margin;
      if (!near && a.data[i] !== b.data[i]) changed++;
    }
    return changed;
  };

  it('answers health, methods and the OpenAPI description', async () => {
    const s = await serve();
    const health = await s.app.inject({ url: '/api/v1/health' });
    assert.equal(health.statusCode, 200);
    assert.equal(health.json().status, 'ok');
    assert.equal(health.json().model, 'bundle', 'the model folder by name, not its path');
    assert.equal(health.json().queue.waiting, 0);
    const list = (await s.app.inject({ url: '/api/v1/methods' })).json();
    assert.deepEqual(
      list.methods.map((m: { name: string }) => m.name),
      ['ours', 'g1-only', 'patchmatch', 'telea', 'navier-stokes'],
    );
    const doc = (await s.app.inject({ url: '/api/v1/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/inpaint'].post.responses['503']);
    const missing = await s.app.inject({ url: '/api/v1/nothing' });
    assert.deepEqual([missing.statusCode, missing.json().error], [404, 'not_found']);
  });

  it('fills a PNG: a PNG of the same size, every pixel outside the dilated hole unchanged', async () => {
    const s = await serve();
    const res = await post(s, { image: photo, mask, dilate: '2' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.deepEqual(JSON.parse(String(res.headers['x-inpaint-notices'])), []);
    const [input, output] = [await pixels(photo), await pixels(res.rawPayload)];
    assert.deepEqual([output.width, output.height, output.channels], [W, H, 3]);
    assert.equal(knownUnchanged(input, output, HOLE, 2), 0);
    // ...and the hole did change (the random network does not reproduce the photo).
    assert.ok(knownUnchanged(input, output, HOLE, -1) < input.data.length && !input.data.equals(output.data));
  });

  it('answers in the input format: JPEG in, JPEG out; format=png overrides', async () => {
    const s = await serve();
    const jpeg = await photoBytes(W, H, 'jpeg');
    const res = await post(s, { image: jpeg, mask, method: 'telea' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal((await sharp(res.rawPayload).metadata()).format, 'jpeg');
    const png = await post(s, { image: jpeg, mask, method: 'telea', format: 'png' });
    assert.equal((await sharp(png.rawPayload).metadata()).format, 'png');
  });

  it('reads TIFF, GIF, AVIF and HEIC: TIFF in, TIFF out with the known pixels exact; the others answered in PNG', async () => {
    const s = await serve();
    const tiff = await sharp(photo).tiff({ compression: 'lzw' }).toBuffer();
    const gifMask = await sharp(mask).gif().toBuffer();
    const res = await post(s, { image: tiff, mask: gifMask, method: 'telea' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/tiff');
    assert.equal((await sharp(res.rawPayload).metadata()).format, 'tiff');
    assert.equal(knownUnchanged(await pixels(photo), await pixels(res.rawPayload), HOLE, 2), 0);
    for (const image of [await sharp(photo).gif().toBuffer(), await sharp(photo).avif().toBuffer()]) {
      const answer = await post(s, { image, mask, method: 'telea' });
      assert.equal(answer.statusCode, 200, answer.body);
      assert.equal(answer.headers['content-type'], 'image/png');
    }
    const heic = await readFile(TEST_HEIC);
    const answer = await post(s, { image: heic, mask: await maskBytes(64, 48, { x: 10, y: 10, width: 10, height: 10 }), method: 'telea' });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.headers['content-type'], 'image/png');
    assert.deepEqual([(await pixels(answer.rawPayload)).width, (await pixels(answer.rawPayload)).height], [64, 48]);
    const tifAnswer = await post(s, { image: tiff, mask, method: 'telea', format: 'tif' });
    assert.equal(tifAnswer.headers['content-type'], 'image/tiff', 'format=tif names TIFF');
  });

  it('applies the EXIF orientation: a photo stored 120x90 shown turned is answered 90x120', async () => {
    const s = await serve();
    const turned = await sharp(photo).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const res = await post(s, { image: turned, mask: await maskBytes(H, W, { x: 20, y: 40, width: 30, height: 30 }), method: 'telea' });
    assert.equal(res.statusCode, 200, res.body);
    const out = await sharp(res.rawPayload).metadata();
    assert.deepEqual([out.width, out.height], [H, W]);
  });

  it("keeps the image's EXIF in the answer, upright; stripMetadata=true leaves it out", async () => {
    const s = await serve();
    const camera = await sharp(photo).withExif({ IFD0: { Make: 'Acme', Model: 'Snapper 3000' } }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const turnedMask = await maskBytes(H, W, { x: 20, y: 40, width: 30, height: 30 });
    for (const format of ['jpeg', 'png', 'webp']) {
      const res = await post(s, { image: camera, mask: turnedMask, method: 'telea', format });
      assert.equal(res.statusCode, 200, res.body);
      const meta = await sharp(res.rawPayload).metadata();
      assert.deepEqual([meta.width, meta.height, meta.orientation], [H, W, 1], format);
      assert.equal(exifReader(meta.exif!).Image?.Model, 'Snapper 3000', format);
    }
    const stripped = await post(s, { image: camera, mask: turnedMask, method: 'telea', stripMetadata: 'true' });
    assert.equal(stripped.statusCode, 200, stripped.body);
    assert.equal((await sharp(stripped.rawPayload).metadata()).exif, undefined);
    // The XMP's description too (no thumbnail, no face regions); stripMetadata leaves it out.
    const described = await sharp(photo).withXmp(TEST_XMP).png().toBuffer();
    const withXmp = await post(s, { image: described, mask, method: 'telea' });
    const xmp = (await sharp(withXmp.rawPayload).metadata()).xmp?.toString('utf8') ?? '';
    assert.ok(xmp.includes('A day at the beach') && !xmp.includes('SECRET'), xmp.slice(0, 300));
    const withoutXmp = await post(s, { image: described, mask, method: 'telea', stripMetadata: 'true' });
    assert.equal((await sharp(withoutXmp.rawPayload).metadata()).xmp, undefined);
    // The IPTC-IIM record in a JPEG answer; a PNG answer has no place for it, and gets it as XMP; a
    // record of nothing XMP maps is said to be lost.
    const caption = Uint8Array.from([0x1c, 2, 120, 0, 11, ...Buffer.from('Beach, 2009')]);
    const captioned = Buffer.from(withIptc(new Uint8Array(await sharp(photo).jpeg().toBuffer()), 'jpeg', caption));
    const jpegAnswer = await post(s, { image: captioned, mask, method: 'telea' });
    assert.deepEqual(iptcOf(new Uint8Array(jpegAnswer.rawPayload)), caption);
    const pngAnswer = await post(s, { image: captioned, mask, method: 'telea', format: 'png' });
    assert.equal(iptcOf(new Uint8Array(pngAnswer.rawPayload)), undefined);
    assert.match((await sharp(pngAnswer.rawPayload).metadata()).xmp?.toString('utf8') ?? '', /<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Beach, 2009<\/rdf:li>/);
    assert.doesNotMatch(String(pngAnswer.headers['x-inpaint-notices']), /IPTC/);
    const category = Buffer.from(withIptc(new Uint8Array(await sharp(photo).jpeg().toBuffer()), 'jpeg', Uint8Array.from([0x1c, 2, 15, 0, 3, ...Buffer.from('SPO')])));
    const unmapped = await post(s, { image: category, mask, method: 'telea', format: 'png' });
    assert.match(String(unmapped.headers['x-inpaint-notices']), /IPTC description .* has no place in PNG/);
    const bad = await post(s, { image: camera, mask: turnedMask, method: 'telea', stripMetadata: 'maybe' });
    assert.equal(bad.statusCode, 400);
  });

  it('answers a 16-bit PNG with a 16-bit PNG', async () => {
    const s = await serve();
    const deep = await sharp(photo).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const res = await post(s, { image: deep, mask, method: 'telea' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await sharp(res.rawPayload).metadata()).depth, 'ushort');
  });

  it('answers a greyscale photo with a greyscale image, filled by ours in grey', async () => {
    const s = await serve();
    const grey = await sharp(photo).toColourspace('b-w').png().toBuffer();
    for (const format of ['png', 'jpeg']) {
      const res = await post(s, { image: grey, mask, format });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await sharp(res.rawPayload).metadata()).channels, 1, format);
    }
  });

  it("keeps a Display P3 photo's profile and stored pixels in the answer, with ours and with stripMetadata", async () => {
    const s = await serve();
    const stored = (await pixels(photo)).data;
    const p3 = await displayP3Photo(stored, W, H, 'png');
    const profile = await displayP3Profile();
    for (const extra of [{}, { method: 'telea', stripMetadata: 'true' }] as Record<string, string>[]) {
      const res = await post(s, { image: p3, mask, ...extra });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(new Uint8Array((await sharp(res.rawPayload).metadata()).icc ?? []), profile, JSON.stringify(extra));
      const data = await sharp(res.rawPayload, { ignoreIcc: true }).raw().toBuffer();
      assert.equal(knownUnchanged({ data: stored, channels: 3, width: W }, { data }, HOLE, 3), 0, JSON.stringify(extra));
    }
  });

  it('keeps the alpha channel of a PNG with one, opaque where the mask asked for a fill', async () => {
    const s = await serve();
    const raw = await pixels(photo);
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) {
      raw.data.copy(rgba, 4 * i, 3 * i, 3 * i + 3);
      rgba[4 * i + 3] = (i % W) * 2; // a horizontal ramp
    }
    const image = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    const res = await post(s, { image, mask, method: 'patchmatch' });
    assert.equal(res.statusCode, 200, res.body);
    const out = await pixels(res.rawPayload);
    assert.equal(out.channels, 4);
    const hole = await pixels(mask);
    let filled = 0;
    for (let i = 0; i < W * H; i++) {
      const asked = hole.data[i * hole.channels] > 127;
      if (asked) filled++;
      assert.equal(out.data[4 * i + 3], asked ? 255 : (i % W) * 2, `alpha of pixel ${i}`);
    }
    assert.ok(filled > 0);
  });

  it('answers bad input with the status and the message of each class', async () => {
    const s = await serve({ maxPixels: 200 * 200, maxFileBytes: 200_000 });
    const cases: [string, () => Promise<{ statusCode: number; json(): { error: string; message: string } }>, number, string, RegExp][] = [
      ['not multipart', () => s.app.inject({ method: 'POST', url: '/api/v1/inpaint', payload: { image: 'x' } }), 415, 'unsupported_media_type', /multipart\/form-data/],
      ['no mask', () => post(s, { image: photo }), 400, 'bad_request', /^missing the mask part \(a JPEG, .* file\) or the box field \("X,Y,W,H": a box drawn around the object to remove; several separated by ";"\): send either, or both \(or rotate or extend, to fill what straightening or a border leaves empty\)$/],
      ['unknown field', () => post(s, { image: photo, mask, path: '/etc/passwd' }), 400, 'bad_request', /unknown field "path"/],
      ['unknown method', () => post(s, { image: photo, mask, method: 'magic' }), 400, 'bad_request', /Unknown inpainting method "magic"; expected one of ours/],
      ['bad ensemble', () => post(s, { image: photo, mask, ensemble: '3' }), 400, 'bad_request', /Expected one of 1, 2, 4, 8 for options.ensemble but received 3/],
      ['negative dilate', () => post(s, { image: photo, mask, dilate: '-1' }), 400, 'bad_request', /non-negative integer for dilate/],
      ['ensemble for a baseline', () => post(s, { image: photo, mask, method: 'telea', ensemble: '2' }), 400, 'bad_request', /ensemble does not apply to method telea/],
      ['bad format', () => post(s, { image: photo, mask, format: 'gif' }), 400, 'bad_request', /png, jpeg, webp or tiff for format/],
      ['text as image', () => post(s, { image: Buffer.from('hello, not an image'), mask }), 415, 'unsupported_media_type', /image: .*is not a readable JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC image/],
      ['SVG as mask', () => post(s, { image: photo, mask: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"/>`) }), 415, 'unsupported_media_type', /mask: .*it is svg/],
      ['over the pixel limit', () => photoBytes(300, 200).then((big) => post(s, { image: big, mask })), 413, 'payload_too_large', /image: .*300x200.*over the limit/],
      ['over the byte limit', () => post(s, { image: Buffer.alloc(300_000, 1), mask }), 413, 'payload_too_large', /too large/],
      ['corrupt PNG', () => post(s, { image: photo.subarray(0, photo.length >> 1), mask }), 422, 'unprocessable', /image: .*not a readable/],
      ['mask of another size', () => maskBytes(60, 45, { x: 1, y: 1, width: 5, height: 5 }).then((m) => post(s, { image: photo, mask: m })), 422, 'unprocessable', /the mask is 60x45 but the image is 120x90; pass resizeMask/],
      ['hole everywhere', () => maskBytes(W, H, { x: 0, y: 0, width: W, height: H }).then((m) => post(s, { image: photo, mask: m })), 422, 'unprocessable', /hole/],
    ];
    for (const [what, send, status, error, message] of cases) {
      const res = await send();
      assert.equal(res.statusCode, status, `${what}: ${JSON.stringify(res.json())}`);
      assert.equal(res.json().error, error, what);
      assert.match(res.json().message, message, what);
    }
    // resizeMask turns the size mismatch into a notice.
    const resized = await post(s, { image: photo, mask: await maskBytes(60, 45, { x: 20, y: 15, width: 10, height: 10 }), resizeMask: 'true', method: 'telea' });
    assert.equal(resized.statusCode, 200);
    assert.match(String(resized.headers['x-inpaint-notices']), /the mask was resized to 120x90/);
  });

  it('fills the objects in the boxes of the box field, with or without a mask; answers a box that cannot be used 400, before the fill', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped });
    const { png, raw, discs } = await objectsScene();
    const [w, h] = [200, 120];
    const boxes = ['30,30,60,60', '125,35,50,50'];
    const rect = { x: 5, y: 5, width: 20, height: 15 };
    const inRect = (x: number, y: number) => x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
    /** The pixels that changed in the disc `k` (1 px inside its edge), in the rectangle, and beyond both and the selection's margin. */
    const changes = async (res: { rawPayload: Buffer }) => {
      const out = await pixels(res.rawPayload);
      const counts = { discs: [0, 0], rect: 0, elsewhere: 0 };
      for (let i = 0; i < w * h; i++) {
        const [x, y] = [i % w, Math.floor(i / w)];
        if (![0, 1, 2].some((c) => out.data[3 * i + c] !== raw[3 * i + c])) continue;
        const dist = discs.map((d) => Math.hypot(x - d.cx, y - d.cy) - d.r);
        const k = dist.findIndex((d) => d <= -1);
        if (k >= 0) counts.discs[k]++;
        else if (inRect(x, y)) counts.rect++;
        else if (dist.every((d) => d > 3)) counts.elsewhere++;
      }
      return counts;
    };
    const inside = discs.map((d) => Math.PI * (d.r - 1) ** 2);

    // Two boxes, no mask: both objects filled, nothing beyond them and their 2 px margin.
    const two = await post(s, { image: png, box: boxes.join(';'), method: 'telea', dilate: '0' });
    assert.equal(two.statusCode, 200, two.body);
    const notices = JSON.parse(String(two.headers['x-inpaint-notices'])) as string[];
    assert.deepEqual(notices.map((n) => n.replace(/[\d,]+ px$/, 'N px')), boxes.map((b) => `box ${b}: selected N px`));
    let counts = await changes(two);
    assert.equal(counts.elsewhere, 0);
    assert.equal(counts.rect, 0);
    for (const k of [0, 1]) assert.ok(counts.discs[k] > 0.98 * inside[k], `disc ${k}: ${counts.discs[k]} pixels changed`);
    // One box and a mask: both are the hole; the other object stays.
    const painted = await maskBytes(w, h, rect);
    const both = await post(s, { image: png, mask: painted, box: boxes[0], method: 'telea', dilate: '0' });
    assert.equal(both.statusCode, 200, both.body);
    counts = await changes(both);
    assert.deepEqual([counts.elsewhere, counts.discs[1]], [0, 0]);
    assert.ok(counts.discs[0] > 0.98 * inside[0] && counts.rect > 0.8 * rect.width * rect.height, JSON.stringify(counts));
    // A mask of another size is resized with resizeMask, as it is alone; refused without.
    const half = await maskBytes(w / 2, h / 2, { x: 2, y: 2, width: 10, height: 8 });
    const resized = await post(s, { image: png, mask: half, box: boxes[0], resizeMask: 'true', method: 'telea', dilate: '0' });
    assert.equal(resized.statusCode, 200, resized.body);
    assert.match(String(resized.headers['x-inpaint-notices']), /the mask is 100x60 but the image is 200x120: the mask was resized to 200x120/);
    assert.ok((await changes(resized)).rect > 0.8 * 20 * 16);
    const calls = g.state.calls;

    const cases: [string, Parameters<typeof formBody>[0], number, string, RegExp][] = [
      ['three numbers', { image: png, box: '10,20,30' }, 400, 'bad_request', /^Expected X,Y,W,H for box \(four numbers: .*\) but received "10,20,30"$/],
      ['a zero width', { image: png, box: `${boxes[0]};10,20,0,30` }, 400, 'bad_request', /W and H above 0\) but received "10,20,0,30"$/],
      ['outside the image', { image: png, mask: painted, box: `${boxes[0]};500,20,30,30` }, 400, 'bad_request', /^box 500,20,30,30: The box \(30x30 at 500,20\) holds less than 2x2 pixels of the 200x120 picture: draw it around the object\.$/],
      ['over the whole image', { image: png, box: '0,0,200,120' }, 400, 'bad_request', /^box 0,0,200,120: The box .* covers the whole picture: draw it around the object/],
      ['nothing in it', { image: png, box: '95,5,20,20' }, 400, 'bad_request', /^box 95,5,20,20: nothing in the box stands apart from what surrounds it; draw the box closer around the object, or give a mask of it$/],
      ['a mask of another size', { image: png, mask: half, box: boxes[0] }, 422, 'unprocessable', /^the mask is 100x60 but the image is 200x120; pass resizeMask/],
      ['longer than a field may be', { image: png, box: Array(100).fill(boxes[0]).join(';') }, 400, 'bad_request', /^the field box is longer than 1000 bytes$/],
    ];
    await refusesEach(s, cases);
    assert.equal(g.state.calls, calls, 'no refused box reached the fill');
    const doc = (await s.app.inject({ url: '/api/v1/openapi.json' })).json();
    const form = doc.paths['/api/v1/inpaint'].post.requestBody.content['multipart/form-data'].schema;
    assert.deepEqual(form.required, ['image']);
    assert.match(form.properties.box.description, /"X,Y,W,H"/);
  });

  it('straightens (rotate) and widens (extend) the image, filling what that leaves empty, with or without a mask; bad values 400', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped });
    const raw = await pixels(photo);
    // A border alone: the image exact inside a wider canvas, the notice says what was added.
    const wider = await post(s, { image: photo, extend: '0,0,25%,0', method: 'telea', dilate: '0' });
    assert.equal(wider.statusCode, 200, wider.body);
    const out = await pixels(wider.rawPayload);
    const added = Math.round(W / 4);
    assert.deepEqual([out.width, out.height], [W + added, H]);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) assert.equal(out.data[3 * ((y * (W + added)) + x) + c], raw.data[3 * (y * W + x) + c]);
    assert.deepEqual(JSON.parse(String(wider.headers['x-inpaint-notices'])), [`extended to ${W + added}x${H}: the ${added * H} pixels left empty are filled`]);
    // A shape: the border that makes the image square, half at the top and half at the bottom.
    const square = await post(s, { image: photo, extend: '1:1', method: 'telea', dilate: '0' });
    assert.equal(square.statusCode, 200, square.body);
    const sq = await pixels(square.rawPayload);
    assert.deepEqual([sq.width, sq.height], [W, W]);
    const top = (W - H) / 2;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) assert.equal(sq.data[3 * ((y + top) * W + x) + c], raw.data[3 * (y * W + x) + c]);
    // Turned with the mask (in the image's own pixels) and an alpha channel: the corners and the hole filled and opaque, the rest keeps its alpha.
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) {
      raw.data.copy(rgba, 4 * i, 3 * i, 3 * i + 3);
      rgba[4 * i + 3] = 200;
    }
    const withAlpha = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    const level = await post(s, { image: withAlpha, mask, rotate: '-4', method: 'patchmatch', dilate: '0' });
    assert.equal(level.statusCode, 200, level.body);
    const turned = await pixels(level.rawPayload);
    assert.deepEqual([turned.width, turned.height, turned.channels], [W, H, 4]);
    const corner = (x: number, y: number) => turned.data[4 * (y * W + x) + 3];
    assert.deepEqual([corner(0, 0), corner(W - 1, 0), corner(0, H - 1), corner(W - 1, H - 1)], [255, 255, 255, 255]);
    assert.equal(corner(W / 2, H / 2 - 30), 200, 'away from the hole and the corners the alpha is kept');
    assert.equal(corner(HOLE.x + HOLE.width / 2, HOLE.y + HOLE.height / 2), 255, 'the turned hole is filled');
    assert.match(String(level.headers['x-inpaint-notices']), /turned -4 degrees: the \d+ pixels left empty are filled/);
    const calls = g.state.calls;
    const cases: [string, Parameters<typeof formBody>[0], number, string, RegExp][] = [
      ['an angle past 45', { image: photo, rotate: '50' }, 400, 'bad_request', /^Expected degrees from -45 to 45 for rotate .* but received "50": for a quarter turn/],
      ['no number', { image: photo, rotate: 'left' }, 400, 'bad_request', /^Expected degrees from -45 to 45 for rotate .* but received "left"$/],
      ['two margins', { image: photo, extend: '4,5' }, 400, 'bad_request', /^Expected PX, P%, L,T,R,B or W:H for extend .* but received "4,5"$/],
      ['a shape of no height', { image: photo, extend: '3:0' }, 400, 'bad_request', /^Expected PX, P%, L,T,R,B or W:H for extend .* but received "3:0"$/],
    ];
    await refusesEach(s, cases);
    assert.equal(g.state.calls, calls, 'no refused value reached the fill');
    // A border wider than the image: known only once the image is read, 422 as a mask of another size is.
    const tooWide = await post(s, { image: photo, extend: `0,0,${W + 1},0`, method: 'telea' });
    assert.equal(tooWide.statusCode, 422, tooWide.body);
    assert.match(tooWide.json().message, new RegExp(`^extend: the right border of ${W + 1} px is more than the photo is wide \\(${W} px\\)`));
    const doc = (await s.app.inject({ url: '/api/v1/openapi.json' })).json();
    const form = doc.paths['/api/v1/inpaint'].post.requestBody.content['multipart/form-data'].schema;
    assert.match(form.properties.rotate.description, /clockwise/);
    assert.match(form.properties.extend.description, /L,T,R,B.*"W:H"/);
  });

  it('answers the mask of the objects in boxes at /api/v1/select: the hole inpaint fills for them; bad boxes 400', async () => {
    const s = await serve();
    const { png, raw, discs } = await objectsScene();
    const [w, h] = [200, 120];
    const boxes = '30,30,60,60;125,35,50,50';
    const select = async (parts: Parameters<typeof formBody>[0]) => {
      const { body, headers } = await formBody(parts);
      return s.app.inject({ method: 'POST', url: '/api/v1/select', payload: body, headers });
    };
    const res = await select({ image: png, box: boxes });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(JSON.parse(String(res.headers['x-inpaint-notices'])).length, 2);
    const mask = await readMask(res.rawPayload);
    assert.deepEqual([mask.width, mask.height], [w, h]);
    // The discs, and nothing beyond them and their margin.
    for (let i = 0; i < w * h; i++) {
      const [x, y] = [i % w, Math.floor(i / w)];
      const dist = Math.min(...discs.map((d) => Math.hypot(x - d.cx, y - d.cy) - d.r));
      if (dist <= -1) assert.equal(mask.data[i], 1, `(${x}, ${y}) in a disc`);
      if (dist > 3) assert.equal(mask.data[i], 0, `(${x}, ${y}) beyond the discs`);
    }
    // The hole inpaint fills for the same boxes, to the pixel: Telea without dilation changes it alone.
    const filled = await post(s, { image: png, box: boxes, method: 'telea', dilate: '0' });
    const out = await pixels(filled.rawPayload);
    for (let i = 0; i < w * h; i++) {
      if (!mask.data[i]) assert.ok([0, 1, 2].every((c) => out.data[3 * i + c] === raw[3 * i + c]), `pixel ${i} outside the mask changed`);
    }
    for (const [parts, message] of [
      [{ image: png }, /^missing the field box/],
      [{ image: png, box: '1,2,3' }, /^Expected X,Y,W,H for box/],
      [{ image: png, box: '95,5,20,20' }, /^box 95,5,20,20: nothing in the box stands apart/],
      [{ image: png, box: '0,0,200,120' }, /covers the whole picture/],
      [{ image: png, box: boxes, method: 'telea' }, /^unknown field "method"/],
    ] as [Parameters<typeof formBody>[0], RegExp][]) {
      const bad = await select(parts);
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.json().message, message);
    }
    const doc = (await s.app.inject({ url: '/api/v1/openapi.json' })).json();
    assert.deepEqual(doc.paths['/api/v1/select'].post.requestBody.content['multipart/form-data'].schema.required, ['image', 'box']);
  });

  it('steers ours with sampleFrom and exclude; refuses them for other methods; answers their errors as JSON', async () => {
    const s = await serve();
    // Exclude everything left of the hole and the band above it: the fill must copy from elsewhere.
    const exclude = await maskBytes(W, H, { x: 0, y: 0, width: HOLE.x, height: H }, { x: HOLE.x, y: 0, width: HOLE.width, height: HOLE.y });
    const plain = await post(s, { image: photo, mask });
    const steered = await post(s, { image: photo, mask, exclude });
    assert.equal(steered.statusCode, 200, steered.body);
    const [a, b] = [await pixels(plain.rawPayload), await pixels(steered.rawPayload)];
    assert.deepEqual([b.width, b.height], [W, H]);
    assert.ok(!a.data.equals(b.data), 'excluding the sources changes the fill');
    assert.equal(knownUnchanged(await pixels(photo), b, HOLE, 2), 0, 'the known pixels are still the photo\'s');
    // sampleFrom with the ensemble: accepted (ours' ensembles take it too).
    const right = await maskBytes(W, H, { x: HOLE.x + HOLE.width + 4, y: 0, width: W - HOLE.x - HOLE.width - 4, height: H });
    assert.equal((await post(s, { image: photo, mask, sampleFrom: right, ensemble: '2' })).statusCode, 200);
    // sources: a multipart answer, the same image and where it copied from (only the right here).
    const alone = await post(s, { image: photo, mask, sampleFrom: right });
    const both = await post(s, { image: photo, mask, sampleFrom: right, sources: 'true' });
    assert.equal(both.statusCode, 200, both.body);
    assert.match(String(both.headers['content-type']), /^multipart\/form-data; boundary=/);
    const form = await new Response(both.rawPayload, { headers: { 'content-type': String(both.headers['content-type']) } }).formData();
    const [image, sources] = [form.get('image'), form.get('sources')] as File[];
    assert.deepEqual([image.type, sources.type, sources.name], ['image/png', 'image/png', 'sources.png']);
    assert.ok(Buffer.from(await image.arrayBuffer()).equals(alone.rawPayload), 'the same image as without sources');
    const from = await readMask(Buffer.from(await sources.arrayBuffer()));
    assert.deepEqual([from.width, from.height], [W, H]);
    const columns = [...from.data.keys()].filter((i) => from.data[i]).map((i) => i % W);
    assert.ok(columns.length > 50 && columns.every((x) => x >= HOLE.x + HOLE.width + 4), 'white only where it could copy from');

    const cases: [string, Parameters<typeof formBody>[0], number, string, RegExp][] = [
      ['exclude for a baseline', { image: photo, mask, exclude, method: 'telea' }, 400, 'bad_request', /exclude applies to method ours only.*not to telea/],
      ['sampleFrom for g1-only', { image: photo, mask, sampleFrom: right, method: 'g1-only' }, 400, 'bad_request', /sampleFrom applies to method ours only/],
      ['sources for PatchMatch', { image: photo, mask, sources: 'true', method: 'patchmatch' }, 400, 'bad_request', /sources applies to method ours only/],
      ['sources not a boolean', { image: photo, mask, sources: 'maybe' }, 400, 'bad_request', /sources/],
      ['exclude not an image', { image: photo, mask, exclude: Buffer.from('not an image') }, 415, 'unsupported_media_type', /^exclude: /],
      ['exclude of another size', { image: photo, mask, exclude: await maskBytes(60, 45, { x: 0, y: 0, width: 10, height: 10 }) }, 422, 'unprocessable', /exclude mask .* is 60x45 but the image is 120x90; pass resizeMask/],
      ['sampleFrom inside the hole', { image: photo, mask, sampleFrom: await maskBytes(W, H, { x: HOLE.x + 5, y: HOLE.y + 5, width: 10, height: 10 }) }, 422, 'unprocessable', /lies entirely in the hole/],
      ['sampleFrom too small', { image: photo, mask, sampleFrom: await maskBytes(W, H, { x: 2, y: 2, width: 3, height: 3 }) }, 422, 'unprocessable', /region to copy from is too small/],
    ];
    for (const [what, parts, status, error, message] of cases) {
      const res = await post(s, parts);
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'message'], what);
      assert.equal(res.json().error, error, what);
      assert.match(res.json().message, message, what);
    }
    // resizeMask resizes them too, with a notice.
    const resized = await post(s, { image: photo, mask, exclude: await maskBytes(60, 45, { x: 0, y: 0, width: 10, height: 10 }), resizeMask: 'true' });
    assert.equal(resized.statusCode, 200, resized.body);
    assert.match(String(resized.headers['x-inpaint-notices']), /exclude mask .* resized to 120x90/);
  });

  it('stylizes: the content\'s size in its format, in the same queue; bad input answered as JSON', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped, maxPixels: 200 * 200 });
    const style = await photoBytes(80, 80, 'jpeg', 'python3-sklearn/flower.jpg');
    const stylize = async (parts: Parameters<typeof formBody>[0]) => {
      const { body, headers } = await formBody(parts);
      return s.app.inject({ method: 'POST', url: '/api/v1/stylize', payload: body, headers });
    };
    const res = await stylize({ content: photo, style, size: '64', strength: '0.8' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    const out = await pixels(res.rawPayload);
    assert.deepEqual([out.width, out.height], [W, H]);
    assert.ok(!out.data.equals((await pixels(photo)).data), 'the photo was restyled');
    assert.equal(g.state.calls, 1, 'through the queue');
    // The content's EXIF is kept, as an inpainting's; stripMetadata leaves it out.
    const camera = await sharp(photo).withExif({ IFD0: { Make: 'Acme', Model: 'Snapper 3000' } }).jpeg().toBuffer();
    const kept = await stylize({ content: camera, style, size: '64' });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal(exifReader((await sharp(kept.rawPayload).metadata()).exif!).Image?.Model, 'Snapper 3000');
    const stripped = await stylize({ content: camera, style, size: '64', stripMetadata: 'true' });
    assert.equal(stripped.statusCode, 200, stripped.body);
    assert.equal((await sharp(stripped.rawPayload).metadata()).exif, undefined);
    const doc = (await s.app.inject({ url: '/api/v1/openapi.json' })).json();
    assert.deepEqual(doc.paths['/api/v1/stylize'].post.requestBody.content['multipart/form-data'].schema.required, ['content', 'style']);

    const cases: [string, Parameters<typeof formBody>[0], number, string, RegExp][] = [
      ['no style', { content: photo }, 400, 'bad_request', /missing the style part/],
      ['an inpaint part', { content: photo, style, mask }, 400, 'bad_request', /unknown file part "mask"/],
      ['size too small', { content: photo, style, size: '10' }, 400, 'bad_request', /size/],
      ['strength not a number', { content: photo, style, strength: 'much' }, 400, 'bad_request', /Expected a number for strength/],
      ['strength over 1', { content: photo, style, strength: '2' }, 400, 'bad_request', /strength/],
      ['stripMetadata not a boolean', { content: photo, style, stripMetadata: 'maybe' }, 400, 'bad_request', /true or false for stripMetadata/],
      ['text as style', { content: photo, style: Buffer.from('hello') }, 415, 'unsupported_media_type', /^style: /],
      ['content over the pixel limit', { content: await photoBytes(300, 200), style }, 413, 'payload_too_large', /^content: .*300x200/],
      ['corrupt content', { content: photo.subarray(0, photo.length >> 1), style }, 422, 'unprocessable', /^content: .*not a readable/],
    ];
    for (const [what, parts, status, error, message] of cases) {
      const bad = await stylize(parts);
      assert.equal(bad.statusCode, status, `${what}: ${bad.body}`);
      assert.equal(bad.json().error, error, what);
      assert.match(bad.json().message, message, what);
    }
    assert.equal(g.state.calls, 3, 'no bad request reached the model');
  });

  it('runs concurrent requests one at a time and answers each with its own image', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped });
    const photos = await Promise.all([0, 1, 2, 3].map((k) => photoBytes(W, H, 'png', ['python3-sklearn/china.jpg', 'python3-sklearn/flower.jpg', 'python3-skimage/astronaut.jpg', 'python3-skimage/coffee.jpg'][k])));
    const answers = await Promise.all(photos.map((p, k) => post(s, { image: p, mask, method: k % 2 ? 'telea' : 'ours', dilate: '0' })));
    assert.equal(g.state.maxRunning, 1, 'never two inferences at once');
    for (const [k, res] of answers.entries()) {
      assert.equal(res.statusCode, 200, res.body);
      const [input, output] = [await pixels(photos[k]), await pixels(res.rawPayload)];
      assert.equal(knownUnchanged(input, output, HOLE, 0), 0, `answer ${k} is its own photo filled`);
    }
  });

  it('answers 503 with Retry-After past the queue limit, and serves again when there is room', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped, maxQueue: 1 });
    g.hold();
    const first = post(s, { image: photo, mask, method: 'telea' });
    const second = post(s, { image: photo, mask, method: 'telea' });
    while (s.queue.stats.waiting < 1) await new Promise((r) => setTimeout(r, 5));
    const third = await post(s, { image: photo, mask, method: 'telea' });
    assert.equal(third.statusCode, 503);
    assert.equal(third.json().error, 'busy');
    assert.match(String(third.headers['retry-after']), /^\d+$/);
    g.release();
    assert.deepEqual([(await first).statusCode, (await second).statusCode], [200, 200]);
    assert.equal((await post(s, { image: photo, mask, method: 'telea' })).statusCode, 200);
  });

  it('gives up at the time limit: 503 timeout, the result discarded, the next request served', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped, timeoutSeconds: 0.3 });
    g.hold();
    const late = await post(s, { image: photo, mask, method: 'telea' });
    assert.equal(late.statusCode, 503);
    assert.equal(late.json().error, 'timeout');
    assert.match(late.json().message, /result is discarded/);
    g.release();
    await s.queue.whenIdle();
    assert.equal(s.queue.stats.cancelledRunning, 1);
    assert.equal((await post(s, { image: photo, mask, method: 'telea' })).statusCode, 200);
  });

  it('frees the place of a request whose client goes away while it waits (a real connection)', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped, maxQueue: 1 });
    const address = await s.app.listen({ port: 0, host: '127.0.0.1' });
    const send = async (signal?: AbortSignal) => {
      const { body, headers } = await formBody({ image: photo, mask, method: 'telea' });
      return fetch(`${address}/api/v1/inpaint`, { method: 'POST', body, headers, signal });
    };
    g.hold();
    const running = send();
    while (!s.queue.stats.running) await new Promise((r) => setTimeout(r, 5));
    const controller = new AbortController();
    const waiting = send(controller.signal).catch((err: Error) => err);
    while (s.queue.stats.waiting < 1) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    assert.equal(((await waiting) as Error).name, 'AbortError');
    while (s.queue.stats.waiting > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.queue.stats.cancelledWaiting, 1);
    // The place is free: another request is accepted (not 503) and served.
    const next = send();
    g.release();
    assert.deepEqual([(await running).status, (await next).status], [200, 200]);
    assert.equal(g.state.calls, 2, 'the cancelled request never ran');
  });

  it('on close, finishes the requests in flight and then stops', async () => {
    const g = gated(methods);
    const s = await serve({ methods: g.wrapped });
    g.hold();
    const inFlight = post(s, { image: photo, mask, method: 'telea' });
    while (!s.queue.stats.running) await new Promise((r) => setTimeout(r, 5));
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false, 'close waits for the running request');
    g.release();
    assert.equal((await inFlight).statusCode, 200);
    await closing;
  });
});
