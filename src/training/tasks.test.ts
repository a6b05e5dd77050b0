import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../core/random.ts';
import { loadVggWeights, type VggWeights } from '../features/vgg-weights.ts';
import { resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { Engine } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { TrainStep } from './step.ts';
import { initNetwork, lookup } from '../nn/params.ts';
import { buildGanGraphs, buildTaskGraphs, type LossWeights, type TaskKind } from './tasks.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { runOnce } from '../graph/run-once.ts';
import { Graph } from '../graph/graph.ts';
import { maskedPerceptualL1, patchCosineLoss } from '../losses/perceptual.ts';
import * as op from '../graph/ops.ts';
import { featureMaskGraph } from '../features/grid.ts';
import { Scope } from '../nn/scope.ts';
import { TRAIN_DEFAULTS } from './config.ts';

const VGG = new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url).pathname;
const model = resolveModelConfig({ preset: 'tiny' });

/** One generator step of `kind` on random data with these loss weights: the loss, its metrics, the fake and the data. */
async function generatorStep(engine: Engine, vgg: VggWeights, kind: TaskKind, weights: LossWeights) {
  const [B, S] = kind === 'g1' ? [2, 32] : [1, 256];
  const rng = new Rng(5);
  const graphs = buildGanGraphs({ kind, model, vgg, batch: B, size: S, weights });
  const g = initNetwork(networkSpecs(createNetwork(graphs.task.gName, model)), rng);
  const d = initNetwork(networkSpecs(createNetwork(graphs.task.dName, model)), rng);
  const image = hostTensor(Float32Array.from({ length: B * 3 * S * S }, () => rng.next()), [B, 3, S, S]);
  const mask = new Float32Array(B * S * S);
  for (let b = 0; b < B; b++) for (let y = 8; y < 20; y++) mask.fill(1, b * S * S + y * S + 4, b * S * S + y * S + 28);
  const f = S / 4;
  const data: Record<string, HostTensor> =
    kind === 'g1'
      ? { image, mask: hostTensor(mask, [B, 1, S, S]) }
      : { image, features: hostTensor(Float32Array.from({ length: B * 256 * f * f }, () => Math.max(0, rng.normal())), [B, 256, f, f]) };
  const step = await TrainStep.create(engine, graphs.g);
  try {
    const result = await step.run(lookup(g.params, g.buffers, d.params, d.buffers), data);
    return { ...result, image: image.data as Float32Array, mask, plane: S * S };
  } finally {
    step.dispose();
  }
}

// One engine and one copy of VGG's weights for every test of the file.
let engine: Engine;
let vgg: VggWeights;
before(async () => {
  engine = await Engine.create();
  vgg = await loadVggWeights(VGG);
});
after(() => engine.dispose());

describe('GAN task losses', () => {

  it("G1's pixel term is the mean l1 over the hole, weighted into the loss", async () => {
    const weights = { perceptual: 10, adversarial: 1, pixel: 7 };
    const r = await generatorStep(engine, vgg, 'g1', weights);
    const fake = r.extras.fake.data as Float32Array;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < fake.length; i++) {
      const pixel = (i % r.plane) + Math.floor(i / (3 * r.plane)) * r.plane;
      if (r.mask[pixel]) {
        sum += Math.abs(fake[i] - r.image[i]);
        count++;
      }
    }
    assert.ok(sum / count > 0.01, 'the untrained fill differs from the truth');
    assert.ok(Math.abs(r.metrics.pixel - sum / count) < 1e-5, `pixel ${r.metrics.pixel} vs ${sum / count}`);
    const expected = 10 * r.metrics.perceptual + r.metrics.adversarial + 7 * r.metrics.pixel;
    assert.ok(Math.abs(r.loss - expected) < 1e-4 * expected, `loss ${r.loss} vs ${expected}`);
  });

  it("G1's perceptual term is the masked l1 over the hole's feature cells, not over the known ones", async () => {
    const r = await generatorStep(engine, vgg, 'g1', { perceptual: 10, adversarial: 1, pixel: 7 });
    const [B, S, f] = [2, 32, 8];
    // The feature cells of the hole, computed here: a cell is hole when any of its 4x4 pixels is.
    const holeCells = new Float32Array(B * f * f);
    for (let b = 0; b < B; b++) {
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (r.mask[b * S * S + y * S + x]) holeCells[b * f * f + (y >> 2) * f + (x >> 2)] = 1;
    }
    assert.equal(holeCells.reduce((a, v) => a + v, 0), B * 3 * 6, 'rows 8..19 and columns 4..27: 3 x 6 cells');
    const knownCells = holeCells.map((v) => 1 - v);
    const reference = async (cells: Float32Array) => {
      const g = new Graph('reference_perceptual');
      const fake = g.input('fake', [B, 3, S, S]);
      const image = g.input('image', [B, 3, S, S]);
      const maskFeat = g.input('mask', [B, 1, f, f]);
      g.output(maskedPerceptualL1(vggRelu31(g, fake, vgg), vggRelu31(g, image, vgg), maskFeat), 'loss');
      const out = await runOnce(g, { fake: { data: r.extras.fake.data as Float32Array, shape: [B, 3, S, S] }, image: { data: r.image, shape: [B, 3, S, S] }, mask: { data: cells, shape: [B, 1, f, f] } });
      return out.loss.data[0];
    };
    const [onHole, onKnown] = [await reference(holeCells), await reference(knownCells)];
    assert.ok(Math.abs(onHole - onKnown) > 0.1 * onHole, `the two regions must give different losses: ${onHole} vs ${onKnown}`);
    assert.ok(Math.abs(r.metrics.perceptual - onHole) < 1e-4 * onHole, `perceptual ${r.metrics.perceptual}, over the hole ${onHole}, over the known region ${onKnown}`);
  });

  it("G2's pixel term is the mean l1 over the whole image; weight 0 gives the paper's loss", async () => {
    const r = await generatorStep(engine, vgg, 'g2', { perceptual: 10, adversarial: 1, pixel: 0 });
    const fake = r.extras.fake.data as Float32Array;
    let sum = 0;
    for (let i = 0; i < fake.length; i++) sum += Math.abs(fake[i] - r.image[i]);
    assert.ok(Math.abs(r.metrics.pixel - sum / fake.length) < 1e-5, `pixel ${r.metrics.pixel} vs ${sum / fake.length}`);
    const expected = 10 * r.metrics.perceptual + r.metrics.adversarial;
    assert.ok(Math.abs(r.loss - expected) < 1e-4 * expected, `loss ${r.loss} vs ${expected}`);
  });
});

describe('the feature guide task', () => {
  const [B, S, f] = [2, 32, 8];
  const rng = new Rng(9);
  const image = Float32Array.from({ length: B * 3 * S * S }, () => rng.next());
  const mask = new Float32Array(B * S * S);
  for (let b = 0; b < B; b++) for (let y = 6; y < 22; y++) mask.fill(1, b * S * S + y * S + 9, b * S * S + y * S + 25);
  const feeds = { image: hostTensor(image, [B, 3, S, S]), mask: hostTensor(mask, [B, 1, S, S]) };

  it("is the prototype's graph without a discriminator: loss = patch cosine + 10 x the cell colours' masked l1", async () => {
    const graphs = buildTaskGraphs({ kind: 'guide', model, vgg, batch: B, size: S, weights: TRAIN_DEFAULTS.guide.loss });
    assert.equal(graphs.d, undefined);
    assert.equal(graphs.task.discriminator, undefined);
    assert.deepEqual([...graphs.g.metrics].sort(), ['perceptual', 'pixel']);
    assert.ok(graphs.g.trainable.length > 0 && graphs.g.trainable.every((n) => n.startsWith('guide.')), graphs.g.trainable.join(' '));
    const guide = initNetwork(networkSpecs(createNetwork('guide', model)), new Rng(4));
    const step = await TrainStep.create(engine, graphs.g);
    const r = await step.run(lookup(guide.params, guide.buffers), feeds).finally(() => step.dispose());
    assert.ok(Math.abs(r.loss - (r.metrics.perceptual + 10 * r.metrics.pixel)) < 1e-5 * r.loss, `loss ${r.loss}`);
    assert.ok(r.grads.size === graphs.g.trainable.length && [...r.grads.values()].some((g) => g.some((v) => v !== 0)));

    // The prototype's trainer, written out: relu3_1 of I0 (3 channels), the hole's cells, its two losses.
    const g = new Graph('prototype');
    const [img, m] = [g.input('image', [B, 3, S, S]), g.input('mask', [B, 1, S, S])];
    const fIn = vggRelu31(g, op.add(op.mul(img, op.sub(1, m)), op.mul(m, 0.5)), vgg);
    const cells = featureMaskGraph(m);
    const out = createNetwork('guide', model).build(Scope.root(g, 'infer', lookup(guide.params)).child('guide'), { masked: fIn, cells });
    g.output(patchCosineLoss(out.features, vggRelu31(g, img, vgg), cells), 'perceptual');
    g.output(maskedPerceptualL1(out.colour, op.averagePool(img, { kernel: [4, 4], strides: [4, 4] }), cells), 'colour');
    const ref = await runOnce(g, { image: { data: image, shape: [B, 3, S, S] }, mask: { data: mask, shape: [B, 1, S, S] } });
    assert.ok(r.metrics.perceptual > 0.1, `an untrained guide is far from the truth: ${r.metrics.perceptual}`);
    assert.ok(Math.abs(r.metrics.perceptual - ref.perceptual.data[0]) < 1e-4 * ref.perceptual.data[0], `${r.metrics.perceptual} vs ${ref.perceptual.data[0]}`);
    assert.ok(Math.abs(r.metrics.pixel - ref.colour.data[0]) < 1e-4 * ref.colour.data[0], `${r.metrics.pixel} vs ${ref.colour.data[0]}`);
  });

  it('shows its prediction as an image: known pixels kept, each hole cell one colour in [0, 1]', async () => {
    const graphs = buildTaskGraphs({ kind: 'guide', model, vgg, batch: B, size: S, weights: TRAIN_DEFAULTS.guide.loss });
    const guide = initNetwork(networkSpecs(createNetwork('guide', model)), new Rng(6));
    const g = new Graph('guide_image');
    const data = graphs.task.inputs(g, B);
    g.output(graphs.task.generate(Scope.root(g, 'infer', lookup(guide.params)), data).fake, 'fake');
    const fake = (await runOnce(g, { image: { data: image, shape: [B, 3, S, S] }, mask: { data: mask, shape: [B, 1, S, S] } })).fake.data;
    const plane = S * S;
    const colours = new Set<number>();
    for (let i = 0; i < fake.length; i++) {
      const [b, c, p] = [Math.floor(i / (3 * plane)), Math.floor(i / plane) % 3, i % plane];
      const [y, x] = [Math.floor(p / S), p % S];
      if (!mask[b * plane + p]) {
        assert.equal(fake[i], image[i], `known pixel ${i}`);
        continue;
      }
      assert.ok(fake[i] >= 0 && fake[i] <= 1);
      // The cell's top-left pixel holds its colour (the cell lies wholly in the hole or at its edge).
      const corner = ((b * 3 + c) * S + (y & ~3)) * S + (x & ~3);
      if (mask[b * plane + (y & ~3) * S + (x & ~3)]) assert.equal(fake[i], fake[corner], `pixel ${i} differs from its cell's`);
      colours.add(fake[i]);
    }
    assert.ok(colours.size > f, `the cells are not all one colour (${colours.size})`);
  });
});
