/**
 * `ParamStore`: a model's trainable parameters, an ordered map from name to float32 tensor.
 *
 * The store owns the `Float32Array`s; optimisers and graph builders hold references to them and see
 * updates in place. For that reason `load` copies values into the existing arrays and never replaces
 * them. Insertion order is kept everywhere (names, files) so that saved files are deterministic.
 */
import { InputError, UsageError } from '../core/errors.ts';
import type { Rng } from '../core/random.ts';
import { decodeSafetensors, encodeSafetensors, type EncodeOptions } from './safetensors-format.ts';
import type { Initializer } from './init.ts';
import type { ParamSpec } from './scope.ts';

/** One parameter tensor. The shape is frozen; the data is updated in place by training. */
export interface Param {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What `load` skipped in non-strict mode (both lists are empty after a strict load). */
export interface LoadReport {
  /** Names in this store that `other` lacks; their values were left unchanged. */
  missing: string[];
  /** Names in `other` that this store lacks; they were ignored. */
  unexpected: string[];
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class ParamStore {
  private readonly params = new Map<string, Param>();

  /**
   * @param rng the source of randomness for initialiser functions passed to `add`; may be omitted
   *   for stores whose values come from files or explicit arrays.
   */
  constructor(private readonly rng?: Rng) {}

  /**
   * Adds a parameter, initialised by `init`: an `Initializer` (called with this store's `Rng`) or
   * explicit values (copied).
   * @throws UsageError when the name is empty or already used, a dim is not a non-negative integer,
   *   `init` is a function but the store has no `Rng`, or the values do not fit the shape.
   */
  add(name: string, shape: readonly number[], init: Initializer | Float32Array): Param {
    if (name === '') throw new UsageError('A parameter name cannot be empty');
    if (this.params.has(name)) throw new UsageError(`Parameter ${JSON.stringify(name)} is already defined`);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new UsageError(`Parameter ${JSON.stringify(name)}: shape ${formatShape(shape)} has a dim that is not a non-negative integer`);
    }
    let data: Float32Array;
    if (typeof init === 'function') {
      if (!this.rng) throw new UsageError(`Parameter ${JSON.stringify(name)}: this ParamStore has no Rng; create it with new ParamStore(rng) to use initialisers`);
      data = init(shape, this.rng);
    } else {
      data = init.slice();
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new UsageError(`Parameter ${JSON.stringify(name)}: shape ${formatShape(shape)} has ${n} elements but the initial values have ${data.length}`);
    }
    const param: Param = { shape: Object.freeze([...shape]), data };
    this.params.set(name, param);
    return param;
  }

  /** True when a parameter of that name exists. */
  has(name: string): boolean {
    return this.params.has(name);
  }

  /**
   * The parameter of that name (its data is live, not a copy).
   * @throws UsageError when there is none.
   */
  get(name: string): Param {
    const p = this.params.get(name);
    if (!p) throw new UsageError(`No parameter named ${JSON.stringify(name)} (the store has ${this.params.size})`);
    return p;
  }

  /** Parameter names in insertion order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** (name, parameter) pairs in insertion order. */
  entries(): IterableIterator<[string, Param]> {
    return this.params.entries();
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.data.length;
    return n;
  }

  /** Encodes all parameters as a safetensors file, in insertion order. */
  toSafetensors(options?: EncodeOptions): Uint8Array {
    return encodeSafetensors(this.params, options);
  }

  /**
   * A store holding the tensors of a safetensors file (in file order, without an `Rng`).
   * @throws InputError when the bytes are not a valid safetensors file.
   */
  /**
   * The first value that is NaN or +-Infinity, as "name[index] = value", or null when all are finite.
   * A weight file with one corrupt value would otherwise turn every output into NaN.
   */
  firstNonFinite(): string | null {
    for (const [name, p] of this.params) {
      const d = p.data;
      for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) return `${name}[${i}] = ${d[i]}`;
    }
    return null;
  }

  static fromSafetensors(bytes: Uint8Array): ParamStore {
    const store = new ParamStore();
    for (const [name, t] of decodeSafetensors(bytes).tensors) {
      store.params.set(name, { shape: Object.freeze(t.shape), data: t.data });
    }
    return store;
  }

  /**
   * Copies values from `other` into this store's arrays, by name. Nothing is copied unless every
   * check passes. Shapes of common names must always match; strict mode (the default) also requires
   * both stores to have exactly the same names.
   * @returns the names skipped (only non-empty in non-strict mode).
   * @throws InputError listing every difference: shape mismatches, and in strict mode missing and
   *   unexpected names.
   */
  load(other: ParamStore, options: { strict?: boolean } = {}): LoadReport {
    const strict = options.strict ?? true;
    const missing = this.names().filter((n) => !other.params.has(n));
    const unexpected = other.names().filter((n) => !this.params.has(n));
    const problems: string[] = [];
    for (const [name, p] of this.params) {
      const q = other.params.get(name);
      if (q && !sameShape(p.shape, q.shape)) problems.push(`shape mismatch for ${name}: expected ${formatShape(p.shape)}, got ${formatShape(q.shape)}`);
    }
    if (strict) {
      for (const n of missing) problems.push(`missing ${n}`);
      for (const n of unexpected) problems.push(`unexpected ${n}`);
    }
    if (problems.length > 0) {
      throw new InputError(`Cannot load parameters (${problems.length} difference${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    }
    for (const [name, p] of this.params) {
      const q = other.params.get(name);
      if (q) p.data.set(q.data);
    }
    return { missing, unexpected };
  }

  /** A deep copy (same names, shapes and values; no `Rng`), e.g. for an exponential moving average. */
  clone(): ParamStore {
    const copy = new ParamStore();
    for (const [name, p] of this.params) copy.params.set(name, { shape: p.shape, data: p.data.slice() });
    return copy;
  }
}

/** Looks a name up in several stores, first match wins. */
export function lookup(...stores: ParamStore[]): (name: string) => Float32Array | undefined {
  return (name) => {
    for (const s of stores) if (s.has(name)) return s.get(name).data;
    return undefined;
  };
}

/** Weights and batch-norm running statistics of one network. */
export interface NetworkState {
  params: ParamStore;
  buffers: ParamStore;
}

/**
 * Creates freshly initialised stores for a network's specs (seeded): trainable specs go to `params`,
 * the others (batch-norm running statistics) to `buffers`, each in spec order.
 * @example const { params, buffers } = initNetwork(networkSpecs(createNetwork('g1', model)), new Rng(0));
 */
export function initNetwork(specs: readonly ParamSpec[], rng: Rng): NetworkState {
  const params = new ParamStore(rng);
  const buffers = new ParamStore(rng);
  for (const s of specs) (s.trainable ? params : buffers).add(s.name, s.shape, s.init);
  return { params, buffers };
}
