import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphError } from '../core/errors.ts';
import { gradCheck } from '../graph/gradcheck.ts';
import { Graph } from '../graph/graph.ts';
import { l1 } from './pixel.ts';
import { awayFrom, maskFrom, normals, scalar } from './testing.ts';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('l1', () => {
  const a = normals([2, 3, 3, 4], 1);
  const b = normals([2, 3, 3, 4], 2);
  const mask = maskFrom(['0110', '0110', '0000'], ['1111', '0000', '0000']);

  it('is the mean absolute difference', async () => {
    let ref = 0;
    a.data.forEach((v, i) => (ref += Math.abs(v - b.data[i])));
    close(await scalar([a, b], (x, y) => l1(x, y)), ref / a.data.length, 'l1');
  });

  it('with an [N, 1, H, W] mask, is the mean over the masked pixels of every channel', async () => {
    let num = 0;
    let den = 0;
    a.data.forEach((v, i) => {
      const n = Math.floor(i / 36);
      const m = mask.data[n * 12 + (i % 12)];
      num += m * Math.abs(v - b.data[i]);
      den += m;
    });
    assert.equal(den, 24); // 4 + 4 pixels, 3 channels
    close(await scalar([a, b, mask], (x, y, m) => l1(x, y, m)), num / den, 'masked l1');
  });

  it('is 0 for an empty mask', async () => {
    const empty = { shape: mask.shape, data: new Float32Array(24) };
    assert.equal(await scalar([a, b, empty], (x, y, m) => l1(x, y, m)), 0);
  });

  it('has the gradient of finite differences w.r.t. the prediction, with and without a mask', async () => {
    const inputs = [
      { shape: a.shape, values: a.data },
      { shape: a.shape, values: awayFrom(a, 3).data, differentiate: false },
    ];
    const plain = await gradCheck((x, y) => l1(x, y), inputs);
    assert.ok(plain.maxRelError < 1e-2, `plain: ${plain.maxRelError}`);
    const masked = await gradCheck((x, y, m) => l1(x, y, m), [...inputs, { shape: mask.shape, values: mask.data, differentiate: false }]);
    assert.ok(masked.maxRelError < 1e-2, `masked: ${masked.maxRelError}`);
  });

  it('rejects mismatched shapes and a mask that does not broadcast', () => {
    const g = new Graph('bad');
    const x = g.input('x', [2, 3, 4, 4]);
    assert.throws(() => l1(x, g.input('y', [2, 3, 4, 5])), GraphError);
    assert.throws(() => l1(x, g.input('y2', [2, 3, 4, 4]), g.input('m', [2, 1, 2, 2])), GraphError);
  });
});
