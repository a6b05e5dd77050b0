import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { CheckpointDir, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';

const sample = (step: number) => ({
  meta: { step, config: { lr: 0.002 }, rng: [1, 2, 3, 4, Number.NaN].map(String) },
  parts: { 'g1.params': Uint8Array.from([1, 2, 3, step & 255]), 'g1.adam': new Uint8Array(1000).fill(7) },
});

describe('checkpoints', () => {
  it('round-trips meta and parts', () => {
    const c = decodeCheckpoint(encodeCheckpoint(sample(42)));
    assert.equal(c.meta.step, 42);
    assert.deepEqual(c.meta.config, { lr: 0.002 });
    assert.deepEqual([...c.parts['g1.params']], [1, 2, 3, 42]);
    assert.equal(c.parts['g1.adam'].length, 1000);
  });

  it('rejects truncated, corrupted and foreign files with InputError', () => {
    const bytes = encodeCheckpoint(sample(1));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1)), (e: Error) => e instanceof InputError && /truncated/.test(e.message));
    const flipped = bytes.slice();
    flipped[flipped.length - 3] ^= 1;
    assert.throws(() => decodeCheckpoint(flipped), /checksum/);
    assert.throws(() => decodeCheckpoint(new TextEncoder().encode('hello world, not a checkpoint')), /signature/);
  });

  it('keeps the last N, a separate best, and finds the newest valid one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    const ck = new CheckpointDir(dir, 2);
    for (const s of [10, 20, 30]) await ck.save(sample(s), { best: s === 20 });
    assert.deepEqual(await ck.steps(), [20, 30]);
    assert.equal(decodeCheckpoint(await readFile(ck.bestPath)).meta.step, 20);
    // A damaged newest file (disk error) falls back to the previous one, with a warning.
    await writeFile(join(dir, 'step-00000030.ckpt'), 'garbage');
    const warnings: string[] = [];
    const latest = await ck.latest((m) => warnings.push(m));
    assert.equal(latest?.checkpoint.meta.step, 20);
    assert.equal(warnings.length, 1);
  });

  it('a process killed while saving never leaves a corrupt or missing latest checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-kill-'));
    // A child saves large checkpoints in a loop; we kill it at several moments and check each time.
    const script = `
      import { CheckpointDir } from ${JSON.stringify(new URL('./checkpoint.ts', import.meta.url).href)};
      const ck = new CheckpointDir(${JSON.stringify(dir)}, 2);
      const big = new Uint8Array(24 << 20);
      const start = Number(process.argv[2]);
      for (let s = start; ; s++) { big.fill(s & 255); await ck.save({ meta: { step: s }, parts: { w: big } }); process.stdout.write('.'); }
    `;
    const scriptPath = join(dir, 'saver.mts');
    await writeFile(scriptPath, script);
    let start = 1;
    for (const delayMs of [250, 400, 700]) {
      const child = spawn(process.execPath, ['--import', 'tsx', scriptPath, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((r) => child.stdout.once('data', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const latest = await new CheckpointDir(join(dir), 2).latest(() => assert.fail('no file should be corrupt'));
      assert.ok(latest, 'a latest checkpoint exists');
      assert.ok(latest.checkpoint.parts.w.every((v) => v === (latest.checkpoint.meta.step & 255)));
      start = latest.checkpoint.meta.step + 1;
    }
    // Temporary files may remain from the kill, but never under a checkpoint's name.
    const names = await readdir(dir);
    assert.ok(names.filter((n) => n.endsWith('.ckpt')).length <= 3);
  });
});
