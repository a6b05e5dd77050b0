import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EngineError, UsageError } from '../core/errors.ts';
import { type DType, Graph } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import { add, matMul, mul, reduceSum, reshape } from '../graph/ops.ts';
import { Engine, type HostTensor, type Session, defaultEngine, hostTensor } from './index.ts';

/** y = (a + b) * a, z = a + b, for a: float32[2, 3] and b: float32[3] (broadcast). */
function arithmetic(): Uint8Array {
  const g = new Graph('arith');
  const a = g.input('a', [2, 3]);
  const b = g.input('b', [3]);
  const sum = add(a, b);
  g.output(mul(sum, a), 'y');
  g.output(sum, 'z');
  return toOnnx(g);
}

const A = () => hostTensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
const B = () => hostTensor(new Float32Array([10, 20, 30]), [3]);

/** A chain of `count` n x n MatMuls: long enough to block a thread for a while. */
function matMulChain(n: number, count: number): Uint8Array {
  const g = new Graph('chain');
  const x = g.input('x', [n, n]);
  const w = g.input('w', [n, n]);
  let y = x;
  for (let i = 0; i < count; i++) y = matMul(y, w);
  g.output(y, 'y');
  return toOnnx(g);
}

describe('Engine', () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ threads: 2 });
  });
  after(() => engine.dispose());

  test('runs a graph and returns the numbers', async () => {
    const session = await engine.load(arithmetic(), 'arith');
    assert.deepEqual(session.inputNames, ['a', 'b']);
    assert.deepEqual(session.outputNames, ['y', 'z']);
    const { y, z } = await session.run({ a: A(), b: B() });
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(y.shape, [2, 3]);
    assert.deepEqual(Array.from(y.data as Float32Array), [11, 44, 99, 56, 125, 216]);
    assert.deepEqual(Array.from(z.data as Float32Array), [11, 22, 33, 14, 25, 36]);
    session.dispose();
  });

  test('a float output holding NaN or Infinity fails the run with an EngineError naming the graph and the output', async () => {
    const session = await engine.load(arithmetic(), 'arith');
    try {
      const nan = hostTensor(new Float32Array([1, 2, 3, 4, NaN, 6]), [2, 3]);
      await assert.rejects(session.run({ a: nan, b: B() }), (e: Error) => e instanceof EngineError && /^graph "arith" computed NaN in its output "y" \(index 4\)/.test(e.message));
      // (a + b) * a overflows float32 to Infinity.
      const huge = hostTensor(new Float32Array([1, 2, 3, 4, 5, 3e38]), [2, 3]);
      await assert.rejects(session.run({ a: huge, b: B() }, ['y']), (e: Error) => e instanceof EngineError && /computed Infinity in its output "y" \(index 5\)/.test(e.message));
      // Training steps judge their loss themselves.
      const { y } = await session.run({ a: nan, b: B() }, undefined, { allowNonFinite: true });
      assert.ok(Number.isNaN((y.data as Float32Array)[4]));
    } finally {
      session.dispose();
    }
  });

  test('says what runs the graphs', () => {
    assert.equal(engine.backend, 'onnxruntime');
    assert.equal(engine.description, 'ONNX Runtime (2 threads)');
  });

  test('fetches only the outputs asked for', async () => {
    const session = await engine.load(arithmetic(), 'arith');
    const out = await session.run({ a: A(), b: B() }, ['z']);
    assert.deepEqual(Object.keys(out), ['z']);
    await assert.rejects(session.run({ a: A(), b: B() }, ['w']), (e: Error) => e instanceof UsageError && /unknown output\(s\) w/.test(e.message));
    session.dispose();
  });

  test('round-trips every dtype through the worker', async () => {
    const values: Record<Exclude<DType, 'float32'>, HostTensor> = {
      float64: hostTensor(new Float64Array([0.1, -2.5]), [2]),
      float16: hostTensor(new Uint16Array([0x3c00, 0xc000]), [2]), // 1.0, -2.0
      int64: hostTensor(new BigInt64Array([2n ** 40n, -3n]), [2]),
      int32: hostTensor(new Int32Array([7, -8]), [2]),
      bool: hostTensor(new Uint8Array([1, 0]), [2], 'bool'),
      uint8: hostTensor(new Uint8Array([255, 3]), [2]),
    };
    const g = new Graph('dtypes');
    for (const [name, t] of Object.entries(values)) g.output(g.input(name, [2], t.dtype), `${name}_out`);
    const session = await engine.load(toOnnx(g), 'dtypes');
    const out = await session.run(values);
    for (const [name, t] of Object.entries(values)) {
      assert.equal(out[`${name}_out`].dtype, t.dtype, name);
      assert.deepEqual(out[`${name}_out`].data, t.data, name);
    }
    session.dispose();
  });

  test('copies feeds unless asked to transfer them', async () => {
    const session = await engine.load(arithmetic(), 'arith');
    const a = A();
    await session.run({ a, b: B() });
    assert.equal(a.data.length, 6);
    const { y } = await session.run({ a, b: B() }, ['y'], { transfer: true });
    assert.equal(a.data.length, 0, 'a transferred buffer is detached in the sender');
    assert.deepEqual(Array.from(y.data as Float32Array), [11, 44, 99, 56, 125, 216]);
    session.dispose();
  });

  test('shares one worker session per model, reference counted', async () => {
    const before = await engine.sessionCount();
    const first = await engine.load(arithmetic(), 'arith');
    const second = await engine.load(arithmetic(), 'arith again');
    assert.equal(await engine.sessionCount(), before + 1);
    const other = await engine.load(matMulChain(2, 1), 'chain');
    assert.equal(await engine.sessionCount(), before + 2);

    first.dispose();
    first.dispose(); // a second dispose of the same handle must not drop another reference
    assert.equal(await engine.sessionCount(), before + 2);
    const { z } = await second.run({ a: A(), b: B() }, ['z']);
    assert.deepEqual(Array.from(z.data as Float32Array), [11, 22, 33, 14, 25, 36]);

    second.dispose();
    assert.equal(await engine.sessionCount(), before + 1);
    other.dispose();
    assert.equal(await engine.sessionCount(), before);
    await assert.rejects(second.run({ a: A(), b: B() }), (e: Error) => e instanceof UsageError && /session was disposed/.test(e.message));
  });

  test('a bad model fails to load with an EngineError naming the graph and ONNX Runtime\'s reason', async () => {
    const before = await engine.sessionCount();
    await assert.rejects(engine.load(new Uint8Array([1, 2, 3, 4, 5]), 'garbage'), (e: Error) =>
      e instanceof EngineError && e.message.includes('graph "garbage"') && /protobuf parsing failed/.test(e.message));

    const g = new Graph('unsupported');
    const x = g.input('x', [2]);
    g.output(g.addNode('NoSuchOp', [x], {}, [{ shape: [2], dtype: 'float32' }])[0], 'y');
    await assert.rejects(engine.load(toOnnx(g), 'unsupported'), (e: Error) =>
      e instanceof EngineError && e.message.includes('graph "unsupported"') && e.message.includes('n0_NoSuchOp') && /No Op registered for NoSuchOp/.test(e.message));
    assert.equal(await engine.sessionCount(), before);
  });

  test('a failing run throws an EngineError with the graph, the node and the feeds', async () => {
    const g = new Graph('resh');
    g.output(reshape(g.input('a', ['N']), [2, 3]), 'y');
    const session = await engine.load(toOnnx(g), 'resh');
    await assert.rejects(session.run({ a: hostTensor(new Float32Array(5), [5]) }), (e: Error) =>
      e instanceof EngineError && e.message.includes('graph "resh"') && e.message.includes("Name:'n0_Reshape'") && e.message.includes('a: float32[5]'));
    session.dispose();
  });

  describe('checks feeds before running', () => {
    let session: Session;
    before(async () => {
      session = await engine.load(arithmetic(), 'arith');
    });
    after(() => session.dispose());

    const rejectsWith = (feeds: Record<string, HostTensor>, pattern: RegExp) =>
      assert.rejects(session.run(feeds), (e: Error) => e instanceof UsageError && e.message.includes('graph "arith"') && pattern.test(e.message));

    test('missing feed', () => rejectsWith({ a: A() }, /missing feed\(s\) b; the model's inputs are a: float32\[2, 3\], b: float32\[3\]/));
    test('unknown feed', () => rejectsWith({ a: A(), b: B(), c: B() }, /unknown feed\(s\) c/));
    test('wrong dtype', () => rejectsWith({ a: A(), b: hostTensor(new Int32Array(3), [3]) }, /feed "b" has dtype int32 but the model expects float32\[3\]/));
    test('wrong rank', () => rejectsWith({ a: hostTensor(new Float32Array(6), [6]), b: B() }, /feed "a" has shape \[6\] \(rank 1\) but the model expects float32\[2, 3\] \(rank 2\)/));
    test('wrong fixed dim', () => rejectsWith({ a: hostTensor(new Float32Array(6), [3, 2]), b: B() }, /feed "a" has shape \[3, 2\]/));
    test('malformed host tensor', () => rejectsWith({ a: { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) }, b: B() }, /feed "a": shape \[2, 3\] holds 6 values but the data has 5/));
  });

  test('the main thread stays responsive during a long run', async () => {
    const n = 1024;
    const session = await engine.load(matMulChain(n, 60), 'chain');
    const feeds = { x: hostTensor(new Float32Array(n * n).fill(1), [n, n]), w: hostTensor(new Float32Array(n * n).fill(1 / n), [n, n]) };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const start = performance.now();
    const { y } = await session.run(feeds);
    const elapsed = performance.now() - start;
    clearInterval(timer);
    session.dispose();
    assert.ok(elapsed > 300, `the run took ${elapsed.toFixed(0)} ms; it must be long for this test to mean anything`);
    // On the main thread the same run lets no timer fire at all.
    assert.ok(ticks >= elapsed / 10 / 4, `${ticks} ticks of 10 ms in a ${elapsed.toFixed(0)} ms run`);
    assert.ok(Math.abs((y.data as Float32Array)[0] - 1) < 1e-3);
  });
});

describe('dispose', () => {
  test('fails pending runs, then every use of the engine and its sessions', async () => {
    const engine = await Engine.create({ threads: 1 });
    const n = 512;
    const chain = await engine.load(matMulChain(n, 20), 'chain');
    const small = await engine.load(arithmetic(), 'arith');
    const pending = chain.run({ x: hostTensor(new Float32Array(n * n), [n, n]), w: hostTensor(new Float32Array(n * n), [n, n]) });
    const failed = assert.rejects(pending, (e: Error) => e instanceof EngineError && /disposed/.test(e.message));
    await engine.dispose();
    await failed;
    assert.equal(engine.disposed, true);
    await assert.rejects(engine.load(arithmetic(), 'arith'), (e: Error) => e instanceof UsageError && /engine was disposed/.test(e.message));
    await assert.rejects(engine.sessionCount(), UsageError);
    await assert.rejects(small.run({ a: A(), b: B() }), (e: Error) => e instanceof UsageError && /graph "arith": the engine of this session was disposed/.test(e.message));
    small.dispose();
    await engine.dispose();
  });

  test('rejects a bad thread count', async () => {
    await assert.rejects(Engine.create({ threads: 0 }), UsageError);
  });

  test('runs with the threads left spinning between runs too, and rejects a keepSpinning that is no boolean', async () => {
    const engine = await Engine.create({ threads: 2, keepSpinning: true });
    const session = await engine.load(arithmetic(), 'arith');
    for (let i = 0; i < 2; i++) assert.deepEqual(Array.from((await session.run({ a: A(), b: B() })).y.data as Float32Array), [11, 44, 99, 56, 125, 216]);
    await engine.dispose();
    await assert.rejects(Engine.create({ keepSpinning: 'yes' as unknown as boolean }), (e: Error) => e instanceof UsageError && /keepSpinning/.test(e.message));
  });

  test("without the memory arena, a run's memory goes back once it ends; with it (the default), it stays held", async () => {
    // a [8192, 1] + b [1, 12288] broadcast: a 400 MB intermediate, summed to one number.
    const g = new Graph('big');
    g.output(reduceSum(add(g.input('a', [8192, 1]), g.input('b', [1, 12288]))), 's');
    const [rows, cols] = [8192, 12288];
    const held = async (memoryArena?: boolean) => {
      const engine = await Engine.create({ threads: 1, ...(memoryArena === undefined ? {} : { memoryArena }) });
      try {
        const session = await engine.load(toOnnx(g), 'big');
        const before = process.memoryUsage().rss; // the worker thread's allocations count in the process
        const { s } = await session.run({ a: hostTensor(new Float32Array(rows).fill(1), [rows, 1]), b: hostTensor(new Float32Array(cols).fill(1), [1, cols]) });
        assert.equal((s.data as Float32Array)[0], 2 * rows * cols);
        return { arena: engine.memoryArena, mb: (process.memoryUsage().rss - before) / 2 ** 20 };
      } finally {
        await engine.dispose();
      }
    };
    const kept = await held();
    const returned = await held(false);
    assert.equal(kept.arena, true);
    assert.equal(returned.arena, false);
    assert.ok(kept.mb > 300, `with the arena, ${kept.mb.toFixed(0)} MB held after the run`);
    assert.ok(returned.mb < 100, `without it, ${returned.mb.toFixed(0)} MB held after the run`);
    await assert.rejects(Engine.create({ memoryArena: 1 as unknown as boolean }), (e: Error) => e instanceof UsageError && /memoryArena/.test(e.message));
  });

  test('defaultEngine is shared, and replaced once disposed', async () => {
    const first = await defaultEngine();
    assert.equal(await defaultEngine(), first);
    await first.dispose();
    const second = await defaultEngine();
    assert.notEqual(second, first);
    assert.equal(second.disposed, false);
    await second.dispose();
  });
});

describe('hostTensor', () => {
  test('infers the dtype from the array and checks the size', () => {
    assert.equal(hostTensor(new BigInt64Array(4), [2, 2]).dtype, 'int64');
    assert.equal(hostTensor(new Uint8Array(2), [2]).dtype, 'uint8');
    assert.throws(() => hostTensor(new Float32Array(5), [2, 3]), (e: Error) => e instanceof UsageError && /holds 6 values but the data has 5/.test(e.message));
    assert.throws(() => hostTensor(new Float32Array(2), [2], 'int32'), (e: Error) => e instanceof UsageError && /int32 data must be a Int32Array/.test(e.message));
    assert.throws(() => hostTensor(new Float32Array(2), [2, -1]), UsageError);
  });
});

describe('process exit', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const script = (dispose: boolean) => `
    const { Engine, hostTensor } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
    const { Graph } = await import(${JSON.stringify(new URL('../graph/graph.ts', import.meta.url).href)});
    const { toOnnx } = await import(${JSON.stringify(new URL('../graph/onnx.ts', import.meta.url).href)});
    const { add } = await import(${JSON.stringify(new URL('../graph/ops.ts', import.meta.url).href)});
    const engine = await Engine.create();
    const g = new Graph('exit');
    const a = g.input('a', [2]);
    g.output(add(a, a), 'y');
    const session = await engine.load(toOnnx(g), 'exit');
    const { y } = await session.run({ a: hostTensor(new Float32Array([1, 2]), [2]) });
    console.log(Array.from(y.data).join(','));
    if (${dispose}) await engine.dispose();
  `;

  for (const dispose of [true, false]) {
    test(`the process exits by itself ${dispose ? 'after dispose' : 'with an engine never disposed'}`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(dispose)], { cwd: root, timeout: 30_000 });
      assert.equal(stdout.trim(), '2,4');
    });
  }
});
