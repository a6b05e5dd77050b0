import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { InputError, UsageError } from '../core/errors.ts';
import { cropImage, readImage, resizeImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { ImageFolder } from './dataset.ts';
import { type Batch, BatchLoader, type BatchLoaderOptions, loadValidationSet } from './loader.ts';
import { boxReduce, cropPhoto } from './loader-worker.ts';
import { makeMask } from './masks.ts';

const PHOTOS = '/work/shared/data/photos';
// Small photos, so that decoding stays fast; HappyFish (259x194) is smaller than S = 256.
const SOURCES = ['opencv-doc/HappyFish.jpg', 'python3-skimage/coins.jpg', 'python3-skimage/chelsea.jpg', 'opencv-doc/smarties.jpg', 'opencv-doc/butterfly.jpg'];
const S = 48;

let dir: string;
let good: string[];
let grey: string;
let corrupt: string;
let textPng: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loader-test-'));
  await mkdir(join(dir, 'good', 'sub'), { recursive: true });
  for (const [i, src] of SOURCES.entries()) await copyFile(join(PHOTOS, src), join(dir, 'good', i % 2 ? 'sub' : '', src.split('/')[1]));
  // A one-channel JPEG: readImage must replicate it to RGB.
  grey = join(dir, 'good', 'grey.jpg');
  await sharp(join(PHOTOS, SOURCES[2])).greyscale().toColourspace('b-w').jpeg().toFile(grey);
  assert.equal((await sharp(grey).metadata()).channels, 1);
  good = (await ImageFolder.open(join(dir, 'good'))).paths;
  assert.equal(good.length, 6);
  corrupt = join(dir, 'bad', 'truncated.jpg');
  textPng = join(dir, 'bad', 'notes.png');
  await mkdir(join(dir, 'bad'));
  await writeFile(corrupt, (await readFile(join(PHOTOS, SOURCES[4]))).subarray(0, 4000));
  await writeFile(textPng, 'this is not a picture\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function checksum(batch: Batch): string {
  return createHash('sha256')
    .update(new Uint8Array(batch.images.buffer))
    .update(new Uint8Array(batch.masks.buffer))
    .update(batch.paths.join('\n'))
    .digest('hex');
}

/** `count` batches from a fresh loader, which is disposed afterwards. */
async function take(options: BatchLoaderOptions, count: number): Promise<Batch[]> {
  const loader = await BatchLoader.create(options);
  try {
    const out: Batch[] = [];
    for (let i = 0; i < count; i++) out.push(await loader.next());
    return out;
  } finally {
    await loader.dispose();
  }
}

const base = (over: Partial<BatchLoaderOptions> = {}): BatchLoaderOptions => ({ files: good, batchSize: 4, size: S, seed: 1, onWarning: () => assert.fail('no warning expected'), ...over });

describe('BatchLoader', () => {
  test('batches have the right shapes, pixels in [0, 1], masks binary with a hole and known pixels', async () => {
    const batches = await take(base(), 3);
    for (const b of batches) {
      assert.equal(b.images.length, 4 * 3 * S * S);
      assert.equal(b.masks.length, 4 * S * S);
      assert.equal(b.paths.length, 4);
      for (const p of b.paths) assert.ok(good.includes(p), p);
      assert.ok(b.images.every((v) => v >= 0 && v <= 1));
      assert.ok(b.masks.every((v) => v === 0 || v === 1));
      for (let i = 0; i < 4; i++) {
        const holes = b.masks.subarray(i * S * S, (i + 1) * S * S).reduce((a, v) => a + v, 0);
        assert.ok(holes > 0 && holes < S * S, `sample ${i}: ${holes} hole pixels`);
      }
    }
  });

  test('the same seed gives identical batches whatever the prefetch depth; another seed differs', async () => {
    const a = (await take(base({ prefetch: 1 }), 5)).map(checksum);
    assert.deepEqual((await take(base({ prefetch: 4 }), 5)).map(checksum), a);
    const b = (await take(base({ seed: 2 }), 5)).map(checksum);
    for (let i = 0; i < 5; i++) assert.notEqual(b[i], a[i], `batch ${i}`);
  });

  test('each epoch visits every file once, in a new order', async () => {
    const loader = await BatchLoader.create(base({ batchSize: 3 }));
    const epochs: string[][] = [];
    for (let e = 0; e < 3; e++) {
      epochs.push([...(await loader.next()).paths, ...(await loader.next()).paths]);
      assert.deepEqual([...epochs[e]].sort(), good);
      // Exactly one epoch consumed: the next sample starts epoch e + 1.
      assert.deepEqual([loader.state().epoch, loader.state().index], [e, 6]);
    }
    await loader.dispose();
    assert.equal(new Set(epochs.map((o) => o.join())).size, 3);
  });

  test('resuming from state() after k batches gives batches k+1.. of an uninterrupted run', async () => {
    const whole = (await take(base({ batchSize: 5 }), 6)).map(checksum);
    const first = await BatchLoader.create(base({ batchSize: 5 }));
    const head = [await first.next(), await first.next()].map(checksum);
    // Through JSON, as a checkpoint would store it.
    const saved = JSON.parse(JSON.stringify(first.state()));
    // More batches after the save must not change what was saved.
    await first.next();
    await first.dispose();
    const tail = (await take(base({ batchSize: 5, resume: saved }), 4)).map(checksum);
    assert.deepEqual([...head, ...tail], whole);
  });

  test('resuming with another file list or seed is a UsageError', async () => {
    const loader = await BatchLoader.create(base());
    await loader.next();
    const saved = loader.state();
    await loader.dispose();
    await assert.rejects(BatchLoader.create(base({ files: good.slice(1), resume: saved })), UsageError);
    await assert.rejects(BatchLoader.create(base({ seed: 9, resume: saved })), UsageError);
  });

  test('flips are horizontal mirrors of the unflipped crops, some samples each way', async () => {
    const plain = await take(base({ flip: false }), 4);
    const flipped = await take(base(), 4);
    let mirrored = 0;
    let same = 0;
    for (let b = 0; b < 4; b++) {
      assert.deepEqual(flipped[b].masks, plain[b].masks);
      for (let i = 0; i < 4; i++) {
        const p = plain[b].images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
        const f = flipped[b].images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
        const mirror = p.slice();
        for (let row = 0; row < 3 * S; row++) mirror.subarray(row * S, (row + 1) * S).reverse();
        if (f.every((v, k) => v === p[k])) same++;
        else if (f.every((v, k) => v === mirror[k])) mirrored++;
        else assert.fail(`batch ${b} sample ${i} is neither the crop nor its mirror`);
      }
    }
    assert.ok(mirrored > 0 && same > 0, `${mirrored} mirrored, ${same} not`);
  });

  test('mask kinds follow the weights: centre only gives the centre hole every time', async () => {
    const centre = (await makeMask('centre', S, S, new Rng(0))).data;
    for (const b of await take(base({ masks: { centre: 1 } }), 2)) {
      for (let i = 0; i < 4; i++) assert.deepEqual(b.masks.subarray(i * S * S, (i + 1) * S * S), Float32Array.from(centre));
    }
    await assert.rejects(BatchLoader.create(base({ masks: { folder: 1 } as never })), UsageError);
    await assert.rejects(BatchLoader.create(base({ masks: { centre: 0 } })), UsageError);
  });

  test('a greyscale photo gives equal R, G and B planes', async () => {
    for (const b of await take(base({ files: [grey] }), 2)) {
      for (let i = 0; i < 4; i++) {
        const img = b.images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
        for (let k = 0; k < S * S; k++) assert.ok(img[k] === img[S * S + k] && img[k] === img[2 * S * S + k], `pixel ${k}`);
        assert.ok(img.some((v) => v !== img[0]), 'not a flat image');
      }
    }
  });

  test('unreadable files are reported once each, skipped, and batches stay full and reproducible', async () => {
    const files = [...good.slice(0, 4), corrupt, textPng].sort();
    const run = async () => {
      const warnings: string[] = [];
      const batches = await take(base({ files, batchSize: 3, onWarning: (m) => warnings.push(m) }), 8);
      return { warnings, batches };
    };
    const { warnings, batches } = await run();
    // 24 samples over 4 good files: every epoch (6 planned) meets both bad files, yet each is reported once.
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes(corrupt) && /premature end|corrupt|JPEG/i.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes(textPng) && /unsupported image format/i.test(w)), warnings.join('\n'));
    for (const b of batches) {
      assert.equal(b.paths.length, 3);
      assert.equal(b.images.length, 3 * 3 * S * S);
      for (const p of b.paths) assert.ok(good.includes(p), p);
    }
    const again = await run();
    assert.deepEqual(again.batches.map(checksum), batches.map(checksum));
  });

  test('a folder of only unreadable files is an InputError', async () => {
    const warnings: string[] = [];
    const loader = await BatchLoader.create(base({ files: [corrupt, textPng], onWarning: (m) => warnings.push(m) }));
    await assert.rejects(loader.next(), (e: Error) => e instanceof InputError && /None of the 2 training images/.test(e.message));
    // The failure sticks.
    await assert.rejects(loader.next(), InputError);
    await loader.dispose();
    assert.equal(warnings.length, 2);
  });

  test('dispose ends the loader: next() is then a UsageError, and a second dispose does nothing', async () => {
    const loader = await BatchLoader.create(base());
    // Either the batch was already made, or the wait ends with the disposal; never a hang.
    const pending = loader.next().then(
      (b) => assert.equal(b.paths.length, 4),
      (e: Error) => assert.ok(e instanceof UsageError, e.message),
    );
    await loader.dispose();
    await pending;
    await assert.rejects(loader.next(), UsageError);
    await loader.dispose();
  });

  test('bad options are UsageErrors', async () => {
    for (const over of [{ files: [] }, { batchSize: 0 }, { size: 1.5 }, { jitterMax: 0.9 }, { prefetch: 0 }, { seed: Number.NaN }]) {
      await assert.rejects(BatchLoader.create(base(over as Partial<BatchLoaderOptions>)), UsageError, JSON.stringify(over));
    }
  });

  test('the process exits after next() without dispose()', () => {
    const url = new URL('./loader.ts', import.meta.url).href;
    const script = `
      const { BatchLoader } = await import(${JSON.stringify(url)});
      const loader = await BatchLoader.create({ files: ${JSON.stringify(good)}, batchSize: 2, size: 32, seed: 3 });
      console.log('samples', (await loader.next()).paths.length);`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.signal, null, 'the child had to be killed: the worker kept it alive');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /samples 2/);
  });
});

describe('cropPhoto', () => {
  test('boxReduce averages k x k blocks and drops the partial ones', () => {
    // 5x3, one value per pixel repeated in the three planes with an offset per plane.
    const plane = [1, 2, 3, 4, 50, 5, 6, 7, 8, 60, 90, 90, 90, 90, 90];
    const img = { width: 5, height: 3, data: Float32Array.from([0, 100, 200].flatMap((o) => plane.map((v) => v + o))) };
    const out = boxReduce(img, 2);
    assert.deepEqual([out.width, out.height], [2, 1]);
    assert.deepEqual([...out.data], [3.5, 5.5, 103.5, 105.5, 203.5, 205.5]);
  });

  test('a large photo shrunk through block averaging matches a direct resize closely', async () => {
    const path = join(PHOTOS, 'python3-skimage/astronaut.jpg'); // 512x512: k = 4 at S = 64
    const direct = resizeImage(await readImage(path), 64, 64).data;
    const crop = await cropPhoto(path, 64, 1, 0.5, 0.5, false);
    assert.equal(crop.length, direct.length);
    const meanAbs = crop.reduce((a, v, i) => a + Math.abs(v - direct[i]), 0) / crop.length;
    assert.ok(meanAbs > 0 && meanAbs < 0.01, `mean |difference| ${meanAbs}`);
  });

  test("a zoom past the photo's own pixels crops at full resolution, not enlarged further", async () => {
    const path = join(PHOTOS, 'python3-skimage/astronaut.jpg'); // 512x512: full resolution at zoom 8 for S = 64
    const full = await cropPhoto(path, 64, 8, 0.3, 0.6, false);
    assert.deepEqual(await cropPhoto(path, 64, 20, 0.3, 0.6, false), full);
    const closer = await cropPhoto(path, 64, 7, 0.3, 0.6, false);
    assert.ok(closer.some((v, i) => Math.abs(v - full[i]) > 0.05), 'zooms below full resolution differ');
  });

  test('a photo smaller than the crop is enlarged to it', async () => {
    const crop = await cropPhoto(good.find((p) => p.endsWith('HappyFish.jpg')) as string, 256, 1.2, 0.9, 0.1, true);
    assert.equal(crop.length, 3 * 256 * 256);
    assert.ok(crop.every((v) => v >= 0 && v <= 1));
  });
});

describe('loadValidationSet', () => {
  test('centre crops of the photo resized to short side S, with fixed masks; identical on every load', async () => {
    // At S = 128 these photos (short sides 194 to 356) are under 2S, so no block averaging comes first.
    const V = 128;
    const paths = good.slice(0, 4);
    const val = await loadValidationSet(paths, V, 11);
    assert.deepEqual(val.paths, paths);
    assert.equal(val.images.length, 4 * 3 * V * V);
    assert.equal(val.masks.length, 4 * V * V);
    for (const [i, path] of paths.entries()) {
      const photo = await readImage(path);
      const f = V / Math.min(photo.width, photo.height);
      const [w, h] = [Math.max(V, Math.round(photo.width * f)), Math.max(V, Math.round(photo.height * f))];
      assert.ok(w === V || h === V);
      const expected = cropImage(resizeImage(photo, w, h), { x: Math.floor((w - V + 1) / 2), y: Math.floor((h - V + 1) / 2), width: V, height: V });
      assert.deepEqual(val.images.subarray(i * 3 * V * V, (i + 1) * 3 * V * V), expected.data, path);
      const holes = val.masks.subarray(i * V * V, (i + 1) * V * V).reduce((a, v) => a + v, 0);
      assert.ok(holes > 0 && holes < V * V, `${path}: ${holes} holes`);
    }
    const again = await loadValidationSet(paths, V, 11);
    assert.deepEqual(again, val);
    assert.notDeepEqual((await loadValidationSet(paths, V, 12)).masks, val.masks);
  });

  test('unreadable files are reported and left out; the others keep the masks of their index', async () => {
    const warnings: string[] = [];
    const withBad = await loadValidationSet([good[0], corrupt, good[1]], 32, 4, { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(withBad.paths, [good[0], good[1]]);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(corrupt));
    const reference = await loadValidationSet([good[0], good[2], good[1]], 32, 4);
    assert.deepEqual(withBad.masks.subarray(0, 32 * 32), reference.masks.subarray(0, 32 * 32));
    assert.deepEqual(withBad.masks.subarray(32 * 32), reference.masks.subarray(2 * 32 * 32));
    await assert.rejects(loadValidationSet([corrupt, textPng], 32, 4, { onWarning: () => undefined }), InputError);
  });
});
