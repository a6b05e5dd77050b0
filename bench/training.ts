/**
 * Training throughput: images per second of a full training iteration (generator step, discriminator
 * step, both Adam updates) for G1 (+D1) and G2 (+D2), per model configuration, at crop sizes 128 and
 * 256 (G2 needs multiples of 256, so only 256), and the iteration's GFLOP/s (conv and matmul work of
 * both step graphs) against a forward-only conv stack measured in the same run.
 *
 *   npm run bench -- training [preset...]      (default: small tiny paper)
 */
import { Rng } from '../src/core/random.ts';
import { loadVggWeights } from '../src/features/vgg-weights.ts';
import { findVggWeights } from '../src/features/weights-location.ts';
import { countFlops } from '../src/graph/flops.ts';
import { Graph } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import * as op from '../src/graph/ops.ts';
import { MODEL_PRESETS, type ModelPreset } from '../src/models/config.ts';
import { createNetwork, networkSpecs } from '../src/models/registry.ts';
import { conv2d } from '../src/nn/layers.ts';
import { Scope } from '../src/nn/scope.ts';
import { Engine } from '../src/runtime/engine.ts';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.ts';
import { Adam } from '../src/training/adam.ts';
import { TRAIN_DEFAULTS } from '../src/training/config.ts';
import { initNetwork, lookup, TrainStep } from '../src/training/step.ts';
import { buildGanGraphs, type TaskKind } from '../src/training/tasks.ts';
import { printTable, timeMedian } from './util.ts';

const presets = (process.argv.slice(2).length ? process.argv.slice(2) : ['small', 'tiny', 'paper']) as ModelPreset[];
const BATCH = 2;
const engine = await Engine.create();
const vgg = await loadVggWeights(await findVggWeights());
const rng = new Rng(1);

// Reference: forward-only 3x3 conv stack (as in the engine benchmark), same engine, same run.
const ref = new Graph('conv_stack');
const refScope = Scope.root(ref, 'train');
let h = ref.input('x', [1, 256, 64, 64]);
for (let i = 0; i < 4; i++) h = op.relu(conv2d(refScope.child(`c${i}`), h, { cout: 256 }));
ref.output(h, 'y');
const refValues = initNetwork(refScope.specs, rng);
const refSession = await engine.load(toOnnx(ref), ref.name);
const refFeeds: Record<string, HostTensor> = { x: hostTensor(Float32Array.from({ length: 256 * 64 * 64 }, () => rng.normal()), [1, 256, 64, 64]) };
for (const s of refScope.specs) refFeeds[s.name] = hostTensor(refValues.params.get(s.name).data, [...s.shape]);
const refS = await timeMedian(() => refSession.run(refFeeds), 5);
const refGflops = countFlops(ref) / refS / 1e9;
refSession.dispose();

interface Row {
  preset: string;
  task: TaskKind;
  size: number;
  imagesPerSecond: number | null;
  gflopsPerStep: number;
  gflopsPerSecond: number | null;
  note?: string;
}
const rows: Row[] = [];

for (const preset of presets) {
  for (const task of ['g1', 'g2'] as const) {
    for (const size of [128, 256]) {
      if (task === 'g2' && size % 256 !== 0) {
        rows.push({ preset, task, size, imagesPerSecond: null, gflopsPerStep: 0, gflopsPerSecond: null, note: 'G2 needs multiples of 256' });
        continue;
      }
      const model = MODEL_PRESETS[preset];
      const graphs = buildGanGraphs({ kind: task, model, vgg, batch: BATCH, size, weights: TRAIN_DEFAULTS[task].loss });
      const g = initNetwork(networkSpecs(createNetwork(graphs.gName, model)), rng);
      const d = initNetwork(networkSpecs(createNetwork(graphs.dName, model)), rng);
      const gAdam = new Adam(g.params, { lr: 1e-4 });
      const dAdam = new Adam(d.params, { lr: 1e-4 });
      const gStep = await TrainStep.create(engine, graphs.g);
      const dStep = await TrainStep.create(engine, graphs.d);
      const image = hostTensor(Float32Array.from({ length: BATCH * 3 * size * size }, () => rng.next()), [BATCH, 3, size, size]);
      const mask = new Float32Array(BATCH * size * size);
      for (let b = 0; b < BATCH; b++) for (let y = size / 4; y < (3 * size) / 4; y++) mask.fill(1, b * size * size + y * size + size / 4, b * size * size + y * size + (3 * size) / 4);
      const f = size / 4;
      const data: Record<string, HostTensor> =
        task === 'g1'
          ? { image, mask: hostTensor(mask, [BATCH, 1, size, size]) }
          : { image, features: hostTensor(Float32Array.from({ length: BATCH * 256 * f * f }, () => Math.max(0, rng.normal())), [BATCH, 256, f, f]) };
      const iteration = async () => {
        const gr = await gStep.run(lookup(g.params, d.params), data);
        const dr = await dStep.run(lookup(d.params), { ...data, fake: gr.extras.fake });
        gAdam.step(gr.grads);
        dAdam.step(dr.grads);
      };
      const seconds = await timeMedian(iteration, preset === 'paper' ? 1 : 3, 1);
      const flops = countFlops(graphs.g.graph) + countFlops(graphs.d.graph);
      rows.push({ preset, task, size, imagesPerSecond: BATCH / seconds, gflopsPerStep: flops / 1e9, gflopsPerSecond: flops / seconds / 1e9 });
      gStep.dispose();
      dStep.dispose();
    }
  }
}
await engine.dispose();

console.log(`training iteration (G step + D step + Adam), batch ${BATCH}; forward conv reference ${refGflops.toFixed(1)} GFLOP/s`);
printTable(
  ['preset', 'task', 'size', 'images/s', 'GFLOP/iter', 'GFLOP/s', 'vs forward conv'],
  rows.map((r) => [
    r.preset,
    r.task,
    String(r.size),
    r.imagesPerSecond === null ? (r.note ?? '-') : r.imagesPerSecond.toFixed(2),
    r.gflopsPerStep ? r.gflopsPerStep.toFixed(1) : '-',
    r.gflopsPerSecond === null ? '-' : r.gflopsPerSecond.toFixed(1),
    r.gflopsPerSecond === null ? '-' : (r.gflopsPerSecond / refGflops).toFixed(2),
  ]),
);
console.log(JSON.stringify({ forward_conv_gflops: +refGflops.toFixed(2), batch: BATCH, results: rows }));
