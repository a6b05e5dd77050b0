import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { gradCheck } from '../graph/gradcheck.ts';
import { Graph } from '../graph/graph.ts';
import { boundaryWeights, DEFAULT_BOUNDARY_WEIGHT, maskedPerceptualL1, PATCH_NORM_WEIGHT, patchCosineLoss, perceptualL2 } from './perceptual.ts';
import { awayFrom, type Fed, maskFrom, normals, runGraph, scalar } from './testing.ts';

/** M_F in plain TS: hole 1, hole within `band` cells (Chebyshev) of a known cell `weight`, known 0. */
function refWeights(mask: Fed, weight: number, band: number): number[] {
  const [n, , h, w] = mask.shape;
  const m = (b: number, y: number, x: number) => mask.data[(b * h + y) * w + x];
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let nearKnown = 0;
        for (let dy = -band; dy <= band; dy++) {
          for (let dx = -band; dx <= band; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w) nearKnown = Math.max(nearKnown, 1 - m(b, yy, xx));
          }
        }
        out.push(m(b, y, x) * (1 + (weight - 1) * nearKnown));
      }
    }
  }
  return out;
}

/** G1's loss in plain TS (float64). */
function refMaskedL1(pred: Fed, gt: Fed, mask: Fed, weight: number, band: number): number {
  const [n, c, h, w] = pred.shape;
  const wts = refWeights(mask, weight, band);
  let num = 0;
  let den = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const i = (b * c + ch) * h * w + p;
        num += wts[b * h * w + p] * Math.abs(pred.data[i] - gt.data[i]);
        den += wts[b * h * w + p];
      }
    }
  }
  return num / den;
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

const RING = ['0000000', '0111110', '0111110', '0111110', '0111110', '0000000'];

async function weightsOf(mask: Fed, options?: { boundaryWeight?: number; bandWidth?: number }): Promise<number[]> {
  return [...(await runGraph([mask], (m) => ({ w: boundaryWeights(m, options) }))).w];
}

/** Repeats an [N, C, h, w] tensor 2x along both spatial axes. */
function tile2(x: Fed): Fed {
  const [n, c, h, w] = x.shape;
  const data = new Float32Array(4 * x.data.length);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < 2 * h; y++) {
      for (let xx = 0; xx < 2 * w; xx++) data[(p * 2 * h + y) * 2 * w + xx] = x.data[(p * h + (y % h)) * w + (xx % w)];
    }
  }
  return { shape: [n, c, 2 * h, 2 * w], data };
}

describe('boundaryWeights', () => {
  it('gives the hand-made mask its band: 5 on the hole cells touching known cells, 1 inside, 0 known', async () => {
    const expected = [
      [0, 0, 0, 0, 0, 0, 0],
      [0, 5, 5, 5, 5, 5, 0],
      [0, 5, 1, 1, 1, 5, 0],
      [0, 5, 1, 1, 1, 5, 0],
      [0, 5, 5, 5, 5, 5, 0],
      [0, 0, 0, 0, 0, 0, 0],
    ].flat();
    assert.equal(DEFAULT_BOUNDARY_WEIGHT, 5);
    assert.deepEqual(await weightsOf(maskFrom(RING)), expected);
  });

  it('widens the band with bandWidth and scales it with boundaryWeight', async () => {
    // Every cell of the 4-row hole is within 2 cells of a known cell.
    assert.deepEqual(await weightsOf(maskFrom(RING), { bandWidth: 2, boundaryWeight: 3 }), RING.flatMap((r) => [...r].map((v) => 3 * Number(v))));
  });

  it('does not treat the image border as a boundary', async () => {
    const mask = maskFrom(['1110', '1110', '1110']);
    assert.deepEqual(await weightsOf(mask), [1, 1, 5, 0, 1, 1, 5, 0, 1, 1, 5, 0]);
  });

  it('matches the plain-TS reference on random and fractional masks', async () => {
    const rng = new Rng(3);
    const binary = { shape: [2, 1, 7, 9], data: Float32Array.from({ length: 126 }, () => (rng.next() < 0.6 ? 1 : 0)) };
    const soft = { shape: [2, 1, 7, 9], data: Float32Array.from({ length: 126 }, () => rng.next()) };
    for (const mask of [binary, soft]) {
      const got = await weightsOf(mask, { boundaryWeight: 4, bandWidth: 2 });
      refWeights(mask, 4, 2).forEach((e, i) => close(got[i], e, 1e-6, `weight ${i}`));
    }
  });

  it('rejects invalid options and masks', () => {
    const g = new Graph('bad');
    const mask = g.input('m', [1, 1, 4, 4]);
    assert.throws(() => boundaryWeights(mask, { bandWidth: 0 }), UsageError);
    assert.throws(() => boundaryWeights(mask, { bandWidth: 1.5 }), UsageError);
    assert.throws(() => boundaryWeights(mask, { boundaryWeight: -1 }), UsageError);
    assert.throws(() => boundaryWeights(mask, { boundaryWeight: Number.NaN }), UsageError);
    assert.throws(() => boundaryWeights(g.input('m3', [1, 3, 4, 4])), GraphError);
  });
});

describe('maskedPerceptualL1', () => {
  it('matches the plain-TS reference on random inputs', async () => {
    const pred = normals([2, 3, 6, 7], 1);
    const gt = normals([2, 3, 6, 7], 2);
    const mask = maskFrom(RING, ['0000000', '0000000', '0011100', '0011100', '0011100', '0000000']);
    for (const [weight, band] of [[5, 1], [2.5, 2], [1, 1]]) {
      const got = await scalar([pred, gt, mask], (p, t, m) => maskedPerceptualL1(p, t, m, { boundaryWeight: weight, bandWidth: band }));
      close(got, refMaskedL1(pred, gt, mask, weight, band), 1e-5, `weight ${weight} band ${band}`);
    }
  });

  it('counts an error on a band cell 5 times one inside the hole, and ignores known cells', async () => {
    const mask = maskFrom(RING);
    const gt = { shape: [1, 2, 6, 7], data: new Float32Array(84) };
    const errorAt = (y: number, x: number) => {
      const data = new Float32Array(84);
      data[y * 7 + x] = 1; // channel 0
      return { shape: gt.shape, data };
    };
    const loss = (pred: Fed) => scalar([pred, gt, mask], (p, t, m) => maskedPerceptualL1(p, t, m));
    const band = await loss(errorAt(1, 1));
    const inner = await loss(errorAt(2, 2));
    assert.ok(inner > 0, `inner ${inner}`);
    close(band / inner, 5, 1e-5, 'band / inner');
    assert.equal(await loss(errorAt(0, 0)), 0);
  });

  it('is the mean error whatever the hole size: a constant error c gives c', async () => {
    const gt = normals([1, 4, 6, 7], 4);
    const pred = { shape: gt.shape, data: gt.data.map((v, i) => v + (i % 2 ? 0.25 : -0.25)) };
    const small = maskFrom(['0000000', '0000000', '0001000', '0000000', '0000000', '0000000']);
    for (const mask of [maskFrom(RING), small]) {
      close(await scalar([pred, gt, mask], (p, t, m) => maskedPerceptualL1(p, t, m)), 0.25, 1e-5, 'constant error');
    }
  });

  it('gives the same value for an image tiled 2x with its tiled mask (no dependence on image size)', async () => {
    const pred = normals([2, 3, 6, 7], 5);
    const gt = normals([2, 3, 6, 7], 6);
    const mask = maskFrom(RING, RING);
    const once = await scalar([pred, gt, mask], (p, t, m) => maskedPerceptualL1(p, t, m));
    const tiled = await scalar([tile2(pred), tile2(gt), tile2(mask)], (p, t, m) => maskedPerceptualL1(p, t, m));
    close(tiled, once, 1e-5, 'tiled');
  });

  it('is 0 when there is no hole', async () => {
    const pred = normals([1, 2, 4, 4], 7);
    const none = { shape: [1, 1, 4, 4], data: new Float32Array(16) };
    assert.equal(await scalar([pred, normals([1, 2, 4, 4], 8), none], (p, t, m) => maskedPerceptualL1(p, t, m)), 0);
  });

  it('has the gradient of finite differences w.r.t. the prediction', async () => {
    const pred = normals([2, 3, 6, 7], 9);
    const mask = maskFrom(RING, RING.map((r) => [...r].reverse().join('')));
    const res = await gradCheck((p, t, m) => maskedPerceptualL1(p, t, m), [
      { shape: pred.shape, values: pred.data },
      { shape: pred.shape, values: awayFrom(pred, 10).data, differentiate: false },
      { shape: mask.shape, values: mask.data, differentiate: false },
    ]);
    assert.ok(res.maxRelError < 1e-2, `max relative error ${res.maxRelError}`);
  });

  it('rejects mismatched shapes', () => {
    const g = new Graph('bad');
    const f = g.input('f', [1, 3, 4, 4]);
    assert.throws(() => maskedPerceptualL1(f, g.input('t', [1, 3, 4, 5]), g.input('m', [1, 1, 4, 4])), GraphError);
    assert.throws(() => maskedPerceptualL1(f, g.input('t2', [1, 3, 4, 4]), g.input('m2', [1, 1, 2, 2])), GraphError);
  });
});

describe('perceptualL2', () => {
  it('is the mean squared difference', async () => {
    const pred = normals([2, 3, 4, 5], 11);
    const gt = normals([2, 3, 4, 5], 12);
    let ref = 0;
    pred.data.forEach((v, i) => (ref += (v - gt.data[i]) ** 2));
    close(await scalar([pred, gt], perceptualL2), ref / pred.data.length, 1e-5, 'l2');
  });

  it('has the gradient of finite differences w.r.t. the prediction', async () => {
    const res = await gradCheck((p, t) => perceptualL2(p, t), [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 4, 5], differentiate: false }]);
    assert.ok(res.maxRelError < 1e-2, `max relative error ${res.maxRelError}`);
  });

  it('rejects mismatched shapes', () => {
    const g = new Graph('bad');
    assert.throws(() => perceptualL2(g.input('a', [1, 2, 3, 3]), g.input('b', [1, 3, 3, 3])), GraphError);
  });
});

/** The feature guide's loss in plain TS (float64): 1 - cosine of the 3x3 patches + the norm term, averaged over hole cells. */
function refPatchCosine(pred: Fed, truth: Fed, cells: Fed): number {
  const [n, c, h, w] = pred.shape;
  const perCell = (x: Fed, y: Fed) => {
    const out = new Float64Array(n * h * w);
    for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[b * h * w + p] += x.data[(b * c + ch) * h * w + p] * y.data[(b * c + ch) * h * w + p];
    return out;
  };
  const [pp, tt, pt] = [perCell(pred, pred), perCell(truth, truth), perCell(pred, truth)];
  const patch = (v: Float64Array, b: number, y: number, x: number) => {
    let sum = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w) sum += v[b * h * w + (y + dy) * w + x + dx];
    return sum / 9;
  };
  let num = 0;
  let den = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = b * h * w + y * w + x;
        const cosine = patch(pt, b, y, x) / Math.sqrt(patch(pp, b, y, x) * patch(tt, b, y, x) + 1e-6);
        const norm = Math.abs(Math.sqrt(pp[i] + 1e-6) - Math.sqrt(tt[i] + 1e-6));
        num += cells.data[i] * (1 - cosine + PATCH_NORM_WEIGHT * norm);
        den += cells.data[i];
      }
    }
  }
  return num / Math.max(den, 1);
}

describe('patchCosineLoss', () => {
  const HOLE = ['0000000', '0000000', '0011100', '0011100', '0000000', '0000000'];
  const loss = (pred: Fed, truth: Fed, cells: Fed) => scalar([pred, truth, cells], patchCosineLoss);
  /** rectified normals: relu3_1-like features, sparse and non-negative */
  const features = (seed: number): Fed => {
    const x = normals([2, 5, 6, 7], seed);
    return { shape: x.shape, data: x.data.map((v) => Math.max(0, v)) };
  };

  it('matches the plain-TS reference on random inputs', async () => {
    const [pred, truth] = [normals([2, 5, 6, 7], 21), features(22)];
    const cells = maskFrom(RING, HOLE);
    const got = await loss(pred, truth, cells);
    assert.ok(got > 0.5, `unrelated features score far from 0: ${got}`);
    close(got, refPatchCosine(pred, truth, cells), 1e-5, 'patch cosine');
  });

  it('is about 0 for the truth itself, 2 for its negation, and only the norm term for a scaled copy', async () => {
    const truth = features(23);
    const cells = maskFrom(RING, HOLE);
    assert.ok(Math.abs(await loss(truth, truth, cells)) < 1e-4);
    const negated = { shape: truth.shape, data: truth.data.map((v) => -v) };
    close(await loss(negated, truth, cells), 2, 1e-4, 'negated');
    // Twice the truth points the same way: the cosine term vanishes; each cell's norms differ by |t|.
    const doubled = { shape: truth.shape, data: truth.data.map((v) => 2 * v) };
    const [, c, h, w] = truth.shape;
    let normTerm = 0;
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < h * w; p++) {
        let tt = 0;
        for (let ch = 0; ch < c; ch++) tt += truth.data[(b * c + ch) * h * w + p] ** 2;
        normTerm += cells.data[b * h * w + p] * PATCH_NORM_WEIGHT * Math.sqrt(tt);
      }
    }
    normTerm /= cells.data.reduce((a, v) => a + v, 0);
    assert.ok(normTerm > 0.01);
    close(await loss(doubled, truth, cells), normTerm, 1e-3, 'doubled');
  });

  it('grows when the prediction is shifted by a cell', async () => {
    const truth = features(24);
    const w = truth.shape[3];
    const shifted = { shape: truth.shape, data: truth.data.map((_, i) => (i % w === 0 ? 0 : truth.data[i - 1])) };
    const cells = maskFrom(RING, HOLE);
    const [same, moved] = [await loss(truth, truth, cells), await loss(shifted, truth, cells)];
    assert.ok(moved > same + 0.1, `shifted ${moved} vs identical ${same}`);
  });

  it('ignores cells whose patches do not reach the hole, and is 0 without a hole', async () => {
    const [pred, truth] = [features(25), features(26)];
    const cells = maskFrom(HOLE, HOLE);
    const base = await loss(pred, truth, cells);
    const changedAt = (y: number, x: number) => ({ shape: pred.shape, data: pred.data.map((v, i) => (i % 42 === y * 7 + x ? v + 3 : v)) });
    // (0, 0) is two cells from the nearest hole cell (2, 2): outside every hole cell's 3x3 patch.
    assert.equal(await loss(changedAt(0, 0), truth, cells), base);
    assert.notEqual(await loss(changedAt(2, 3), truth, cells), base);
    assert.notEqual(await loss(changedAt(1, 1), truth, cells), base, 'a known cell inside a hole cell\'s patch counts');
    assert.equal(await loss(pred, truth, { shape: cells.shape, data: new Float32Array(84) }), 0);
  });

  it('has the gradient of finite differences w.r.t. the prediction', async () => {
    const pred = normals([1, 3, 5, 6], 27);
    const cells = maskFrom(['000000', '011100', '011110', '001100', '000000']);
    const res = await gradCheck((p, t, m) => patchCosineLoss(p, t, m), [
      { shape: pred.shape, values: pred.data },
      { shape: pred.shape, values: awayFrom(pred, 28).data, differentiate: false },
      { shape: cells.shape, values: cells.data, differentiate: false },
    ]);
    assert.ok(res.maxRelError < 1e-2, `max relative error ${res.maxRelError}`);
  });

  it('rejects mismatched shapes', () => {
    const g = new Graph('bad');
    assert.throws(() => patchCosineLoss(g.input('p', [1, 4, 3, 3]), g.input('t', [1, 5, 3, 3]), g.input('m', [1, 1, 3, 3])), GraphError);
  });
});
