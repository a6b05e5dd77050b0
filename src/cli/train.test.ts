import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import sharp from 'sharp';
import { Rng } from '../core/random.ts';
import { decodeSafetensors } from '../nn/safetensors.ts';
import { readCheckpoint } from '../training/checkpoint.ts';
import { readLog } from '../training/log.ts';
import { trainCommand } from './train.ts';

const VGG = new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url).pathname;

/** A temp folder of a few small PNGs: smooth gradients with noise, each its own. */
async function generatedPhotos(count: number, side = 80): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'train-guide-data-'));
  const rng = new Rng(11);
  for (let n = 0; n < count; n++) {
    const [a, b, c] = [rng.next(), rng.next(), rng.next()];
    const raw = Buffer.alloc(side * side * 3);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const wave = [a * x, b * y, c * (x + y)].map((v) => 0.5 + 0.5 * Math.sin(v / 6));
        for (let ch = 0; ch < 3; ch++) raw[(y * side + x) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, 0.8 * wave[ch] + 0.2 * rng.next())));
      }
    }
    await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).png().toFile(join(dir, `photo-${n}.png`));
  }
  return dir;
}

/** Runs `inpaint train` with these arguments, quietly; returns its exit code and what it printed. */
async function runTrain(args: string[]): Promise<{ code: number | void; printed: string[] }> {
  const printed: string[] = [];
  const log = mock.method(console, 'log', (m: string) => printed.push(m));
  const progress = mock.method(process.stderr, 'write', () => true);
  try {
    return { code: await trainCommand.run(args), printed };
  } finally {
    log.mock.restore();
    progress.mock.restore();
  }
}

describe('inpaint train --task guide', () => {
  it('says what it trains and that it needs no discriminator', () => {
    assert.match(trainCommand.help, /--task g1\|g2\|guide/);
    assert.match(trainCommand.help, /guide {2}the feature guide[^]*Needs no\s+discriminator/);
    assert.match(trainCommand.help, /inpaint train --task guide --data/);
  });

  it('takes the task as --task or as the first argument, not two different ones', async () => {
    await assert.rejects(trainCommand.run(['--task', 'guide', 'g1', '--data', 'x', '--out', 'y']), /--task guide and the argument g1 name different tasks/);
    await assert.rejects(trainCommand.run(['--task', 'd1', '--data', 'x', '--out', 'y']), /Expected g1, g2, guide .* received "d1"/);
    await assert.rejects(trainCommand.run(['--data', 'x', '--out', 'y']), /Expected g1, g2, guide/);
  });

  it('writes checkpoints with no discriminator, validates, and resumes exactly where it stopped', async () => {
    const data = await generatedPhotos(6);
    // Every step logged (no flag for that: the configuration file's).
    const config = join(mkdtempSync(join(tmpdir(), 'train-guide-config-')), 'config.json');
    writeFileSync(config, JSON.stringify({ logEvery: 1 }));
    const args = (out: string, steps: number) => [
      '--task', 'guide', '--config', config, '--data', data, '--out', out, '--preset', 'tiny', '--size', '64', '--batch', '2',
      '--steps', String(steps), '--val-every', '2', '--val-images', '1', '--checkpoint-every', '1', '--vgg', VGG,
    ];
    const straight = mkdtempSync(join(tmpdir(), 'run-guide-straight-'));
    assert.equal((await runTrain(args(straight, 3))).code, undefined);
    const resumed = mkdtempSync(join(tmpdir(), 'run-guide-resumed-'));
    await runTrain(args(resumed, 2));
    const second = await runTrain(args(resumed, 3));
    assert.ok(second.printed.some((m) => /resuming from .*step-00000002\.ckpt \(step 2\)/.test(m)), second.printed.join('\n'));
    assert.ok(second.printed.some((m) => /finished 3 steps/.test(m)), second.printed.join('\n'));

    const [a, b] = [await readCheckpoint(join(straight, 'step-00000003.ckpt')), await readCheckpoint(join(resumed, 'step-00000003.ckpt'))];
    assert.equal(a.meta.task, 'guide');
    assert.deepEqual(Object.keys(a.parts).sort(), ['g.adam', 'g.buffers', 'g.params'], 'no discriminator');
    for (const part of ['g.params', 'g.adam']) {
      const [x, y] = [decodeSafetensors(a.parts[part]).tensors, decodeSafetensors(b.parts[part]).tensors];
      assert.deepEqual([...x.keys()], [...y.keys()]);
      let worst = 0;
      for (const [name, t] of x) for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - y.get(name)!.data[i]));
      assert.ok(x.size > 0 && worst < 1e-4, `${part}: max difference ${worst}`);
    }
    assert.deepEqual(a.meta.loader, b.meta.loader);
    // Training moved the weights away from the first step's.
    const first = decodeSafetensors((await readCheckpoint(join(resumed, 'step-00000001.ckpt'))).parts['g.params']).tensors;
    const last = decodeSafetensors(b.parts['g.params']).tensors;
    assert.ok([...first].some(([name, t]) => t.data.some((v, i) => v !== last.get(name)!.data[i])));

    // The log has G's terms and no D's; validation scored the patch cosine and wrote a sample grid.
    const records = await readLog(join(resumed, 'log.jsonl'));
    const steps = records.filter((r) => 'g' in r);
    assert.equal(steps.length, 3);
    assert.ok(steps.every((r) => Number.isFinite(r.perc) && Number.isFinite(r.pix) && !('d' in r) && !('adv' in r)), JSON.stringify(steps));
    const val = records.filter((r) => 'val' in r);
    assert.ok(val.length >= 1 && val.every((r) => r.val > 0 && r.val < 3 && r.val_l1_hole > 0 && r.val_l1_hole < 1), JSON.stringify(val));
    assert.ok(readdirSync(join(resumed, 'samples')).some((n) => n.endsWith('.png')));
  });
});
