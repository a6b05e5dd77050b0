import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { heNormal, ones, zeros } from './init.ts';
import { initNetwork, ParamStore } from './params.ts';

function model(seed = 1): ParamStore {
  const store = new ParamStore(new Rng(seed));
  store.add('conv.weight', [4, 3, 3, 3], heNormal(27));
  store.add('conv.bias', [4], zeros);
  store.add('norm.scale', [4], ones);
  return store;
}

test('add, get, names and count', () => {
  const store = model();
  assert.deepEqual(store.names(), ['conv.weight', 'conv.bias', 'norm.scale']);
  assert.equal(store.count(), 108 + 4 + 4);
  assert.deepEqual(store.get('conv.weight').shape, [4, 3, 3, 3]);
  assert.deepEqual(store.get('norm.scale').data, new Float32Array(4).fill(1));
  assert.ok(store.has('conv.bias'));
  assert.ok(!store.has('conv'));
  assert.deepEqual(model(1).get('conv.weight').data, store.get('conv.weight').data, 'seeded');
  assert.notDeepEqual(model(2).get('conv.weight').data, store.get('conv.weight').data);

  const values = new Float32Array([1, 2]);
  const explicit = store.add('explicit', [2], values);
  values[0] = 9;
  assert.deepEqual(explicit.data, new Float32Array([1, 2]), 'explicit values are copied');
  assert.deepEqual([...store.entries()].map(([n]) => n), [...store.names()]);
});

test('add and get reject misuse with UsageError', () => {
  const store = model();
  assert.throws(() => store.add('conv.bias', [4], zeros), { name: 'UsageError', message: /already defined/ });
  assert.throws(() => store.add('', [4], zeros), UsageError);
  assert.throws(() => store.add('x', [2, -1], zeros), { name: 'UsageError', message: /non-negative integer/ });
  assert.throws(() => store.add('x', [3], new Float32Array(2)), { name: 'UsageError', message: /3 elements but the initial values have 2/ });
  assert.throws(() => new ParamStore().add('x', [3], zeros), { name: 'UsageError', message: /no Rng/ });
  assert.throws(() => store.get('nope'), { name: 'UsageError', message: /"nope"/ });
  assert.equal(store.count(), 116, 'failed adds leave the store unchanged');
});

test('safetensors round trip keeps names, order, shapes and values', () => {
  const store = model();
  const copy = ParamStore.fromSafetensors(store.toSafetensors());
  assert.deepEqual(copy.names(), store.names());
  for (const name of store.names()) assert.deepEqual(copy.get(name), store.get(name));

  const half = ParamStore.fromSafetensors(store.toSafetensors({ dtype: 'float16' }));
  const w = store.get('conv.weight').data;
  const h = half.get('conv.weight').data;
  assert.notDeepEqual(h, w, 'float16 rounds');
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(h[i] - w[i]) <= Math.abs(w[i]) * 2 ** -11 + 2 ** -25);
  assert.throws(() => ParamStore.fromSafetensors(new Uint8Array(3)), InputError);
});

test('strict load copies every value into the existing arrays', () => {
  const target = model(1);
  const source = model(2);
  const weightArray = target.get('conv.weight').data;
  assert.deepEqual(target.load(source), { missing: [], unexpected: [] });
  assert.equal(target.get('conv.weight').data, weightArray, 'same array: optimisers keep their references');
  assert.deepEqual(weightArray, source.get('conv.weight').data);
  source.get('conv.weight').data[0] = 123;
  assert.notEqual(weightArray[0], 123, 'values are copied, not shared');
});

test('strict load lists every difference and changes nothing', () => {
  const target = model(1);
  const before = target.get('conv.weight').data.slice();
  const other = new ParamStore(new Rng(5));
  other.add('conv.weight', [4, 3, 3, 3], heNormal(27));
  other.add('conv.bias', [5], zeros);
  other.add('extra', [1], ones);
  assert.throws(() => target.load(other, { strict: true }), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /3 differences/);
    assert.match(err.message, /shape mismatch for conv\.bias: expected \[4\], got \[5\]/);
    assert.match(err.message, /missing norm\.scale/);
    assert.match(err.message, /unexpected extra/);
    return true;
  });
  assert.deepEqual(target.get('conv.weight').data, before);
});

test('non-strict load copies the common names and reports the rest', () => {
  const target = model(1);
  const other = new ParamStore(new Rng(5));
  other.add('conv.weight', [4, 3, 3, 3], heNormal(27));
  other.add('extra', [1], ones);
  const bias = target.get('conv.bias').data.slice();
  assert.deepEqual(target.load(other, { strict: false }), { missing: ['conv.bias', 'norm.scale'], unexpected: ['extra'] });
  assert.deepEqual(target.get('conv.weight').data, other.get('conv.weight').data);
  assert.deepEqual(target.get('conv.bias').data, bias);
  assert.ok(!target.has('extra'));

  other.add('conv.bias', [2, 2], zeros);
  assert.throws(() => target.load(other, { strict: false }), { name: 'InputError', message: /1 difference\):\n  shape mismatch for conv\.bias/ });
});

test('clone is a deep copy', () => {
  const store = model();
  const copy = store.clone();
  assert.deepEqual(copy.names(), store.names());
  assert.deepEqual(copy.get('conv.weight'), store.get('conv.weight'));
  copy.get('conv.weight').data[0] += 1;
  assert.notEqual(copy.get('conv.weight').data[0], store.get('conv.weight').data[0]);
});

test('initNetwork puts trainable specs in params and the others in buffers, seeded', () => {
  const specs = [
    { name: 'conv.weight', shape: [2, 1, 3, 3], init: heNormal(9), trainable: true },
    { name: 'bn.running_var', shape: [2], init: ones, trainable: false },
    { name: 'bn.bias', shape: [2], init: zeros, trainable: true },
  ];
  const a = initNetwork(specs, new Rng(3));
  assert.deepEqual(a.params.names(), ['conv.weight', 'bn.bias']);
  assert.deepEqual(a.buffers.names(), ['bn.running_var']);
  assert.deepEqual([...a.buffers.get('bn.running_var').data], [1, 1]);
  assert.deepEqual(a.params.get('conv.weight').data, initNetwork(specs, new Rng(3)).params.get('conv.weight').data);
  assert.notDeepEqual(a.params.get('conv.weight').data, initNetwork(specs, new Rng(4)).params.get('conv.weight').data);
});
