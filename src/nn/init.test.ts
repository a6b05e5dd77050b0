import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/random.ts';
import { UsageError } from '../core/errors.ts';
import { fans, heNormal, normal, ones, xavierUniform, zeros } from './init.ts';

function stats(x: Float32Array): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / x.length;
  let sq = 0;
  for (const v of x) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / x.length), min, max };
}

const N = 200_000;

test('fans for conv (OIHW), transposed conv (IOHW) and dense weights', () => {
  assert.deepEqual(fans([64, 3, 5, 5]), { fanIn: 75, fanOut: 1600 });
  assert.deepEqual(fans([64, 3, 5, 5], 'OIHW'), { fanIn: 75, fanOut: 1600 });
  assert.deepEqual(fans([64, 3, 4, 4], 'IOHW'), { fanIn: 1024, fanOut: 48 });
  assert.deepEqual(fans([10, 20]), { fanIn: 20, fanOut: 10 });
  assert.throws(() => fans([5]), UsageError);
  assert.throws(() => fans([5, 0, 3]), UsageError);
});

test('heNormal has mean 0 and std sqrt(2 / fanIn)', () => {
  const fanIn = 3 * 3 * 32;
  const s = stats(heNormal(fanIn)([N], new Rng(1)));
  const std = Math.sqrt(2 / fanIn);
  // The standard error of the mean is std / sqrt(N) ≈ 0.0022 std; of the std, ≈ 0.0016 std.
  assert.ok(Math.abs(s.mean) < 0.01 * std, `mean ${s.mean}`);
  assert.ok(Math.abs(s.std / std - 1) < 0.01, `std ${s.std} vs ${std}`);
  assert.throws(() => heNormal(0), UsageError);
});

test('xavierUniform is uniform on ±sqrt(6 / (fanIn + fanOut))', () => {
  const limit = Math.sqrt(6 / (100 + 50));
  const s = stats(xavierUniform(100, 50)([N], new Rng(2)));
  assert.ok(Math.abs(s.mean) < 0.01 * limit, `mean ${s.mean}`);
  assert.ok(Math.abs(s.std / (limit / Math.sqrt(3)) - 1) < 0.01, `std ${s.std}`);
  assert.ok(s.min >= -limit && s.max <= limit, `range [${s.min}, ${s.max}]`);
  assert.ok(s.min < -0.99 * limit && s.max > 0.99 * limit, 'fills the whole range');
  assert.throws(() => xavierUniform(10, -1), UsageError);
});

test('normal has the requested std', () => {
  const s = stats(normal(0.02)([N], new Rng(3)));
  assert.ok(Math.abs(s.mean) < 0.01 * 0.02, `mean ${s.mean}`);
  assert.ok(Math.abs(s.std / 0.02 - 1) < 0.01, `std ${s.std}`);
  assert.throws(() => normal(0), UsageError);
  assert.throws(() => normal(-1), UsageError);
  assert.throws(() => normal(NaN), UsageError);
});

test('initialisers fill the whole shape, reproducibly per seed', () => {
  for (const init of [heNormal(10), xavierUniform(10, 20), normal(1)]) {
    const a = init([4, 3, 2, 2], new Rng(42));
    assert.equal(a.length, 48);
    assert.deepEqual(init([4, 3, 2, 2], new Rng(42)), a, 'same seed, same values');
    assert.notDeepEqual(init([4, 3, 2, 2], new Rng(43)), a, 'different seed, different values');
    assert.ok(a.every((v) => v !== 0), 'no element left unset');
  }
  assert.deepEqual(zeros([2, 3], new Rng(0)), new Float32Array(6));
  assert.deepEqual(ones([2, 3], new Rng(0)), new Float32Array(6).fill(1));
  assert.deepEqual(ones([], new Rng(0)), new Float32Array([1]));
});
