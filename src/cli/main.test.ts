import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { TEST_PHOTOS as PHOTOS } from '../inference/testing.ts';

const BIN = new URL('../../bin/inpaint.mjs', import.meta.url).pathname;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('inpaint CLI', () => {
  it('lists commands and exits 2 without arguments, 0 with --help', () => {
    const none = run();
    assert.equal(none.status, 2);
    assert.match(none.stdout, /Commands:/);
    assert.equal(run('--help').status, 0);
  });

  it('rejects an unknown command and bad flags with exit code 2 and a hint', () => {
    const r = run('frobnicate');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    const bad = run('masks', '--kind', 'nope', '-o', mkdtempSync(join(tmpdir(), 'm-')));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown mask kind "nope"/);
    assert.equal(run('masks', '--bogus').status, 2);
  });

  it('treats an image path as the first argument as the run command', () => {
    const r = run('no-such-photo.jpg', '--mask', 'no-such-mask.png', '-o', join(mkdtempSync(join(tmpdir(), 'out-')), 'x.png'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^inpaint run: .*no-such-photo\.jpg/m);
  });

  it('eval and train take --max-pixels, and the refusal of a larger photo names it (exit 1; 2 for a bad value)', async () => {
    const data = mkdtempSync(join(tmpdir(), 'max-pixels-'));
    await sharp(join(PHOTOS, 'python3-sklearn/china.jpg')).resize(64, 48).png().toFile(join(data, 'a.png'));
    const evalArgs = ['eval', '--data', data, '--methods', 'telea', '--protocols', 'centre-256', '--split', 'all'];
    const refused = run(...evalArgs, '-o', join(data, 'out1'), '--max-pixels', '3071');
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /a\.png is 64x48 .*over the limit.*--max-pixels 3072 on the command line/);
    const read = run(...evalArgs, '-o', join(data, 'out2'), '--max-pixels', '3072');
    assert.equal(read.status, 0, read.stderr);
    const bad = run('train', 'g1', '--data', data, '--out', join(data, 'run'), '--max-pixels', 'many');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /positive integer for --max-pixels/);
  });

  it('npm runs the command without warning about the project config', () => {
    const r = spawnSync('npm', ['exec', '--offline', '--', 'inpaint', '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Commands:/);
    assert.doesNotMatch(r.stderr, /npm warn/);
    // Still, onnxruntime-node's install script (a CUDA download from NuGet) must never run.
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).allowScripts['onnxruntime-node'], false);
  });

  it('masks writes the requested number of PNG masks', () => {
    const out = mkdtempSync(join(tmpdir(), 'masks-'));
    const r = run('masks', '--kind', 'rectangles', '--count', '3', '--size', '64', '-o', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['rectangles-000.png', 'rectangles-001.png', 'rectangles-002.png']);
    assert.equal(run('masks', '--help').status, 0);
  });
});
