import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const BIN = new URL('../../bin/inpaint.mjs', import.meta.url).pathname;
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

  it('masks writes the requested number of PNG masks', () => {
    const out = mkdtempSync(join(tmpdir(), 'masks-'));
    const r = run('masks', '--kind', 'rectangles', '--count', '3', '--size', '64', '-o', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['rectangles-000.png', 'rectangles-001.png', 'rectangles-002.png']);
    assert.equal(run('masks', '--help').status, 0);
  });
});
