import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import sharp from 'sharp';
import { InpaintError, InputError, UsageError } from '../core/errors.ts';
import { readImage, writeMask } from '../core/image.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from '../inference/testing.ts';
import { inpaintCommand } from './inpaint.ts';

// main() maps UsageError to exit code 2 and any other InpaintError to 1 (see main.test.ts); these
// tests check which of the two each failure raises.

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
    const lines = await run(t, join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', out, ...model, '--dilate', '0', '--ensemble', '2', '--locality', '0.5', '--debug', join(dir, 'debug'));
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

  it('rejects bad flags and unusable masks with UsageError (exit code 2)', async (t) => {
    const photo = join(dir, 'photo.png');
    const out = join(dir, 'x.png');
    const usage = (...args: string[]) => assert.rejects(run(t, ...args), UsageError);
    await usage(photo, '--mask', join(dir, 'mask.png'));
    await usage(photo, '-o', out);
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', join(dir, 'x.bmp'));
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', out, '--scales', '256,big');
    await usage('--input', dir, '--masks', dir, '-o', join(dir, 'batch'), '--scales', '512,256', '--model', join(dir, 'no-such-model'));
    await usage(photo, '--mask', join(dir, 'mask.png'), '-o', out, '--refine=-1');
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--ensemble', '3'), (err: Error) => err instanceof UsageError && /one of 1, 2, 4, 8/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--locality', 'near'), (err: Error) => err instanceof UsageError && /a number >= 0 for --locality/.test(err.message));
    await assert.rejects(run(t, photo, '--mask', join(dir, 'mask.png'), '-o', out, '--locality', '101'), (err: Error) => err instanceof UsageError && /from 0 to 100 for options.locality/.test(err.message));
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
    await assert.rejects(inpaintCommand.run(['--input', input, '--masks', masks, '-o', out, ...model]), (err: Error) => err instanceof InpaintError && !(err instanceof UsageError) && /2 of 4 images failed: c\.png, d\.png/.test(err.message));
    t.mock.restoreAll();
    assert.match(lines[0], /^\[1\/4\] a\.png -> .*a\.png \(\d+\.\d\d s\)$/);
    assert.match(lines[1], /^\[2\/4\] b\.jpg -> .*b\.png/);
    assert.match(lines[2], /^\[3\/4\] c\.png: FAILED: no mask/);
    assert.match(lines[3], /^\[4\/4\] d\.png: FAILED: .*not a readable/);
    assert.deepEqual([existsSync(join(out, 'a.png')), existsSync(join(out, 'b.png')), existsSync(join(out, 'c.png'))], [true, true, false]);
    assert.deepEqual([(await readImage(join(out, 'b.png'))).width, (await readImage(join(out, 'b.png'))).height], [120, 160]);
  });

  it('has help with examples', () => {
    assert.match(inpaintCommand.help, /Examples:\n  inpaint run photo\.jpg --mask mask\.png -o filled\.png/);
    assert.match(inpaintCommand.help, /--input DIR --masks DIR -o OUT_DIR/);
    assert.match(inpaintCommand.help, /--method NAME +ours, g1-only, patchmatch, telea, navier-stokes \(default ours\)/);
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

  it('runs telea over a folder', async (t) => {
    const [input, out] = [join(dir, 'in'), join(dir, 'out')];
    await mkdir(input);
    await writePhoto(join(input, 'a.png'), 100, 80, 'mate-backgrounds/Wood.jpg');
    await writeMask(join(input, 'a_mask.png'), rectMask(100, 80, { x: 0, y: 10, width: 20, height: 20 }));
    const lines = await run(t, '--input', input, '--masks', input, '-o', out, '--method', 'telea');
    assert.match(lines[0], /^\[1\/1\] a\.png -> .*a\.png/);
    assert.deepEqual([(await readImage(join(out, 'a.png'))).width, (await readImage(join(out, 'a.png'))).height], [100, 80]);
  });

  it('refuses an unknown method and the model flags a baseline does not take (exit code 2)', async (t) => {
    const args = [join(dir, 'photo.png'), '--mask', join(dir, 'mask.png'), '-o', join(dir, 'x.png')];
    await assert.rejects(run(t, ...args, '--method', 'magic'), (err: Error) => err instanceof UsageError && /ours, g1-only, patchmatch, telea, navier-stokes/.test(err.message));
    await assert.rejects(run(t, ...args, '--method', 'patchmatch', '--model', dir), (err: Error) => err instanceof UsageError && /--model does not apply to --method patchmatch/.test(err.message));
    await assert.rejects(run(t, ...args, '--method', 'navier-stokes', '--scales', '256'), /--scales does not apply/);
    await assert.rejects(run(t, ...args, '--method', 'telea', '--ensemble', '2'), /--ensemble does not apply to --method telea/);
    await assert.rejects(run(t, ...args, '--method', 'g1-only', '--refine', '1'), /--refine does not apply to --method g1-only/);
    await assert.rejects(run(t, ...args, '--method', 'g1-only', '--debug', join(dir, 'debug')), UsageError);
    await writeMask(join(dir, 'small-mask.png'), rectMask(60, 45, { x: 10, y: 10, width: 10, height: 10 }));
    await assert.rejects(run(t, join(dir, 'photo.png'), '--mask', join(dir, 'small-mask.png'), '-o', join(dir, 'x.png'), '--method', 'telea'), (err: Error) => err instanceof UsageError && /60x45.*120x90/.test(err.message));
    assert.ok(!existsSync(join(dir, 'x.png')));
  });
});
