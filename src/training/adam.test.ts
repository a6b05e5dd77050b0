import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { normal } from '../nn/init.ts';
import { ParamStore } from '../nn/params.ts';
import { encodeSafetensors } from '../nn/safetensors.ts';
import { Adam } from './adam.ts';

const P0 = [0.5, -1.25, 2, 0];
const GRADS = [
  [0.1, -0.2, 3, 0],
  [-0.4, 0.05, 2, 1e-3],
  [0.3, -0.6, -1, 0],
];

function store(values: number[]): ParamStore {
  const s = new ParamStore();
  s.add('w', [values.length], new Float32Array(values));
  return s;
}

/** Adam/AdamW exactly as written in the papers, in float64. */
function reference(lr: number, b1: number, b2: number, eps: number, wd: number) {
  const p = [...P0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  GRADS.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  });
  return { p, m, v };
}

function assertClose(actual: ArrayLike<number>, expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('three steps match the float64 reference (Adam and AdamW)', () => {
  for (const wd of [0, 0.1]) {
    const params = store(P0);
    const adam = new Adam(params, { lr: 0.1, weightDecay: wd });
    for (const g of GRADS) adam.step({ w: new Float32Array(g) });
    const ref = reference(0.1, 0.9, 0.999, 1e-8, wd);
    assertClose(params.get('w').data, ref.p, 1e-6, `p (wd=${wd})`);
    const state = adam.state();
    assert.equal(state.step, 3);
    assert.equal(adam.stepCount, 3);
    assertClose(state.m.get('w')!, ref.m, 1e-7, 'm');
    assertClose(state.v.get('w')!, ref.v, 1e-7, 'v');
    assert.deepEqual(state.options, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd });
  }
  // Non-default betas and eps are honoured.
  const params = store(P0);
  const adam = new Adam(params, { lr: 0.01, beta1: 0.5, beta2: 0.9, eps: 1e-3 });
  for (const g of GRADS) adam.step(new Map([['w', new Float32Array(g)]]));
  assertClose(params.get('w').data, reference(0.01, 0.5, 0.9, 1e-3, 0).p, 1e-6, 'p (custom)');
});

test('minimises a quadratic, with a learning-rate schedule', () => {
  const rng = new Rng(3);
  const params = new ParamStore(rng);
  params.add('a', [50], normal(1));
  params.add('b', [5, 5], normal(1));
  const target = new Map(params.names().map((n) => [n, normal(1)(params.get(n).shape, rng)]));
  const curvature = new Map(params.names().map((n) => [n, new Float32Array(params.get(n).data.length).map(() => rng.uniform(0.1, 10))]));
  const grads = new Map(params.names().map((n) => [n, new Float32Array(params.get(n).data.length)]));
  const loss = () => {
    let sum = 0;
    for (const [n, p] of params.entries()) {
      for (let i = 0; i < p.data.length; i++) sum += 0.5 * curvature.get(n)![i] * (p.data[i] - target.get(n)![i]) ** 2;
    }
    return sum;
  };
  const initial = loss();
  const adam = new Adam(params, { lr: 0.1 });
  for (let t = 0; t < 1500; t++) {
    adam.lr = 0.1 * 0.997 ** t;
    for (const [n, p] of params.entries()) {
      const g = grads.get(n)!;
      for (let i = 0; i < g.length; i++) g[i] = curvature.get(n)![i] * (p.data[i] - target.get(n)![i]);
    }
    adam.step(grads);
  }
  assert.ok(initial > 10, `initial loss ${initial}`);
  assert.ok(loss() < 1e-6, `final loss ${loss()}`);
  assert.equal(adam.lr, 0.1 * 0.997 ** 1499);
});

test('save and restore mid-run gives bit-identical later steps', () => {
  const rng = new Rng(9);
  const params = new ParamStore(rng);
  params.add('x', [3, 4], normal(1));
  params.add('y', [7], normal(1));
  const gradients = Array.from({ length: 10 }, () => ({ x: normal(1)([12], rng), y: normal(1)([7], rng) }));
  const adam = new Adam(params, { lr: 0.05, beta2: 0.99, weightDecay: 0.01 });
  for (const g of gradients.slice(0, 5)) adam.step(g);
  adam.lr = 0.0123456789;

  const savedParams = params.toSafetensors();
  const savedAdam = adam.toSafetensors();
  for (const g of gradients.slice(5)) adam.step(g);

  const restoredParams = ParamStore.fromSafetensors(savedParams);
  const restored = Adam.fromSafetensors(savedAdam, restoredParams);
  assert.equal(restored.stepCount, 5);
  assert.deepEqual(restored.options(), { lr: 0.0123456789, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 });
  for (const g of gradients.slice(5)) restored.step(g);
  assert.equal(restored.stepCount, 10);
  for (const n of params.names()) assert.deepEqual(restoredParams.get(n).data, params.get(n).data, n);
  const a = adam.state();
  const b = restored.state();
  assert.deepEqual(b.m, a.m);
  assert.deepEqual(b.v, a.v);
});

test('step rejects missing, unknown and mis-sized gradients and changes nothing', () => {
  const params = store(P0);
  params.add('b', [2], new Float32Array(2));
  const adam = new Adam(params, { lr: 0.1 });
  const w = new Float32Array(4).fill(1);
  const b = new Float32Array(2).fill(1);
  assert.throws(() => adam.step({ w }), { name: 'UsageError', message: /no Float32Array gradient for parameter "b"/ });
  assert.throws(() => adam.step({ w, b: new Float32Array(3) }), { name: 'UsageError', message: /"b" has 3 elements, the parameter has 2/ });
  assert.throws(() => adam.step(new Map([['w', w], ['b', b], ['c', b]])), { name: 'UsageError', message: /unknown parameters: "c"/ });
  assert.throws(() => adam.step({ w, b, c: b }), { name: 'UsageError', message: /unknown parameters: "c"/ });
  assert.throws(() => adam.step({ w, b: [1, 1] as unknown as Float32Array }), UsageError);
  assert.equal(adam.stepCount, 0);
  assert.deepEqual(params.get('w').data, new Float32Array(P0));
  assert.deepEqual(adam.state().m.get('w'), new Float32Array(4));
  adam.step({ w, b });
  assert.equal(adam.stepCount, 1);
});

test('options are validated', () => {
  const params = store(P0);
  assert.throws(() => new Adam(params, { lr: -1 }), { name: 'UsageError', message: /lr/ });
  assert.throws(() => new Adam(params, { lr: 0.1, beta1: 1 }), { name: 'UsageError', message: /beta1/ });
  assert.throws(() => new Adam(params, { lr: 0.1, beta2: -0.5 }), { name: 'UsageError', message: /beta2/ });
  assert.throws(() => new Adam(params, { lr: 0.1, eps: 0 }), { name: 'UsageError', message: /eps/ });
  assert.throws(() => new Adam(params, { lr: 0.1, weightDecay: NaN }), { name: 'UsageError', message: /weightDecay/ });
  const adam = new Adam(params, { lr: 0.1 });
  assert.throws(() => {
    adam.lr = Infinity;
  }, UsageError);
  assert.equal(adam.lr, 0.1);
});

test('fromSafetensors rejects files that are not a matching Adam state', () => {
  const params = store(P0);
  const adam = new Adam(params, { lr: 0.1 });
  adam.step({ w: new Float32Array(4).fill(1) });
  const saved = adam.toSafetensors();

  assert.throws(() => Adam.fromSafetensors(params.toSafetensors(), params), { name: 'InputError', message: /Not a saved Adam state/ });
  const other = store([1, 2]);
  other.add('extra', [1], new Float32Array(1));
  assert.throws(() => Adam.fromSafetensors(saved, other), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /m\.w has 4 elements, the parameter has 2/);
    assert.match(err.message, /missing v\.extra/);
    return true;
  });
  const withExtra = new Map([...adam.state().m].map(([n, d]) => [`m.${n}`, { shape: [4], data: d }]));
  withExtra.set('v.w', { shape: [4], data: new Float32Array(4) });
  withExtra.set('m.gone', { shape: [1], data: new Float32Array(1) });
  const metadata = { format: 'adam/1', step: '1', lr: '0.1', beta1: '0.9', beta2: '0.999', eps: '1e-8', weightDecay: '0' };
  assert.throws(() => Adam.fromSafetensors(encodeSafetensors(withExtra, { metadata }), params), { name: 'InputError', message: /unexpected m\.gone/ });
  withExtra.delete('m.gone');
  assert.equal(Adam.fromSafetensors(encodeSafetensors(withExtra, { metadata }), params).stepCount, 1);
  assert.throws(() => Adam.fromSafetensors(encodeSafetensors(withExtra, { metadata: { ...metadata, step: '1.5' } }), params), {
    name: 'InputError',
    message: /step 1.5/,
  });
  assert.throws(() => Adam.fromSafetensors(encodeSafetensors(withExtra, { metadata: { ...metadata, eps: '' } }), params), {
    name: 'InputError',
    message: /metadata eps is not a number/,
  });
  assert.throws(() => Adam.fromSafetensors(encodeSafetensors(withExtra, { metadata: { ...metadata, beta1: '2' } }), params), {
    name: 'InputError',
    message: /invalid options.*beta1/,
  });
});
