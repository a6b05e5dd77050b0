/**
 * Adam with bias correction and optional decoupled weight decay (AdamW, Loshchilov & Hutter 2019),
 * updating a `ParamStore`'s arrays in place. Per step t, for each element:
 *
 *   p ← p · (1 − lr·wd)                       (decoupled decay, skipped when wd = 0)
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   p ← p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)
 *
 * The moments are float32 like the parameters (half the memory of float64), which also makes a saved
 * state restore bit-for-bit: resumed training takes exactly the steps it would have taken.
 */
import { InputError, UsageError } from '../core/errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.ts';
import type { ParamStore } from '../nn/params.ts';

export interface AdamOptions {
  /** Learning rate; also settable later through `Adam.lr` for schedules. */
  lr: number;
  /** Decay rate of the first moment (default 0.9). */
  beta1?: number;
  /** Decay rate of the second moment (default 0.999). */
  beta2?: number;
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay coefficient, AdamW style (default 0). */
  weightDecay?: number;
}

/** A snapshot of the optimiser: step count, copies of the moments, and the options in force. */
export interface AdamState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  options: Required<AdamOptions>;
}

/** Gradients by parameter name; each must have exactly its parameter's element count. */
export type Gradients = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

/** Written into saved states so that some other file is not mistaken for one. */
const FORMAT = 'adam/1';

function checkOptions(o: Required<AdamOptions>): void {
  const bad = (name: string, want: string, got: number) => new UsageError(`Expected ${want} for Adam ${name} but received ${got}`);
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) throw bad('lr', 'a non-negative finite number', o.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw bad('beta1', 'a number in [0, 1)', o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw bad('beta2', 'a number in [0, 1)', o.beta2);
  if (!(Number.isFinite(o.eps) && o.eps > 0)) throw bad('eps', 'a positive finite number', o.eps);
  if (!(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) throw bad('weightDecay', 'a non-negative finite number', o.weightDecay);
}

/** The gradient for a name, from either kind of container; only own properties count for records. */
function gradient(grads: Gradients, name: string): Float32Array | undefined {
  if (grads instanceof Map) return grads.get(name);
  const record = grads as Readonly<Record<string, Float32Array>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private lrValue: number;
  private steps = 0;
  // Parallel arrays fixed at construction, so that `step` allocates nothing and reaches each tensor by index.
  private readonly names: readonly string[];
  private readonly params: readonly Float32Array[];
  private readonly m: readonly Float32Array[];
  private readonly v: readonly Float32Array[];

  /**
   * Optimises the parameters present in `params` now (parameters added later are not covered).
   * @throws UsageError when an option is out of range.
   */
  constructor(params: ParamStore, options: AdamOptions) {
    const o: Required<AdamOptions> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...options };
    checkOptions(o);
    this.lrValue = o.lr;
    this.beta1 = o.beta1;
    this.beta2 = o.beta2;
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    this.names = params.names();
    this.params = this.names.map((n) => params.get(n).data);
    this.m = this.params.map((p) => new Float32Array(p.length));
    this.v = this.params.map((p) => new Float32Array(p.length));
  }

  /** The learning rate used by the next `step`. */
  get lr(): number {
    return this.lrValue;
  }

  /** @throws UsageError when the value is negative or not finite. */
  set lr(value: number) {
    checkOptions({ ...this.options(), lr: value });
    this.lrValue = value;
  }

  /** Number of steps taken so far (the t of the bias correction). */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Applies one update with the given gradients. All gradients are checked before any parameter
   * changes, so a failed call leaves parameters and state untouched.
   * @throws UsageError when a parameter has no gradient, a gradient's length differs from its
   *   parameter's, or a gradient names no parameter.
   */
  step(grads: Gradients): void {
    let given = 0;
    if (grads instanceof Map) {
      given = grads.size;
    } else {
      for (const key in grads) if (Object.hasOwn(grads, key)) given++;
    }
    for (let k = 0; k < this.names.length; k++) {
      const g = gradient(grads, this.names[k]);
      if (!(g instanceof Float32Array)) throw new UsageError(`Adam.step: no Float32Array gradient for parameter ${JSON.stringify(this.names[k])}`);
      if (g.length !== this.params[k].length) {
        throw new UsageError(`Adam.step: gradient for ${JSON.stringify(this.names[k])} has ${g.length} elements, the parameter has ${this.params[k].length}`);
      }
    }
    if (given !== this.names.length) {
      const known = new Set(this.names);
      const extra = (grads instanceof Map ? [...grads.keys()] : Object.keys(grads)).filter((n) => !known.has(n));
      throw new UsageError(`Adam.step: gradients for unknown parameters: ${extra.map((n) => JSON.stringify(n)).join(', ')}`);
    }

    const t = ++this.steps;
    const { beta1, beta2, eps } = this;
    const lr = this.lrValue;
    // Bias correction folded into two scalars, as in PyTorch: lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε).
    const stepSize = lr / (1 - beta1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** t);
    const decay = 1 - lr * this.weightDecay;
    const a1 = 1 - beta1;
    const a2 = 1 - beta2;
    for (let k = 0; k < this.names.length; k++) {
      const p = this.params[k];
      const m = this.m[k];
      const v = this.v[k];
      const g = gradient(grads, this.names[k]) as Float32Array;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = beta1 * m[i] + a1 * gi;
        const vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }

  /** The options in force (with the current learning rate). */
  options(): Required<AdamOptions> {
    return { lr: this.lrValue, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  /** A snapshot of the state; the moment arrays are copies. */
  state(): AdamState {
    const copy = (arrays: readonly Float32Array[]) => new Map(this.names.map((n, k) => [n, arrays[k].slice()]));
    return { step: this.steps, m: copy(this.m), v: copy(this.v), options: this.options() };
  }

  /**
   * Encodes the state as a safetensors file: tensors `m.<name>` and `v.<name>` (float32, exact) and
   * the step count and options in the metadata.
   */
  toSafetensors(): Uint8Array {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [prefix, arrays] of [['m', this.m], ['v', this.v]] as const) {
      this.names.forEach((n, k) => tensors.set(`${prefix}.${n}`, { shape: [arrays[k].length], data: arrays[k] }));
    }
    const metadata: Record<string, string> = { format: FORMAT, step: String(this.steps) };
    // String(number) round-trips every double exactly.
    for (const [k, val] of Object.entries(this.options())) metadata[k] = String(val);
    return encodeSafetensors(tensors, { metadata });
  }

  /**
   * Restores an optimiser saved by `toSafetensors` for the given parameters (which must be the same
   * names and sizes as when it was saved; their values are not touched).
   * @throws InputError when the bytes are not a saved Adam state, the metadata is invalid, or the
   *   moments do not match the parameters (each difference is listed).
   */
  static fromSafetensors(bytes: Uint8Array, params: ParamStore): Adam {
    const { tensors, metadata } = decodeSafetensors(bytes);
    if (metadata.format !== FORMAT) {
      throw new InputError(`Not a saved Adam state: metadata format is ${JSON.stringify(metadata.format)}, expected ${JSON.stringify(FORMAT)}`);
    }
    const num = (key: string): number => {
      const value = metadata[key] === undefined || metadata[key].trim() === '' ? NaN : Number(metadata[key]);
      if (Number.isNaN(value)) throw new InputError(`Saved Adam state: metadata ${key} is not a number (${JSON.stringify(metadata[key])})`);
      return value;
    };
    const step = num('step');
    if (!Number.isSafeInteger(step) || step < 0) throw new InputError(`Saved Adam state: step ${step} is not a non-negative integer`);
    let adam: Adam;
    try {
      adam = new Adam(params, { lr: num('lr'), beta1: num('beta1'), beta2: num('beta2'), eps: num('eps'), weightDecay: num('weightDecay') });
    } catch (err) {
      if (err instanceof UsageError) throw new InputError(`Saved Adam state has invalid options: ${err.message}`, { cause: err });
      throw err;
    }

    const problems: string[] = [];
    const expected = new Set<string>();
    for (const [prefix, arrays] of [['m', adam.m], ['v', adam.v]] as const) {
      adam.names.forEach((n, k) => {
        const key = `${prefix}.${n}`;
        expected.add(key);
        const t = tensors.get(key);
        if (!t) problems.push(`missing ${key}`);
        else if (t.data.length !== arrays[k].length) problems.push(`${key} has ${t.data.length} elements, the parameter has ${arrays[k].length}`);
        else arrays[k].set(t.data);
      });
    }
    for (const key of tensors.keys()) if (!expected.has(key)) problems.push(`unexpected ${key}`);
    if (problems.length > 0) throw new InputError(`Saved Adam state does not match the parameters:\n  ${problems.join('\n  ')}`);
    adam.steps = step;
    return adam;
  }
}
