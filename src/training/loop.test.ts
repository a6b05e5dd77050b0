import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeSafetensors } from '../nn/safetensors.ts';
import { Rng } from '../core/random.ts';
import { readBundle } from '../models/bundle.ts';
import { resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { initNetwork } from '../nn/params.ts';
import { encodeCheckpoint, initialise, readCheckpoint } from './checkpoint.ts';
import { resolveTrainConfig, type TrainConfig } from './config.ts';
import { readLog } from './log.ts';
import { train } from './loop.ts';
import { trainCommand } from '../cli/train.ts';

const PHOTOS = new URL('../../../shared/data/photos/', import.meta.url).pathname;
const VGG = new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url).pathname;
const BIN = new URL('../../bin/inpaint.mjs', import.meta.url).pathname;
const quiet = { log: () => {}, progress: Object.assign(new (await import('node:stream')).PassThrough(), { isTTY: false }) };

/** A temp folder with a few real photos (and optionally broken files). */
function dataset(broken = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'train-data-'));
  const src = join(PHOTOS, 'enlightenment-data');
  for (const f of readdirSync(src).sort().slice(0, 8)) copyFileSync(join(src, f), join(dir, f));
  if (broken) {
    writeFileSync(join(dir, 'broken.jpg'), Buffer.from('this is not a jpeg'));
  }
  return dir;
}

/** The id of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

const tinyG1 = (data: string, out: string, extra: Partial<TrainConfig> = {}) =>
  resolveTrainConfig('g1', {
    data,
    out,
    model: { preset: 'tiny' },
    size: 64,
    batch: 2,
    steps: 8,
    valEvery: 1000,
    valImages: 2,
    checkpointEvery: 4,
    logEvery: 1,
    vggWeights: VGG,
    ...extra,
  });

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training loop', () => {
  it('lowers G1 perceptual loss on a few images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'run-g1-'));
    await train(tinyG1(dataset(), out, { steps: 60, checkpointEvery: 60, valEvery: 60 }), quiet);
    const perc = (await readLog(join(out, 'log.jsonl'))).filter((r) => 'perc' in r).map((r) => r.perc as number);
    assert.equal(perc.length, 60);
    assert.ok(mean(perc.slice(-10)) < 0.85 * mean(perc.slice(0, 10)), `perceptual ${mean(perc.slice(0, 10))} -> ${mean(perc.slice(-10))}`);
    assert.ok(readdirSync(join(out, 'samples')).length >= 1, 'a sample grid was written');
  });

  it('lowers G2 perceptual loss on patch-swapped ground-truth features', async () => {
    const out = mkdtempSync(join(tmpdir(), 'run-g2-'));
    const config = resolveTrainConfig('g2', {
      data: dataset(),
      out,
      model: { preset: 'tiny' },
      batch: 1,
      steps: 16,
      lrG: 2e-3,
      valEvery: 1000,
      valImages: 1,
      checkpointEvery: 16,
      logEvery: 1,
      vggWeights: VGG,
    });
    await train(config, quiet);
    const perc = (await readLog(join(out, 'log.jsonl'))).filter((r) => 'perc' in r).map((r) => r.perc as number);
    assert.ok(mean(perc.slice(-4)) < 0.8 * mean(perc.slice(0, 4)), `perceptual ${mean(perc.slice(0, 4))} -> ${mean(perc.slice(-4))}`);
  });

  it('a resumed run ends with the same weights as an uninterrupted one', async () => {
    const data = dataset();
    const straight = mkdtempSync(join(tmpdir(), 'run-straight-'));
    await train(tinyG1(data, straight), quiet);
    const resumed = mkdtempSync(join(tmpdir(), 'run-resumed-'));
    await train(tinyG1(data, resumed, { steps: 4 }), quiet);
    const r = await train(tinyG1(data, resumed), quiet);
    assert.equal(r.step, 8);
    const a = await readCheckpoint(join(straight, 'step-00000008.ckpt'));
    const b = await readCheckpoint(join(resumed, 'step-00000008.ckpt'));
    for (const part of ['g.params', 'd.params', 'g.adam', 'g.buffers']) {
      const x = decodeSafetensors(a.parts[part]).tensors;
      const y = decodeSafetensors(b.parts[part]).tensors;
      assert.deepEqual([...x.keys()], [...y.keys()]);
      let worst = 0;
      for (const [name, t] of x) for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - y.get(name)!.data[i]));
      assert.ok(x.size > 0 && worst < 1e-4, `${part}: max difference ${worst}`);
    }
    assert.deepEqual(a.meta.loader, b.meta.loader);
  });

  it('resumes with a fresh data order, and says so, when the training images changed', async () => {
    const data = dataset();
    const out = mkdtempSync(join(tmpdir(), 'run-changed-'));
    await train(tinyG1(data, out, { steps: 4 }), quiet);
    copyFileSync(join(PHOTOS, 'python3-sklearn', 'china.jpg'), join(data, 'added.jpg'));
    const lines: string[] = [];
    const r = await train(tinyG1(data, out, { steps: 6 }), { ...quiet, log: (m: string) => lines.push(m) });
    assert.equal(r.step, 6);
    assert.ok(lines.some((l) => /training images differ .* continues from step 4/.test(l)), lines.join('\n'));
    const loader = (await readCheckpoint(join(out, 'step-00000006.ckpt'))).meta.loader as { epoch: number; index: number };
    assert.deepEqual([loader.epoch, loader.index], [0, 4], 'two batches of two from the start of a new order');
  });

  it('resuming at another crop size trains on and restarts the best checkpoint, saying why', async () => {
    const data = dataset();
    const out = mkdtempSync(join(tmpdir(), 'run-resized-'));
    await train(tinyG1(data, out, { steps: 4, valEvery: 2 }), quiet);
    // A best score of 0 could never be beaten if it were carried over to the new validation.
    const last = join(out, 'step-00000004.ckpt');
    const c = await readCheckpoint(last);
    writeFileSync(last, encodeCheckpoint({ ...c, meta: { ...c.meta, bestVal: 0 } }));
    const lines: string[] = [];
    const bigger = tinyG1(data, out, { steps: 6, valEvery: 2, size: 128 });
    const r = await train(bigger, { ...quiet, log: (m: string) => lines.push(m) });
    assert.equal(r.step, 6);
    assert.ok(lines.some((l) => /validation settings changed \(size 64 -> 128\)/.test(l)), lines.join('\n'));
    const best = (await readCheckpoint(join(out, 'best.ckpt'))).meta;
    assert.equal(best.step, 6, 'the first validation at the new size is the new best');
    assert.ok((best.bestVal as number) > 0);
  });

  it('refuses to resume a run folder of another model', async () => {
    const data = dataset();
    const out = mkdtempSync(join(tmpdir(), 'run-other-'));
    await train(tinyG1(data, out, { steps: 4 }), quiet);
    await assert.rejects(train(tinyG1(data, out, { model: { preset: 'tiny', g1: { resBlocks: 1 } } }), quiet), /holds a checkpoint of task g1 with model/);
  });

  it('fine-tunes from a checkpoint (initFrom): its weights, at step 0, with a fresh optimiser', async () => {
    const data = dataset();
    const source = mkdtempSync(join(tmpdir(), 'run-source-'));
    await train(tinyG1(data, source, { steps: 4 }), quiet);
    const from = join(source, 'step-00000004.ckpt');
    // A learning rate this small leaves the weights where they started: the source's, not a fresh draw.
    const lines: string[] = [];
    const tuned = mkdtempSync(join(tmpdir(), 'run-tuned-'));
    await train(tinyG1(data, tuned, { steps: 1, checkpointEvery: 1, lrG: 1e-12, initFrom: from, seed: 7 }), { ...quiet, log: (m: string) => lines.push(m) });
    assert.ok(lines.some((l) => l.includes(`starting the G1 from the weights in ${from} (step 4) at step 0`)), lines.join('\n'));
    const fresh = mkdtempSync(join(tmpdir(), 'run-fresh-'));
    await train(tinyG1(data, fresh, { steps: 1, checkpointEvery: 1, lrG: 1e-12, seed: 7 }), quiet);
    const worst = (a: Uint8Array, b: Uint8Array) => {
      const [x, y] = [a, b].map((p) => decodeSafetensors(p).tensors);
      let w = 0;
      for (const [name, t] of x) for (let i = 0; i < t.data.length; i++) w = Math.max(w, Math.abs(t.data[i] - y.get(name)!.data[i]));
      return w;
    };
    const [src, tun, frs] = await Promise.all([from, join(tuned, 'step-00000001.ckpt'), join(fresh, 'step-00000001.ckpt')].map(readCheckpoint));
    assert.equal(tun.meta.step, 1, 'counted from 0');
    // (Its buffers, batch norm's running statistics, move with every batch whatever the learning rate.)
    assert.ok(worst(src.parts['g.params'], tun.parts['g.params']) < 1e-6, "the parameters are the source's");
    assert.ok(worst(src.parts['g.params'], frs.parts['g.params']) > 1e-3, 'a fresh run differs');
    // A later run in the same folder resumes it, whatever initFrom says.
    const r = await train(tinyG1(data, tuned, { steps: 2, checkpointEvery: 1, initFrom: from, seed: 7 }), quiet);
    assert.equal(r.step, 2);
  });

  it("starts the feature guide from a model bundle's, and refuses weights of another size", async () => {
    const bundle = new URL('../../models/default', import.meta.url).pathname;
    const shipped = (await readBundle(bundle)).guide!;
    const guide = (preset: 'small' | 'tiny') => initNetwork(networkSpecs(createNetwork('guide', resolveModelConfig({ preset }))), new Rng(0));
    const g = guide('small');
    const config = { task: 'guide', size: 256 } as const;
    const said = await initialise(bundle, config, resolveModelConfig({ preset: 'small' }), 'sha', g);
    assert.match(said, /^starting the feature guide from the weights in .*models\/default .*at step 0, with a fresh optimiser \(warning: it was trained with other VGG weights/);
    assert.ok(g.params.names().length > 0);
    assert.deepEqual(g.params.names(), shipped.names());
    for (const [name, p] of g.params.entries()) assert.deepEqual(p.data, shipped.get(name).data, name);
    await assert.rejects(initialise(bundle, config, resolveModelConfig({ preset: 'tiny' }), 'sha', guide('tiny')), /holds a feature guide of sizes \{"width":96,"blocks":8\}; this run's is \{"width":4,"blocks":2\}/);
  });

  it('CLI: SIGTERM stops after a checkpoint and the command exits with 143, so `train && export` stops', async (t) => {
    const data = dataset();
    const out = mkdtempSync(join(tmpdir(), 'run-sigterm-'));
    t.mock.method(console, 'log', () => {});
    const progress = t.mock.method(process.stderr, 'write', () => true);
    // Once the first checkpoint is on disk, deliver SIGTERM as the operating system would to our handlers.
    const poll = setInterval(() => {
      if (readdirSync(out).some((n) => /^step-\d+\.ckpt$/.test(n))) {
        clearInterval(poll);
        process.emit('SIGTERM', 'SIGTERM');
      }
    }, 20);
    try {
      const args = ['g1', '--data', data, '--out', out, '--preset', 'tiny', '--size', '64', '--batch', '1', '--steps', '1000', '--val-every', '1000', '--checkpoint-every', '1', '--vgg', VGG];
      assert.equal(await trainCommand.run(args), 143);
    } finally {
      clearInterval(poll);
      t.mock.restoreAll();
    }
    assert.ok(progress.mock.callCount() > 0);
    const steps = readdirSync(out).filter((n) => /^step-\d+\.ckpt$/.test(n));
    assert.ok(steps.length > 0 && (await readCheckpoint(join(out, steps.sort().at(-1)!))).meta.step < 1000, steps.join(' '));
  });

  it('CLI: a run killed at any moment resumes from an intact checkpoint; SIGINT checkpoints; bad files are skipped', async () => {
    const data = dataset(true);
    const out = mkdtempSync(join(tmpdir(), 'run-cli-'));
    const args = [BIN, 'train', 'g1', '--data', data, '--out', out, '--preset', 'tiny', '--size', '64', '--batch', '2', '--val-every', '1000', '--checkpoint-every', '2', '--vgg', VGG];
    const runFor = (steps: number, kill: NodeJS.Signals | null, afterMs: number) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [...args, '--steps', String(steps)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let signal: NodeJS.Signals | null = kill;
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => {
          stderr += d;
          // Wait for the first checkpoint message before starting the clock.
          if (signal && /checkpoint/.test(stderr)) {
            const sig = signal;
            setTimeout(() => child.kill(sig), afterMs);
            signal = null;
          }
        });
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const killed = await runFor(1000, 'SIGKILL', 700);
    assert.equal(killed.code, null, 'killed');
    const interrupted = await runFor(1000, 'SIGINT', 300);
    assert.equal(interrupted.code, 130, `stopped by SIGINT: 128 + 2, not a success\n${interrupted.stderr}`);
    assert.match(interrupted.stdout, /resuming from .*step-\d+\.ckpt/);
    const stopped = Number(/stopped at step (\d+)/.exec(interrupted.stdout)?.[1]);
    assert.ok(stopped > 0, interrupted.stdout);
    const latest = await readCheckpoint(join(out, `step-${String(stopped).padStart(8, '0')}.ckpt`));
    assert.equal(latest.meta.step, stopped);
    // What a writer killed mid-checkpoint leaves; the next run removes it (a live writer's is kept).
    const stale = `.step-00000100.ckpt.${deadPid()}.0123456789ab.tmp`;
    const live = `.step-00000100.ckpt.${process.pid}.0123456789ab.tmp`;
    for (const name of [stale, live]) writeFileSync(join(out, name), Buffer.alloc(1000));
    const finished = await runFor(stopped + 2, null, 0);
    assert.equal(finished.code, 0, finished.stderr);
    assert.ok(!existsSync(join(out, stale)) && existsSync(join(out, live)), readdirSync(out).join(' '));
    assert.match(finished.stdout, new RegExp(`removed .*${stale.replaceAll('.', '\\.')}, left by a run killed while writing it`));
    assert.match(finished.stdout, new RegExp(`finished ${stopped + 2} steps`));
    // The corrupt file is reported at most once per run, and training went on around it.
    const reports = [killed, interrupted, finished].map((r) => (`${r.stdout}${r.stderr}`.match(/Skipping .*broken\.jpg/g) ?? []).length);
    assert.ok(reports.every((n) => n <= 1) && reports.some((n) => n === 1), `reports per run: ${reports}`);
  });
});
