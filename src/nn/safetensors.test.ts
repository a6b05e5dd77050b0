import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  readSafetensorsFile,
  writeFileAtomic,
} from './safetensors.ts';

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** A file from a header text (padded by the caller or not) and raw data bytes. */
function file(header: string, data: number[] | Uint8Array = [], headerLen = header.length): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(ascii(header), 8);
  out.set(data, 8 + header.length);
  return out;
}

/** Float32 neighbours, by stepping the bit pattern of a positive float. */
function f32Step(x: number, delta: 1 | -1): number {
  const f = new Float32Array([x]);
  new Uint32Array(f.buffer)[0] += delta;
  return f[0];
}

test('float16 encoding of known bit patterns', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal, 6.1035e-5
    [6.1e-5, 0x03ff], // just below it: nearest is the largest subnormal, 6.0976e-5
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even (zero)
    [f32Step(2 ** -25, 1), 0x0001],
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 ulps: ties to even
    [1e-8, 0x0000],
    [-1e-8, 0x8000],
    [1 + 2 ** -11, 0x3c00], // halfway between 0x3C00 and 0x3C01: ties to even
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3C01 and 0x3C02: ties to even
    [65519, 0x7bff],
    [65520, 0x7c00], // halfway to 65536: rounds to even, which is Infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [1 / 3, 0x3555],
  ];
  for (const [value, bits] of cases) {
    assert.equal(float32ToFloat16Bits(value), bits, `${value} -> 0x${bits.toString(16)}`);
  }
  const nan = float32ToFloat16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
});

test('float16 decoding of known bit patterns', () => {
  assert.equal(float16BitsToFloat32(0x3c00), 1);
  assert.equal(float16BitsToFloat32(0xc000), -2);
  assert.equal(float16BitsToFloat32(0x7bff), 65504);
  assert.equal(float16BitsToFloat32(0x0400), 2 ** -14);
  assert.equal(float16BitsToFloat32(0x03ff), 1023 * 2 ** -24);
  assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
  assert.equal(float16BitsToFloat32(0x3555), 0.333251953125);
  assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  assert.equal(float16BitsToFloat32(0x7c00), Infinity);
  assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
  assert.ok(Number.isNaN(float16BitsToFloat32(0xfc01)));
});

test('every float16 bit pattern survives float16 -> float32 -> float16', () => {
  for (let h = 0; h < 0x10000; h++) {
    const x = float16BitsToFloat32(h);
    if (Number.isNaN(x)) {
      assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, `0x${h.toString(16)} decoded to NaN`);
      assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(x))));
    } else {
      assert.equal(float32ToFloat16Bits(x), h, `0x${h.toString(16)}`);
    }
  }
});

test('every midpoint between adjacent float16 values rounds to even, and its neighbours to nearest', () => {
  for (let h = 0; h <= 0x7bff; h++) {
    const lo = float16BitsToFloat32(h);
    const hi = h === 0x7bff ? 65536 : float16BitsToFloat32(h + 1); // 65536 stands in for Infinity's spot
    const mid = (lo + hi) / 2; // exact in float32: 12 significant bits
    const even = h % 2 === 0 ? h : h + 1;
    assert.equal(float32ToFloat16Bits(mid), even, `midpoint after 0x${h.toString(16)}`);
    assert.equal(float32ToFloat16Bits(f32Step(mid, -1)), h, `below midpoint after 0x${h.toString(16)}`);
    assert.equal(float32ToFloat16Bits(f32Step(mid, 1)), h + 1, `above midpoint after 0x${h.toString(16)}`);
    assert.equal(float32ToFloat16Bits(-mid), even | 0x8000, `negative midpoint after 0x${h.toString(16)}`);
  }
});

test('encodes a tiny float32 file byte for byte as the spec describes', () => {
  // {"a":...} is 54 bytes; 2 spaces pad it to 56 = 0x38 so that the data starts 8-byte aligned.
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ';
  const expected = new Uint8Array([
    0x38, 0, 0, 0, 0, 0, 0, 0,
    ...ascii(header),
    0x00, 0x00, 0x80, 0x3f, // 1.0f little-endian
    0x00, 0x00, 0x00, 0xc0, // -2.0f little-endian
  ]);
  const bytes = encodeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1, -2]) }]]));
  assert.deepEqual(bytes, expected);
  const decoded = decodeSafetensors(expected);
  assert.deepEqual([...decoded.tensors.keys()], ['a']);
  assert.deepEqual(decoded.tensors.get('a'), { shape: [2], data: new Float32Array([1, -2]) });
  assert.deepEqual(decoded.metadata, {});
});

test('encodes a tiny float16 file with metadata byte for byte', () => {
  const header =
    '{"__metadata__":{"k":"v"},"w":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F16","shape":[],"data_offsets":[4,6]}}   '; // 133 bytes + 3 spaces = 136 = 0x88
  const expected = new Uint8Array([
    0x88, 0, 0, 0, 0, 0, 0, 0,
    ...ascii(header),
    0x00, 0x3c, 0x00, 0xc0, // 1, -2
    0xff, 0x7b, // 65504
  ]);
  const tensors = new Map([
    ['w', { shape: [1, 2], data: new Float32Array([1, -2]) }],
    ['b', { shape: [], data: new Float32Array([65504]) }],
  ]);
  assert.deepEqual(encodeSafetensors(tensors, { dtype: 'float16', metadata: { k: 'v' } }), expected);
  const decoded = decodeSafetensors(expected);
  assert.deepEqual([...decoded.tensors], [...tensors]);
  assert.deepEqual(decoded.metadata, { k: 'v' });
});

test('reads F64, I64 and BF16 tensors as float32', () => {
  const header =
    '{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"i":{"dtype":"I64","shape":[2],"data_offsets":[16,32]},' +
    '"h":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]}}';
  const data = new Uint8Array(36);
  const view = new DataView(data.buffer);
  view.setFloat64(0, 0.1, true);
  view.setFloat64(8, -1e300, true);
  view.setBigInt64(16, -3n, true);
  view.setBigInt64(24, 2n ** 40n, true);
  view.setUint16(32, 0x3f80, true); // bf16 1.0
  view.setUint16(34, 0xc020, true); // bf16 -2.5
  const { tensors } = decodeSafetensors(file(header, data));
  assert.deepEqual(tensors.get('d')?.data, new Float32Array([0.1, -Infinity]));
  assert.deepEqual(tensors.get('i')?.data, new Float32Array([-3, 2 ** 40]));
  assert.deepEqual(tensors.get('h')?.data, new Float32Array([1, -2.5]));
});

test('float32 round trip is bit-exact and keeps order, shapes and metadata', () => {
  const rng = new Rng(7);
  const big = new Float32Array(1000).map(() => rng.normal() * 10 ** rng.int(-40, 38));
  big.set([-0, 1e-45, -3.4e38, Infinity, -Infinity], 0);
  const tensors = new Map([
    ['z.weight', { shape: [10, 4, 5, 5], data: big }],
    ['scalar', { shape: [], data: new Float32Array([3.5]) }],
    ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ['10', { shape: [1], data: new Float32Array([NaN]) }], // an integer-like name, which JSON objects reorder
  ]);
  const bytes = encodeSafetensors(tensors, { metadata: { epoch: '3', note: 'ünïcode ✓' } });
  // Decoding must not depend on the buffer's alignment (Node Buffers are often views into a pool).
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const decoded = decodeSafetensors(shifted.subarray(3));
  assert.deepEqual([...decoded.tensors.keys()], ['z.weight', 'scalar', 'empty', '10']);
  assert.deepEqual(decoded.metadata, { epoch: '3', note: 'ünïcode ✓' });
  for (const [name, t] of tensors) {
    const got = decoded.tensors.get(name)!;
    assert.deepEqual(got.shape, t.shape);
    assert.equal(got.data.length, t.data.length);
    for (let i = 0; i < t.data.length; i++) assert.ok(Object.is(got.data[i], t.data[i]), `${name}[${i}]`);
  }
});

test('float16 round trip is within float16 precision', () => {
  const rng = new Rng(11);
  const data = new Float32Array(5000).map(() => rng.normal() * 2 ** rng.int(-20, 14));
  const decoded = decodeSafetensors(encodeSafetensors(new Map([['x', { shape: [5000], data }]]), { dtype: 'float16' }));
  const got = decoded.tensors.get('x')!.data;
  for (let i = 0; i < data.length; i++) {
    // Half an ulp: 2^-11 relative for normals, 2^-25 absolute in the subnormal range.
    const tolerance = Math.max(Math.abs(data[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(got[i] - data[i]) <= tolerance, `x[${i}]: ${data[i]} -> ${got[i]}`);
  }
});

test('encoding rejects invalid input with UsageError', () => {
  const t = (shape: number[], n: number) => new Map([['t', { shape, data: new Float32Array(n) }]]);
  assert.throws(() => encodeSafetensors(t([2, 2], 3)), { name: 'UsageError', message: /4 elements but data has 3/ });
  assert.throws(() => encodeSafetensors(t([-1], 0)), { name: 'UsageError', message: /non-negative integer/ });
  assert.throws(() => encodeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]])), {
    name: 'UsageError',
    message: /reserved/,
  });
  assert.throws(() => encodeSafetensors(t([1], 1), { metadata: { a: 1 as unknown as string } }), {
    name: 'UsageError',
    message: /Metadata value for "a" must be a string/,
  });
  assert.throws(() => encodeSafetensors(t([1], 1), { dtype: 'int8' as 'float32' }), UsageError);
});

test('every kind of corruption is an InputError saying what is wrong', () => {
  const f32 = (name: string, shape: string, begin: number, end: number) =>
    `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":[${begin},${end}]}`;
  const good = encodeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1, 2]) }]]));
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /too short/],
    ['truncated length', new Uint8Array(5), /too short/],
    ['truncated data', good.subarray(0, good.length - 1), /out of range.*7 bytes/],
    ['truncated header', good.subarray(0, 8 + headerLen - 1), /runs past the end/],
    ['header length beyond file', file('{}', [], 1000), /header length 1000 runs past the end/],
    ['absurd header length', file('{}', [], 2 ** 40), /exceeds/],
    ['bad JSON', file('{"a":'), /not valid JSON/],
    ['invalid UTF-8', file('{"\xff":1}'), /not valid JSON/],
    ['header is an array', file('[1,2]'), /must be a JSON object/],
    ['header is null', file('null'), /must be a JSON object/],
    ['metadata not an object', file('{"__metadata__":"x"}'), /__metadata__ must be an object/],
    ['metadata value not a string', file('{"__metadata__":{"a":1}}'), /__metadata__ value for "a" is not a string/],
    ['entry not an object', file('{"a":5}'), /"a": header entry is not an object/],
    ['unsupported dtype', file('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(8)), /unsupported dtype "C64"/],
    ['missing dtype', file('{"a":{"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /unsupported dtype undefined/],
    ['negative dim', file(`{${f32('a', '[-1]', 0, 4)}}`, new Uint8Array(4)), /not a non-negative integer/],
    ['fractional dim', file(`{${f32('a', '[1.5]', 0, 4)}}`, new Uint8Array(4)), /not a non-negative integer/],
    ['shape not an array', file(`{${f32('a', '"2"', 0, 8)}}`, new Uint8Array(8)), /shape is not an array/],
    ['huge shape', file(`{${f32('a', '[4294967296,4294967296]', 0, 8)}}`, new Uint8Array(8)), /too many elements/],
    ['one offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', new Uint8Array(4)), /two non-negative integers/],
    ['string offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}', new Uint8Array(4)), /two non-negative integers/],
    ['reversed offsets', file(`{${f32('a', '[0]', 4, 0)}}`, new Uint8Array(4)), /end before they begin/],
    ['offsets out of range', file(`{${f32('a', '[4]', 0, 16)}}`, new Uint8Array(8)), /out of range: the data section has 8 bytes/],
    ['size/shape mismatch', file(`{${f32('a', '[3]', 0, 8)}}`, new Uint8Array(8)), /8 bytes of data but shape \[3\] of F32 needs 12/],
    ['overlap', file(`{${f32('a', '[2]', 0, 8)},${f32('b', '[2]', 4, 12)}}`, new Uint8Array(12)), /"a" and "b" overlap/],
    ['duplicate region', file(`{${f32('a', '[1]', 0, 4)},${f32('b', '[1]', 0, 4)}}`, new Uint8Array(4)), /overlap/],
    ['gap', file(`{${f32('a', '[1]', 0, 4)},${f32('b', '[1]', 8, 12)}}`, new Uint8Array(12)), /gap: bytes 4\.\.8/],
    ['trailing bytes', file(`{${f32('a', '[2]', 0, 8)}}`, new Uint8Array(12)), /12 bytes but the tensors cover only 8/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => decodeSafetensors(bytes), (err: unknown) => {
      assert.ok(err instanceof InputError, `${what}: ${String(err)}`);
      assert.match(err.message, message, what);
      return true;
    });
  }
});

test('readSafetensorsFile and writeFileAtomic', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'safetensors-test-'));
  try {
    const path = join(dir, 'w.safetensors');
    const bytes = encodeSafetensors(new Map([['a', { shape: [3], data: new Float32Array([1, 2, 3]) }]]));
    await writeFile(path, 'old content');
    await writeFileAtomic(path, bytes);
    assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
    assert.deepEqual((await readSafetensorsFile(path)).tensors.get('a')?.data, new Float32Array([1, 2, 3]));
    assert.deepEqual(await readdir(dir), ['w.safetensors'], 'no temporary file is left behind');

    await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'x'), bytes), { code: 'ENOENT' });
    await assert.rejects(readSafetensorsFile(join(dir, 'nope.safetensors')), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /Could not read .*nope\.safetensors/);
      return true;
    });
    const bad = join(dir, 'bad.safetensors');
    await writeFile(bad, bytes.subarray(0, 20));
    await assert.rejects(readSafetensorsFile(bad), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /bad\.safetensors: .*runs past the end/);
      return true;
    });
    assert.deepEqual((await readdir(dir)).sort(), ['bad.safetensors', 'w.safetensors']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
