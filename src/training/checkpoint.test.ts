import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { initNetwork } from '../nn/params.ts';
import { Adam } from './adam.ts';
import { CheckpointDir, decodeCheckpoint, encodeCheckpoint, readCheckpoint, restore, snapshot, type Trainee } from './checkpoint.ts';
import { resolveTrainConfig } from './config.ts';

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

describe("a training run's checkpoint", () => {
  const model = resolveModelConfig({ preset: 'tiny' });
  const config = resolveTrainConfig('g1', { data: 'photos', out: 'runs/g1', model: { preset: 'tiny' }, lrG: 1e-3, lrD: 2e-3 });
  const trainee = (kind: string, seed: number, lr: number): Trainee => {
    const state = initNetwork(networkSpecs(createNetwork(kind, model)), new Rng(seed));
    return { ...state, adam: new Adam(state.params, { lr }) };
  };
  const loader = { epoch: 1, index: 6, rng: [1, 2, 3, 4], fingerprint: 'abc' };

  it('restores weights, buffers, Adam and the run state exactly, with the learning rates of the new configuration', () => {
    const [g, d] = [trainee('g1', 1, 1e-3), trainee('d1', 2, 2e-3)];
    g.adam.step(new Map([...g.params.entries()].map(([name, p]) => [name, p.data.map((_, i) => Math.sin(i))])));
    g.buffers.get(g.buffers.names()[0]).data[0] = 0.25;
    const saved = decodeCheckpoint(encodeCheckpoint(snapshot(config, model, 'sha', { step: 12, bestVal: 0.5, loader }, g, d)));
    assert.deepEqual([saved.meta.task, saved.meta.vggSha256, saved.meta.bestVal], ['g1', 'sha', 0.5]);

    const [g2, d2] = [trainee('g1', 3, 1e-3), trainee('d1', 4, 2e-3)];
    const resumed = { ...config, lrG: 5e-4 };
    assert.deepEqual(restore(saved, resumed, model, g2, d2), { step: 12, bestVal: 0.5, loader });
    for (const [a, b] of [[g, g2], [d, d2]]) {
      for (const [name, p] of a.params.entries()) assert.deepEqual(b.params.get(name).data, p.data, name);
      for (const [name, p] of a.buffers.entries()) assert.deepEqual(b.buffers.get(name).data, p.data, name);
    }
    assert.equal(g2.adam.lr, 5e-4);
    assert.equal(d2.adam.lr, 2e-3);
    g2.adam.lr = g.adam.lr;
    assert.deepEqual(g2.adam.toSafetensors(), g.adam.toSafetensors(), 'the moments and step count come back');
  });

  it('keeps "no validation yet" as +Infinity, and refuses a checkpoint of another task or model', () => {
    const [g, d] = [trainee('g1', 1, 1e-3), trainee('d1', 2, 2e-3)];
    const saved = snapshot(config, model, 'sha', { step: 3, bestVal: Number.POSITIVE_INFINITY, loader }, g, d);
    assert.equal(saved.meta.bestVal, null);
    assert.equal(restore(saved, config, model, g, d).bestVal, Number.POSITIVE_INFINITY);
    const small = resolveModelConfig({ preset: 'small' });
    assert.throws(() => restore(saved, config, small, g, d), (e) => e instanceof UsageError && /holds a checkpoint of task g1/.test(e.message));
    assert.throws(() => restore(saved, resolveTrainConfig('g2', { data: 'photos', out: 'runs/g2', model: { preset: 'tiny' } }), model, g, d), UsageError);
  });

  it('resumes a checkpoint written before the guide existed (its model has no `guide` key)', () => {
    const [g, d] = [trainee('g1', 1, 1e-3), trainee('d1', 2, 2e-3)];
    const saved = snapshot(config, model, 'sha', { step: 5, bestVal: 0.5, loader }, g, d);
    const { guide, ...before } = model;
    assert.ok(guide, 'the current model has a guide');
    const old = decodeCheckpoint(encodeCheckpoint({ ...saved, meta: { ...saved.meta, model: before } }));
    assert.equal(JSON.stringify(old.meta.model).includes('guide'), false);
    const [g2, d2] = [trainee('g1', 3, 1e-3), trainee('d1', 4, 2e-3)];
    assert.equal(restore(old, config, model, g2, d2).step, 5);
    for (const [name, p] of g.params.entries()) assert.deepEqual(g2.params.get(name).data, p.data, name);
    // Still refused when a network it trained is of another size.
    const wider = { ...before, g1: { ...before.g1, width: before.g1.width + 1 } };
    assert.throws(() => restore({ ...old, meta: { ...old.meta, model: wider } }, config, model, g2, d2), UsageError);
  });

  it("resumes the committed runs of the shipped model (training/g1-small, g2-small), whose model has no `guide`", async () => {
    const small = resolveModelConfig({ preset: 'small' });
    for (const [task, dName] of [['g1', 'd1'], ['g2', 'd2']] as const) {
      const c = await readCheckpoint(new URL(`../../training/${task}-small/latest.ckpt`, import.meta.url).pathname);
      assert.equal('guide' in (c.meta.model as object), false, 'written before the guide');
      const run = resolveTrainConfig(task, { data: 'photos', out: `training/${task}-small`, model: { preset: 'small' } });
      const [g, d] = [initNetwork(networkSpecs(createNetwork(task, small)), new Rng(1)), initNetwork(networkSpecs(createNetwork(dName, small)), new Rng(2))];
      const [gt, dt] = [{ ...g, adam: new Adam(g.params, { lr: 1e-4 }) }, { ...d, adam: new Adam(d.params, { lr: 1e-4 }) }];
      assert.equal(restore(c, run, small, gt, dt).step, c.meta.step);
    }
  });

  it("a guide run's checkpoint has no discriminator and restores exactly", () => {
    const guideConfig = resolveTrainConfig('guide', { data: 'photos', out: 'runs/guide', model: { preset: 'tiny' } });
    const g = trainee('guide', 5, 5e-4);
    g.adam.step(new Map([...g.params.entries()].map(([name, p]) => [name, p.data.map((_, i) => Math.cos(i))])));
    const saved = decodeCheckpoint(encodeCheckpoint(snapshot(guideConfig, model, 'sha', { step: 7, bestVal: 0.9, loader }, g)));
    assert.deepEqual(Object.keys(saved.parts).sort(), ['g.adam', 'g.buffers', 'g.params']);
    const back = trainee('guide', 6, 5e-4);
    assert.deepEqual(restore(saved, guideConfig, model, back), { step: 7, bestVal: 0.9, loader });
    for (const [name, p] of g.params.entries()) assert.deepEqual(back.params.get(name).data, p.data, name);
    assert.deepEqual(back.adam.toSafetensors(), g.adam.toSafetensors());
    assert.throws(() => restore(saved, config, model, trainee('g1', 1, 1e-3), trainee('d1', 2, 2e-3)), /holds a checkpoint of task guide/);
  });
});
