import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EngineError } from '../core/errors.ts';
import { Engine, hostTensor, type Session } from './index.ts';

// The channel to the PyTorch back end, against a stand-in process that needs no PyTorch (the real
// engine's arithmetic is checked against ONNX Runtime by tools/torch-engine/check.ts).
const FAKE = fileURLToPath(new URL('./testdata/fake-torch-engine.py', import.meta.url));
const MODEL = new TextEncoder().encode('any model');

describe('Engine with the PyTorch back end (channel)', () => {
  let engine: Engine;
  let session: Session;
  const saved = process.env.INPAINT_PYTHON;
  before(async () => {
    process.env.INPAINT_PYTHON = FAKE;
    engine = await Engine.create({ backend: 'torch' });
    session = await engine.load(MODEL, 'fake');
  });
  after(async () => {
    await engine.dispose();
    process.env.INPAINT_PYTHON = saved;
  });

  test('says what runs the graphs, as the process reported it', () => {
    assert.equal(engine.backend, 'torch');
    assert.equal(engine.description, 'a stand-in');
  });

  test('reports the model inputs and outputs the process describes', () => {
    assert.deepEqual(session.inputNames, ['x', 'n']);
    assert.deepEqual(session.inputs[1], { name: 'n', dtype: 'int64', shape: ['N'] });
    assert.deepEqual(session.outputNames, ['echo:x', 'echo:n']);
  });

  test('moves tensors both ways intact, megabytes long and many at a time, each reply to its request', async () => {
    const big = 3_000_000; // 24 MB of int64: the reply arrives in hundreds of pipe chunks
    const runs = [1, 2, 3].map((k) => {
      const n = new BigInt64Array(big).map((_, i) => BigInt(i * k));
      return session.run({ x: hostTensor(new Float32Array([k, 2, 3, 4, 5, -0.5]), [2, 3]), n: hostTensor(n, [big]) });
    });
    const results = await Promise.all(runs);
    results.forEach((out, j) => {
      const k = j + 1;
      assert.deepEqual([...(out['echo:x'].data as Float32Array)], [k, 2, 3, 4, 5, -0.5]);
      assert.deepEqual(out['echo:x'].shape, [2, 3]);
      const n = out['echo:n'].data as BigInt64Array;
      assert.equal(n.length, big);
      assert.equal(n[big - 1], BigInt((big - 1) * k));
      assert.equal(n[12345], BigInt(12345 * k));
    });
  });

  test('an error in the process fails that run with the graph named, and the engine goes on', async () => {
    const x = hostTensor(new Float32Array(6), [2, 3]);
    await assert.rejects(session.run({ x, n: hostTensor(new BigInt64Array([-1n]), [1]) }), (e: Error) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /graph "fake": the run failed: ValueError: asked to fail/);
      return true;
    });
    const ok = await session.run({ x, n: hostTensor(new BigInt64Array([7n]), [1]) });
    assert.equal((ok['echo:n'].data as BigInt64Array)[0], 7n);
  });

  test('a model the process refuses fails its load', async () => {
    await assert.rejects(engine.load(new TextEncoder().encode('fail'), 'refused'), /graph "refused": could not create/);
  });
});

describe('Engine with the PyTorch back end (failures)', () => {
  test('a process that dies fails the pending run and every later one', async () => {
    const saved = process.env.INPAINT_PYTHON;
    process.env.INPAINT_PYTHON = FAKE;
    const engine = await Engine.create({ backend: 'torch' });
    process.env.INPAINT_PYTHON = saved;
    const session = await engine.load(MODEL, 'fake');
    const x = hostTensor(new Float32Array(6), [2, 3]);
    await assert.rejects(session.run({ x, n: hostTensor(new BigInt64Array([-2n]), [1]) }), /the PyTorch engine exited unexpectedly \(code 3\)/);
    await assert.rejects(session.run({ x, n: hostTensor(new BigInt64Array([1n]), [1]) }), /exited unexpectedly/);
    await engine.dispose();
  });

  test('a Python that cannot be started is a clear error', async () => {
    const saved = process.env.INPAINT_PYTHON;
    process.env.INPAINT_PYTHON = '/nonexistent/python3';
    try {
      await assert.rejects(Engine.create({ backend: 'torch' }), /could not start the engine: could not start the PyTorch engine \(\/nonexistent\/python3/);
    } finally {
      process.env.INPAINT_PYTHON = saved;
    }
  });

  test('a Python that stops before it is ready (no PyTorch, say) names what the back end needs', async () => {
    const saved = process.env.INPAINT_PYTHON;
    process.env.INPAINT_PYTHON = '/bin/false';
    try {
      await assert.rejects(Engine.create({ backend: 'torch' }), /exited unexpectedly \(code 1\).*needs Python 3 with torch, onnx and numpy \(INPAINT_PYTHON chooses the Python, now \/bin\/false\)/);
    } finally {
      process.env.INPAINT_PYTHON = saved;
    }
  });

  test('a process doing nothing but wait for the start still hears that it failed', async () => {
    // Nothing else keeps this process's event loop alive: the child must, until it is ready, or Node
    // ends the process (exit code 13, a top-level await never settled) before the failure arrives.
    const index = new URL('./index.ts', import.meta.url).href;
    const script = `const { Engine } = await import(${JSON.stringify(index)});
      try { await Engine.create({ backend: 'torch' }); } catch (e) { console.log('refused: ' + e.message); process.exitCode = 7; }`;
    const child = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, INPAINT_PYTHON: FAKE, FAKE_TORCH_FAIL_START: '1' } });
    await assert.rejects(child, (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 7);
      assert.match(e.stdout, /refused: could not start the engine: the PyTorch engine exited unexpectedly/);
      return true;
    });
  });

  test('an unknown back end is refused', async () => {
    await assert.rejects(Engine.create({ backend: 'tensorflow' as 'torch' }), /options.backend \(or env INPAINT_ENGINE\)/);
  });
});
