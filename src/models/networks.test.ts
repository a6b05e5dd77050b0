import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/random.ts';
import { runOnce, type Feeds } from '../graph/run-once.ts';
import { Graph, type Shape } from '../graph/graph.ts';
import { initNetwork, lookup } from '../nn/params.ts';
import { MODEL_PRESETS } from './config.ts';
import { HOLE_FILL, maskedInput } from './image2feature.ts';
import { buildNetworkGraph, createNetwork, type ImageSize, NETWORK_KINDS, type NetworkKind, networkSpecs, parameterCount } from './registry.ts';
import { formatSummaryTable, modelSummary, printModelSummary } from './summary.ts';

const tiny = MODEL_PRESETS.tiny;
const SIZES: readonly [number, number][] = [
  [256, 256],
  [256, 512],
  [512, 512],
];
const BATCH = 2;

/** The output shapes each kind must produce for a batch of N images of H x W. */
function expectedShapes(kind: NetworkKind, n: number, h: number, w: number): Record<string, number[]> {
  switch (kind) {
    case 'g1':
      return { prediction: [n, 3, h, w], composite: [n, 3, h, w] };
    case 'g2':
      return { image: [n, 3, h, w] };
    case 'd1':
    case 'd2':
      return { logits: [n, 1, h / 8, w / 8] };
    case 'guide':
      return { features: [n, 256, h / 4, w / 4], colour: [n, 3, h / 4, w / 4] };
  }
}

/** Random feeds for static input shapes: values in [0, 1], masks binary. */
function randomFeeds(shapes: Record<string, Shape>, rng: Rng): Feeds {
  return Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => {
      const dims = shape as number[];
      const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (name === 'mask' || name === 'cells' ? (rng.next() < 0.3 ? 1 : 0) : rng.next()));
      return [name, { data, shape: dims }];
    }),
  );
}

function shapesOf(out: Readonly<Record<string, { shape: Shape }>>): Record<string, Shape> {
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.shape]));
}

describe('networks (tiny preset)', () => {
  it('every network gives the right output shapes at 256, 256x512 and 512, in training mode', async () => {
    for (const kind of NETWORK_KINDS) {
      const network = createNetwork(kind, tiny);
      const state = initNetwork(networkSpecs(network), new Rng(1));
      for (const [h, w] of SIZES) {
        const size: ImageSize = { batch: BATCH, height: h, width: w };
        const built = buildNetworkGraph(network, size, 'train');
        const expected = expectedShapes(kind, BATCH, h, w);
        // Shape inference at build time, then what ONNX Runtime actually returns.
        assert.deepEqual(shapesOf(built.outputs), expected, `${kind} ${h}x${w} inferred`);
        const params = Object.fromEntries(built.scope.trainableTensors.map((t) => [t.name, { data: state.params.get(t.name).data, shape: t.shape as number[] }]));
        const out = await runOnce(built.graph, { ...randomFeeds(network.inputShapes(size), new Rng(2)), ...params });
        assert.deepEqual(shapesOf(out), expected, `${kind} ${h}x${w} run`);
        for (const [name, v] of Object.entries(out)) assert.ok(v.data.every(Number.isFinite), `${kind} ${name} finite`);
      }
    }
  });

  it('every inference graph is fully convolutional: one graph with symbolic sizes runs at 256, 256x512 and 512', async () => {
    for (const kind of NETWORK_KINDS) {
      const network = createNetwork(kind, tiny);
      const state = initNetwork(networkSpecs(network), new Rng(1));
      const built = buildNetworkGraph(network, { batch: 'N', height: 'H', width: 'W' }, 'infer', lookup(state.params, state.buffers));
      for (const [h, w] of SIZES) {
        const size = { batch: BATCH, height: h, width: w };
        const out = await runOnce(built.graph, randomFeeds(network.inputShapes(size), new Rng(3)));
        assert.deepEqual(shapesOf(out), expectedShapes(kind, BATCH, h, w), `${kind} ${h}x${w}`);
      }
    }
  });

  it('G1 keeps the known pixels exactly, fills the hole with its prediction, and predicts in [0, 1]', async () => {
    const network = createNetwork('g1', tiny);
    const state = initNetwork(networkSpecs(network), new Rng(4));
    const [h, w] = [64, 96];
    const built = buildNetworkGraph(network, { batch: 1, height: h, width: w }, 'infer', lookup(state.params, state.buffers));
    const rng = new Rng(5);
    const image = Float32Array.from({ length: 3 * h * w }, () => rng.next());
    const mask = new Float32Array(h * w);
    for (let y = 16; y < 48; y++) mask.fill(1, y * w + 20, y * w + 70);
    const out = await runOnce(built.graph, { image: { data: image, shape: [1, 3, h, w] }, mask: { data: mask, shape: [1, 1, h, w] } });
    const { prediction, composite } = { prediction: out.prediction.data, composite: out.composite.data };
    let holeDiffers = 0;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < h * w; p++) {
        const i = c * h * w + p;
        if (mask[p] === 0) assert.equal(composite[i], image[i], `known pixel ${i}`);
        else {
          assert.equal(composite[i], prediction[i], `hole pixel ${i}`);
          if (Math.abs(composite[i] - image[i]) > 1e-3) holeDiffers++;
        }
        assert.ok(prediction[i] >= 0 && prediction[i] <= 1, `prediction ${prediction[i]} in [0, 1]`);
      }
    }
    // The hole really is replaced (an untrained net does not reproduce random pixels).
    assert.ok(holeDiffers > 0.9 * 3 * 32 * 50, `${holeDiffers} hole values differ from the input`);
  });

  it('the masked input I0 greys out the hole and appends the mask', async () => {
    const g = new Graph('i0');
    g.output(maskedInput(g.input('image', [1, 3, 2, 2]), g.input('mask', [1, 1, 2, 2])), 'i0');
    const image = Float32Array.from({ length: 12 }, (_, i) => i / 12);
    const mask = Float32Array.of(0, 1, 1, 0);
    const { i0 } = await runOnce(g, { image: { data: image, shape: [1, 3, 2, 2] }, mask: { data: mask, shape: [1, 1, 2, 2] } });
    assert.deepEqual(i0.shape, [1, 4, 2, 2]);
    const expected = [...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => (mask[i % 4] ? HOLE_FILL : image[i])), ...mask];
    i0.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-7, `I0[${i}] = ${v}, expected ${expected[i]}`));
  });

  it('G2 upsamples by nearest resize + conv only (no transposed conv), G1 by three transposed convs', () => {
    const count = (kind: NetworkKind, op: string) =>
      buildNetworkGraph(createNetwork(kind, tiny), { batch: 1, height: 256, width: 256 }, 'train').graph.nodes.filter((n) => n.op === op);
    assert.equal(count('g2', 'ConvTranspose').length, 0);
    const resizes = count('g2', 'Resize');
    assert.equal(resizes.length, 8);
    for (const r of resizes) assert.deepEqual(r.attrs.mode, { s: 'nearest' });
    assert.equal(count('g1', 'ConvTranspose').length, 3);
  });
});

/** Weights (+ bias) of a k x k conv. */
const conv = (cin: number, cout: number, k: number, bias: boolean) => cin * cout * k * k + (bias ? cout : 0);
/** Scale and shift of a batch norm. */
const bn = (c: number) => 2 * c;

describe('paper-size networks', () => {
  it('G1 and G2 have the parameter counts of the architecture written out', () => {
    // G1, w = 64: 7x7 in-conv; 3 stride-2 convs 64->128->256->512; 9 blocks of two 3x3 convs at 512;
    // 3 transposed 3x3 convs 512->256->128->64; 7x7 out-conv with bias. BN after every conv but the last.
    let g1 = conv(4, 64, 7, false) + bn(64);
    for (const [cin, cout] of [[64, 128], [128, 256], [256, 512]]) g1 += conv(cin, cout, 3, false) + bn(cout);
    g1 += 9 * 2 * (conv(512, 512, 3, false) + bn(512));
    for (const [cin, cout] of [[512, 256], [256, 128], [128, 64]]) g1 += conv(cin, cout, 3, false) + bn(cout);
    g1 += conv(64, 3, 7, true);
    assert.equal(g1, 45_607_107);
    assert.equal(parameterCount(networkSpecs(createNetwork('g1', MODEL_PRESETS.paper))), g1);

    // G2, w = 64: enc0 3x3 256->64 (bias, no BN); enc1-5 4x4 with BN to 128, 256, 512, 512, 512;
    // enc6 4x4 512->512 (bias, no BN). Decoder 3x3 convs with BN; inputs include the skips.
    let g2 = conv(256, 64, 3, true);
    for (const [cin, cout] of [[64, 128], [128, 256], [256, 512], [512, 512], [512, 512]]) g2 += conv(cin, cout, 4, false) + bn(cout);
    g2 += conv(512, 512, 4, true);
    const decoder = [[512, 512], [1024, 512], [1024, 512], [1024, 256], [512, 128], [256, 64], [128, 64], [64, 64]];
    for (const [cin, cout] of decoder) g2 += conv(cin, cout, 3, false) + bn(cout);
    g2 += conv(64, 3, 3, true);
    assert.equal(parameterCount(networkSpecs(createNetwork('g2', MODEL_PRESETS.paper))), g2);

    // The guide, w = 96, 8 blocks: 1x1 in-conv 257->96; 8 blocks of two 3x3 convs at 96; 1x1
    // out-conv of [block, input] 352->259; every conv with a bias, no BN.
    const guide = conv(257, 96, 1, true) + 16 * conv(96, 96, 3, true) + conv(352, 259, 1, true);
    assert.equal(guide, 1_444_835);
    assert.equal(parameterCount(networkSpecs(createNetwork('guide', MODEL_PRESETS.paper))), guide);
  });

  it('the summary counts D1 FLOPs as written out, scales 4x from 256 to 512, and prints every preset', () => {
    const rows = modelSummary(MODEL_PRESETS.paper);
    assert.deepEqual(rows.map((r) => r.kind), ['g1', 'g2', 'd1', 'd2', 'guide']);
    // D1 at 256: 4x4 convs 7->64 (128²), 64->128 (64²), 128->256 (32²), 256->512 stride 1 (32²), 512->1 (32²).
    const mac = (hw: number, cin: number, cout: number) => 2 * hw * hw * cin * cout * 16;
    const d1 = mac(128, 7, 64) + mac(64, 64, 128) + mac(32, 128, 256) + mac(32, 256, 512) + mac(32, 512, 1);
    const d1Row = rows.find((r) => r.kind === 'd1')!;
    assert.ok(Math.abs(d1Row.gflops256 - d1 / 1e9) < 1e-9, `${d1Row.gflops256} vs ${d1 / 1e9}`);
    for (const r of rows) assert.ok(Math.abs(r.gflops512 / r.gflops256 - 4) < 1e-9, `${r.kind} ${r.gflops512} / ${r.gflops256}`);
    assert.equal(rows[0].params, 45_607_107);

    const table = formatSummaryTable(rows).split('\n');
    assert.equal(table.length, 2 + 5);
    assert.match(table[2], /^G1 Image2Feature +45\.61 +104\.35 +417\.38$/);
    let printed = '';
    printModelSummary((t) => (printed += t));
    assert.deepEqual(printed.match(/^(paper|small|tiny)$/gm), ['paper', 'small', 'tiny']);
  });
});
