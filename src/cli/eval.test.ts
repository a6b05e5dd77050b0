import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { METHOD_NAMES } from '../baselines/index.ts';
import { UsageError } from '../core/errors.ts';
import { writeImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { PROTOCOL_NAMES } from '../evaluation/index.ts';
import { TEST_VGG_WEIGHTS } from '../inference/testing.ts';
import { evalCommand } from './eval.ts';

// main() maps UsageError to exit code 2 (see main.test.ts), so every rejection below is an exit 2.

async function run(t: TestContext, ...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  t.mock.method(console, 'log', (...a: unknown[]) => lines.push(a.join(' ')));
  try {
    await evalCommand.run(args);
  } finally {
    t.mock.restoreAll();
  }
  return lines;
}

describe('inpaint eval', () => {
  let dir: string;
  let data: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eval-cli-'));
    data = join(dir, 'photos');
    const rng = new Rng(1);
    const noise = (w: number, h: number) => ({ width: w, height: h, data: Float32Array.from({ length: 3 * w * h }, () => 0.3 + 0.4 * rng.next()) });
    await writeImage(join(data, 'one.png'), noise(64, 48));
    await writeImage(join(data, 'two.png'), noise(48, 64));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('rejects unknown methods and protocols, and bad or missing flags, before loading anything', async (t) => {
    const out = join(dir, 'never');
    const reject = (pattern: RegExp, ...args: string[]) =>
      assert.rejects(run(t, '--data', data, '-o', out, ...args), (err: Error) => err instanceof UsageError && pattern.test(err.message));
    await reject(/Unknown inpainting method "photoshop"; expected one of ours, g1-only/, '--methods', 'telea,photoshop');
    await reject(/Unknown protocol "centre-128": use one of centre-512/, '--protocols', 'centre-256,centre-128');
    await reject(/comma-separated list for --methods/, '--methods', 'telea,,patchmatch');
    await reject(/names a method twice/, '--methods', 'telea,telea');
    await reject(/val or all for --split/, '--split', 'train');
    await reject(/positive integer for --limit/, '--limit', '0');
    await reject(/integer for --seed/, '--seed', 'x');
    await reject(/one of 1, 2, 4, 8 for options.ensemble/, '--ensemble', '3');
    await reject(/a number >= 0 for --locality/, '--locality=-1');
    await reject(/comma-separated integers for --scales/, '--scales', '256,big');
    await reject(/strictly increasing list of integers in \[64, 65536\] .* for options.scales/, '--scales', '512,256');
    await reject(/a number >= 0 for --match-colour/, '--match-colour', 'blue');
    await reject(/--reference patchmatch is not among --methods \(telea\)/, '--methods', 'telea', '--reference', 'patchmatch');
    await reject(/Unknown inpainting method "gimp"/, '--reference', 'gimp');
    await assert.rejects(run(t, '-o', out), /missing --data DIR/);
    await assert.rejects(run(t, '--data', data), /missing -o OUT_DIR/);
    await assert.rejects(run(t, '--data', data, '-o', out, '--bogus'), (err: Error & { code?: string }) => err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
    assert.equal(existsSync(out), false);
  });

  it('documents every method and protocol in its help', () => {
    for (const name of [...METHOD_NAMES, ...PROTOCOL_NAMES]) assert.ok(evalCommand.help.includes(name), name);
    assert.match(evalCommand.help, /--split S\s+val: the held-out split training used \(valFraction 0\.1, seed 0\)/);
  });

  it('evaluates a real method and writes the report with the perceptual metric', async (t) => {
    const out = join(dir, 'report');
    const lines = await run(t, '--data', data, '--methods', 'telea,navier-stokes', '--reference', 'navier-stokes', '--protocols', 'centre-256', '--split', 'all', '--limit', '1', '--vgg', TEST_VGG_WEIGHTS, '--grids', '1', '-o', out);
    assert.match(lines.join('\n'), /\[1\/1\] centre-256 one\.png: telea l1_hole \d+\.\d\d%/);
    const csv = (await readFile(join(out, 'results.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /,ssim_hole,detail_hole,texture_hole,perceptual,error$/);
    const perceptual = Number(csv[1].split(',').at(-2));
    assert.ok(perceptual > 0, csv[1]);
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /\| centre-256 \| telea \| 1 \|/);
    assert.match(summary, /## Paired differences to navier-stokes[\s\S]*\| centre-256 \| telea − navier-stokes \| 1 \|/);
    assert.ok(existsSync(join(out, 'index.html')) && existsSync(join(out, 'grids', 'centre-256-0000.png')) && existsSync(join(out, 'masks', 'centre-256', '0000-seed0.png')));
  });

  it("passes ours' switches to it: --no-guide and --no-native-detail each change its fill", async (t) => {
    const l1 = async (name: string, ...flags: string[]) => {
      const out = join(dir, name);
      await run(t, '--data', data, '--methods', 'ours', '--reference', 'none', '--protocols', 'centre-256', '--split', 'all', '--limit', '1', '--vgg', TEST_VGG_WEIGHTS, '--grids', '0', '-o', out, ...flags);
      const [header, row] = (await readFile(join(out, 'results.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
      return Number(row[header.indexOf('l1_hole')]);
    };
    const fills = [await l1('default'), await l1('no-guide', '--no-guide'), await l1('no-native-detail', '--no-native-detail')];
    assert.ok(fills.every(Number.isFinite), String(fills));
    assert.equal(new Set(fills).size, 3, String(fills));
  });
});
