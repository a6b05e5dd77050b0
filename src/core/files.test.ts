import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeStaleTemporaryFiles, writeFileAtomic } from './files.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'files-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The id of a process that has exited (and whose id nobody has reused yet, almost surely). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('writeFileAtomic', () => {
  test('never writes into the existing file: a new file is renamed over it, old links keep the old bytes', async () => {
    const target = join(dir, 'photo.png');
    await writeFile(target, 'the original');
    // A second name for the original's inode: a write that truncated the file in place (and could
    // be interrupted half-way) would change what it reads.
    await link(target, join(dir, 'original-link'));
    const before = (await stat(target)).ino;
    await writeFileAtomic(target, new TextEncoder().encode('the result'));
    assert.equal(await readFile(target, 'utf8'), 'the result');
    assert.equal(await readFile(join(dir, 'original-link'), 'utf8'), 'the original');
    assert.notEqual((await stat(target)).ino, before);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
  });
});

describe('removeStaleTemporaryFiles', () => {
  test("removes the temporary files of dead writers only, never a live writer's or other files", async () => {
    const run = await mkdtemp(join(dir, 'run-'));
    const dead = `.step-00000200.ckpt.${deadPid()}.0123456789ab.tmp`;
    const live = `.step-00000300.ckpt.${process.pid}.0123456789ab.tmp`;
    const others = ['step-00000100.ckpt', 'notes.tmp', '.hidden.tmp'];
    for (const name of [dead, live, ...others]) await writeFile(join(run, name), 'x');
    assert.deepEqual(await removeStaleTemporaryFiles(run), [dead]);
    assert.ok(!existsSync(join(run, dead)));
    assert.deepEqual((await readdir(run)).sort(), [live, ...others].sort());
    assert.deepEqual(await removeStaleTemporaryFiles(join(run, 'missing')), [], 'a missing folder has nothing to clean');
  });
});
