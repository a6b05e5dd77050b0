import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradients } from '../graph/autodiff.ts';
import { gradCheck } from '../graph/gradcheck.ts';
import { discriminatorLoss, generatorLoss } from './adversarial.ts';
import { normals, runGraph, scalar } from './testing.ts';

const mean = (xs: ArrayLike<number>, f: (x: number) => number) => Array.from(xs, f).reduce((a, b) => a + b, 0) / xs.length;
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('adversarial losses', () => {
  it('match -log D(real) - log(1 - D(fake)) and -log D(fake) on random logits', async () => {
    const real = normals([2, 1, 5, 5], 1);
    const fake = normals([2, 1, 5, 5], 2);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const dRef = mean(real.data, (x) => -Math.log(sig(x))) + mean(fake.data, (x) => -Math.log(1 - sig(x)));
    close(await scalar([real, fake], discriminatorLoss), dRef, 1e-5, 'discriminator');
    close(await scalar([fake], generatorLoss), mean(fake.data, (x) => -Math.log(sig(x))), 1e-5, 'generator');
  });

  it('are 2 ln 2 and ln 2 at chance', async () => {
    const zero = { shape: [1, 1, 3, 3], data: new Float32Array(9) };
    close(await scalar([zero, zero], discriminatorLoss), 2 * Math.LN2, 1e-6, 'discriminator');
    close(await scalar([zero], generatorLoss), Math.LN2, 1e-6, 'generator');
  });

  it('stay finite, with finite and correct gradients, for logits of magnitude 100', async () => {
    const logits = Float32Array.of(100, -100, 100, -100);
    const fed = { shape: [1, 1, 2, 2], data: logits };
    const out = await runGraph([fed, fed], (real, fake) => {
      const d = discriminatorLoss(real, fake);
      const g = generatorLoss(fake);
      const [dReal, dFake] = gradients(d, [real, fake]);
      const [gFake] = gradients(g, [fake]);
      return { d, g, dReal, dFake, gFake };
    });
    // Each +-100 pair contributes softplus(100) + softplus(-100) = 100 + ~4e-44 to a sum over 4 logits.
    close(out.d[0], 100, 1e-6, 'discriminator');
    close(out.g[0], 50, 1e-6, 'generator');
    for (const name of ['dReal', 'dFake', 'gFake']) assert.ok(out[name].every(Number.isFinite), `${name} = ${out[name]}`);
    // d/dx mean softplus(-x) = -sigmoid(-x) / n; d/dx mean softplus(x) = sigmoid(x) / n.
    logits.forEach((x, i) => {
      close(out.dReal[i], x > 0 ? 0 : -0.25, 1e-6, `dReal[${i}]`);
      close(out.dFake[i], x > 0 ? 0.25 : 0, 1e-6, `dFake[${i}]`);
      close(out.gFake[i], x > 0 ? 0 : -0.25, 1e-6, `gFake[${i}]`);
    });
  });

  it('have the gradients of finite differences w.r.t. the logits', async () => {
    const d = await gradCheck((r, f) => discriminatorLoss(r, f), [{ shape: [2, 1, 3, 3] }, { shape: [2, 1, 3, 3] }]);
    assert.ok(d.maxRelError < 1e-2, `discriminator: max relative error ${d.maxRelError}`);
    const g = await gradCheck((f) => generatorLoss(f), [{ shape: [2, 1, 3, 3] }]);
    assert.ok(g.maxRelError < 1e-2, `generator: max relative error ${g.maxRelError}`);
  });
});
