import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { GraphError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { gradients } from '../graph/autodiff.ts';
import { runOnce } from '../graph/run-once.ts';
import { Graph } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';
import { Engine } from '../runtime/engine.ts';
import { FrozenVgg, VGG_MIN_SIDE, vggRelu31 } from './vgg.ts';
import { vggReference } from './vgg-reference.ts';
import { loadVggWeights, type VggWeights } from './vgg-weights.ts';

/** The shared copy of the public weights; the tests fail (not skip) when it is missing. */
const VGG_PTH = fileURLToPath(new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url));
const PHOTOS = fileURLToPath(new URL('../../../shared/data/photos/', import.meta.url));

let weights: VggWeights;
let engine: Engine;
before(async () => {
  weights = await loadVggWeights(VGG_PTH);
  engine = await Engine.create({ threads: 2 });
});
after(() => engine.dispose());

/** A height x width crop of a photo downscaled to 96 pixels wide, as planar RGB in [0,1]. */
async function photoCrop(photo: string, height: number, width: number): Promise<Float32Array> {
  const { data, info } = await sharp(PHOTOS + photo)
    .resize(96, 96)
    .extract({ left: 17, top: 23, width, height })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [width, height, 3]);
  const plane = width * height;
  return Float32Array.from({ length: 3 * plane }, (_, i) => data[3 * (i % plane) + Math.floor(i / plane)] / 255);
}

/** Seeded uniform pixels in [0,1). */
function uniformImage(seed: number, length: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length }, () => rng.next());
}

/** Worst absolute difference to the reference's relu3_1, relative to its largest activation. */
function relativeError(image: Float32Array, height: number, width: number, got: Float32Array): number {
  const ref = vggReference(weights, image, height, width).relu3_1;
  assert.equal(got.length, ref.data.length);
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < got.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
    largest = Math.max(largest, ref.data[i]);
  }
  assert.ok(largest > 1, `the crop barely activates relu3_1 (max ${largest}), so it cannot test much`);
  return worst / largest;
}

test('a static graph matches the float64 reference on a 32x32 photo crop', async () => {
  const image = await photoCrop('opencv-doc/baboon.jpg', 32, 32);
  const g = new Graph('vgg_static');
  const x = g.input('x', [1, 3, 32, 32]);
  const y = vggRelu31(g, x, weights);
  assert.deepEqual(y.shape, [1, 256, 8, 8]);
  g.output(y, 'y');
  const out = await runOnce(g, { x: { data: image, shape: [1, 3, 32, 32] } });
  assert.deepEqual(out.y.shape, [1, 256, 8, 8]);
  const err = relativeError(image, 32, 32, out.y.data);
  assert.ok(err < 1e-4, `max |difference| is ${err} of the largest activation`);
});

test('FrozenVgg matches the reference at 32x32 and at the odd size 37x45 with one cached session', async () => {
  const vgg = new FrozenVgg(weights);
  try {
    for (const [photo, height, width, expected] of [
      ['tuxpaint-data/mossy_bark.jpg', 32, 32, [256, 8, 8]],
      ['opencv-doc/building.jpg', 37, 45, [256, 10, 12]],
    ] as const) {
      const image = await photoCrop(photo, height, width);
      const f = await vgg.features(engine, { width, height, data: image });
      assert.deepEqual([f.channels, f.height, f.width], expected);
      const err = relativeError(image, height, width, f.data);
      assert.ok(err < 1e-4, `${height}x${width}: max |difference| is ${err} of the largest activation`);
    }
    assert.equal(await engine.sessionCount(), 1, 'one session serves every size');
  } finally {
    await vgg.dispose();
  }
  assert.equal(await engine.sessionCount(), 0, 'dispose releases the session');
});

test("FrozenVgg in tiles gives the whole image's features, odd sizes and edge tiles of a few pixels included", async () => {
  const vgg = new FrozenVgg(weights);
  try {
    const [height, width] = [69, 77];
    const image = await photoCrop('opencv-doc/building.jpg', height, width);
    const whole = await vgg.features(engine, { width, height, data: image });
    // Tiles of 24 px: the last column's own part is 5 px wide, the last row's 21.
    const tiled = await vgg.features(engine, { width, height, data: image }, { side: 24, area: 0 });
    assert.deepEqual([tiled.channels, tiled.height, tiled.width], [whole.channels, whole.height, whole.width]);
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(tiled.data[i] - whole.data[i]));
    const err = relativeError(image, height, width, tiled.data);
    assert.ok(err < 1e-4, `tiled: max |difference| to the reference is ${err} of the largest activation (to the whole run: ${worst})`);
  } finally {
    await vgg.dispose();
  }
});

test("featuresNear gives the changed image's features from a crop, and copies the rest from the base", async () => {
  const vgg = new FrozenVgg(weights);
  try {
    const [height, width] = [69, 77];
    const before = await photoCrop('opencv-doc/building.jpg', height, width);
    const base = await vgg.features(engine, { width, height, data: before });
    // Boxes inside, against the left and top edges, and against the right and bottom ones.
    for (const box of [
      { x: 40, y: 34, width: 6, height: 5 },
      { x: 0, y: 0, width: 9, height: 7 },
      { x: 70, y: 61, width: 7, height: 8 },
    ]) {
      const after = before.slice();
      const plane = width * height;
      for (let y = box.y; y < box.y + box.height; y++) for (let x = box.x; x < box.x + box.width; x++) for (let c = 0; c < 3; c++) after[c * plane + y * width + x] = 0.5;
      const whole = await vgg.features(engine, { width, height, data: after });
      const near = await vgg.featuresNear(engine, { width, height, data: after }, base, box);
      let [worst, largest, changed] = [0, 0, 0];
      for (let i = 0; i < whole.data.length; i++) {
        worst = Math.max(worst, Math.abs(near.data[i] - whole.data[i]));
        largest = Math.max(largest, whole.data[i]);
        if (whole.data[i] !== base.data[i]) changed++;
      }
      assert.ok(changed > 0, 'the box changes some cells');
      assert.ok(worst <= 1e-5 * largest, `box at ${box.x},${box.y}: max |difference| to the whole run is ${worst} (largest ${largest})`);
    }
    // Cells out of the box's reach are the base's, whatever it holds.
    const box = { x: 40, y: 34, width: 6, height: 5 };
    const marked = { ...base, data: base.data.slice() };
    marked.data[0] = -7;
    const near = await vgg.featuresNear(engine, { width, height, data: before }, marked, box);
    assert.equal(near.data[0], -7);
    await assert.rejects(vgg.featuresNear(engine, { width, height, data: before }, { ...base, width: base.width - 1 }, box), (e) => e instanceof UsageError && /base/.test(e.message));
  } finally {
    await vgg.dispose();
  }
});

/**
 * The gradient of L = sum(relu3_1 * R) with respect to the image, from `gradients()` through the graph,
 * against central differences of the float64 reference. `gradCheck` (float32 finite differences) is
 * too coarse here: the network is piecewise linear with steep slopes (conv0 scales by 255), so any
 * step large enough to rise above float32 rounding flips some ReLUs and pooling winners, and its
 * error ranged up to 0.8 over seeds. In float64 a step of 1e-7 flips almost none, and the analytic
 * side uses the step actually taken after rounding the perturbed image to float32.
 */
test('the gradient with respect to the image agrees with finite differences of the reference (even and odd sizes)', async () => {
  const rng = new Rng(11);
  for (const [height, width] of [[8, 8], [7, 9]]) {
    const n = 3 * height * width;
    const x0 = uniformImage(height * width, n);
    const g = new Graph('vgg_gradient');
    const x = g.input('x', [1, 3, height, width]);
    const y = vggRelu31(g, x, weights);
    const r = Float32Array.from({ length: y.size }, () => rng.normal());
    const [dx] = gradients(op.reduceSum(op.mul(y, g.constant(r, y.staticShape()))), [x]);
    g.output(dx, 'dx');
    const grad = (await runOnce(g, { x: { data: x0, shape: [1, 3, height, width] } })).dx.data;
    assert.ok(grad.some((v) => v !== 0), 'the gradient reaches the image');

    const loss = (image: Float32Array): number => vggReference(weights, image, height, width).relu3_1.data.reduce((s, v, i) => s + v * r[i], 0);
    const eps = 1e-7;
    for (let k = 0; k < 8; k++) {
      // Four random directions over every pixel, then four single pixels.
      const v = new Float32Array(n);
      if (k < 4) v.forEach((_, i) => (v[i] = rng.normal()));
      else v[rng.int(0, n - 1)] = 1;
      const plus = x0.map((a, i) => a + eps * v[i]);
      const minus = x0.map((a, i) => a - eps * v[i]);
      const numeric = loss(plus) - loss(minus);
      const analytic = grad.reduce((s, gi, i) => s + gi * (plus[i] - minus[i]), 0);
      const err = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic));
      assert.ok(err < 1e-4, `${height}x${width}, check ${k}: analytic ${analytic}, numeric ${numeric}`);
    }
  }
});

test('weights are constants shared by every application in a graph; other weights need another prefix', () => {
  const g = new Graph('perceptual');
  const output = g.input('output', [2, 3, 16, 16]);
  const target = g.input('target', [2, 3, 16, 16]);
  vggRelu31(g, output, weights);
  vggRelu31(g, target, weights);
  assert.deepEqual(g.inputs.map((t) => t.name), ['output', 'target'], 'no weight became a graph input');
  const vggNames = [...g.initializers.keys()].filter((n) => n.startsWith('vgg.'));
  assert.equal(vggNames.length, 12);
  assert.ok(vggNames.includes('vgg.conv3_1.weight'));

  const copy: VggWeights = structuredClone(weights);
  assert.throws(() => vggRelu31(g, output, copy), (e) => e instanceof GraphError && /other VGG weights under the prefix "vgg"/.test(e.message));
  vggRelu31(g, output, copy, 'vgg_b');
  assert.equal([...g.initializers.keys()].filter((n) => n.startsWith('vgg_b.')).length, 12);
});

test('symbolic sizes are allowed; static sides below the minimum are a GraphError naming the side', () => {
  const g = new Graph('shapes');
  const any = vggRelu31(g, g.input('any', ['N', 3, 'H', 'W']), weights);
  assert.equal(any.rank, 4);
  assert.equal(any.shape[1], 256);
  assert.ok(typeof any.shape[2] === 'string' && typeof any.shape[3] === 'string', `symbolic sides stay symbolic: ${any.shape}`);
  assert.deepEqual(vggRelu31(g, g.input('smallest', [1, 3, VGG_MIN_SIDE, VGG_MIN_SIDE]), weights).shape, [1, 256, 2, 2]);
  assert.throws(() => vggRelu31(g, g.input('short', [1, 3, 4, 8]), weights), (e) => e instanceof GraphError && /height 4.*at least 5/.test(e.message));
  assert.throws(() => vggRelu31(g, g.input('narrow', [1, 3, 8, 4]), weights), (e) => e instanceof GraphError && /width 4.*at least 5/.test(e.message));
  assert.throws(() => vggRelu31(g, g.input('grey', [1, 1, 8, 8]), weights), (e) => e instanceof GraphError && /\[N, 3, H, W\]/.test(e.message));
  assert.throws(() => vggRelu31(new Graph('other'), g.input('elsewhere', [1, 3, 8, 8]), weights), GraphError);
});

test('weights that are not the VGG layer table are a UsageError naming the problem', () => {
  const g = new Graph('bad_weights');
  const x = g.input('x', [1, 3, 8, 8]);
  const missing: VggWeights = { layers: weights.layers.filter((l) => l.name !== 'conv2_1') };
  assert.throws(() => vggRelu31(g, x, missing, 'a'), (e) => e instanceof UsageError && /conv0, conv1_1, conv1_2, conv2_1/.test(e.message));
  const short: VggWeights = { layers: weights.layers.map((l) => (l.name === 'conv3_1' ? { ...l, bias: l.bias.subarray(1) } : l)) };
  assert.throws(() => vggRelu31(g, x, short, 'b'), (e) => e instanceof UsageError && /weights of conv3_1/.test(e.message));
});

test('FrozenVgg is locked: changing the weights afterwards does not change its features', async () => {
  const copy: VggWeights = structuredClone(weights);
  const vgg = new FrozenVgg(copy);
  const image = { width: 8, height: 8, data: uniformImage(5, 3 * 64) };
  try {
    const before = await vgg.features(engine, image);
    for (const l of copy.layers) l.weight.fill(0);
    const after = await vgg.features(engine, image);
    assert.ok(before.data.some((v) => v > 0));
    assert.deepEqual(after.data, before.data);
  } finally {
    await vgg.dispose();
  }
});

test('FrozenVgg checks the pixel range, the sizes and its own lifetime', async () => {
  const vgg = new FrozenVgg(weights);
  const image = (data: Float32Array, height = 6, width = 6) => ({ width, height, data });
  const filled = (v: number) => new Float32Array(3 * 36).fill(0.5).fill(v, 10, 11);
  try {
    const range = (min: string, max: string) => (e: unknown) =>
      e instanceof UsageError && e.message.includes(`values from ${min} to ${max}`) && /\[0, 1\]/.test(e.message);
    await assert.rejects(vgg.features(engine, image(filled(255))), range('0.5', '255'));
    await assert.rejects(vgg.features(engine, image(filled(-0.25))), range('-0.25', '0.5'));
    await assert.rejects(vgg.features(engine, image(filled(NaN))), (e) => e instanceof UsageError && /and NaN/.test(e.message));
    // Within the tolerance: resampling may overshoot [0,1] by rounding.
    assert.equal((await vgg.features(engine, image(filled(1.0005)))).channels, 256);

    await assert.rejects(vgg.features(engine, image(new Float32Array(3 * 36 - 1))), (e) => e instanceof UsageError && /image\.data/.test(e.message));
    await assert.rejects(vgg.features(engine, image(new Float32Array(3 * 24), 4, 6)), (e) => e instanceof UsageError && /image\.height/.test(e.message));
    await assert.rejects(vgg.features(engine, image(new Float32Array(3 * 36), 6, 6.5)), (e) => e instanceof UsageError && /image\.width/.test(e.message));
  } finally {
    await vgg.dispose();
  }
  await assert.rejects(vgg.features(engine, image(filled(0.5))), (e) => e instanceof UsageError && /disposed/.test(e.message));
});

test('FrozenVgg.load reads the weights from an explicit path', async () => {
  const vgg = await FrozenVgg.load({ path: VGG_PTH, download: false });
  try {
    const data = uniformImage(9, 3 * 49);
    const f = await vgg.features(engine, { width: 7, height: 7, data });
    assert.ok(relativeError(data, 7, 7, f.data) < 1e-4);
  } finally {
    await vgg.dispose();
  }
});
