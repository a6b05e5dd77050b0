/**
 * The evaluation's masks must be the same in every process, not only within one: every method and
 * every later run is scored on the very same holes. Each child process below draws the masks in a
 * folder of its own (so nothing saved is reused) and prints their digests; the two must agree with
 * each other and with the digests recorded when the protocols were fixed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const PROTOCOLS = new URL('../src/evaluation/protocols.ts', import.meta.url).href;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** In a new process: the seeds and the sha256 of the masks drawn for a few (protocol, index, seed). */
function drawInChild(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'eval-masks-'));
  dirs.push(dir);
  const script = `
    const { createHash } = await import('node:crypto');
    const { maskSeed, protocolMask } = await import(${JSON.stringify(PROTOCOLS)});
    const out = {};
    for (const [protocol, index, seed] of [['centre-256', 0, 0], ['rectangles-256', 3, 0], ['strokes-256', 1, 7], ['strokes-256', 5, 0]]) {
      const { mask, reused } = await protocolMask(${JSON.stringify(dir)}, protocol, index, seed);
      if (reused) throw new Error('the folder was fresh');
      out[protocol + '/' + index + '/' + seed] = maskSeed(seed, protocol, index) + ' ' + createHash('sha256').update(mask.data).digest('hex').slice(0, 16);
    }
    process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

test('evaluation masks are identical across processes and equal to the recorded ones', () => {
  const first = drawInChild();
  const second = drawInChild();
  assert.deepEqual(second, first, 'two processes drew different masks');
  assert.deepEqual(first, EXPECTED);
});

/** Recorded from the protocols as fixed (seed, then the mask's digest); a change here invalidates saved reports. */
const EXPECTED: Record<string, string> = {
  'centre-256/0/0': '1356392364 6cf0aa6f4c87b65e',
  'rectangles-256/3/0': '3594018733 0be3993cb931b649',
  'strokes-256/1/7': '1591877528 399399185fc60c02',
  'strokes-256/5/0': '3840510027 4cd25a1a9e656394',
};
