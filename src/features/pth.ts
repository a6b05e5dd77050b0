/**
 * Reader for the legacy (pre torch 1.6, non-zip) PyTorch serialization of a float32 state dict.
 *
 * The file is five pickles (protocol 2) back to back — magic number, protocol version, sys info,
 * the state dict, the list of storage keys — followed by the raw storages in key-list order, each an
 * int64 LE element count then that many float32 LE values. Only the pickle opcodes such files use are
 * understood; nothing in the file is ever executed: the two callables a state dict needs
 * (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`) are recognised by name.
 */
import { InputError } from '../core/errors.ts';

/** A tensor read from the file: row-major (C order) float32 values and their shape. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

/** A Python global named by a GLOBAL opcode (`module name`); only ever compared by name. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A call recorded by REDUCE (`callable(*args)`) for a callable the VM does not construct itself. */
export class PickleCall {
  constructor(
    readonly callable: PickleGlobal,
    readonly args: readonly PickleValue[],
  ) {}
}

/**
 * A value the VM produces. Python types map to: None -> null, bool -> boolean, int -> number (bigint
 * beyond 2^53, which only the magic number needs), str -> string, tuple -> frozen array (so APPEND onto
 * one fails), list -> array, dict and OrderedDict -> Map, global -> PickleGlobal, other calls ->
 * PickleCall; a persistent id becomes whatever the persistentLoad hook returns.
 */
export type PickleValue = unknown;

/** The value of one pickle and the byte offset just past its STOP opcode. */
export interface UnpickleResult {
  value: PickleValue;
  end: number;
}

/** The legacy format's magic number, pickled as the first object of the file. */
const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
/** The only legacy protocol version torch ever wrote. */
const PROTOCOL_VERSION = 1001;

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LATIN1 = new TextDecoder('latin1');

const HELP =
  'The file is not a legacy PyTorch file or is truncated; re-download it and check its sha256.';

/** @throws InputError naming what was wrong, with the re-download advice. */
function corrupt(detail: string): never {
  throw new InputError(`${detail}. ${HELP}`);
}

/**
 * Runs one pickle starting at `start`.
 * @param persistentLoad resolves a BINPERSID id (torch uses it for storages); without it BINPERSID fails.
 * @throws InputError on an opcode outside the supported subset (naming the byte and offset), on
 *   truncation, or on a stack that does not fit the opcode.
 */
export function unpickle(
  bytes: Uint8Array,
  start: number,
  persistentLoad?: (pid: PickleValue) => PickleValue,
): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const memo = new Map<number, PickleValue>();
  // A MARK pushes the current stack onto `marks` and starts a fresh one, so "pop to mark" is O(1).
  const marks: PickleValue[][] = [];
  let stack: PickleValue[] = [];
  let pos = start;

  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) corrupt(`Unexpected end of data at byte ${bytes.length} inside a pickle`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const i32 = (): number => view.getInt32(need(4), true);
  const raw = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) corrupt(`Unterminated text line at byte ${pos} inside a pickle`);
    const s = LATIN1.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) corrupt(`Pickle stack underflow at byte ${pos - 1}`);
    return stack.pop();
  };
  const top = (): PickleValue => {
    if (stack.length === 0) corrupt(`Pickle stack underflow at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (outer === undefined) corrupt(`Pickle opcode at byte ${pos - 1} needs a MARK but none is open`);
    stack = outer;
    return items;
  };
  const dictAt = (value: PickleValue): Map<PickleValue, PickleValue> => {
    if (!(value instanceof Map)) corrupt(`SETITEM at byte ${pos - 1} targets a non-dict`);
    return value;
  };
  const listAt = (value: PickleValue): PickleValue[] => {
    if (!Array.isArray(value) || Object.isFrozen(value)) corrupt(`APPEND at byte ${pos - 1} targets a non-list`);
    return value;
  };
  const memoGet = (key: number): PickleValue => {
    if (!memo.has(key)) corrupt(`Pickle memo key ${key} read at byte ${pos - 1} was never stored`);
    return memo.get(key);
  };
  const tuple = (items: PickleValue[]): readonly PickleValue[] => Object.freeze(items);

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 2) corrupt(`Pickle at byte ${at} uses a protocol above 2`);
        break;
      case 0x2e: // STOP
        if (marks.length !== 0 || stack.length !== 1) corrupt(`Pickle ending at byte ${at} leaves a malformed stack`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x74: { // TUPLE
        // popMark() swaps `stack`, so it must run before `stack.push` is looked up.
        const items = tuple(popMark());
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const digits = raw(u8());
        let v = 0n;
        for (let i = digits.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(digits[i]);
        if (digits.length > 0 && digits[digits.length - 1] >= 0x80) v -= 1n << BigInt(8 * digits.length);
        stack.push(Number.isSafeInteger(Number(v)) ? Number(v) : v);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(decodeUtf8(raw(u32()), at));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decodeUtf8(raw(u8()), at));
        break;
      case 0x54: // BINSTRING: Python 2 str, bytes as latin1 as Python 3's encoding='latin1' does
        stack.push(LATIN1.decode(raw(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(LATIN1.decode(raw(u8())));
        break;
      case 0x47: // BINFLOAT: big-endian float64
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(new PickleGlobal(module, line()));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal) || !Array.isArray(args)) corrupt(`REDUCE at byte ${at} has no global and argument tuple`);
        // OrderedDict is built here because SETITEMS must fill it; other calls are left to the caller.
        if (callable.module === 'collections' && callable.name === 'OrderedDict' && args.length === 0) stack.push(new Map());
        else stack.push(new PickleCall(callable, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        // A state dict's BUILD only sets `_metadata` (per-module version numbers), which no tensor needs.
        if (!(top() instanceof Map) || !(state instanceof Map)) corrupt(`BUILD at byte ${at} targets something other than a dict`);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        dictAt(top()).set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) corrupt(`SETITEMS at byte ${at} has an odd number of items`);
        const dict = dictAt(top());
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        listAt(top()).push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        listAt(top()).push(...items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x51: { // BINPERSID
        const pid = pop();
        if (persistentLoad === undefined) corrupt(`Pickle at byte ${at} refers to external data where none is expected`);
        stack.push(persistentLoad(pid));
        break;
      }
      default:
        throw new InputError(
          `Unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}: only the ` +
            `protocol-2 subset of legacy PyTorch state dicts is understood. ${HELP}`,
        );
    }
  }
}

function decodeUtf8(data: Uint8Array, at: number): string {
  try {
    return UTF8.decode(data);
  } catch {
    return corrupt(`Invalid UTF-8 string at byte ${at}`);
  }
}

/** A storage as announced by its persistent id; `data` is filled from the storage section. */
class StorageRef {
  data?: Float32Array;
  constructor(
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** True when the value is a pickled tuple or list whose items all are non-negative safe integers. */
function isIndexList(value: PickleValue): value is readonly number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/**
 * Reads a legacy (non-zip) PyTorch file holding a dict of float32 tensors, e.g. a VGG state dict.
 * Strided views are materialised into contiguous row-major arrays.
 * @returns tensor name -> shape and data, in file order.
 * @throws InputError when the bytes are not such a file (magic number, protocol version, byte order,
 *   storage type), are truncated or corrupt, or use pickle opcodes outside the supported subset.
 */
export function readLegacyTorch(bytes: Uint8Array): Map<string, TorchTensor> {
  const magic = unpickle(bytes, 0);
  if (magic.value !== MAGIC_NUMBER) corrupt('Wrong magic number');
  const version = unpickle(bytes, magic.end);
  if (version.value !== PROTOCOL_VERSION) corrupt(`Unknown legacy protocol version ${String(version.value)}`);
  const sysInfo = unpickle(bytes, version.end);
  // The storages are raw machine words; only little-endian writers are understood.
  if (!(sysInfo.value instanceof Map) || sysInfo.value.get('little_endian') !== true) {
    corrupt('File was not written on a little-endian machine or has no sys info');
  }

  const storages = new Map<string, StorageRef>();
  const loadStorage = (pid: PickleValue): StorageRef => {
    // ('storage', storage_type, key, location, numel, view_metadata)
    if (!Array.isArray(pid) || pid.length !== 6 || pid[0] !== 'storage') corrupt('Malformed storage reference');
    const [, type, key, , numel, viewMetadata] = pid;
    if (!(type instanceof PickleGlobal) || type.module !== 'torch' || type.name !== 'FloatStorage') {
      throw new InputError(`Unsupported storage type ${String(type)}: only float32 (torch.FloatStorage) tensors are read.`);
    }
    if (typeof key !== 'string' || !Number.isSafeInteger(numel)) corrupt('Malformed storage reference');
    // Storage views (pre-0.4 files) never occur in state dicts saved by torch >= 0.4.
    if (viewMetadata !== null) throw new InputError(`Storage ${key} is a storage view, which is not supported.`);
    let ref = storages.get(key);
    if (ref === undefined) storages.set(key, (ref = new StorageRef(key, numel as number)));
    else if (ref.numel !== numel) corrupt(`Storage ${key} is announced with two sizes`);
    return ref;
  };
  const dict = unpickle(bytes, sysInfo.end, loadStorage);
  const keyList = unpickle(bytes, dict.end);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) corrupt('Malformed storage key list');

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keyList.end;
  for (const key of keyList.value as string[]) {
    if (pos + 8 > bytes.length) corrupt(`Storage ${key} is cut off`);
    const count = Number(view.getBigInt64(pos, true));
    pos += 8;
    if (count < 0 || pos + 4 * count > bytes.length) corrupt(`Storage ${key} is cut off`);
    const ref = storages.get(key);
    if (ref !== undefined) {
      if (ref.numel !== count) corrupt(`Storage ${key} holds ${count} values but the pickle says ${ref.numel}`);
      // Copy: the bytes may be unaligned for a Float32Array view and the platform may be big-endian.
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(pos + 4 * i, true);
      ref.data = data;
    }
    pos += 4 * count;
  }
  if (pos !== bytes.length) corrupt(`${bytes.length - pos} unexpected bytes after the last storage`);

  if (!(dict.value instanceof Map)) corrupt('The file does not hold a dict of tensors');
  const out = new Map<string, TorchTensor>();
  for (const [name, value] of dict.value) {
    if (typeof name !== 'string') corrupt('A tensor name is not a string');
    out.set(name, rebuildTensor(name, value));
  }
  return out;
}

/**
 * Resolves `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)`.
 * @throws InputError when the call is something else or the view reaches outside its storage.
 */
function rebuildTensor(name: string, value: PickleValue): TorchTensor {
  if (
    !(value instanceof PickleCall) ||
    value.callable.module !== 'torch._utils' ||
    value.callable.name !== '_rebuild_tensor_v2' ||
    value.args.length < 4
  ) {
    corrupt(`Entry ${name} is not a tensor`);
  }
  const [storage, offset, size, stride] = value.args;
  if (!(storage instanceof StorageRef) || storage.data === undefined) corrupt(`Tensor ${name} refers to a storage missing from the file`);
  if (!Number.isSafeInteger(offset) || !isIndexList(size) || !isIndexList(stride) || size.length !== stride.length) {
    corrupt(`Tensor ${name} has a malformed size or stride`);
  }
  const base = offset as number;
  const shape = [...size];
  const numel = shape.reduce((a, b) => a * b, 1);
  // Highest storage index the view touches; empty tensors touch nothing.
  const last = base + shape.reduce((acc, n, d) => acc + (n - 1) * stride[d], 0);
  if (numel > 0 && (base < 0 || last >= storage.data.length)) corrupt(`Tensor ${name} reaches outside its storage`);

  const storageData = storage.data;
  const data = new Float32Array(numel);
  const index = new Array<number>(shape.length).fill(0);
  let src = base;
  for (let i = 0; i < numel; i++) {
    data[i] = storageData[src];
    // Odometer increment over the multi-index, updating the storage position incrementally.
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        src += stride[d];
        break;
      }
      src -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return { shape, data };
}
