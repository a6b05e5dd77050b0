import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError, UsageError } from '../core/errors.ts';
import { hostTensorFromBytes } from './tensor.ts';

describe('hostTensorFromBytes', () => {
  test('copies the bytes into an aligned buffer of its own, read as the dtype', () => {
    const values = new Float64Array([1.5, -2, 1e300]);
    // At an odd offset in a larger buffer, as a message read from a pipe would hold them.
    const message = new Uint8Array(1 + values.byteLength + 5);
    message.set(new Uint8Array(values.buffer), 1);
    const t = hostTensorFromBytes(message.subarray(1, 1 + values.byteLength), [3], 'float64');
    assert.equal(t.dtype, 'float64');
    assert.deepEqual([...(t.data as Float64Array)], [1.5, -2, 1e300]);
    assert.equal(t.data.byteOffset, 0);
    assert.equal(t.data.buffer.byteLength, values.byteLength);
    message.fill(0);
    assert.equal((t.data as Float64Array)[0], 1.5, 'a copy, not a view of the message');
  });

  test('bool and int64 keep their arrays', () => {
    assert.ok(hostTensorFromBytes(new Uint8Array([1, 0]), [2], 'bool').data instanceof Uint8Array);
    assert.equal((hostTensorFromBytes(new Uint8Array(new BigInt64Array([-7n]).buffer), [1], 'int64').data as BigInt64Array)[0], -7n);
  });

  test('refuses an unknown dtype, a partial value and a shape that does not fit', () => {
    assert.throws(() => hostTensorFromBytes(new Uint8Array(4), [1], 'string'), EngineError);
    assert.throws(() => hostTensorFromBytes(new Uint8Array(6), [1], 'float32'), /6 bytes are not a whole number of float32 values/);
    assert.throws(() => hostTensorFromBytes(new Uint8Array(8), [3], 'float32'), UsageError);
  });
});
