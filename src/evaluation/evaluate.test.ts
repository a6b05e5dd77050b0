import assert from 'node:assert/strict';
import { meanColourFill } from '../baselines/testing.ts';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InpaintMethod } from '../baselines/method.ts';
import { UsageError } from '../core/errors.ts';
import { type MaskImage, readImage, type RgbImage, writeImage, writeMask } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { makeMask } from '../data/masks.ts';
import { evaluate } from './evaluate.ts';
import { prepareImage } from './protocols.ts';
import { type MetricColumn, resultsCsv, type ResultRow } from './report.ts';

/** A smooth random photo: a few colour gradients, so that SSIM and l1 behave as on real images. */
function photo(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const [a, b, f] = [rng.next(), rng.next(), 2 + 6 * rng.next()];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data[c * plane + y * width + x] = 0.5 + 0.25 * Math.sin((f * x) / width + a * 6) * Math.cos((f * y) / height + b * 6) + 0.1 * rng.next();
    }
  }
  return { width, height, data };
}

const hash = (...arrays: ArrayBufferView[]) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
};

/** A fake method that records the hash of every input and mask it is given. */
interface Recording extends InpaintMethod {
  calls: string[];
}

function fake(name: string, fill: (image: RgbImage, mask: MaskImage) => RgbImage): Recording {
  const calls: string[] = [];
  return {
    name,
    calls,
    inpaint: async (image, mask) => {
      calls.push(hash(image.data, mask.data));
      return fill(image, mask);
    },
    dispose: () => undefined,
  };
}

/** Answers with whichever ground truth matches the input's known pixels: a perfect method. */
function oracle(truths: RgbImage[]): Recording {
  return fake('oracle', (image, mask) => {
    const plane = image.width * image.height;
    const match = truths.find((t) => t.width === image.width && t.data.every((v, i) => mask.data[i % plane] === 1 || v === image.data[i]));
    assert.ok(match, 'the input is a prepared ground truth with a hole');
    return match;
  });
}

/** Fills the hole with the mean colour of the known pixels: a poor method. */
function meanFill(): Recording {
  return fake('mean-fill', meanColourFill);
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const keys = head.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [keys[i], v])));
}

describe('evaluate', () => {
  let dir: string;
  let data: string;
  let truths: RgbImage[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evaluate-'));
    data = join(dir, 'photos');
    // Two landscape, one portrait; one in a subfolder, listed as 'sub/c.png'.
    await writeImage(join(data, 'a.png'), photo(96, 64, 1));
    await writeImage(join(data, 'b.png'), photo(80, 60, 2));
    await writeImage(join(data, 'sub', 'c.png'), photo(50, 70, 3));
    truths = [];
    for (const name of ['a.png', 'b.png', 'sub/c.png']) truths.push(prepareImage(await readImage(join(data, name)), 256));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('runs every method on the same inputs and writes the CSV, the summary and the HTML page', async () => {
    const out = join(dir, 'run1');
    const methods = [oracle(truths), meanFill()];
    const lines: string[] = [];
    const result = await evaluate({ folder: data, methods, protocols: ['centre-256', 'rectangles-256'], out, seed: 3, split: 'all', gridImages: 2, log: (l) => lines.push(l) });

    // Exactly the same inputs, in the same order, for both methods: a warm-up call on the first
    // input, then each of the 3 images x 2 protocols once.
    assert.equal(methods[0].calls.length, 7);
    assert.deepEqual(methods[0].calls, methods[1].calls);
    assert.equal(methods[0].calls[0], methods[0].calls[1]);
    assert.equal(new Set(methods[0].calls).size, 6);

    const rows = parseCsv(await readFile(join(out, 'results.csv'), 'utf8'));
    assert.equal(rows.length, 3 * 2 * 2);
    assert.deepEqual(
      rows.slice(0, 4).map((r) => [r.protocol, r.index, r.image, r.method, r.mask_kind]),
      [
        ['centre-256', '0', 'a.png', 'oracle', 'centre'],
        ['centre-256', '0', 'a.png', 'mean-fill', 'centre'],
        ['rectangles-256', '0', 'a.png', 'oracle', 'rectangles'],
        ['rectangles-256', '0', 'a.png', 'mean-fill', 'rectangles'],
      ],
    );
    assert.equal(rows[8].image, 'sub/c.png');
    for (const r of rows.filter((r) => r.method === 'oracle')) {
      assert.deepEqual([r.l1_hole, r.l1_image, r.psnr, r.ssim, r.ssim_hole, r.detail_hole, r.error], ['0', '0', 'inf', '1', '1', '100', '']);
      assert.ok(Math.abs(Number(r.texture_hole) - 100) < 1e-9, r.texture_hole);
    }
    for (const r of rows.filter((r) => r.method === 'mean-fill')) {
      assert.ok(Number(r.l1_hole) > 1 && Number(r.l1_image) < Number(r.l1_hole) && Number(r.ssim_hole) < 0.99 && Number(r.psnr) < 40, JSON.stringify(r));
      assert.equal(r.detail_hole, '0', 'a flat fill has no detail');
      assert.ok(Number(r.texture_hole) < 0.01, `nor texture: ${r.texture_hole}`);
      assert.equal('perceptual' in r, false, 'no perceptual column without a VGG');
    }
    // The centre hole is 128x128 of 256x256.
    assert.equal(rows[0].hole_percent, '25.000');

    const md = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(md, /^# Evaluation\n\n3 images from .*photos \(split: all\), mask seed 3\./);
    assert.match(md, /\| protocol \| method \| images \| l1_hole \(%\) ↓ \| l1_image \(%\) ↓ \| psnr \(dB\) ↑ \| ssim ↑ \| ssim_hole ↑ \| detail_hole \(%\) \| texture_hole \(%\) \| s \/ image \|/);
    assert.match(md, /\| centre-256 \| oracle \| 3 \| \*\*0\.00\*\* \| \*\*0\.00\*\* \| \*\*∞\*\* \| \*\*1\.0000\*\* \| \*\*1\.0000\*\* \| 100\.00 \| 100\.00 \| [0-9.e-]+ \|/);
    assert.match(md, /\| rectangles-256 \| mean-fill \| 3 \| \d+\.\d\d \| \d\.\d\d \| \d+\.\d\d \| 0\.\d{4} \| 0\.\d{4} \| 0\.00 \| 0\.00 \| [0-9.e-]+ \|/);
    assert.equal(md.match(/^\| (centre|rectangles)-256 \|/gm)?.length, 4);
    assert.equal(result.summary.length, 4);
    assert.deepEqual(result.paired, [], 'no comparison by default when telea is not among the methods');
    assert.doesNotMatch(md, /Paired differences/);
    assert.ok(result.summary.find((s) => s.protocol === 'centre-256' && s.method === 'mean-fill')!.metrics.l1_hole > 1);

    const html = await readFile(join(out, 'index.html'), 'utf8');
    assert.match(html, /<table>[\s\S]*<td>centre-256<\/td><td>oracle<\/td>/);
    const images = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(images, ['grids/centre-256-0000.png', 'grids/centre-256-0001.png', 'grids/rectangles-256-0000.png', 'grids/rectangles-256-0001.png']);
    for (const src of images) assert.ok(existsSync(join(out, src)), src);
    // A grid row: input | oracle | mean-fill | truth, each 256 wide with 2-pixel separators.
    const grid = await readImage(join(out, images[0]));
    assert.equal(grid.width, 4 * 256 + 3 * 2);

    assert.deepEqual((await readdir(join(out, 'masks', 'centre-256'))).sort(), ['0000-seed3.png', '0001-seed3.png', '0002-seed3.png']);
    assert.equal(lines.length, 1 + 3 * 2 + 1);
    assert.match(lines[1], /^\[1\/3\] centre-256 a\.png: oracle l1_hole 0\.00% ssim 1\.0000 .*s \| mean-fill l1_hole \d+\.\d\d% /);
  });

  it('gives identical masks to a second run, and reuses saved masks as they are', async () => {
    const protocols = ['rectangles-256', 'strokes-256'];
    const first = join(dir, 'masks-a');
    const second = join(dir, 'masks-b');
    const runA = [meanFill()];
    const runB = [meanFill()];
    await evaluate({ folder: data, methods: runA, protocols, out: first, seed: 11, split: 'all', gridImages: 0, log: () => {} });
    await evaluate({ folder: data, methods: runB, protocols, out: second, seed: 11, split: 'all', gridImages: 0, log: () => {} });
    for (const protocol of protocols) {
      const files = (await readdir(join(first, 'masks', protocol))).sort();
      assert.equal(files.length, 3);
      for (const f of files) assert.deepEqual(await readFile(join(second, 'masks', protocol, f)), await readFile(join(first, 'masks', protocol, f)), `${protocol}/${f}`);
    }
    assert.deepEqual(runB[0].calls, runA[0].calls);
    const hashesA = parseCsv(await readFile(join(first, 'results.csv'), 'utf8')).map((r) => r.mask_sha256);
    assert.deepEqual(parseCsv(await readFile(join(second, 'results.csv'), 'utf8')).map((r) => r.mask_sha256), hashesA);
    assert.equal(new Set(hashesA).size, 6);

    // Replace one saved mask: the next run into that folder uses it, whatever the seed would draw.
    const own = await makeMask('centre', 256, 256, new Rng(0));
    await writeMask(join(second, 'masks', 'strokes-256', '0001-seed11.png'), own);
    const runC = [meanFill()];
    await evaluate({ folder: data, methods: runC, protocols, out: second, seed: 11, split: 'all', gridImages: 0, log: () => {} });
    const hashesC = parseCsv(await readFile(join(second, 'results.csv'), 'utf8')).map((r) => r.mask_sha256);
    assert.deepEqual(hashesC.filter((h, i) => h !== hashesA[i]), [hash(own.data).slice(0, 16)]);
    assert.equal(runC[0].calls.filter((c, i) => c !== runA[0].calls[i]).length, 1);
  });

  it('compares every method with the reference image by image, in both summaries', async () => {
    const out = join(dir, 'paired');
    const result = await evaluate({ folder: data, methods: [oracle(truths), meanFill()], protocols: ['centre-256'], out, split: 'all', gridImages: 0, reference: 'mean-fill', log: () => undefined });
    assert.equal(result.paired.length, 1);
    const [p] = result.paired;
    assert.deepEqual([p.protocol, p.method, p.reference, p.images], ['centre-256', 'oracle', 'mean-fill', 3]);
    // The oracle is perfect: its l1 is lower on every image, so the whole interval is below 0.
    const rows = result.rows.filter((r) => r.method === 'mean-fill');
    const meanL1 = rows.reduce((a, r) => a + r.metrics.l1_hole, 0) / rows.length;
    assert.ok(Math.abs(p.differences.l1_hole.mean + meanL1) < 1e-9);
    assert.ok(p.differences.l1_hole.high < 0);
    assert.equal('psnr' in p.differences, false, "the oracle's PSNR is infinite on every image");
    assert.match(await readFile(join(out, 'summary.md'), 'utf8'), /## Paired differences to mean-fill[\s\S]*\| centre-256 \| oracle − mean-fill \| 3 \| \*\*-/);
    assert.match(await readFile(join(out, 'index.html'), 'utf8'), /<h2>Paired differences to mean-fill<\/h2>/);
  });

  it('records a failing method per image and goes on', async () => {
    const out = join(dir, 'failing');
    const flaky = fake('flaky', (image, mask) => {
      if (mask.data.reduce((a, b) => a + b, 0) === 128 * 128 && image.data[0] !== truths[0].data[0]) throw new Error('cannot fill: sorry');
      return image;
    });
    await evaluate({ folder: data, methods: [flaky, meanFill()], protocols: ['centre-256'], out, split: 'all', gridImages: 3, log: () => {} });
    const rows = parseCsv(await readFile(join(out, 'results.csv'), 'utf8'));
    assert.deepEqual(rows.map((r) => [r.method, r.error]), [
      ['flaky', ''],
      ['mean-fill', ''],
      ['flaky', 'cannot fill: sorry'],
      ['mean-fill', ''],
      ['flaky', 'cannot fill: sorry'],
      ['mean-fill', ''],
    ]);
    assert.equal(rows[2].l1_hole, '');
    assert.match(await readFile(join(out, 'summary.md'), 'utf8'), /\| centre-256 \| flaky \| 1 \(\+2 failed\) \|/);
    assert.match(await readFile(join(out, 'index.html'), 'utf8'), /flaky: failed; mean-fill: l1_hole/);
  });

  it('refuses bad options before running anything', async () => {
    const out = join(dir, 'never');
    const base = { folder: data, methods: [meanFill()], protocols: ['centre-256'], out, log: () => {} };
    await assert.rejects(evaluate({ ...base, protocols: ['centre-128'] }), /Unknown protocol "centre-128"/);
    await assert.rejects(evaluate({ ...base, methods: [meanFill(), meanFill()] }), /distinct names/);
    await assert.rejects(evaluate({ ...base, methods: [] }), UsageError);
    await assert.rejects(evaluate({ ...base, limit: 0 }), UsageError);
    await assert.rejects(evaluate({ ...base, reference: 'telea' }), UsageError);
    assert.equal(existsSync(out), false);
  });

  it('scores only the validation split by default, and the first N images with limit', async () => {
    const calls: number[] = [];
    const count = (name: string) => fake(name, (image) => (calls.push(1), image));
    // 3 files: the split moves at least one to validation, and keeps at least one for training.
    const val = await evaluate({ folder: data, methods: [count('v')], protocols: ['centre-256'], out: join(dir, 'val'), gridImages: 0, log: () => {} });
    assert.ok(val.rows.length >= 1 && val.rows.length < 3);
    const limited = await evaluate({ folder: data, methods: [count('l')], protocols: ['centre-256'], out: join(dir, 'limit'), split: 'all', limit: 2, gridImages: 0, log: () => {} });
    assert.deepEqual(limited.rows.map((r) => r.image), ['a.png', 'b.png']);
    assert.equal(calls.length, val.rows.length + 2 + 2, 'each run also warms its method up once');
  });
});

describe('resultsCsv', () => {
  it('quotes fields holding commas or quotes and writes missing values as empty', () => {
    const columns: MetricColumn[] = [{ name: 'psnr', unit: 'dB', higherIsBetter: true }];
    const row: ResultRow = {
      protocol: 'centre-256', index: 0, image: 'a,"b".png', maskKind: 'centre', maskSha256: '00', holePercent: 25, method: 'm', seconds: 0.5, metrics: {}, error: 'x, y',
    };
    assert.equal(resultsCsv([row], columns), 'protocol,index,image,mask_kind,mask_sha256,hole_percent,method,seconds,psnr,error\ncentre-256,0,"a,""b"".png",centre,00,25.000,m,0.5000,,"x, y"\n');
  });
});
