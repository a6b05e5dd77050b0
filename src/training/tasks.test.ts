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
import { buildGanGraphs, type LossWeights, type TaskKind } from './tasks.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { runOnce } from '../graph/run-once.ts';
import { Graph } from '../graph/graph.ts';
import { maskedPerceptualL1 } from '../losses/perceptual.ts';

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

describe('GAN task losses', () => {
  let engine: Engine;
  let vgg: VggWeights;
  before(async () => {
    engine = await Engine.create();
    vgg = await loadVggWeights(VGG);
  });
  after(() => engine.dispose());

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
