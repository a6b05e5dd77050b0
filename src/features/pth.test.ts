import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { readLegacyTorch, unpickle } from './pth.ts';

/** The shared copy of the public weights; the tests fail (not skip) when it is missing. */
const VGG_PTH = fileURLToPath(new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url));

const NOT_LEGACY = /not a legacy PyTorch file or is truncated; re-download it and check its sha256/;

/** Minimal pickle writer for building legacy torch files opcode by opcode. */
class PickleWriter {
  readonly bytes: number[] = [0x80, 2]; // PROTO 2
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  str(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(utf8.length), ...utf8); // BINUNICODE
  }
  int(n: number): this {
    return n < 256 ? this.op(0x4b, n) : this.op(0x4a, ...u32(n)); // BININT1 / BININT
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  tuple(items: number[]): this {
    this.op(0x28); // MARK
    for (const n of items) this.int(n);
    return this.op(0x74); // TUPLE
  }
  stop(): number[] {
    return [...this.bytes, 0x2e];
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

interface FakeTensor {
  name: string;
  storage: string;
  offset: number;
  size: number[];
  stride: number[];
}

/** Builds a legacy torch file the way torch.save did before 1.6. */
function legacyFile(storages: Map<string, number[]>, tensors: FakeTensor[], options: { storageType?: string } = {}): Uint8Array {
  const magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const version = new PickleWriter().op(0x4d, 0xe9, 0x03).stop(); // BININT2 1001
  const sysInfo = new PickleWriter().op(0x7d, 0x28).str('little_endian').op(0x88, 0x75).stop();
  const dict = new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  for (const t of tensors) {
    dict.str(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28, 0x28).str('storage');
    dict.global('torch', options.storageType ?? 'FloatStorage').str(t.storage).str('cpu');
    dict.int(storages.get(t.storage)!.length).op(0x4e, 0x74, 0x51); // NONE, TUPLE, BINPERSID
    dict.int(t.offset).tuple(t.size).tuple(t.stride).op(0x89); // requires_grad False
    dict.global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52); // hooks, TUPLE, REDUCE
  }
  dict.op(0x75); // SETITEMS
  const keys = new PickleWriter().op(0x5d, 0x28);
  for (const key of storages.keys()) keys.str(key);
  keys.op(0x65); // APPENDS
  const data: number[] = [];
  for (const values of storages.values()) {
    const chunk = new DataView(new ArrayBuffer(8 + 4 * values.length));
    chunk.setBigInt64(0, BigInt(values.length), true);
    values.forEach((v, i) => chunk.setFloat32(8 + 4 * i, v, true));
    data.push(...new Uint8Array(chunk.buffer));
  }
  return Uint8Array.from([...magic, ...version, ...sysInfo, ...dict.stop(), ...keys.stop(), ...data]);
}

test('reads every tensor of the shared VGG file with the documented keys and shapes', () => {
  const tensors = readLegacyTorch(readFileSync(VGG_PTH));
  const expected: [string, number[]][] = [
    ['0', [3, 3, 1, 1]],
    ['2', [64, 3, 3, 3]],
    ['5', [64, 64, 3, 3]],
    ['9', [128, 64, 3, 3]],
    ['12', [128, 128, 3, 3]],
    ['16', [256, 128, 3, 3]],
  ];
  assert.deepEqual(
    [...tensors].map(([name, t]) => [name, t.shape]),
    expected.flatMap(([key, shape]) => [[`${key}.weight`, shape], [`${key}.bias`, [shape[0]]]]),
  );
  let count = 0;
  for (const t of tensors.values()) {
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
    count += t.data.length;
  }
  assert.equal(count, 555_340);
});

test('conv0 of the shared file maps RGB in [0,1] to BGR*255 minus the ImageNet mean, as the README says', () => {
  const tensors = readLegacyTorch(readFileSync(VGG_PTH));
  assert.deepEqual([...tensors.get('0.weight')!.data], [0, 0, 255, 0, 255, 0, 255, 0, 0]);
  const bias = [...tensors.get('0.bias')!.data];
  [-103.939, -116.779, -123.68].forEach((m, i) => assert.ok(Math.abs(bias[i] - m) < 1e-4, `bias ${bias}`));
});

test('materialises strided views and tensors sharing one storage', () => {
  const storages = new Map([['s', Array.from({ length: 12 }, (_, i) => i)]]);
  const file = legacyFile(storages, [
    { name: 'transposed', storage: 's', offset: 1, size: [2, 3], stride: [1, 4] },
    { name: 'whole', storage: 's', offset: 0, size: [3, 4], stride: [4, 1] },
    { name: 'scalar', storage: 's', offset: 11, size: [], stride: [] },
  ]);
  const tensors = readLegacyTorch(file);
  assert.deepEqual(tensors.get('transposed'), { shape: [2, 3], data: Float32Array.from([1, 5, 9, 2, 6, 10]) });
  assert.deepEqual(tensors.get('whole'), { shape: [3, 4], data: Float32Array.from(storages.get('s')!) });
  assert.deepEqual(tensors.get('scalar'), { shape: [], data: Float32Array.from([11]) });
});

test('a view reaching past its storage is rejected', () => {
  const file = legacyFile(new Map([['s', [1, 2, 3]]]), [{ name: 'w', storage: 's', offset: 1, size: [3], stride: [1] }]);
  assert.throws(() => readLegacyTorch(file), (e) => e instanceof InputError && /w reaches outside its storage/.test(e.message));
});

test('a storage type other than float32 is rejected by name', () => {
  const file = legacyFile(new Map([['s', [1]]]), [{ name: 'w', storage: 's', offset: 0, size: [1], stride: [1] }], {
    storageType: 'DoubleStorage',
  });
  assert.throws(() => readLegacyTorch(file), (e) => e instanceof InputError && /torch\.DoubleStorage/.test(e.message));
});

test('truncated files are InputErrors that say what to do, wherever the cut falls', () => {
  const bytes = readFileSync(VGG_PTH);
  // Inside the magic, the sys info, the state dict, the key list, a storage header, a storage body.
  for (const length of [0, 5, 60, 900, 1700, 1855, 1900, bytes.length - 1]) {
    assert.throws(
      () => readLegacyTorch(bytes.subarray(0, length)),
      (e) => e instanceof InputError && NOT_LEGACY.test(e.message),
      `cut at ${length}`,
    );
  }
});

test('a wrong magic number, protocol version or trailing bytes are rejected', () => {
  const bytes = readFileSync(VGG_PTH);
  const corrupt = (at: number, value: number): Uint8Array => {
    const copy = Uint8Array.from(bytes);
    copy[at] = value;
    return copy;
  };
  const cases: [Uint8Array, RegExp][] = [
    [corrupt(4, 0x00), /Wrong magic number/],
    [corrupt(18, 0xea), /protocol version 1002/], // BININT2 1001 -> 1002
    [Buffer.concat([bytes, Buffer.from([0])]), /1 unexpected bytes after the last storage/],
  ];
  for (const [file, message] of cases) {
    assert.throws(() => readLegacyTorch(file), (e) => e instanceof InputError && message.test(e.message) && NOT_LEGACY.test(e.message));
  }
});

test('an opcode outside the supported subset names its byte and offset', () => {
  const bytes = Uint8Array.from(readFileSync(VGG_PTH));
  assert.equal(bytes[139], 0x63); // the state dict's first GLOBAL
  bytes[139] = 0x93; // STACK_GLOBAL, a protocol-4 opcode
  assert.throws(() => readLegacyTorch(bytes), (e) => e instanceof InputError && /opcode 0x93 at byte 139/.test(e.message));
});

test('unpickle decodes the protocol-2 opcodes that legacy files may use beyond this one', () => {
  const f64 = [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]; // 1.5, big-endian
  const pickle = Uint8Array.from([
    0x80, 2, 0x5d, // PROTO 2, EMPTY_LIST
    0x8c, 2, 0x68, 0x69, 0x72, 5, 0, 0, 0, 0x61, // SHORT_BINUNICODE 'hi', LONG_BINPUT 5, APPEND
    0x6a, 5, 0, 0, 0, 0x61, // LONG_BINGET 5, APPEND
    0x55, 1, 0xe9, 0x61, // SHORT_BINSTRING latin1 'é', APPEND
    0x54, 2, 0, 0, 0, 0x61, 0x62, 0x61, // BINSTRING 'ab', APPEND
    0x47, ...f64, 0x61, // BINFLOAT, APPEND
    0x4a, 0xff, 0xff, 0xff, 0xff, 0x61, // BININT -1, APPEND
    0x8a, 1, 0xff, 0x61, // LONG1 -1, APPEND
    0x8a, 0, 0x61, // LONG1 0 (no bytes), APPEND
    0x4b, 1, 0x4b, 2, 0x86, 0x61, // TUPLE2, APPEND
    0x4b, 1, 0x4b, 2, 0x4b, 3, 0x87, 0x61, // TUPLE3, APPEND
    0x4e, 0x85, 0x61, // NONE, TUPLE1, APPEND
    0x2e, // STOP
  ]);
  const { value, end } = unpickle(pickle, 0);
  assert.equal(end, pickle.length);
  assert.deepEqual(value, ['hi', 'hi', 'é', 'ab', 1.5, -1, -1, 0, [1, 2], [1, 2, 3], [null]]);
  assert.ok(Object.isFrozen((value as unknown[])[8]), 'tuples are immutable');
});

test('malformed pickles are InputErrors, not crashes', () => {
  const cases: [number[], RegExp][] = [
    [[0x80, 2, 0x29, 0x4e, 0x61, 0x2e], /APPEND at byte 4 targets a non-list/], // APPEND onto a tuple
    [[0x80, 2, 0x61, 0x2e], /stack underflow/], // APPEND on an empty stack
    [[0x80, 2, 0x68, 7, 0x2e], /memo key 7/], // BINGET of a key never stored
    [[0x80, 2, 0x74, 0x2e], /needs a MARK/], // TUPLE without MARK
    [[0x80, 2, 0x4e, 0x4e, 0x2e], /malformed stack/], // two values at STOP
    [[0x80, 4, 0x4e, 0x2e], /protocol above 2/],
    [[0x80, 2, 0x4e, 0x51, 0x2e], /refers to external data/], // BINPERSID without a loader
    [[0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f], /Unexpected end of data/], // a 2 GB string
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => unpickle(Uint8Array.from(bytes), 0), (e) => e instanceof InputError && message.test(e.message), message.source);
  }
});
