import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { EngineError, InputError, UsageError } from '../core/errors.ts';
import { Engine } from '../runtime/engine.ts';
import { readBundle, writeBundle } from '../models/bundle.ts';
import { cropImage, dilateMask, type MaskImage, type Orientation, orientImage, readImage, resizeImage, type RgbImage } from '../core/image.ts';
import { type Inpainter, type InpaintPreview, type InpaintProgress, load, resolveBundleDir } from './inpainter.ts';
import type { SourceCells } from './pixels.ts';
import { defaultScales, fillMemory } from './regions.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from './testing.ts';

interface Seam {
  /** Pairs with one pixel known and one in the hole: the seam. */
  across: number;
  /** Pairs of known pixels: the photo's own gradient. */
  natural: number;
  /** Pairs of hole pixels: the fill's own texture. */
  inside: number;
}

/** Mean absolute difference (over channels) of 4-neighbour pixel pairs, by where the pair lies. */
function seam(img: RgbImage, hole: MaskImage): Seam {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const diff = (a: number, b: number) => (Math.abs(data[a] - data[b]) + Math.abs(data[plane + a] - data[plane + b]) + Math.abs(data[2 * plane + a] - data[2 * plane + b])) / 3;
  const sums = [0, 0, 0];
  const counts = [0, 0, 0];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      for (const j of [x + 1 < w ? i + 1 : -1, y + 1 < h ? i + w : -1]) {
        if (j < 0) continue;
        const k = hole.data[i] + hole.data[j]; // 0 natural, 1 across, 2 inside
        sums[k] += diff(i, j);
        counts[k]++;
      }
    }
  }
  return { natural: sums[0] / counts[0], across: sums[1] / counts[1], inside: sums[2] / counts[2] };
}

/** `photo` with the dilated hole replaced by `fill` as is: what the seam looks like without blending. */
function pasted(photo: RgbImage, hole: MaskImage, fill: RgbImage): RgbImage {
  const plane = photo.width * photo.height;
  return { ...photo, data: photo.data.map((v, i) => (hole.data[i % plane] ? fill.data[i] : v)) };
}

/**
 * The invariants of every result: the input's size, values in [0, 1] (no NaN), every pixel outside
 * the dilated hole bit-identical, most pixels of the user's hole changed, and no step at the seam:
 * neighbours across it differ no more than twice as much as neighbours on either side of it.
 */
function checkResult(input: RgbImage, output: RgbImage, mask: MaskImage, dilate = 2): Seam {
  assert.deepEqual([output.width, output.height], [input.width, input.height]);
  const hole = dilateMask(mask, dilate);
  const plane = input.width * input.height;
  let changed = 0;
  let userValues = 0;
  for (let i = 0; i < 3 * plane; i++) {
    const v = output.data[i];
    if (!(v >= 0 && v <= 1)) assert.fail(`value ${i} is ${v}`);
    if (!hole.data[i % plane]) {
      if (!Object.is(v, input.data[i])) assert.fail(`known value ${i} changed from ${input.data[i]} to ${v}`);
    } else if (mask.data[i % plane]) {
      userValues++;
      if (Math.abs(v - input.data[i]) > 1e-3) changed++;
    }
  }
  assert.ok(changed > 0.8 * userValues, `only ${changed} of ${userValues} hole values changed`);
  const s = seam(output, hole);
  assert.ok(s.across < 2 * Math.max(s.natural, s.inside), `a step at the seam: ${JSON.stringify(s)}`);
  return s;
}

describe('Inpainter (random-weight tiny networks, real photos)', () => {
  let dir: string;
  let inpainter: Inpainter;

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'inpainter-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256, 512] });
    inpainter = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS });
  });

  after(async () => {
    await inpainter?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('fills a centre hole of a 256x256 photo; blending removes the step a plain paste leaves', async () => {
    const photo = await readImage(await photoPixels(256, 256));
    const mask = rectMask(256, 256, { x: 64, y: 64, width: 128, height: 128 });
    const { image, notices, debug } = await inpainter.inpaint(photo, mask, { debug: true });
    assert.deepEqual(notices, []);
    const blended = checkResult(photo, image, mask);
    const plain = seam(pasted(photo, dilateMask(mask, 2), debug!.regions[0].beforeBlend), dilateMask(mask, 2));
    assert.ok(blended.across < plain.across / 2, `blended seam ${blended.across}, pasted ${plain.across}`);
    assert.deepEqual(debug!.regions[0].scales, [256]);
  });

  it('fills a black-and-white photo in grey, and a colour photo in colour, judged on the crop around each hole', async () => {
    const photo = await readImage(await photoPixels(256, 256));
    const plane = 256 * 256;
    const grey = { ...photo, data: photo.data.slice() };
    for (let i = 0; i < plane; i++) grey.data[i] = grey.data[plane + i] = grey.data[2 * plane + i] = (photo.data[i] + photo.data[plane + i] + photo.data[2 * plane + i]) / 3;
    const mask = rectMask(256, 256, { x: 64, y: 64, width: 128, height: 128 });
    const coloured = (img: RgbImage) => img.data.subarray(0, plane).filter((r, i) => r !== img.data[plane + i] || r !== img.data[2 * plane + i]).length;
    // The random networks colour the fill, and would in a grey photo: the hole is greyed after.
    const { image } = await inpainter.inpaint(grey, mask);
    checkResult(grey, image, mask);
    assert.equal(coloured(image), 0);
    // One pixel of colour outside the hole makes it a colour photo (a level and a half of 8 bits is grey).
    grey.data[0] += 2 / 255;
    assert.ok(coloured((await inpainter.inpaint(grey, mask)).image) > 1000);
    grey.data[0] -= 0.5 / 255;
    assert.equal(coloured((await inpainter.inpaint(grey, mask)).image), 1);
    // What the hole holds does not count: a red stroke over a black-and-white photo still gets grey.
    for (let i = 0; i < plane; i++) if (mask.data[i]) grey.data[i] = 1;
    grey.data[0] = grey.data[plane];
    assert.equal(coloured((await inpainter.inpaint(grey, mask)).image), 0);
    // A large photo is filled in crops around its holes: what counts is what the crop holds, so a
    // coloured mark far from the hole (a signature, a logo) leaves its fill grey; one near it does not.
    const [w, h] = [1400, 1000];
    const big = await readImage(await photoPixels(w, h));
    const bigPlane = w * h;
    for (let i = 0; i < bigPlane; i++) big.data[i] = big.data[bigPlane + i] = big.data[2 * bigPlane + i] = big.data[bigPlane + i];
    const hole = rectMask(w, h, { x: 650, y: 450, width: 100, height: 100 });
    const mark = (x0: number, y0: number) => {
      for (let y = y0; y < y0 + 20; y++) for (let x = x0; x < x0 + 20; x++) big.data[y * w + x] = 1;
    };
    const inHole = (img: RgbImage) => Array.from(hole.data.keys()).filter((i) => hole.data[i] && (img.data[i] !== img.data[bigPlane + i] || img.data[i] !== img.data[2 * bigPlane + i])).length;
    mark(10, 10);
    assert.equal(inHole((await inpainter.inpaint(big, hole)).image), 0, 'a mark far away');
    mark(600, 400);
    assert.ok(inHole((await inpainter.inpaint(big, hole)).image) > 1000, 'a mark in the crop');
  });

  it("keeps an RGBA photo's alpha and fills its fully transparent pixels instead of copying their stored black", async () => {
    const [w, h] = [160, 120];
    const rgb = await photoPixels(w, h);
    const rgba = new Uint8Array(4 * w * h);
    for (let i = 0; i < w * h; i++) {
      const transparent = i % w >= 100 && i % w < 110; // a band stored black, as editors do
      rgba.set(transparent ? [0, 0, 0, 0] : [rgb.data[3 * i], rgb.data[3 * i + 1], rgb.data[3 * i + 2], i % w < 5 ? 128 : 255], 4 * i);
    }
    const mask = rectMask(w, h, { x: 60, y: 40, width: 30, height: 30 });
    const { image, alpha, notices } = await inpainter.inpaint({ data: rgba, width: w, height: h, channels: 4 }, mask, { dilate: 0 });
    assert.deepEqual(Array.from(alpha!, (a) => Math.round(a * 255)), Array.from({ length: w * h }, (_, i) => rgba[4 * i + 3]));
    assert.ok(notices.includes('1200 fully transparent pixels were filled too (their stored colour is not content); they stay transparent in the result'), notices.join('; '));
    const plane = w * h;
    let black = 0;
    for (let i = 0; i < plane; i++) if (rgba[4 * i + 3] === 0 && image.data[i] + image.data[plane + i] + image.data[2 * plane + i] === 0) black++;
    assert.equal(black, 0, 'every transparent pixel was filled');
    // Opaque and partly transparent pixels outside the hole are known: exact.
    for (let i = 0; i < plane; i++) if (rgba[4 * i + 3] !== 0 && !mask.data[i]) assert.equal(image.data[i], Math.fround(rgba[4 * i] / 255), `pixel ${i}`);
    // An opaque photo has no alpha to keep.
    assert.equal((await inpainter.inpaint(rgb, mask)).alpha, undefined);
  });

  it('fills two holes of a 300x217 photo given as encoded bytes, one touching the border', async () => {
    const raw = await photoPixels(300, 217, 'mate-backgrounds/Dune.jpg');
    const png = await sharp(raw.data, { raw: { width: 300, height: 217, channels: 3 } }).png().toBuffer();
    const mask = rectMask(300, 217, { x: 30, y: 40, width: 50, height: 40 }, { x: 240, y: 150, width: 60, height: 67 });
    const { image } = await inpainter.inpaint(png, mask);
    checkResult(await readImage(png), image, mask);
    // A refinement pass runs VGG -> swap -> G2 once more on the result: the fill changes, the invariants hold.
    const refined = await inpainter.inpaint(png, mask, { refine: 1 });
    checkResult(await readImage(png), refined.image, mask);
    assert.notDeepEqual(refined.image.data, image.data);
  });

  it('runs both scales on a 512x384 photo (raw pixels, hole on the left edge) and returns the intermediates', async () => {
    const raw = await photoPixels(512, 384, 'enlightenment-data/Mountain.jpg');
    const mask = rectMask(512, 384, { x: 0, y: 120, width: 160, height: 120 });
    const { image, debug } = await inpainter.inpaint(raw, mask, { debug: true, dilate: 3 });
    checkResult(await readImage(raw), image, mask, 3);
    assert.equal(debug?.regions.length, 1);
    const [r] = debug!.regions;
    assert.deepEqual(r.scales, [256, 512]);
    assert.deepEqual([r.coarse.width, r.coarse.height], [256, 192]);
    assert.deepEqual([r.beforeBlend.width, r.beforeBlend.height, r.provenance.width, r.provenance.height], [512, 384, 512, 384]);
    // A refinement pass at 512 searches near the first pass's choices: the fill changes, the invariants hold.
    const refined = await inpainter.inpaint(raw, mask, { dilate: 3, refine: 1 });
    checkResult(await readImage(raw), refined.image, mask, 3);
    assert.notDeepEqual(refined.image.data, image.data);
  });

  it('adds the full-resolution detail of the sources to a fill enlarged from its working scale, in the hole only', async () => {
    const raw = await photoPixels(512, 384, 'enlightenment-data/Mountain.jpg');
    const photo = await readImage(raw);
    const mask = rectMask(512, 384, { x: 200, y: 120, width: 120, height: 100 });
    // One scale, 256: the fill is enlarged 2x.
    const [plain, detailed] = [
      (await inpainter.inpaint(photo, mask, { scales: [256], nativeDetail: false })).image,
      (await inpainter.inpaint(photo, mask, { scales: [256] })).image,
    ];
    checkResult(photo, detailed, mask);
    const hole = dilateMask(mask, 2);
    const variation = (img: typeof photo) => {
      let sum = 0;
      for (let c = 0; c < 3; c++) for (let i = c * 512 * 384; i < (c + 1) * 512 * 384 - 1; i++) if (hole.data[i % (512 * 384)] && hole.data[(i + 1) % (512 * 384)]) sum += Math.abs(img.data[i + 1] - img.data[i]);
      return sum;
    };
    for (let i = 0; i < 3 * 512 * 384; i++) if (!hole.data[i % (512 * 384)]) assert.equal(detailed.data[i], plain.data[i]);
    // (The tiny random networks' fill is noisy already, and the sources are refined against its
    // noise: the photo's detail adds about 1%.)
    assert.ok(variation(detailed) > 1.005 * variation(plain), `detail ${variation(detailed)} vs ${variation(plain)}`);
    let changed = 0;
    for (let i = 0; i < 512 * 384; i++) if (hole.data[i] && Math.abs(detailed.data[i] - plain.data[i]) > 1e-4) changed++;
    assert.ok(changed > 0.5 * 122 * 102, `${changed} hole pixels changed`);
    // At the working scale itself nothing is enlarged, and nothing is added.
    const small = await readImage(await photoPixels(256, 192, 'enlightenment-data/Mountain.jpg'));
    const smallMask = rectMask(256, 192, { x: 100, y: 60, width: 60, height: 50 });
    assert.deepEqual((await inpainter.inpaint(small, smallMask)).image.data, (await inpainter.inpaint(small, smallMask, { nativeDetail: false })).image.data);
  });

  it('copies only from the sampling region or outside the excluded one, at every scale, and refuses one with nothing to copy', async () => {
    const raw = await photoPixels(512, 384, 'enlightenment-data/Mountain.jpg');
    const photo = await readImage(raw);
    const mask = rectMask(512, 384, { x: 220, y: 140, width: 80, height: 80 });
    const left = rectMask(512, 384, { x: 0, y: 0, width: 160, height: 384 });
    // Every source cell at the last scale (512: the photo's own pixels) must lie in the allowed pixels.
    const sourcesIn = (sources: SourceCells, allowed: (x: number, y: number) => boolean) => {
      const scale = sources.imageWidth / 512;
      let count = 0;
      for (const s of sources.data) {
        if (s < 0n) continue;
        count++;
        const [sx, sy] = [Number(s) % sources.width, Math.floor(Number(s) / sources.width)];
        for (const [dx, dy] of [[0, 0], [3, 3]]) assert.ok(allowed((4 * sx + dx) / scale, (4 * sy + dy) / scale), `source cell (${sx}, ${sy})`);
      }
      return count;
    };
    const sampled = await inpainter.inpaint(photo, mask, { debug: true, sampleFrom: left, sources: true });
    assert.deepEqual(sampled.debug!.regions[0].scales, [256, 512]);
    assert.ok(sourcesIn(sampled.debug!.regions[0].sources, (x) => x < 160) > 100);
    // `sources`: the same cells as the photo's pixels (the region is the photo, at 512 its own size).
    /** The marked pixels' count and rightmost column, and whether any lies in the hole. */
    const marked = (m: MaskImage) => {
      let [count, right, inHole] = [0, -1, false];
      for (let i = 0; i < m.data.length; i++) {
        if (!m.data[i]) continue;
        count++;
        right = Math.max(right, i % m.width);
        inHole ||= mask.data[i] === 1;
      }
      return { count, right, inHole };
    };
    const cells = new Set([...sampled.debug!.regions[0].sources.data].filter((s) => s >= 0n)).size;
    assert.deepEqual([sampled.sources!.width, sampled.sources!.height], [512, 384]);
    const inSampled = marked(sampled.sources!);
    assert.deepEqual([inSampled.count, inSampled.inHole], [16 * cells, false], 'each source cell is 4x4 pixels, none in the hole');
    assert.ok(inSampled.right < 160, `all left of 160: ${inSampled.right}`);
    const free = await inpainter.inpaint(photo, mask, { debug: true, sources: true });
    assert.ok(marked(free.sources!).right >= 160, 'without a sampling region some come from the right');
    assert.equal(marked((await inpainter.inpaint(photo, rectMask(512, 384), { sources: true })).sources!).count, 0, 'nothing filled, nothing copied');
    await assert.rejects(inpainter.inpaint(photo, mask, { sources: true, stage: 'g1' }), (e: unknown) => e instanceof UsageError && /copies no patches/.test(e.message));
    const freeSources = [...free.debug!.regions[0].sources.data].filter((s) => s >= 0n).map((s) => Number(s) % free.debug!.regions[0].sources.width);
    assert.ok(freeSources.some((sx) => 4 * sx >= 160), 'without a sampling region some patches come from the right');
    assert.notDeepEqual(sampled.image.data, free.image.data);
    checkResult(photo, sampled.image, mask);
    // Excluding the left: nothing from there, in both views of ensemble 2.
    const excluded = await inpainter.inpaint(photo, mask, { debug: true, exclude: left, ensemble: 2 });
    assert.ok(sourcesIn(excluded.debug!.regions[0].sources, (x) => x >= 160) > 100);

    await assert.rejects(inpainter.inpaint(photo, mask, { sampleFrom: mask }), (e: unknown) => e instanceof UsageError && /lies entirely in the hole/.test(e.message));
    const strip = rectMask(512, 384, { x: 0, y: 0, width: 8, height: 384 });
    await assert.rejects(
      inpainter.inpaint(photo, mask, { sampleFrom: strip }),
      (e: unknown) => e instanceof UsageError && /region to copy from is too small: .* no known block of 24x24 pixels \(12x12 at the 256-pixel working scale\)/.test(e.message),
    );
    await assert.rejects(inpainter.inpaint(photo, mask, { exclude: rectMask(100, 100) }), /the exclude mask \(--exclude\) is 100x100 but the image is 512x384; pass resizeMask/);
  });

  it('fills a hole across a thin strip, top to bottom', async () => {
    const photo = await readImage(await photoPixels(400, 10, 'mate-backgrounds/Dune.jpg'));
    const mask = rectMask(400, 10, { x: 150, y: 0, width: 20, height: 10 });
    const { image } = await inpainter.inpaint(photo, mask);
    checkResult(photo, image, mask);
  });

  it('works on a crop around the hole of a large photo and changes only the hole', async () => {
    const photo = resizeImage(await readImage(await photoPixels(750, 500, 'enlightenment-data/Peaks.jpg')), 3000, 2000);
    const mask = rectMask(3000, 2000, { x: 2100, y: 900, width: 200, height: 150 });
    const { image, debug } = await inpainter.inpaint(photo, mask, { debug: true });
    checkResult(photo, image, mask);
    const [r, ...rest] = debug!.regions;
    assert.equal(rest.length, 0);
    // The dilated hole (204x154 at 2098, 898) grown by its longer side each way, downscaled to 512.
    assert.deepEqual(r.box, { x: 1894, y: 694, width: 612, height: 562 });
    assert.deepEqual([r.provenance.width, r.provenance.height], [512, 470]);
  });

  it('fills in place a photo it decoded or one given with inPlace, with the result it gives for a copy', async () => {
    const raw = await photoPixels(1600, 1000, 'enlightenment-data/Peaks.jpg');
    const png = await sharp(raw.data, { raw: { width: 1600, height: 1000, channels: 3 } }).png().toBuffer();
    // Two holes far apart: two context crops, the second read after the first was blended.
    const mask = rectMask(1600, 1000, { x: 100, y: 100, width: 120, height: 90 }, { x: 1300, y: 800, width: 150, height: 100 });
    const decoded = await readImage(png);
    const untouched = decoded.data.slice();
    const fromCopy = await inpainter.inpaint(decoded, mask, { debug: true });
    assert.equal(fromCopy.debug!.regions.length, 2);
    assert.deepEqual(decoded.data, untouched, 'without inPlace the caller keeps the original');
    checkResult(decoded, fromCopy.image, mask);
    const fromBytes = await inpainter.inpaint(png, mask);
    assert.deepEqual(fromBytes.image.data, fromCopy.image.data);
    const given = { ...decoded, data: decoded.data.slice() };
    const inPlace = await inpainter.inpaint(given, mask, { inPlace: true });
    assert.equal(inPlace.image.data, given.data, 'written into the given pixels');
    assert.deepEqual(inPlace.image.data, fromCopy.image.data);
  });

  it('tells onProgress before each scale of each region and orientation, and when done', async () => {
    const photo = await readImage(await photoPixels(1600, 1000, 'enlightenment-data/Peaks.jpg'));
    // Two crops: 372x342 px (scale 256) and 462x412 px (256, then its own size).
    const mask = rectMask(1600, 1000, { x: 100, y: 100, width: 120, height: 90 }, { x: 1300, y: 800, width: 150, height: 100 });
    const seen: InpaintProgress[] = [];
    const { debug } = await inpainter.inpaint(photo, mask, { ensemble: 2, debug: true, onProgress: (p) => seen.push(p) });
    assert.deepEqual(debug!.regions.map((r) => r.scales), [[256], [256, 462]]);
    const step = (done: number, region: number, scale: number) => ({ done, total: 6, region, regions: 2, scale });
    assert.deepEqual(seen, [step(0, 1, 256), step(1, 1, 256), step(2, 2, 256), step(3, 2, 462), step(4, 2, 256), step(5, 2, 462), step(6, 2, 462)]);
    const g1: number[] = [];
    await inpainter.inpaint(photo, mask, { stage: 'g1', onProgress: (p) => g1.push(p.done) });
    assert.deepEqual(g1, [0, 1, 2]);
    await assert.rejects(inpainter.inpaint(photo, mask, { onProgress: 'yes' as never }), /a function for options.onProgress/);
  });

  it('shows onPreview each region as every scale but its last left it, of the first orientation, between the steps', async () => {
    const photo = await readImage(await photoPixels(1600, 1000, 'enlightenment-data/Peaks.jpg'));
    // As above: a crop at 256 alone (no preview), and one at 256 then 462 (a preview at 256).
    const mask = rectMask(1600, 1000, { x: 100, y: 100, width: 120, height: 90 }, { x: 1300, y: 800, width: 150, height: 100 });
    const events: string[] = [];
    const previews: InpaintPreview[] = [];
    const onPreview = (p: InpaintPreview) => {
      events.push(`preview ${p.region} at ${p.scale}`);
      previews.push(p);
    };
    const { debug } = await inpainter.inpaint(photo, mask, { ensemble: 2, debug: true, onPreview, onProgress: (p) => events.push(`step ${p.done}`) });
    assert.deepEqual(events, ['step 0', 'step 1', 'step 2', 'preview 2 at 256', 'step 3', 'step 4', 'step 5', 'step 6']);
    const [p] = previews;
    const box = debug!.regions[1].box;
    assert.deepEqual([p.region, p.regions, p.box], [2, 2, box]);
    assert.deepEqual([box.width, box.height, p.image.width, p.image.height], [462, 412, 256, 228]);
    // Outside the hole it is the photo's region at that size; inside, a fill.
    const known = resizeImage(cropImage(photo, box), 256, 228);
    const plane = 256 * 228;
    for (const [x, y] of [[0, 0], [255, 0], [10, 200]]) for (let c = 0; c < 3; c++) assert.equal(p.image.data[c * plane + y * 256 + x], known.data[c * plane + y * 256 + x]);
    let moved = 0;
    for (let i = 0; i < p.image.data.length; i++) {
      assert.ok(p.image.data[i] >= 0 && p.image.data[i] <= 1);
      moved = Math.max(moved, Math.abs(p.image.data[i] - known.data[i]));
    }
    assert.ok(moved > 0.05, 'the hole holds a fill, not the photo');
    // One scale, or G1 alone: nothing to preview.
    const none: InpaintPreview[] = [];
    await inpainter.inpaint(photo, mask, { scales: [256], onPreview: (q) => none.push(q) });
    await inpainter.inpaint(photo, mask, { stage: 'g1', onPreview: (q) => none.push(q) });
    assert.equal(none.length, 0);
    await assert.rejects(inpainter.inpaint(photo, mask, { onPreview: 'yes' as never }), /a function for options.onPreview/);
  });

  it('ensemble 2 averages the fill of the photo and the fill of its mirror image, mirrored back', async () => {
    const photo = await readImage(await photoPixels(200, 152, 'mate-backgrounds/Dune.jpg'));
    const mask = rectMask(200, 152, { x: 30, y: 50, width: 70, height: 40 });
    const mirror: Orientation = { transpose: false, flipX: true, flipY: false };
    const fill = async (img: RgbImage, m: MaskImage, ensemble: number) => (await inpainter.inpaint(img, m, { ensemble, debug: true })).debug!.regions[0].beforeBlend;
    const a = await fill(photo, mask, 1);
    const b = orientImage(await fill(orientImage(photo, mirror), orientImage(mask, mirror), 1), mirror, true);
    const both = await fill(photo, mask, 2);
    assert.notDeepEqual(a.data, b.data);
    assert.deepEqual(both.data, a.data.map((v, i) => Math.fround(v + b.data[i]) / 2));
  });

  it('with all 8 orientations the result turns with the photo; with one it does not', async () => {
    const photo = await readImage(await photoPixels(256, 256, 'mate-backgrounds/Dune.jpg'));
    const mask = rectMask(256, 256, { x: 40, y: 90, width: 100, height: 60 });
    const turn: Orientation = { transpose: true, flipX: true, flipY: false };
    const maxDiff = async (ensemble: number) => {
      const { debug } = await inpainter.inpaint(photo, mask, { ensemble, debug: true });
      const turned = await inpainter.inpaint(orientImage(photo, turn), orientImage(mask, turn), { ensemble, debug: true });
      const image = debug!.regions[0].beforeBlend;
      const back = orientImage(turned.debug!.regions[0].beforeBlend, turn, true);
      return image.data.reduce((m, v, i) => Math.max(m, Math.abs(v - back.data[i])), 0);
    };
    const [all, one] = [await maxDiff(8), await maxDiff(1)];
    assert.ok(all < 1e-5 && one > 0.05, `largest difference ${all} with 8 orientations, ${one} with 1`);
  });

  it('returns an empty mask\'s image unchanged, with a notice', async () => {
    const photo = await readImage(await photoPixels(64, 48));
    const { image, notices } = await inpainter.inpaint(photo, rectMask(64, 48));
    assert.deepEqual(image, photo);
    assert.notEqual(image.data, photo.data);
    assert.deepEqual(notices, ['the mask is empty: the image is returned unchanged']);
  });

  it('refuses a mask of another size unless asked to resize it', async () => {
    const photo = await readImage(await photoPixels(256, 256));
    const small = rectMask(128, 128, { x: 40, y: 40, width: 30, height: 30 });
    await assert.rejects(inpainter.inpaint(photo, small), (err: Error) => err instanceof UsageError && /128x128.*256x256/.test(err.message));
    const { image, notices } = await inpainter.inpaint(photo, small, { resizeMask: true });
    checkResult(photo, image, rectMask(256, 256, { x: 80, y: 80, width: 60, height: 60 }));
    assert.match(notices.join('\n'), /resized to 256x256/);
  });

  it('refuses a hole that leaves nothing to copy from, saying how much it covers', async () => {
    const photo = await readImage(await photoPixels(256, 256));
    const full = rectMask(256, 256, { x: 0, y: 0, width: 256, height: 256 });
    await assert.rejects(inpainter.inpaint(photo, full), (err: Error) => err instanceof UsageError && /too large: it covers 100\.0%/.test(err.message));
    const rim = rectMask(256, 256, { x: 6, y: 6, width: 244, height: 244 });
    await assert.rejects(inpainter.inpaint(photo, rim, { dilate: 0 }), (err: Error) => err instanceof UsageError && /covers 90\.8%/.test(err.message));
  });

  it('a network that computes Infinity or NaN (finite weights, overflowing) stops the call with an EngineError naming it', async () => {
    const bundle = await readBundle(join(dir, 'bundle'));
    // Finite weights pass the load-time check; 1e30 times the pixels overflows float32 a few layers on.
    for (const [name, p] of bundle.g1.entries()) if (name.endsWith('weight')) p.data.fill(1e30);
    const bad = join(dir, 'overflowing');
    await writeBundle(bad, { model: bundle.manifest.model, vggSha256: bundle.manifest.vggSha256 }, { g1: bundle.g1, g2: bundle.g2 });
    const overflowing = await load({ bundle: bad, vggWeights: TEST_VGG_WEIGHTS });
    try {
      const photo = await readImage(await photoPixels(128, 96));
      await assert.rejects(overflowing.inpaint(photo, rectMask(128, 96, { x: 40, y: 30, width: 30, height: 30 })), (e: Error) => e instanceof EngineError && /^graph "g1" computed (NaN|-?Infinity) in its output "composite"/.test(e.message));
    } finally {
      await overflowing.dispose();
    }
  });

  it('says a scale has no G2 trained at it only when the caller chose the scales', async () => {
    const photo = await readImage(await photoPixels(800, 600));
    const mask = rectMask(800, 600, { x: 270, y: 200, width: 260, height: 200 });
    const planned = await inpainter.inpaint(photo, mask, { debug: true });
    const { scales } = planned.debug!.regions[0];
    assert.ok(scales.length === 3 && scales[2] > 512, `${scales}`);
    assert.doesNotMatch(planned.notices.join('\n'), /no G2/);
    const chosen = await inpainter.inpaint(photo, mask, { scales });
    assert.deepEqual(chosen.notices, [`the model has no G2 trained at ${scales[2]} px: the one trained at 512 px renders that scale`]);
  });

  it("fills a region at a smaller scale where its own would not fit the memory budget, down to 1024, unless the caller sets maxScale", async () => {
    // A strip, so that a region past 1536 px (whose scales go past the least the budget lowers them to) stays cheap.
    const [w, h] = [2000, 300];
    const photo = await readImage(await photoPixels(w, h));
    const mask = rectMask(w, h, { x: 700, y: 100, width: 600, height: 100 });
    const { debug } = await inpainter.inpaint(photo, mask, { debug: true });
    const [{ box, scales }] = debug!.regions;
    assert.deepEqual(scales, defaultScales(box));
    assert.ok(scales.at(-1)! > 1200, `${scales}`);
    const where = `the ${box.width}x${box.height} area at \\(${box.x}, ${box.y}\\)`;
    const budget = fillMemory(w * h, box, 1200);
    const bounded = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, memoryBudget: budget });
    try {
      const fitted = await bounded.inpaint(photo, mask, { debug: true });
      assert.deepEqual(fitted.debug!.regions.map((r) => r.scales), [[...scales.slice(0, -1), 1200]]);
      const said = new RegExp(`${where} was inpainted at up to 1200 px, not ${scales.at(-1)}, to stay within about ${(budget / 1e9).toFixed(1)} GB of memory; a larger maxScale \\(--max-scale\\)`);
      assert.match(fitted.notices.join('\n'), said);
      checkResult(photo, fitted.image, mask);
      const chosen = await bounded.inpaint(photo, mask, { debug: true, maxScale: 16384 });
      assert.deepEqual(chosen.debug!.regions.map((r) => r.scales), [scales]);
      assert.doesNotMatch(chosen.notices.join('\n'), /memory/);
    } finally {
      await bounded.dispose();
    }
    // A budget under what the photo and the region take at full resolution: lowered to 1024, not
    // further (below it the memory hardly falls), and the notice says it is over.
    const starved = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, memoryBudget: 1e8 });
    try {
      const fitted = await starved.inpaint(photo, mask, { debug: true });
      assert.deepEqual(fitted.debug!.regions.map((r) => r.scales.at(-1)), [1024]);
      const over = (fillMemory(w * h, box, 1024) / 1e9).toFixed(1);
      assert.match(fitted.notices.join('\n'), new RegExp(`${where} was inpainted at up to 1024 px, not ${scales.at(-1)}, and still takes about ${over} GB, over the 0\\.1 GB budget; a larger maxScale`));
    } finally {
      await starved.dispose();
    }
    await assert.rejects(load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, memoryBudget: 0 }), /a positive number of bytes for options.memoryBudget/);
  });

  it('reports unreadable images and bad options with typed errors', async () => {
    const corrupt = join(dir, 'corrupt.png');
    await writeFile(corrupt, 'not a png at all');
    await assert.rejects(inpainter.inpaint(corrupt, rectMask(8, 8)), InputError);
    const photo = await readImage(await photoPixels(64, 64));
    const mask = rectMask(64, 64, { x: 20, y: 20, width: 10, height: 10 });
    await assert.rejects(inpainter.inpaint(photo, mask, { scales: [512, 256] }), /strictly increasing/);
    await assert.rejects(inpainter.inpaint(photo, mask, { maxScale: 128 }), /an integer from 256 to 65536 for options.maxScale/);
    await assert.rejects(inpainter.inpaint(photo, mask, { dilation: 3 } as never), /Unknown inpaint option "dilation"/);
    await assert.rejects(inpainter.inpaint(photo, mask, { ensemble: 3 }), /one of 1, 2, 4, 8 for options.ensemble/);
    await assert.rejects(inpainter.inpaint(photo, mask, { inPlace: 'yes' as never }), /a boolean for options.inPlace/);
    await assert.rejects(inpainter.inpaint(photo, mask, { locality: -1 }), /a number from 0 to 100 for options.locality/);
    await assert.rejects(inpainter.inpaint(photo, mask, { matchColour: Number.NaN }), /a number from 0 to 1000 for options.matchColour/);
    await assert.rejects(inpainter.inpaint({ ...photo, data: photo.data.map(() => Number.NaN) }, mask), /\[0, 1\]/);
  });
});

describe('load', () => {
  it("creates its own engine without ONNX Runtime's memory arena, and runs on a caller's engine as it is", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'inpainter-engine-'));
    const own = await Engine.create();
    try {
      await writeRandomBundle(dir, { preset: 'tiny', g2Scales: [256] });
      const create = t.mock.method(Engine, 'create');
      await (await load({ bundle: dir, vggWeights: TEST_VGG_WEIGHTS })).dispose();
      assert.deepEqual(create.mock.calls.map((c) => c.arguments), [[{ memoryArena: false }]]);
      assert.equal((await create.mock.calls[0].result)!.memoryArena, false);
      await (await load({ bundle: dir, vggWeights: TEST_VGG_WEIGHTS, engine: own })).dispose();
      assert.equal(create.mock.callCount(), 1);
      assert.equal(own.disposed, false);
    } finally {
      await own.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says how to pass a model when none is installed', () => {
    assert.throws(() => resolveBundleDir(undefined, join(tmpdir(), 'no-such-model-dir')), (err: Error) => err instanceof InputError && /No default model is installed.*--model DIR/.test(err.message));
    assert.equal(resolveBundleDir('/some/bundle', join(tmpdir(), 'no-such-model-dir')), '/some/bundle');
  });

  it('warns when the VGG weights are not the ones the model was trained with, and refuses use after dispose', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inpainter-sha-'));
    try {
      await writeRandomBundle(dir, { preset: 'tiny', g2Scales: [256], vggSha256: 'f'.repeat(64) });
      const inpainter = await load({ bundle: dir, vggWeights: TEST_VGG_WEIGHTS });
      assert.match(inpainter.notices.join('\n'), /not the file the model was trained with/);
      assert.deepEqual(inpainter.trainedScales, [256]);
      await inpainter.dispose();
      await assert.rejects(inpainter.inpaint('x.png', 'm.png'), (err: Error) => err instanceof UsageError && /disposed/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
