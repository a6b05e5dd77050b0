import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { InpaintError, InputError, UsageError } from '../core/errors.ts';
import { readImage, readMask, writeMask } from '../core/image.ts';
import { iptcOf, withIptc } from '../core/iptc.ts';
import type { RawPixels } from '../core/raster.ts';
import { Rng } from '../core/random.ts';
import { reframe } from '../core/reframe.ts';
import { displayP3Photo, displayP3Profile, photoPixels, rectMask, TEST_HEIC, TEST_VGG_WEIGHTS, TEST_XMP, writeRandomBundle } from '../inference/testing.ts';
import { readBundle, writeBundle } from '../models/bundle.ts';
import { inpaintCommand, progressLine, roughDuration } from './inpaint.ts';
import { main } from './main.ts';

// main() maps UsageError to exit code 2 and any other InpaintError to 1 (see main.test.ts); these
// tests check which of the two each failure raises.

/** A PNG mask with the hole at x 30..70, y 20..50. */
async function writeMaskBytes(width: number, height: number): Promise<Buffer> {
  const grey = Buffer.alloc(width * height);
  for (let y = 20; y < 50; y++) grey.fill(255, y * width + 30, y * width + 70);
  return sharp(grey, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

async function writePhoto(path: string, width: number, height: number, file?: string): Promise<void> {
  const raw = await photoPixels(width, height, file);
  await sharp(raw.data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

/** Runs the command with console output captured; returns the printed lines. */
async function run(t: TestContext, ...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
  t.mock.method(console, 'error', (...a: unknown[]) => lines.push(a.join(' ')));
  try {
    await inpaintCommand.run(args);
  } finally {
    t.mock.restoreAll();
  }
  return lines;
}

/**
 * Runs `inpaint run PHOTO <flags> -o OUT` for each case with a model that does not exist: each must
 * exit 2 with its message, before the model loads (a refusal after loading would fail on the model
 * instead), and write nothing.
 */
async function refusedBeforeLoading(t: TestContext, photo: string, out: string, model: string, cases: [string[], RegExp][]): Promise<void> {
  for (const [flags, message] of cases) {
    const errors: string[] = [];
    t.mock.method(console, 'error', (...a: unknown[]) => errors.push(a.join(' ')));
    const code = await main(['run', photo, ...flags, '-o', out, '--model', model]);
    t.mock.restoreAll();
    assert.equal(code, 2, `${flags.join(' ')}: ${errors.join('\n')}`);
    assert.match(errors.join('\n'), message, flags.join(' '));
    assert.ok(!existsSync(out), flags.join(' '));
  }
}

describe('inpaint run', () => {
  let dir: string;
  let model: string[];

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'inpaint-cli-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    model = ['--model', join(dir, 'bundle'), '--vgg', TEST_VGG_WEIGHTS];
    await writePhoto(join(dir, 'photo.png'), 200, 150);
    await writeMask(join(dir, 'mask.png'), rectMask(200, 150, { x: 60, y: 50, width: 50, height: 40 }));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('inpaints one photo: same size, known pixels unchanged after the PNG round trip, debug images written', async (t) => {
    const out = join(dir, 'out', 'filled.png');
    const lines = await run(t, join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', out, ...model, '--dilate', '0', '--ensemble', '2', '--locality', '0.5', '--match-colour', '30', '--debug', join(dir, 'debug'));
    assert.match(lines.join('\n'), /photo\.png -> .*filled\.png/);
    const [input, output] = [await readImage(join(dir, 'photo.png')), await readImage(out)];
    assert.deepEqual([output.width, output.height], [200, 150]);
    const hole = rectMask(200, 150, { x: 60, y: 50, width: 50, height: 40 });
    let differ = 0;
    for (let i = 0; i < input.data.length; i++) {
      if (!hole.data[i % 30000]) assert.equal(output.data[i], input.data[i]);
      else if (output.data[i] !== input.data[i]) differ++;
    }
    assert.ok(differ > 0.8 * 3 * 2000, `${differ} hole values changed`);
    for (const f of ['coarse', 'before-blend', 'provenance']) assert.ok(existsSync(join(dir, 'debug', `photo.r0.${f}.png`)), f);
  });

  it('writes a black-and-white photo back black and white: one channel, the fill grey, every known value exact', async (t) => {
    const raw = await photoPixels(100, 80, 'mate-backgrounds/Wood.jpg');
    const grey = Uint8Array.from({ length: 8000 }, (_, i) => Math.round((raw.data[3 * i] + raw.data[3 * i + 1] + raw.data[3 * i + 2]) / 3));
    const photo = join(dir, 'bw.png');
    await sharp(grey, { raw: { width: 100, height: 80, channels: 1 } }).toColourspace('b-w').png().toFile(photo);
    const mask = join(dir, 'bw-mask.png');
    await writeMask(mask, rectMask(100, 80, { x: 40, y: 30, width: 20, height: 20 }));
    const grown = rectMask(100, 80, { x: 40 - 3, y: 30 - 3, width: 26, height: 26 });
    for (const name of ['bw-out.png', 'bw-out.jpg']) {
      const out = join(dir, name);
      await run(t, photo, '--mask', mask, '-o', out, ...model);
      assert.equal((await sharp(out).metadata()).channels, 1, name);
    }
    const data = await sharp(join(dir, 'bw-out.png')).extractChannel(0).raw().toBuffer();
    assert.equal(data.length, 8000);
    for (let i = 0; i < 8000; i++) if (!grown.data[i]) assert.equal(data[i], grey[i], `pixel ${i}`);
    assert.ok(data.some((v, i) => grown.data[i] && v !== grey[i]), 'the hole is filled');
  });

  it('rejects bad flags and unusable masks with UsageError (exit code 2)', async (t) => {
    const photo = join(dir, 'photo.png');
    const out = join(dir, 'x.png');
    const usage = (...args: string[]) => assert.rejects(run(t, ...args), UsageError);
    await usage(photo, '-o', out);
    await usage('--input', dir, '--masks', dir);
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'x.bmp'));
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', out, '--scales', '256,big');
    await usage('--input', dir, '--masks', dir, '-o', join(dir, 'batch'), '--scales', '512,256', '--model', join(dir, 'no-such-model'));
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', out, '--refine=-1');
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--ensemble', '3'), (err: Error) => err instanceof UsageError && /one of 1, 2, 4, 8/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--locality', 'near'), (err: Error) => err instanceof UsageError && /a number >= 0 for --locality/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--locality', '101'), (err: Error) => err instanceof UsageError && /from 0 to 100 for options.locality/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--match-colour=-5'), (err: Error) => err instanceof UsageError && /a number >= 0 for --match-colour/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--match-colour', '1e6'), (err: Error) => err instanceof UsageError && /from 0 to 1000 for options.matchColour/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--bogus'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
    await writeMask(join(dir, 'small-mask.png'), rectMask(100, 75, { x: 10, y: 10, width: 10, height: 10 }));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'small-mask.png'), '-o', out, ...model), (err: Error) => err instanceof UsageError && /100x75.*200x150/.test(err.message));
    await run(t, photo, '--mask', join(dir, 'small-mask.png'), '-o', out, ...model, '--resize-mask');
    assert.ok(existsSync(out));
  });

  it('fails (exit code 1) on an unreadable image, and on an unwritable output before loading anything', async (t) => {
    await writeFile(join(dir, 'corrupt.jpg'), 'not a jpeg');
    await assert.rejects(run(t, join(dir, 'corrupt.jpg'), '--mask', join(dir, 'mask.png'), '-o', join(dir, 'y.png'), ...model), InputError);
    // A path under a regular file cannot be created even by root; the missing model is never reached.
    const unwritable = join(dir, 'photo.png', 'out.png');
    await assert.rejects(
      run(t, join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', unwritable, '--model', join(dir, 'no-such-model')),
      (err: Error) => err instanceof InputError && err.message.startsWith(`cannot write ${unwritable}`),
    );
  });

  it('processes a folder, reporting a bad pair and carrying on, then fails (exit code 1)', async (t) => {
    const [input, masks, out] = ['in', 'masks', 'result'].map((d) => join(dir, d));
    await mkdir(input);
    await mkdir(masks);
    await writePhoto(join(input, 'a.png'), 160, 120, 'enlightenment-data/Bamboo.jpg');
    await writePhoto(join(input, 'b.jpg'), 120, 160, 'mate-backgrounds/Wood.jpg');
    await writePhoto(join(input, 'c.png'), 100, 100);
    await writeFile(join(input, 'd.png'), 'corrupt');
    await writeMask(join(masks, 'a_mask.png'), rectMask(160, 120, { x: 0, y: 0, width: 30, height: 30 }));
    await writeMask(join(masks, 'b.png'), rectMask(120, 160, { x: 50, y: 60, width: 20, height: 40 }));
    await writeMask(join(masks, 'd_mask.png'), rectMask(100, 100, { x: 50, y: 50, width: 10, height: 10 }));
    const lines: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
    const from = join(dir, 'batch-from');
    await assert.rejects(inpaintCommand.run(['--input', input, '--masks', masks, '-o', out, ...model, '--sources', from]), (err: Error) => err instanceof InpaintError && !(err instanceof UsageError) && /2 of 4 images failed: c\.png, d\.png/.test(err.message));
    t.mock.restoreAll();
    assert.match(lines[0], /^\[1\/4\] a\.png -> .*a\.png \(\d+\.\d\d s; about \d+ (s|min) left\)$/);
    assert.match(lines[1], /^\[2\/4\] b\.jpg -> .*b\.png/);
    assert.match(lines[2], /^\[3\/4\] c\.png: FAILED: no mask for it in .*, and it has no transparent area to fill$/);
    assert.match(lines[3], /^\[4\/4\] d\.png: FAILED: .*not a readable/);
    assert.deepEqual([existsSync(join(out, 'a.png')), existsSync(join(out, 'b.png')), existsSync(join(out, 'c.png'))], [true, true, false]);
    assert.deepEqual([(await readImage(join(out, 'b.png'))).width, (await readImage(join(out, 'b.png'))).height], [120, 160]);
    // --sources in batch mode: a folder of <stem>.sources.png, each its photo's size, for the pairs filled.
    assert.deepEqual((await readdir(from)).sort(), ['a.sources.png', 'b.sources.png']);
    const b = await readMask(join(from, 'b.sources.png'));
    assert.deepEqual([b.width, b.height], [120, 160]);
    assert.ok(b.data.some((v) => v), 'b copied from somewhere');
  });

  it('batch --mask: one mask for every photo (not taken for a photo when it lies among them); --resize-mask for other sizes', async (t) => {
    const input = join(dir, 'stamped');
    await mkdir(input);
    await writePhoto(join(input, 'one.png'), 160, 120, 'enlightenment-data/Bamboo.jpg');
    await writePhoto(join(input, 'two.jpg'), 160, 120, 'mate-backgrounds/Wood.jpg');
    await writePhoto(join(input, 'big.png'), 320, 240);
    // A date stamp in the corner of each, the mask among the photos.
    const stamp = join(input, 'stamp.png');
    await writeMask(stamp, rectMask(160, 120, { x: 110, y: 95, width: 40, height: 15 }));
    const lines: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
    const out = join(dir, 'stamped-out');
    await assert.rejects(inpaintCommand.run(['--input', input, '--mask', stamp, '-o', out, ...model]), (err: Error) => err instanceof InpaintError && /1 of 3 images failed: big\.png/.test(err.message));
    assert.match(lines.find((l) => l.includes('big.png'))!, /FAILED: .*is 160x120 but the image is 320x240/);
    assert.deepEqual((await readdir(out)).sort(), ['one.png', 'two.png'], 'the mask is not filled as a photo');
    for (const [name, source] of [['one.png', 'one.png'], ['two.png', 'two.jpg']]) {
      const [before, after] = [await readImage(join(input, source)), await readImage(join(out, name))];
      let changedOutside = 0;
      let changedInside = 0;
      for (let i = 0; i < 160 * 120; i++) {
        const [x, y] = [i % 160, Math.floor(i / 160)];
        const near = x >= 106 && y >= 91 && y < 114;
        const changed = [0, 1, 2].some((c) => Math.abs(before.data[c * 160 * 120 + i] - after.data[c * 160 * 120 + i]) > 1e-6);
        if (changed && !near) changedOutside++;
        if (changed && near) changedInside++;
      }
      assert.equal(changedOutside, 0, `${name}: only the stamp changes`);
      assert.ok(changedInside > 300, `${name}: the stamp was filled`);
    }
    t.mock.restoreAll();
    await inpaintCommand.run(['--input', input, '--mask', stamp, '-o', join(dir, 'stamped-resized'), '--resize-mask', ...model]);
    assert.deepEqual((await readdir(join(dir, 'stamped-resized'))).sort(), ['big.png', 'one.png', 'two.png']);
    await assert.rejects(inpaintCommand.run(['--input', input, '--mask', stamp, '--masks', input, '-o', out, ...model]), (err: Error) => err instanceof UsageError && /--mask FILE .* or --masks DIR .*, not both/.test(err.message));
    await assert.rejects(inpaintCommand.run(['--input', input, '--mask', join(dir, 'no-such-mask.png'), '-o', join(dir, 'never'), ...model]), InputError);
    assert.ok(!existsSync(join(dir, 'never', 'one.png')));
  });

  it('copies only from --sample-from, never from --exclude, and refuses them where they cannot work (exit code 2)', async (t) => {
    const photo = join(dir, 'photo.png');
    const args = [photo, '--mask', join(dir, 'mask.png'), ...model, '--dilate', '0', '--debug', join(dir, 'steer-debug')];
    // The hole is (60, 50) 50x40 of 200x150: allow only the right third, then exclude it.
    await writeMask(join(dir, 'right.png'), rectMask(200, 150, { x: 140, y: 0, width: 60, height: 150 }));
    const [free, sampled, excluded] = ['free.png', 'sampled.png', 'excluded.png'].map((f) => join(dir, f));
    const [freeFrom, sampledFrom, againFrom] = ['free-from.png', 'sampled-from.png', 'again-from.png'].map((f) => join(dir, f));
    await run(t, ...args, '-o', free, '--sources', freeFrom);
    await run(t, ...args, '-o', sampled, '--sample-from', join(dir, 'right.png'), '--sources', sampledFrom);
    await run(t, ...args, '-o', excluded, '--exclude', join(dir, 'right.png'));
    const [a, b, c] = [await readImage(free), await readImage(sampled), await readImage(excluded)];
    assert.notDeepEqual(b.data, a.data);
    assert.notDeepEqual(b.data, c.data);
    // --sources: where the fill copied from, a mask the photo's size; with --sample-from, only there.
    const columns = async (path: string) => {
      const m = await readMask(path);
      assert.deepEqual([m.width, m.height], [200, 150]);
      return [...m.data.keys()].filter((i) => m.data[i]).map((i) => i % 200);
    };
    const fromSampled = await columns(sampledFrom);
    assert.ok(fromSampled.length > 100 && fromSampled.every((x) => x >= 140), 'copied only from the right third');
    // The workflow it is for: what the first fill copied from, excluded, is not copied from again.
    await run(t, ...args, '-o', join(dir, 'again.png'), '--exclude', freeFrom, '--sources', againFrom);
    const [before, after] = [await readMask(freeFrom), await readMask(againFrom)];
    assert.ok(after.data.some((v) => v));
    assert.ok(!after.data.some((v, i) => v && before.data[i]), 'no source of the first fill is a source again');
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'never.png'), '--sources', photo), /--sources .* is the input photo/);
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'never.png'), '--method', 'patchmatch', '--sources', join(dir, 'never-from.png')), /--sources does not apply to --method patchmatch/);

    const reject = (pattern: RegExp, ...extra: string[]) => assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'never.png'), ...model, ...extra), (e: Error) => e instanceof UsageError && pattern.test(e.message));
    await reject(/lies entirely in the hole/, '--sample-from', join(dir, 'mask.png'));
    await writeMask(join(dir, 'sliver.png'), rectMask(200, 150, { x: 0, y: 0, width: 6, height: 150 }));
    await reject(/region to copy from is too small/, '--sample-from', join(dir, 'sliver.png'));
    await writeMask(join(dir, 'small-right.png'), rectMask(100, 75, { x: 70, y: 0, width: 30, height: 75 }));
    await reject(/the sample-from mask \(--sample-from\) is 100x75 but the image is 200x150/, '--sample-from', join(dir, 'small-right.png'));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'never.png'), '--method', 'telea', '--exclude', join(dir, 'right.png')), /--exclude does not apply to --method telea/);
    await assert.rejects(run(t, '--input', dir, '--masks', dir, '-o', join(dir, 'batch-steer'), '--sample-from', join(dir, 'right.png')), /--sample-from takes the mask of one IMAGE/);
    assert.ok(!existsSync(join(dir, 'never.png')));
  });

  it('has help with examples', () => {
    assert.match(inpaintCommand.help, /Examples:\n  inpaint run photo\.jpg --mask mask\.png -o filled\.png/);
    assert.match(inpaintCommand.help, /--input DIR \[--masks DIR\] -o OUT_DIR/);
    assert.match(inpaintCommand.help, /--method NAME +ours, g1-only, patchmatch, telea, navier-stokes \(default ours\)/);
    assert.match(inpaintCommand.help, /\n  --box X,Y,W,H +the hole is the object inside this box/);
    assert.match(inpaintCommand.help, /\n  inpaint run photo\.jpg --box 120,80,60,140 -o filled\.png +# remove what the box holds\n/);
  });
  it('--max-scale caps the default scales: the area is then enlarged, with a note', async (t) => {
    // A 400x300 photo is one area, filled by default at 256 and 400 px.
    await writePhoto(join(dir, 'wide.png'), 400, 300);
    await writeMask(join(dir, 'wide-mask.png'), rectMask(400, 300, { x: 150, y: 100, width: 80, height: 70 }));
    const files = [join(dir, 'wide.png'), '--mask', join(dir, 'wide-mask.png'), '-o', join(dir, 'wide-out.png')];
    const args = [...files, ...model];
    assert.doesNotMatch((await run(t, ...args)).join('\n'), /enlarged/);
    const capped = (await run(t, ...args, '--max-scale', '256')).join('\n');
    assert.match(capped, /the 400x300 area at \(0, 0\) was inpainted at 256 px and enlarged 1\.6x/);
    await assert.rejects(run(t, ...args, '--max-scale', '128'), (e: Error) => e instanceof UsageError && /an integer from 256 to 65536 for options\.maxScale/.test(e.message));
    await assert.rejects(run(t, ...args, '--max-scale', '1k'), (e: Error) => e instanceof UsageError && /an integer for --max-scale/.test(e.message));
    for (const method of ['telea', 'g1-only']) {
      await assert.rejects(run(t, ...files, '--method', method, '--max-scale', '1024'), new RegExp(`--max-scale does not apply to --method ${method}`));
    }
  });
});

describe('inpaint run --method (baselines: no model is loaded)', () => {
  let dir: string;
  const hole = { x: 40, y: 30, width: 30, height: 20 };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-cli-method-'));
    await writePhoto(join(dir, 'photo.png'), 120, 90);
    await writeMask(join(dir, 'mask.png'), rectMask(120, 90, hole));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('fills with patchmatch: known pixels outside the dilated hole exact, the hole changed', async (t) => {
    const out = join(dir, 'filled.png');
    // No --model, and INPAINT_VGG_WEIGHTS pointing nowhere: loading a model would fail.
    const saved = process.env.INPAINT_VGG_WEIGHTS;
    process.env.INPAINT_VGG_WEIGHTS = join(dir, 'no-such-weights.pth');
    let lines: string[];
    try {
      lines = await run(t, join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', out, '--method', 'patchmatch', '--dilate', '1');
    } finally {
      if (saved === undefined) delete process.env.INPAINT_VGG_WEIGHTS;
      else process.env.INPAINT_VGG_WEIGHTS = saved;
    }
    assert.match(lines.join('\n'), /photo\.png -> .*filled\.png/);
    const [input, output] = [await readImage(join(dir, 'photo.png')), await readImage(out)];
    const grown = rectMask(120, 90, { x: hole.x - 1, y: hole.y - 1, width: hole.width + 2, height: hole.height + 2 });
    const plane = 120 * 90;
    let changed = 0;
    for (let i = 0; i < input.data.length; i++) {
      if (!grown.data[i % plane]) assert.equal(output.data[i], input.data[i], `value ${i}`);
      else if (output.data[i] !== input.data[i]) changed++;
    }
    assert.ok(changed > 0.8 * 3 * 30 * 20, `${changed} hole values changed`);
  });

  it('without -o writes beside the photo, in its format, under a new name each time: nothing is replaced; so into a folder given as -o', async (t) => {
    const [photos, jpeg] = [join(dir, 'beside'), join(dir, 'beside', 'holiday.jpg')];
    await mkdir(photos);
    await sharp(await photoPixels(100, 80).then((p) => p.data), { raw: { width: 100, height: 80, channels: 3 } }).jpeg().toFile(jpeg);
    await writeMask(join(photos, 'holiday_mask.png'), rectMask(100, 80, { x: 30, y: 20, width: 20, height: 20 }));
    const mask = join(photos, 'holiday_mask.png');
    const names = ['holiday-inpainted.jpg', 'holiday-inpainted-2.jpg'];
    for (const name of names) {
      const lines = await run(t, jpeg, '--mask', mask, '--method', 'telea');
      assert.equal(lines.at(-1), `${jpeg} -> ${join(photos, name)}`);
      const meta = await sharp(join(photos, name)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 100, 80]);
    }
    // A format results are not written in (HEIC) gives a PNG.
    await copyFile(TEST_HEIC, join(photos, 'phone.heic'));
    await writeMask(join(photos, 'phone_mask.png'), rectMask(64, 48, { x: 10, y: 10, width: 8, height: 8 }));
    const lines = await run(t, join(photos, 'phone.heic'), '--mask', join(photos, 'phone_mask.png'), '--method', 'telea');
    assert.equal(lines.at(-1), `${join(photos, 'phone.heic')} -> ${join(photos, 'phone-inpainted.png')}`);
    assert.deepEqual((await readdir(photos)).sort(), ['holiday-inpainted-2.jpg', 'holiday-inpainted.jpg', 'holiday.jpg', 'holiday_mask.png', 'phone-inpainted.png', 'phone.heic', 'phone_mask.png']);
    // -o a folder: the same names in it, a folder that does not exist yet given with a slash.
    const [folder, fresh] = [join(dir, 'results-folder'), join(dir, 'fresh-folder')];
    await mkdir(folder);
    for (const [out, name] of [[folder, 'holiday-inpainted.jpg'], [folder, 'holiday-inpainted-2.jpg'], [`${fresh}/`, 'holiday-inpainted.jpg']]) {
      const lines = await run(t, jpeg, '--mask', mask, '--method', 'telea', '-o', out);
      const written = join(out, name);
      assert.equal(lines.at(-1), `${jpeg} -> ${written}`);
      assert.equal((await sharp(written).metadata()).format, 'jpeg');
    }
    assert.deepEqual((await readdir(folder)).sort(), ['holiday-inpainted-2.jpg', 'holiday-inpainted.jpg']);
  });

  it('without --mask fills what was erased (the transparent pixels) and writes it opaque; a photo with none is refused', async (t) => {
    const [w, h] = [80, 60];
    const raw = await photoPixels(w, h);
    const rgba = new Uint8Array(4 * w * h);
    const erased = (x: number, y: number) => x >= 30 && x < 50 && y >= 20 && y < 35;
    for (let i = 0; i < w * h; i++) {
      const hole = erased(i % w, Math.floor(i / w));
      for (let c = 0; c < 3; c++) rgba[4 * i + c] = hole ? 0 : raw.data[3 * i + c];
      rgba[4 * i + 3] = hole ? 0 : 255;
    }
    const photo = join(dir, 'erased.png');
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toFile(photo);
    const out = join(dir, 'erased-filled.png');
    const lines = await run(t, photo, '-o', out, '--method', 'telea', '--dilate', '0');
    assert.ok(lines.some((l) => l === `note: no mask: the 300 transparent pixels of ${photo} are the hole, and the result is opaque`), lines.join('\n'));
    assert.equal((await sharp(out).metadata()).hasAlpha, false, 'opaque');
    const filled = await readImage(out);
    let dark = 0;
    for (let i = 0; i < w * h; i++) {
      const [x, y] = [i % w, Math.floor(i / w)];
      for (let c = 0; c < 3; c++) {
        const v = Math.round(filled.data[c * w * h + i] * 255);
        if (!erased(x, y)) assert.equal(v, raw.data[3 * i + c], `known pixel (${x}, ${y}) changed`);
        else if (v < 8) dark++;
      }
    }
    assert.ok(dark < 30, `the erased pixels were filled, not left black (${dark} dark values)`);
    // Nothing transparent to fill: a JPEG, or a PNG whose alpha is opaque everywhere.
    const opaque = join(dir, 'opaque-alpha.png');
    await sharp(raw.data, { raw: { width: w, height: h, channels: 3 } }).ensureAlpha().png().toFile(opaque);
    for (const image of [opaque, join(dir, 'photo.png')]) {
      await assert.rejects(run(t, image, '-o', join(dir, 'never.png'), '--method', 'telea'), (e: Error) => e instanceof UsageError && /missing --mask MASK: .* has no transparent area to fill \(give a mask, or --box X,Y,W,H around what should go; or paint over it in the page that `npx inpaint serve` opens;/.test(e.message));
    }
    // Transparent everywhere (a layer saved at 40% opacity): as the hole it leaves nothing to fill from.
    const faded = join(dir, 'faded.png');
    await sharp(raw.data, { raw: { width: w, height: h, channels: 3 } }).ensureAlpha(0.4).png().toFile(faded);
    await assert.rejects(run(t, faded, '-o', join(dir, 'never.png'), '--method', 'telea'), (e: Error) => e instanceof UsageError && e.message === `every pixel of ${faded} is transparent or mostly (alpha under one half), so as the hole it leaves nothing to fill from: give the hole with --mask or --box, or flatten the image onto a background first`);
    assert.ok(!existsSync(join(dir, 'never.png')));
    // A folder without --masks: masks named <stem>_mask beside the photos, and a photo without one filled where it is transparent.
    const folder = join(dir, 'erased-folder');
    await mkdir(folder);
    await copyFile(photo, join(folder, 'erased.png'));
    await copyFile(join(dir, 'photo.png'), join(folder, 'plain.png'));
    await copyFile(join(dir, 'mask.png'), join(folder, 'plain_mask.png'));
    const batch = await run(t, '--input', folder, '-o', join(dir, 'erased-out'), '--method', 'telea');
    assert.match(batch.join('\n'), /\[1\/2\] erased\.png -> .*\n {2}note: no mask: the 300 transparent pixels/);
    assert.match(batch.join('\n'), /\[2\/2\] plain\.png -> /);
    assert.equal((await sharp(join(dir, 'erased-out', 'erased.png')).metadata()).hasAlpha, false);
  });

  it('runs telea over a folder', async (t) => {
    const [input, out] = [join(dir, 'in'), join(dir, 'out')];
    await mkdir(input);
    await writePhoto(join(input, 'a.png'), 100, 80, 'mate-backgrounds/Wood.jpg');
    await writeMask(join(input, 'a_mask.png'), rectMask(100, 80, { x: 0, y: 10, width: 20, height: 20 }));
    const lines = await run(t, '--input', input, '--masks', input, '-o', out, '--method', 'telea');
    assert.match(lines[0], /^\[1\/1\] a\.png -> .*a\.png/);
    assert.deepEqual([(await readImage(join(out, 'a.png'))).width, (await readImage(join(out, 'a.png'))).height], [100, 80]);
  });

  it('--skip-existing goes on with a stopped batch: results already written are left as they are', async (t) => {
    const [input, out] = [join(dir, 'resume-in'), join(dir, 'resume-out')];
    await mkdir(input);
    for (const stem of ['a', 'b', 'c']) {
      await writePhoto(join(input, `${stem}.png`), 100, 80, 'mate-backgrounds/Wood.jpg');
      await writeMask(join(input, `${stem}_mask.png`), rectMask(100, 80, { x: 0, y: 10, width: 20, height: 20 }));
    }
    // As a batch stopped after a.png: its result there (marked, to see it is not rewritten), no other.
    await mkdir(out);
    const marked = await sharp({ create: { width: 100, height: 80, channels: 3, background: '#123456' } }).png().toBuffer();
    await writeFile(join(out, 'a.png'), marked);
    const lines = await run(t, '--input', input, '-o', out, '--method', 'telea', '--skip-existing');
    assert.match(lines[0], /^1 of 3 images skipped: their results are in .*resume-out \(--skip-existing\)$/);
    assert.match(lines[1], /^\[1\/2\] b\.png -> /);
    assert.match(lines[2], /^\[2\/2\] c\.png -> .* \(\d+\.\d\d s\)$/, 'the last says nothing is left');
    assert.deepEqual(await readFile(join(out, 'a.png')), marked);
    assert.deepEqual((await readdir(out)).sort(), ['a.png', 'b.png', 'c.png']);
    // Without it, a result there is replaced; one IMAGE has nothing to skip.
    await run(t, '--input', input, '-o', out, '--method', 'telea');
    assert.notDeepEqual(await readFile(join(out, 'a.png')), marked);
    await assert.rejects(run(t, join(input, 'a.png'), '--mask', join(input, 'a_mask.png'), '--method', 'telea', '--skip-existing'), (e: Error) => e instanceof UsageError && /--skip-existing is for batch mode/.test(e.message));
  });

  it("reads TIFF, GIF, AVIF and HEIC (an iPhone's) in a folder, and writes a .tif", async (t) => {
    const [input, out] = [join(dir, 'formats'), join(dir, 'formats-out')];
    await mkdir(input);
    const raw = await photoPixels(100, 80, 'mate-backgrounds/Wood.jpg');
    const photo = () => sharp(raw.data, { raw: { width: 100, height: 80, channels: 3 } });
    await photo().tiff({ compression: 'lzw' }).toFile(join(input, 'a.tif'));
    await sharp(await writeMaskBytes(100, 80)).gif().toFile(join(input, 'a_mask.gif'));
    await photo().avif().toFile(join(input, 'b.avif'));
    await writeMask(join(input, 'b_mask.png'), rectMask(100, 80, { x: 0, y: 10, width: 20, height: 20 }));
    await copyFile(TEST_HEIC, join(input, 'IMG_0001.HEIC'));
    await writeMask(join(input, 'IMG_0001_mask.png'), rectMask(64, 48, { x: 10, y: 10, width: 10, height: 10 }));
    const lines: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
    await inpaintCommand.run(['--input', input, '--masks', input, '-o', out, '--method', 'telea']);
    t.mock.restoreAll();
    assert.match(lines[0], /^\[1\/3\] IMG_0001\.HEIC -> .*IMG_0001\.png/);
    assert.deepEqual([(await readImage(join(out, 'IMG_0001.png'))).width, (await readImage(join(out, 'IMG_0001.png'))).height], [64, 48]);
    assert.equal(exifReader((await sharp(join(out, 'IMG_0001.png')).metadata()).exif!).Image?.Model, 'iPhone 99', "the HEIC's EXIF is kept");
    assert.match(lines[1], /^\[2\/3\] a\.tif -> .*a\.png/);
    assert.match(lines[2], /^\[3\/3\] b\.avif -> .*b\.png/);
    // --format names the results' format in batch mode; one IMAGE's comes from -o.
    await run(t, '--input', input, '--masks', input, '-o', join(dir, 'formats-jpg'), '--method', 'telea', '--format', 'JPG');
    assert.deepEqual((await readdir(join(dir, 'formats-jpg'))).sort(), ['IMG_0001.jpg', 'a.jpg', 'b.jpg']);
    assert.equal((await sharp(join(dir, 'formats-jpg', 'a.jpg')).metadata()).format, 'jpeg');
    await assert.rejects(run(t, '--input', input, '--masks', input, '-o', join(dir, 'formats-bmp'), '--method', 'telea', '--format', 'bmp'), (e: Error) => e instanceof UsageError && /png, jpg, webp or tif for --format/.test(e.message));
    await assert.rejects(run(t, join(input, 'a.tif'), '--mask', join(input, 'a_mask.gif'), '-o', join(dir, 'x.png'), '--method', 'telea', '--format', 'jpg'), (e: Error) => e instanceof UsageError && /--format is for batch mode/.test(e.message));
    // `inpaint PHOTO.tif ...` is short for `inpaint run`, and a .tif output keeps every known pixel.
    const tif = join(dir, 'formats.tif');
    t.mock.method(console, 'log', () => undefined);
    const code = await main([join(input, 'a.tif'), '--mask', join(input, 'a_mask.gif'), '-o', tif, '--method', 'telea']);
    t.mock.restoreAll();
    assert.equal(code, 0);
    assert.equal((await sharp(tif).metadata()).format, 'tiff');
    const [before, after] = [await readImage(join(input, 'a.tif')), await readImage(tif)];
    const hole = rectMask(100, 80, { x: 30 - 3, y: 20 - 3, width: 40 + 6, height: 30 + 6 });
    for (let i = 0; i < before.data.length; i++) if (!hole.data[i % 8000]) assert.equal(after.data[i], before.data[i], `value ${i}`);
  });

  it('keeps a 16-bit photo\'s 16 bits in a PNG result, every known value exact', async (t) => {
    const raw = await photoPixels(100, 80, 'mate-backgrounds/Wood.jpg');
    // 16-bit values that 8 bits cannot hold: each 8-bit value times 257, plus 100.
    const deep = Uint16Array.from(raw.data, (v) => Math.min(65535, v * 257 + 100));
    const photo = join(dir, 'deep.png');
    await sharp(deep, { raw: { width: 100, height: 80, channels: 3 } }).toColourspace('rgb16').png().toFile(photo);
    const mask = join(dir, 'deep-mask.png');
    await writeMask(mask, rectMask(100, 80, { x: 40, y: 30, width: 20, height: 20 }));
    const out = join(dir, 'deep-out.png');
    const lines = await run(t, photo, '--mask', mask, '-o', out, '--method', 'telea');
    assert.ok(lines.some((l) => /16 bits per channel: .*a PNG or TIFF result keeps 16 bits/.test(l)), lines.join('\n'));
    const { data, info } = await sharp(out).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    assert.equal((await sharp(out).metadata()).depth, 'ushort');
    const values = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    const grown = rectMask(100, 80, { x: 40 - 3, y: 30 - 3, width: 26, height: 26 });
    for (let i = 0; i < values.length; i++) if (!grown.data[Math.floor(i / info.channels)]) assert.equal(values[i], deep[Math.floor(i / info.channels) * 3 + (i % info.channels)], `value ${i}`);
  });

  it("keeps a Display P3 photo's colours: its profile in the result, every known pixel as stored, in batch mode and with --strip-metadata too", async (t) => {
    const raw = await photoPixels(100, 80, 'mate-backgrounds/Wood.jpg');
    const input = join(dir, 'p3-in');
    await mkdir(input, { recursive: true });
    const photo = join(input, 'phone.png');
    await writeFile(photo, await displayP3Photo(Uint8Array.from(raw.data), 100, 80, 'png'));
    await writeMask(join(input, 'phone_mask.png'), rectMask(100, 80, { x: 40, y: 30, width: 20, height: 20 }));
    const grown = rectMask(100, 80, { x: 40 - 3, y: 30 - 3, width: 26, height: 26 });
    const profile = await displayP3Profile();
    const outs = [join(dir, 'p3-out.png'), join(dir, 'p3-stripped.png'), join(dir, 'p3-out.jpg'), join(dir, 'p3-batch', 'phone.png')];
    await run(t, photo, '--mask', join(input, 'phone_mask.png'), '-o', outs[0], '--method', 'telea');
    await run(t, photo, '--mask', join(input, 'phone_mask.png'), '-o', outs[1], '--method', 'telea', '--strip-metadata');
    await run(t, photo, '--mask', join(input, 'phone_mask.png'), '-o', outs[2], '--method', 'telea');
    await run(t, '--input', input, '-o', join(dir, 'p3-batch'), '--method', 'telea');
    for (const out of outs) {
      assert.deepEqual(new Uint8Array((await sharp(out).metadata()).icc ?? []), profile, `${out}: the photo's profile`);
      if (out.endsWith('.jpg')) continue;
      const stored = await sharp(out, { ignoreIcc: true }).removeAlpha().raw().toBuffer();
      for (let i = 0; i < stored.length; i++) if (!grown.data[Math.floor(i / 3)]) assert.equal(stored[i], raw.data[i], `${out} value ${i}`);
    }
  });

  it("keeps the photo's EXIF in the result, turned upright, in every format (a TIFF's too); --strip-metadata leaves it out", async (t) => {
    const raw = await photoPixels(100, 80, 'mate-backgrounds/Wood.jpg');
    const photo = join(dir, 'camera.jpg');
    // Stored 100x80 and shown turned (orientation 6): the result is 80x100, upright.
    await sharp(raw.data, { raw: { width: 100, height: 80, channels: 3 } })
      .withExif({ IFD0: { Make: 'Acme', Model: 'Snapper 3000', DateTime: '2021:07:14 18:30:05' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(photo);
    const mask = join(dir, 'camera-mask.png');
    await writeMask(mask, rectMask(80, 100, { x: 20, y: 30, width: 20, height: 20 }));
    for (const ext of ['jpg', 'png', 'webp']) {
      const out = join(dir, `camera-out.${ext}`);
      await run(t, photo, '--mask', mask, '-o', out, '--method', 'telea');
      const meta = await sharp(out).metadata();
      assert.deepEqual([meta.width, meta.height, meta.orientation], [80, 100, 1], ext);
      const exif = exifReader(meta.exif!);
      assert.deepEqual([exif.Image?.Make, exif.Image?.Model], ['Acme', 'Snapper 3000'], ext);
    }
    const stripped = join(dir, 'camera-stripped.jpg');
    await run(t, photo, '--mask', mask, '-o', stripped, '--method', 'telea', '--strip-metadata');
    assert.equal((await sharp(stripped).metadata()).exif, undefined);
    // Its XMP's description too (no thumbnail, no face regions); --strip-metadata leaves it out.
    const described = join(dir, 'described.jpg');
    await sharp(photo).withXmp(TEST_XMP).keepExif().toFile(described);
    for (const ext of ['jpg', 'tif']) {
      await run(t, described, '--mask', mask, '-o', join(dir, `described-out.${ext}`), '--method', 'telea');
      const xmp = (await sharp(join(dir, `described-out.${ext}`)).metadata()).xmp?.toString('utf8') ?? '';
      assert.ok(xmp.includes('A day at the beach') && !xmp.includes('SECRET') && !xmp.includes('Orientation'), `${ext}: ${xmp.slice(0, 300)}`);
    }
    await run(t, described, '--mask', mask, '-o', join(dir, 'described-stripped.jpg'), '--method', 'telea', '--strip-metadata');
    assert.equal((await sharp(join(dir, 'described-stripped.jpg')).metadata()).xmp, undefined);
    // Its IPTC-IIM record (caption, keywords), without the object preview: in a JPEG or TIFF result;
    // a PNG has no place for it, but gets the same in XMP (the photo has none). A record that says
    // nothing XMP maps is lost in a PNG, and a note says so.
    const iim = (record: number, dataset: number, text: string) => Uint8Array.from([0x1c, record, dataset, 0, text.length, ...Buffer.from(text, 'latin1')]);
    const describing = Buffer.concat([iim(2, 120, 'Swimmers at the beach'), iim(2, 25, 'sea')]);
    const captioned = join(dir, 'captioned.jpg');
    await writeFile(captioned, withIptc(new Uint8Array(await readFile(photo)), 'jpeg', Buffer.concat([describing, iim(2, 202, 'PREVIEW')])));
    for (const ext of ['jpg', 'tif']) {
      const out = join(dir, `captioned-out.${ext}`);
      await run(t, captioned, '--mask', mask, '-o', out, '--method', 'telea');
      assert.deepEqual(iptcOf(new Uint8Array(await readFile(out))), new Uint8Array(describing), ext);
    }
    const png = await run(t, captioned, '--mask', mask, '-o', join(dir, 'captioned-out.png'), '--method', 'telea');
    assert.ok(!png.some((l) => /IPTC/.test(l)), png.join('\n'));
    const pngXmp = (await sharp(join(dir, 'captioned-out.png')).metadata()).xmp?.toString('utf8') ?? '';
    assert.ok(pngXmp.includes('>Swimmers at the beach</rdf:li>') && pngXmp.includes('<rdf:li>sea</rdf:li>') && !pngXmp.includes('PREVIEW'), pngXmp);
    const categorised = join(dir, 'categorised.jpg');
    await writeFile(categorised, withIptc(new Uint8Array(await readFile(photo)), 'jpeg', iim(2, 15, 'SPO')));
    const unmapped = await run(t, categorised, '--mask', mask, '-o', join(dir, 'categorised-out.png'), '--method', 'telea');
    assert.ok(unmapped.some((l) => /^note: .*categorised\.jpg: its IPTC description \(caption, keywords, credit\) has no place in PNG: written without it \(a \.jpg or \.tif result keeps it\)$/.test(l)), unmapped.join('\n'));
    const quiet = await run(t, captioned, '--mask', mask, '-o', join(dir, 'captioned-stripped.jpg'), '--method', 'telea', '--strip-metadata');
    assert.equal(iptcOf(new Uint8Array(await readFile(join(dir, 'captioned-stripped.jpg')))), undefined);
    assert.ok(!quiet.some((l) => /IPTC/.test(l)), quiet.join('\n'));
    // TIFF: in its first IFD (sharp does not read it there, exif-reader does); and from a TIFF photo.
    const tif = join(dir, 'camera-out.tif');
    const lines = await run(t, photo, '--mask', mask, '-o', tif, '--method', 'telea');
    assert.ok(!lines.some((l) => /EXIF/.test(l)), lines.join('\n'));
    const inTiff = exifReader(await readFile(tif));
    assert.deepEqual([inTiff.Image?.Make, inTiff.Image?.Model, inTiff.Image?.ImageWidth, inTiff.Image?.ImageLength], ['Acme', 'Snapper 3000', 80, 100]);
    const fromTiff = join(dir, 'from-tiff.jpg');
    await run(t, tif, '--mask', mask, '-o', fromTiff, '--method', 'telea');
    assert.deepEqual([exifReader((await sharp(fromTiff).metadata()).exif!).Image?.Make, exifReader((await sharp(fromTiff).metadata()).exif!).Image?.Compression], ['Acme', undefined], 'the camera, not the TIFF\'s storage');
  });

  it('refuses an unknown method and the model flags a baseline does not take (exit code 2)', async (t) => {
    const args = [join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', join(dir, 'x.png')];
    await assert.rejects(run(t, ...args, '--method', 'magic'), (err: Error) => err instanceof UsageError && /ours, g1-only, patchmatch, telea, navier-stokes/.test(err.message));
    await assert.rejects(run(t, ...args, '--method', 'patchmatch', '--model', dir), (err: Error) => err instanceof UsageError && /--model does not apply to --method patchmatch/.test(err.message));
    await assert.rejects(run(t, ...args, '--method', 'navier-stokes', '--scales', '256'), /--scales does not apply/);
    await assert.rejects(run(t, ...args, '--method', 'telea', '--ensemble', '2'), /--ensemble does not apply to --method telea/);
    await assert.rejects(run(t, ...args, '--method', 'g1-only', '--refine', '1'), /--refine does not apply to --method g1-only/);
    await assert.rejects(run(t, ...args, '--method', 'g1-only', '--match-colour', '0'), /--match-colour does not apply to --method g1-only/);
    await assert.rejects(run(t, ...args, '--method', 'g1-only', '--debug', join(dir, 'debug')), UsageError);
    await writeMask(join(dir, 'small-mask.png'), rectMask(60, 45, { x: 10, y: 10, width: 10, height: 10 }));
    await assert.rejects(run(t, join(dir, 'photo.png'), '--mask', join(dir, 'small-mask.png'), '-o', join(dir, 'x.png'), '--method', 'telea'), (err: Error) => err instanceof UsageError && /60x45.*120x90/.test(err.message));
    assert.ok(!existsSync(join(dir, 'x.png')));
  });
});

describe('inpaint run --box (GrabCut: the hole is the object in the box)', () => {
  let dir: string;
  // A disc at (80, 60) of radius 30, top half red and bottom half blue, on noisy stripes; a box around it.
  const [W, H, CX, CY, R] = [160, 120, 80, 60, 30];
  const BOX = '45,25,70,70';
  let photo: string;
  let raw: Uint8Array;
  const far = (x: number, y: number, by: number) => (x - CX) ** 2 + (y - CY) ** 2 > (R + by) ** 2;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-cli-box-'));
    const rng = new Rng(1);
    raw = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      const [x, y] = [i % W, Math.floor(i / W)];
      const colour = !far(x, y, 0) ? (y < CY ? [200, 40, 40] : [40, 60, 200]) : Math.floor(x / 23) % 2 ? [90, 160, 80] : [150, 150, 140];
      for (let c = 0; c < 3; c++) raw[3 * i + c] = colour[c] + Math.round((rng.next() * 2 - 1) * 12);
    }
    photo = join(dir, 'scene.png');
    await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toFile(photo);
  });

  after(() => rm(dir, { recursive: true, force: true }));

  /** The output's RGB bytes, and which pixels differ from the photo's. */
  const changes = async (out: string) => {
    const data = await sharp(out).removeAlpha().raw().toBuffer();
    return Array.from({ length: W * H }, (_, i) => [0, 1, 2].some((c) => data[3 * i + c] !== raw[3 * i + c]));
  };

  it('fills the object in the box: every pixel beyond it and its margin unchanged, the object gone', async (t) => {
    const out = join(dir, 'filled.png');
    const lines = await run(t, photo, '--box', BOX, '-o', out, '--method', 'telea', '--dilate', '0');
    const count = Number(lines.find((l) => l.startsWith(`note: --box ${BOX}: selected `))?.match(/selected ([\d,]+) px$/)?.[1].replaceAll(',', ''));
    // The disc grown by the default margin of 2 px: about pi * 32^2.
    assert.ok(Math.abs(count - Math.PI * 32 ** 2) < 0.1 * Math.PI * 32 ** 2, lines.join('\n'));
    const changed = await changes(out);
    let inDisc = 0;
    let filled = 0;
    for (let i = 0; i < W * H; i++) {
      const [x, y] = [i % W, Math.floor(i / W)];
      // Beyond the disc, its margin and a pixel that the outline found may stray by.
      if (far(x, y, 3)) assert.ok(!changed[i], `(${x}, ${y}) is beyond the object and its margin, and changed`);
      if (!far(x, y, -1)) {
        inDisc++;
        if (changed[i]) filled++;
      }
    }
    assert.ok(filled > 0.98 * inDisc, `${filled} of the object's ${inDisc} pixels changed`);
    // No red or blue left: the fill is the stripes' greens and greys.
    const data = await sharp(out).raw().toBuffer();
    for (let i = 0; i < W * H; i++) assert.ok(data[3 * i] - data[3 * i + 1] < 60 && data[3 * i + 2] - data[3 * i + 1] < 60, `(${i % W}, ${Math.floor(i / W)}) still red or blue`);
  });

  it('unites the boxes with --mask, and with the transparent pixels of a photo given without one', async (t) => {
    const rect = { x: 5, y: 5, width: 20, height: 15 };
    const mask = join(dir, 'rect.png');
    await writeMask(mask, rectMask(W, H, rect));
    const inRect = (x: number, y: number) => x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
    const check = (changed: boolean[], what: string) => {
      let [rectChanged, discChanged] = [0, 0];
      for (let i = 0; i < W * H; i++) {
        const [x, y] = [i % W, Math.floor(i / W)];
        if (inRect(x, y)) rectChanged += +changed[i];
        else if (!far(x, y, -1)) discChanged += +changed[i];
        else if (far(x, y, 3)) assert.ok(!changed[i], `${what}: (${x}, ${y}) changed`);
      }
      assert.ok(rectChanged > 0.8 * rect.width * rect.height, `${what}: ${rectChanged} pixels of the mask's rectangle changed`);
      assert.ok(discChanged > 0.98 * Math.PI * (R - 1) ** 2, `${what}: ${discChanged} pixels of the object changed`);
    };
    const out = join(dir, 'both.png');
    await run(t, photo, '--mask', mask, '--box', BOX, '-o', out, '--method', 'telea', '--dilate', '0');
    check(await changes(out), '--mask');
    // The rectangle erased (transparent) instead of painted: the same hole, and the result opaque.
    const rgba = Buffer.alloc(4 * W * H);
    for (let i = 0; i < W * H; i++) rgba.set(inRect(i % W, Math.floor(i / W)) ? [0, 0, 0, 0] : [...raw.subarray(3 * i, 3 * i + 3), 255], 4 * i);
    const erased = join(dir, 'erased.png');
    await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toFile(erased);
    const opaque = join(dir, 'erased-filled.png');
    const lines = await run(t, erased, '--box', BOX, '-o', opaque, '--method', 'telea', '--dilate', '0');
    assert.ok(lines.includes(`note: no mask: the 300 transparent pixels of ${erased} are the hole, and the result is opaque`), lines.join('\n'));
    assert.equal((await sharp(opaque).metadata()).hasAlpha, false);
    check(await changes(opaque), 'transparent');
  });

  it('refuses a malformed box, one outside the photo or over all of it, one holding nothing, and a box for a batch: exit code 2, before the model loads, nothing written', async (t) => {
    const out = join(dir, 'never.png');
    const small = join(dir, 'small-mask.png');
    await writeMask(small, rectMask(W / 2, H / 2, { x: 2, y: 2, width: 10, height: 8 }));
    // The default method with no model there: a box refused after loading would fail on the model instead.
    const cases: [string[], RegExp][] = [
      [['--box', '10,20,30'], /^inpaint run: Expected X,Y,W,H for --box \(four numbers: .*\) but received "10,20,30"$/m],
      [['--box', '10,20,0,30'], /Expected X,Y,W,H for --box .*W and H above 0\) but received "10,20,0,30"/],
      [['--box', BOX, '--box', '500,20,30,30'], /^inpaint run: --box 500,20,30,30: The box \(30x30 at 500,20\) holds less than 2x2 pixels of the 160x120 picture: draw it around the object\.$/m],
      [['--box=-5,-5,170,130'], /^inpaint run: --box -5,-5,170,130: The box .* covers the whole picture: draw it around the object/m],
      [['--box', '115,5,40,40'], /^inpaint run: --box 115,5,40,40: nothing in the box stands apart from what surrounds it; draw the box closer around the object, or give a mask of it$/m],
      // A mask to unite with the box, of another size: refused here as the fill would refuse it alone.
      [['--mask', small, '--box', BOX], /^inpaint run: the mask .*small-mask\.png is 80x60 but the image is 160x120; pass resizeMask: true \(--resize-mask\) to resize the mask .*small-mask\.png to the image$/m],
    ];
    await refusedBeforeLoading(t, photo, out, join(dir, 'no-such-model'), cases);
    // With --resize-mask it is resized, with the fill's note, and both are the hole.
    const resized = await run(t, photo, '--mask', small, '--box', BOX, '--resize-mask', '-o', join(dir, 'resized.png'), '--method', 'telea', '--dilate', '0');
    assert.ok(resized.some((l) => /^note: the mask .*small-mask\.png is 80x60 but the image is 160x120: the mask .*small-mask\.png was resized to 160x120$/.test(l)), resized.join('\n'));
    const changed = await changes(join(dir, 'resized.png'));
    assert.ok(changed[10 * W + 10] && changed[CY * W + CX], 'the resized mask and the object are filled');
    const batch = join(dir, 'batch');
    await mkdir(batch);
    await copyFile(photo, join(batch, 'scene.png'));
    await assert.rejects(run(t, '--input', batch, '--box', BOX, '-o', join(dir, 'batch-out'), '--method', 'telea'), (e: Error) => e instanceof UsageError && /^--box takes a box in one IMAGE; for a batch, give each photo's hole as a mask \(--masks DIR\), or one --mask FILE for every photo$/.test(e.message));
    assert.ok(!existsSync(join(dir, 'batch-out')));
  });

  it('inpaint select writes the mask that --box fills: the same fill from it with --mask; --margin; refusals write nothing', async (t) => {
    const selectMain = async (...args: string[]) => {
      const [logs, errors]: string[][] = [[], []];
      t.mock.method(console, 'log', (...a: unknown[]) => logs.push(a.join(' ')));
      t.mock.method(console, 'error', (...a: unknown[]) => errors.push(a.join(' ')));
      const code = await main(['select', ...args]);
      t.mock.restoreAll();
      return { code, out: [...logs, ...errors].join('\n') };
    };
    const mask = join(dir, 'selected.png');
    const selected = await selectMain(photo, '--box', BOX, '-o', mask);
    assert.equal(selected.code, 0, selected.out);
    assert.match(selected.out, /note: --box 45,25,70,70: selected [\d,]+ px/);
    assert.match(selected.out, /scene\.png -> .*selected\.png \([\d,]+ px, [\d.]+% of the photo\)/);
    await run(t, photo, '--mask', mask, '-o', join(dir, 'from-mask.png'), '--method', 'telea', '--dilate', '0');
    await run(t, photo, '--box', BOX, '-o', join(dir, 'from-box.png'), '--method', 'telea', '--dilate', '0');
    assert.deepEqual(await readFile(join(dir, 'from-mask.png')), await readFile(join(dir, 'from-box.png')), 'the mask is the hole --box fills');
    // --margin 0: the object alone, inside the default's.
    const tight = join(dir, 'tight.png');
    assert.equal((await selectMain(photo, '--box', BOX, '--margin', '0', '-o', tight)).code, 0);
    const [a, b] = [await readMask(tight), await readMask(mask)];
    let inside = 0;
    for (let i = 0; i < W * H; i++) {
      assert.ok(!a.data[i] || b.data[i], 'the tight mask lies inside the default one');
      inside += a.data[i];
    }
    assert.ok(inside > 0.9 * Math.PI * R * R && inside < b.data.reduce((n, v) => n + v, 0), `${inside} px tight`);
    // Refusals: exit code 2, nothing written, the photo untouched.
    const before = await readFile(photo);
    for (const [args, message] of [
      [[photo, '-o', join(dir, 'no.png')], /missing --box X,Y,W,H/],
      [[photo, '--box', BOX], /missing -o MASK/],
      [[photo, '--box', BOX, '-o', photo], /is one of the input images; refusing to overwrite it/],
      [[photo, '--box', '115,5,40,40', '-o', join(dir, 'no.png')], /--box 115,5,40,40: nothing in the box stands apart/],
      [[photo, '--box', BOX, '--margin', '-1', '-o', join(dir, 'no.png')], /--margin/],
    ] as [string[], RegExp][]) {
      const { code, out } = await selectMain(...args);
      assert.equal(code, 2, `${args.join(' ')}: ${out}`);
      assert.match(out, message, args.join(' '));
    }
    assert.ok(!existsSync(join(dir, 'no.png')));
    assert.deepEqual(await readFile(photo), before);
  });
});

describe('inpaint run --rotate / --extend (the pixels left empty are the hole)', () => {
  let dir: string;
  const [W, H] = [120, 90];
  let photo: string;
  let raw: RawPixels;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-cli-frame-'));
    raw = await photoPixels(W, H);
    photo = join(dir, 'photo.png');
    await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).png().toFile(photo);
  });

  after(() => rm(dir, { recursive: true, force: true }));

  const noteOf = (lines: string[], start: string) => lines.find((l) => l.startsWith(`note: ${start}`));
  const rgb = async (file: string) => {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  };

  it('--extend: the photo exact inside a wider canvas, the border filled, with a note; a transparent part filled too', async (t) => {
    const out = join(dir, 'wider.png');
    const lines = await run(t, photo, '--extend', '20,10%,0,5', '-o', out, '--method', 'telea', '--dilate', '0');
    // 10% of the height (90) is 9 at the top.
    assert.equal(noteOf(lines, 'extended to'), `note: extended to 140x104: the ${140 * 104 - W * H} pixels left empty are filled`, lines.join('\n'));
    const result = await rgb(out);
    assert.deepEqual([result.width, result.height, result.channels], [140, 104, 3]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) assert.equal(result.data[3 * ((y + 9) * 140 + x + 20) + c], raw.data[3 * (y * W + x) + c], `(${x}, ${y})`);
      }
    }
    // The border continues the photo's edge: each of its pixels near the colours of the photo's edge, never black.
    const mean = (x: number, y: number) => (result.data[3 * (y * 140 + x)] + result.data[3 * (y * 140 + x) + 1] + result.data[3 * (y * 140 + x) + 2]) / 3;
    for (const [x, y] of [[0, 0], [10, 50], [139, 0], [70, 2], [70, 103]]) assert.ok(mean(x, y) > 20, `(${x}, ${y}) is ${mean(x, y)}`);
    // A photo with a transparent part and no mask: both are filled, and the result is opaque.
    const rgba = Buffer.alloc(4 * W * H);
    for (let i = 0; i < W * H; i++) rgba.set(i % W >= 50 && i % W < 60 && i < 20 * W ? [0, 0, 0, 0] : [...raw.data.subarray(3 * i, 3 * i + 3), 255], 4 * i);
    const erased = join(dir, 'erased.png');
    await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toFile(erased);
    const opaque = join(dir, 'erased-wider.png');
    const more = await run(t, erased, '--extend', '4', '-o', opaque, '--method', 'telea', '--dilate', '0');
    assert.ok(noteOf(more, 'no mask: the 200 transparent pixels'), more.join('\n'));
    assert.ok(noteOf(more, 'extended to 128x98: the'), more.join('\n'));
    assert.equal((await sharp(opaque).metadata()).hasAlpha, false);
    // A camera's JPEG: its EXIF kept, with the pixel dimensions of the larger result, not the photo's.
    const camera = join(dir, 'camera.jpg');
    await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).withExif({ IFD0: { Make: 'Acme' } }).jpeg().toFile(camera);
    assert.equal(exifReader((await sharp(camera).metadata()).exif!).Photo?.PixelXDimension, W, 'the photo says its own size');
    const framed = join(dir, 'camera-wider.jpg');
    await run(t, camera, '--extend', '0,0,20,10', '-o', framed, '--method', 'telea');
    const exif = exifReader((await sharp(framed).metadata()).exif!);
    assert.deepEqual([exif.Image?.Make, exif.Photo?.PixelXDimension, exif.Photo?.PixelYDimension], ['Acme', W + 20, H + 10]);
  });

  it('--rotate: the photo turned as the library turns it, the corners and the turned mask filled; --exclude turned with it', async (t) => {
    const out = join(dir, 'level.png');
    const mask = join(dir, 'mask.png');
    // A block right of the centre, in the photo's own pixels.
    await writeMask(mask, rectMask(W, H, { x: 85, y: 40, width: 10, height: 10 }));
    const lines = await run(t, photo, '--rotate', '-6', '--mask', mask, '-o', out, '--method', 'telea', '--dilate', '0');
    const image = await readImage(photo);
    const turned = reframe({ image }, rectMask(W, H, { x: 85, y: 40, width: 10, height: 10 }), { rotate: -6 });
    const empty = turned.empty;
    assert.equal(noteOf(lines, 'turned'), `note: turned -6 degrees: the ${empty} pixels left empty are filled`, lines.join('\n'));
    assert.ok(empty > 0.03 * W * H && empty < 0.2 * W * H, `${empty} empty pixels`);
    const result = await rgb(out);
    assert.deepEqual([result.width, result.height], [W, H]);
    let filled = 0;
    for (let i = 0; i < W * H; i++) {
      const stored = [0, 1, 2].map((c) => Math.round(turned.photo.image.data[c * W * H + i] * 255));
      const same = [0, 1, 2].every((c) => Math.abs(result.data[3 * i + c] - stored[c]) <= 1);
      if (!turned.hole.data[i]) assert.ok(same, `(${i % W}, ${Math.floor(i / W)}) is known and changed`);
      else if (!same) filled++;
    }
    // The block turned 6 degrees counter-clockwise about the centre (59.5, 44.5) moves up: it is filled there.
    assert.ok(filled > 0.5 * (empty + 100), `${filled} of ${empty + 100} hole pixels changed`);
    assert.equal(turned.hole.data[42 * W + 90], 1);
    assert.equal(turned.hole.data[49 * W + 90], 0, 'the block is turned upwards on the right');
    // --exclude and --sample-from are in the photo's pixels too, and go with it (an --extend's wider canvas included).
    const [exclude, sampleFrom] = [join(dir, 'exclude.png'), join(dir, 'sample-from.png')];
    await writeMask(exclude, rectMask(W, H, { x: 0, y: 0, width: 30, height: 30 }));
    await writeMask(sampleFrom, rectMask(W, H, { x: 0, y: 0, width: 80, height: H }));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    const both = await run(t, photo, '--rotate', '3', '--extend', '8', '--exclude', exclude, '--sample-from', sampleFrom, '-o', join(dir, 'both.png'), '--model', join(dir, 'bundle'), '--vgg', TEST_VGG_WEIGHTS);
    assert.ok(noteOf(both, 'turned 3 degrees and extended to 136x106'), both.join('\n'));
  });

  it('--extend W:H: the border that gives the photo that shape, half on each side; none for a photo of that shape', async (t) => {
    const out = join(dir, 'square.png');
    const lines = await run(t, photo, '--extend', '1:1', '-o', out, '--method', 'telea', '--dilate', '0');
    assert.equal(noteOf(lines, 'extended to'), `note: extended to 120x120: the ${120 * 120 - W * H} pixels left empty are filled`, lines.join('\n'));
    const result = await rgb(out);
    assert.deepEqual([result.width, result.height], [120, 120]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) assert.equal(result.data[3 * ((y + 15) * W + x) + c], raw.data[3 * (y * W + x) + c], `(${x}, ${y})`);
      }
    }
    // 120x90 is 4:3 already: nothing added, the photo written as it was.
    const same = join(dir, 'same.png');
    const already = await run(t, photo, '--extend', '4:3', '-o', same, '--method', 'telea');
    assert.ok(noteOf(already, 'extended to') === undefined && noteOf(already, 'already 4:3, so given no border: no pixel was left empty'), already.join('\n'));
    assert.deepEqual([...(await rgb(same)).data], [...raw.data], 'the photo as it was');
  });

  it('a batch: every photo turned or given the border its shape needs, with its own mask if it has one; a photo the border does not fit fails alone', async (t) => {
    const input = join(dir, 'batch');
    await mkdir(input);
    await copyFile(photo, join(input, 'a.png'));
    await writeMask(join(input, 'a_mask.png'), rectMask(W, H, { x: 50, y: 40, width: 10, height: 10 }));
    await copyFile(photo, join(input, 'b.png'));
    await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).resize(100, 20, { fit: 'fill' }).png().toFile(join(input, 'wide.png'));
    const out = join(dir, 'batch-square');
    const lines: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
    await assert.rejects(inpaintCommand.run(['--input', input, '--extend', '4:5', '-o', out, '--method', 'telea', '--dilate', '0']), (e: Error) => e instanceof InputError && /1 of 3 images failed: wide\.png/.test(e.message));
    t.mock.restoreAll();
    const text = lines.join('\n');
    // 4:5 of a 120 px width is 150 px tall: 30 px at the top, 30 at the bottom.
    assert.match(text, /\[1\/3\] a\.png -> .*\n {2}note: extended to 120x150: the 7200 pixels left empty are filled/);
    assert.match(text, /\[2\/3\] b\.png -> .*\n {2}note: extended to 120x150: the 7200 pixels left empty are filled/);
    assert.match(text, /\[3\/3\] wide\.png: FAILED: --extend: the top border of 52 px to make it 4:5 is more than the photo is tall \(20 px\)/);
    const [a, b] = [await rgb(join(out, 'a.png')), await rgb(join(out, 'b.png'))];
    assert.deepEqual([a.width, a.height, b.width, b.height], [120, 150, 120, 150]);
    // Outside a's mask, a and b are the same photo given the same border; inside it, a is filled.
    const inMask = (x: number, y: number) => x >= 50 && x < 60 && y >= 70 && y < 80;
    let differ = 0;
    for (let y = 30; y < 120; y++) {
      for (let x = 0; x < W; x++) {
        const i = 3 * (y * W + x);
        const same = [0, 1, 2].every((c) => a.data[i + c] === b.data[i + c]);
        if (!inMask(x, y)) assert.ok(same, `(${x}, ${y})`);
        else if (!same) differ++;
      }
    }
    assert.ok(differ > 50, `${differ} of a's 100 hole pixels differ from b's`);
    assert.ok(!existsSync(join(out, 'wide.png')));
    // --rotate in a batch; a photo without a mask in a --masks folder is said to get only the frame's fill.
    const turned = await run(t, '--input', input, '--masks', input, '--rotate', '4', '-o', join(dir, 'batch-level'), '--method', 'telea');
    assert.match(turned.join('\n'), /\[2\/3\] b\.png -> .*\n {2}note: no mask for it in .*: only what --rotate and --extend leave empty \(and any transparent pixels\) is filled\n {2}note: turned 4 degrees: the \d+ pixels left empty are filled/);
    assert.deepEqual([(await rgb(join(dir, 'batch-level', 'a.png'))).width, (await rgb(join(dir, 'batch-level', 'wide.png'))).height], [W, 20]);
  });

  it('refuses a bad angle or border: exit code 2, before the model loads, nothing written', async (t) => {
    const out = join(dir, 'never.png');
    const cases: [string[], RegExp][] = [
      [['--rotate', '60'], /^inpaint run: Expected degrees from -45 to 45 for --rotate \(clockwise; negative turns counter-clockwise\) but received "60": for a quarter turn, turn the photo in an image viewer first/m],
      [['--rotate', 'level'], /^inpaint run: Expected degrees from -45 to 45 for --rotate .* but received "level"$/m],
      [['--extend', '1,2'], /^inpaint run: Expected PX, P%, L,T,R,B or W:H for --extend .* but received "1,2"$/m],
      [['--extend=-5'], /^inpaint run: Expected PX, P%, L,T,R,B or W:H for --extend .* but received "-5"$/m],
      [['--extend', '0:1'], /^inpaint run: Expected PX, P%, L,T,R,B or W:H for --extend .* but received "0:1"$/m],
      [['--extend', '16:9:1'], /^inpaint run: Expected PX, P%, L,T,R,B or W:H for --extend .* but received "16:9:1"$/m],
      [['--extend', '1:3'], /^inpaint run: --extend: the top border of 135 px to make it 1:3 is more than the photo is tall \(90 px\)/m],
      [['--extend', '0,150%,0,0'], /^inpaint run: --extend: the top border of 135 px is more than the photo is tall \(90 px\)/m],
      [['--extend', '80', '--max-pixels', '20000'], /^inpaint run: --extend: the result would be 280x250 \(70000 pixels\), over the limit of 20000; add a narrower border, or raise the limit \(--max-pixels\)$/m],
    ];
    await refusedBeforeLoading(t, photo, out, join(dir, 'no-such-model'), cases);
  });
});

describe('inpaint run: the originals are never lost, numbers are checked (issue 19)', () => {
  let dir: string;
  const hole = { x: 40, y: 30, width: 30, height: 20 };
  const read = (f: string) => readFile(f);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-cli-safe-'));
    await writePhoto(join(dir, 'photo.png'), 120, 90);
    await writeMask(join(dir, 'mask.png'), rectMask(120, 90, hole));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses -o that is the photo or its mask (exit code 2), under any name, and leaves them untouched', async (t) => {
    const [photo, mask] = [join(dir, 'photo.png'), join(dir, 'mask.png')];
    const before = [await read(photo), await read(mask)];
    await link(photo, join(dir, 'photo-link.png'));
    for (const [out, what] of [[photo, 'the input photo'], [mask, 'its mask'], [join(dir, 'photo-link.png'), 'the input photo'], [`${dir}/./photo.png`, 'the input photo']]) {
      await assert.rejects(run(t, photo, '--mask', mask, '-o', out, '--method', 'telea'), (e: Error) => e instanceof UsageError && e.message.includes(`is ${what}`) && /--overwrite/.test(e.message));
    }
    assert.deepEqual([await read(photo), await read(mask)], before);
    // Asked for, the photo is replaced, by a complete file; what a run killed mid-write left is removed.
    const copy = join(dir, 'copy.png');
    await writeFile(copy, before[0]);
    const leftover = join(dir, `.copy.png.${spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout}.00112233aabb.tmp`);
    await writeFile(leftover, 'half a PNG');
    await run(t, copy, '--mask', mask, '-o', copy, '--method', 'telea', '--overwrite');
    assert.ok(!existsSync(leftover));
    assert.notDeepEqual(await read(copy), before[0]);
    assert.equal((await readImage(copy)).width, 120);
  });

  it('refuses a batch -o that is the --input or --masks folder (exit code 2) unless --overwrite', async (t) => {
    const [input, masks] = [join(dir, 'batch-in'), join(dir, 'batch-masks')];
    await mkdir(input);
    await mkdir(masks);
    await writePhoto(join(input, 'a.png'), 100, 80, 'mate-backgrounds/Wood.jpg');
    await writeMask(join(masks, 'a.png'), rectMask(100, 80, { x: 10, y: 10, width: 20, height: 20 }));
    const original = await read(join(input, 'a.png'));
    await assert.rejects(run(t, '--input', input, '--masks', masks, '-o', input, '--method', 'telea'), (e: Error) => e instanceof UsageError && /is the --input folder.*--overwrite/.test(e.message));
    await assert.rejects(run(t, '--input', input, '--masks', masks, '-o', `${masks}/`, '--method', 'telea'), (e: Error) => e instanceof UsageError && /is the --masks folder/.test(e.message));
    assert.deepEqual(await read(join(input, 'a.png')), original);
    assert.deepEqual(await readdir(input), ['a.png'], 'nothing written');
    await run(t, '--input', input, '--masks', masks, '-o', input, '--method', 'telea', '--overwrite');
    assert.notDeepEqual(await read(join(input, 'a.png')), original);
  });

  it('--max-pixels raises (or lowers) the size limit of the photos read; the refusal names the flag', async (t) => {
    const args = [join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', join(dir, 'limited.png'), '--method', 'telea'];
    await assert.rejects(run(t, ...args, '--max-pixels', '10799'), (e: Error) => e instanceof InputError && /120x90 .*over the limit.*--max-pixels 10800 on the command line/.test(e.message));
    assert.ok(!existsSync(join(dir, 'limited.png')));
    await run(t, ...args, '--max-pixels', '10800');
    assert.ok(existsSync(join(dir, 'limited.png')));
    await assert.rejects(run(t, ...args, '--max-pixels', '0'), (e: Error) => e instanceof UsageError && /positive integer for --max-pixels/.test(e.message));
  });

  it("keeps the photo's alpha, and its transparent pixels (stored black) do not leak into the fill", async (t) => {
    // Flat grey, opaque, except a transparent band stored black right beside the hole.
    const [w, h] = [60, 40];
    const rgba = new Uint8Array(4 * w * h);
    for (let i = 0; i < w * h; i++) rgba.set(i % w >= 30 && i % w < 40 ? [0, 0, 0, 0] : [128, 128, 128, 255], 4 * i);
    const photo = join(dir, 'cutout.png');
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toFile(photo);
    await writeMask(join(dir, 'cutout-mask.png'), rectMask(w, h, { x: 20, y: 10, width: 10, height: 20 }));
    const out = join(dir, 'cutout-out.png');
    const lines = await run(t, photo, '--mask', join(dir, 'cutout-mask.png'), '-o', out, '--method', 'telea', '--dilate', '0');
    assert.match(lines.join('\n'), /note: 400 fully transparent pixels were filled too/);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    for (let i = 0; i < w * h; i++) {
      assert.equal(data[4 * i + 3], rgba[4 * i + 3], `alpha of pixel ${i}`);
      // The hole and the band are filled from the grey alone (diffusion is not exact): no black pulled in.
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(data[4 * i + c] - 128) <= 8, `pixel ${i} channel ${c}: ${data[4 * i + c]}`);
    }
    // A hole painted over part of the transparent band: that part is filled and opaque, the rest of
    // the band stays transparent; with a baseline and with ours.
    await writeMask(join(dir, 'cutout-over.png'), rectMask(w, h, { x: 25, y: 10, width: 10, height: 20 }));
    const asked = (x: number, y: number) => x >= 25 && x < 35 && y >= 10 && y < 30;
    await writeRandomBundle(join(dir, 'alpha-bundle'), { preset: 'tiny', g2Scales: [256] });
    for (const method of [['--method', 'telea'], ['--model', join(dir, 'alpha-bundle'), '--vgg', TEST_VGG_WEIGHTS]]) {
      await run(t, photo, '--mask', join(dir, 'cutout-over.png'), '-o', out, ...method, '--dilate', '0');
      const over = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      for (let i = 0; i < w * h; i++) {
        const [x, y] = [i % w, Math.floor(i / w)];
        assert.equal(over.data[4 * i + 3], asked(x, y) ? 255 : rgba[4 * i + 3], `${method.join(' ')}: alpha at (${x}, ${y})`);
      }
    }
  });

  it('weights holding a NaN stop the run with exit code 1 naming the file; nothing is written', async (t) => {
    const good = join(dir, 'bundle');
    await writeRandomBundle(good, { preset: 'tiny', g2Scales: [256] });
    const bundle = await readBundle(good);
    const w = [...bundle.g1.entries()][0][1].data;
    w[3] = Number.NaN;
    const bad = join(dir, 'nan-bundle');
    await writeBundle(bad, { model: bundle.manifest.model, vggSha256: bundle.manifest.vggSha256 }, { g1: bundle.g1, g2: bundle.g2 });
    const vgg = new Uint8Array(await readFile(TEST_VGG_WEIGHTS));
    vgg.fill(0xff, vgg.length - 4000, vgg.length - 3996); // inside a weight tensor near the end of the file
    const badVgg = join(dir, 'nan-vgg.pth');
    await writeFile(badVgg, vgg);
    const out = join(dir, 'never.png');
    const args = [join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', out];
    for (const [flags, named] of [
      [['--model', bad, '--vgg', TEST_VGG_WEIGHTS], /cannot load "g1\.safetensors": g1\..*\[3\] = NaN/],
      [['--model', good, '--vgg', badVgg], /nan-vgg\.pth: conv\d_\d \(\d+\.weight\) holds NaN/],
    ] as const) {
      const errors: string[] = [];
      t.mock.method(console, 'error', (...a: unknown[]) => errors.push(a.join(' ')));
      const code = await main(['run', ...args, ...flags]);
      t.mock.restoreAll();
      assert.equal(code, 1, errors.join('\n'));
      assert.match(errors.join('\n'), named);
      assert.ok(!existsSync(out));
    }
  });
});

describe('inpaint run: the progress line', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (chunk: string) => written.push(chunk) > 0 } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
  };

  it("a batch's time left reads as a person would say it", () => {
    assert.deepEqual([0.2, 40, 89, 90, 720, 5399, 5400, 11_100].map(roughDuration), ['1 s', '40 s', '89 s', '2 min', '12 min', '90 min', '1 h 30 min', '3 h 5 min']);
  });

  it('rewrites one line on a terminal at each step and erases it when the fill ends', () => {
    const { written, stream: tty } = stream(true);
    const line = progressLine(tty);
    line.onProgress!({ done: 0, total: 3, region: 1, regions: 1, scale: 256 });
    line.onProgress!({ done: 2, total: 3, region: 2, regions: 2, scale: 1024 });
    line.onProgress!({ done: 3, total: 3, region: 2, regions: 2, scale: 1024 });
    line.clear();
    assert.deepEqual(written, ['\r\x1b[Kinpainting: 256 px, step 1 of 3', '\r\x1b[Kinpainting: area 2 of 2, 1024 px, step 3 of 3', '\r\x1b[K']);
    // A fill that failed half-way: the line is erased before the error is printed.
    line.onProgress!({ done: 1, total: 3, region: 1, regions: 1, scale: 512 });
    line.clear();
    assert.equal(written.at(-1), '\r\x1b[K');
  });

  it('writes nothing where the stream is not a terminal', () => {
    const { written, stream: log } = stream(false);
    const line = progressLine(log);
    assert.equal(line.onProgress, undefined);
    line.clear();
    assert.deepEqual(written, []);
  });
});
