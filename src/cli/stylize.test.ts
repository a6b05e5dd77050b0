import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { InputError, UsageError } from '../core/errors.ts';
import { readImage } from '../core/image.ts';
import { photoPixels, TEST_VGG_WEIGHTS, writeRandomBundle } from '../inference/testing.ts';
import { stylizeCommand } from './stylize.ts';

// main() maps UsageError to exit code 2 and any other InpaintError to 1 (see main.test.ts); these
// tests check which of the two each failure raises.

async function writePhoto(path: string, width: number, height: number, file?: string): Promise<void> {
  const raw = await photoPixels(width, height, file);
  await sharp(raw.data, { raw: { width, height, channels: 3 } }).toFile(path);
}

/** Runs the command with console output captured into `lines` (also when it fails); returns them. */
async function capture(t: TestContext, lines: string[], ...args: string[]): Promise<string[]> {
  t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
  t.mock.method(console, 'error', (...a: unknown[]) => lines.push(a.join(' ')));
  try {
    await stylizeCommand.run(args);
  } finally {
    t.mock.restoreAll();
  }
  return lines;
}

const run = (t: TestContext, ...args: string[]) => capture(t, [], ...args);

describe('inpaint stylize', () => {
  let dir: string;
  let model: string[];

  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'stylize-cli-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    model = ['--model', join(dir, 'bundle'), '--vgg', TEST_VGG_WEIGHTS, '--size', '64'];
    await mkdir(join(dir, 'photos'));
    await mkdir(join(dir, 'styles'));
    await writePhoto(join(dir, 'photos', 'china.png'), 90, 60);
    await writePhoto(join(dir, 'photos', 'dune.jpg'), 50, 70, 'mate-backgrounds/Dune.jpg');
    await writePhoto(join(dir, 'styles', 'waves.jpg'), 80, 80, 'tuxpaint-data/ocean_waves.jpg');
    await writePhoto(join(dir, 'styles', 'bark.webp'), 120, 60, 'tuxpaint-data/mossy_bark.jpg');
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it("stylizes one photo at its own size, keeping its EXIF unless --strip-metadata", async (t) => {
    const photo = join(dir, 'camera.jpg');
    await sharp(join(dir, 'photos', 'china.png')).withExif({ IFD0: { Make: 'Acme', Model: 'Snapper 3000' } }).jpeg().toFile(photo);
    const out = join(dir, 'out', 'styled.jpg');
    const lines = await run(t, photo, '--style', join(dir, 'styles', 'waves.jpg'), '-o', out, ...model, '--strength', '0.8');
    assert.match(lines.join('\n'), /camera\.jpg in the style of .*waves\.jpg -> .*styled\.jpg/);
    const image = await readImage(out);
    assert.deepEqual([image.width, image.height], [90, 60]);
    assert.equal(exifReader((await sharp(out).metadata()).exif!).Image?.Model, 'Snapper 3000');
    await run(t, photo, '--style', join(dir, 'styles', 'waves.jpg'), '-o', out, ...model, '--strip-metadata');
    assert.equal((await sharp(out).metadata()).exif, undefined);
  });

  it('without -o writes beside the photo under a new name each time, and so into a folder given as -o', async (t) => {
    await mkdir(join(dir, 'alone'));
    const photo = join(dir, 'alone', 'china.png');
    await copyFile(join(dir, 'photos', 'china.png'), photo);
    for (const name of ['china-styled.png', 'china-styled-2.png']) {
      const lines = await run(t, photo, '--style', join(dir, 'styles', 'waves.jpg'), ...model);
      assert.equal(lines.at(-1), `${photo} in the style of ${join(dir, 'styles', 'waves.jpg')} -> ${join(dir, 'alone', name)}`);
    }
    assert.deepEqual((await readdir(join(dir, 'alone'))).sort(), ['china-styled-2.png', 'china-styled.png', 'china.png']);
    // -o a folder: the same name in it.
    const lines = await run(t, photo, '--style', join(dir, 'styles', 'waves.jpg'), '-o', join(dir, 'alone'), ...model);
    assert.equal(lines.at(-1), `${photo} in the style of ${join(dir, 'styles', 'waves.jpg')} -> ${join(dir, 'alone', 'china-styled-3.png')}`);
  });

  it('stylizes every photo of a folder with every style of a folder, carrying on past a style that cannot be read', async (t) => {
    const styles = join(dir, 'styles-with-bad');
    await mkdir(styles);
    await writePhoto(join(styles, 'waves.jpg'), 80, 80, 'tuxpaint-data/ocean_waves.jpg');
    await writeFile(join(styles, 'broken.png'), 'not a png');
    const out = join(dir, 'grid');
    const lines: string[] = [];
    await assert.rejects(capture(t, lines, '--input', join(dir, 'photos'), '--style', styles, '-o', out, ...model), (err: Error) => err instanceof InputError && /2 of 4 failed/.test(err.message));
    assert.deepEqual(lines.filter((l) => /FAILED/.test(l)).map((l) => l.slice(0, l.indexOf(':'))), ['[1/4] china x broken', '[3/4] dune x broken']);
    assert.deepEqual((await readdir(out)).sort(), ['china_waves.png', 'dune_waves.png']);
    assert.deepEqual([(await readImage(join(out, 'dune_waves.png'))).width, (await readImage(join(out, 'dune_waves.png'))).height], [50, 70]);
    // One style file: the outputs are named after the contents.
    await run(t, '--input', join(dir, 'photos'), '--style', join(dir, 'styles', 'bark.webp'), '-o', join(dir, 'one-style'), ...model);
    assert.deepEqual((await readdir(join(dir, 'one-style'))).sort(), ['china.png', 'dune.png']);
  });

  it('rejects bad flags, and outputs that would overwrite an input, with UsageError (exit code 2) before loading a model', async (t) => {
    const photo = join(dir, 'photos', 'china.png');
    const style = join(dir, 'styles', 'waves.jpg');
    const out = join(dir, 'x.png');
    const none = ['--model', join(dir, 'no-such-model')];
    const usage = (pattern: RegExp, ...args: string[]) => assert.rejects(run(t, ...args, ...none), (err: Error) => err instanceof UsageError && pattern.test(err.message), args.join(' '));
    await usage(/missing --style/, photo, '-o', out);
    await usage(/missing -o OUT_DIR/, photo, '--style', join(dir, 'styles'));
    await usage(/missing -o OUT_DIR/, '--input', join(dir, 'photos'), '--style', style);
    await usage(/missing CONTENT/, '--style', style, '-o', out);
    await usage(/either CONTENT or --input/, photo, '--input', join(dir, 'photos'), '--style', style, '-o', out);
    await usage(/an integer for --size/, photo, '--style', style, '-o', out, '--size', 'big');
    await usage(/from 64 to 2048 for options\.size/, photo, '--style', style, '-o', out, '--size', '32');
    await usage(/from 64 to 512 .*for options\.styleSize/, photo, '--style', style, '-o', out, '--style-size', '1024');
    await usage(/from 0 to 1 for options\.strength/, photo, '--style', style, '-o', out, '--strength', '2');
    await usage(/a number for --strength/, photo, '--style', style, '-o', out, '--strength', 'half');
    await usage(/\.bmp/, photo, '--style', style, '-o', join(dir, 'x.bmp'));
    await usage(/refusing to overwrite/, photo, '--style', style, '-o', photo);
    await usage(/refusing to overwrite/, photo, '--style', style, '-o', style);
    await usage(/china\.png is one of the input images; refusing to overwrite/, '--input', join(dir, 'photos'), '--style', style, '-o', join(dir, 'photos'));
    await usage(/no JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC images/, '--input', join(dir, 'bundle'), '--style', style, '-o', join(dir, 'y'));
    await assert.rejects(run(t, photo, '--style', style, '-o', out, '--bogus'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });

  it('fails with InputError (exit code 1) on a content or style that cannot be read', async (t) => {
    const out = join(dir, 'y.png');
    await assert.rejects(run(t, join(dir, 'missing.jpg'), '--style', join(dir, 'styles', 'waves.jpg'), '-o', out, ...model), InputError);
    await assert.rejects(run(t, join(dir, 'photos', 'china.png'), '--style', join(dir, 'missing.jpg'), '-o', out, ...model), InputError);
    assert.equal(existsSync(out), false);
  });

  it('exits with 1 for an unreadable file and 2 for bad flags, from the command line', () => {
    const bin = new URL('../../bin/inpaint.mjs', import.meta.url).pathname;
    const style = join(dir, 'styles', 'waves.jpg');
    const missing = spawnSync(process.execPath, [bin, 'stylize', join(dir, 'missing.jpg'), '--style', style, '-o', join(dir, 'z.png')], { encoding: 'utf8' });
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stderr, /^inpaint stylize: .*missing\.jpg/m);
    const bad = spawnSync(process.execPath, [bin, 'stylize', join(dir, 'photos', 'china.png'), '--style', style, '-o', join(dir, 'z.png'), '--strength', '1.5'], { encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /options\.strength[\s\S]*inpaint stylize --help/);
  });
});
