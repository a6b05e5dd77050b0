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
import type { ModelPreset } from '../src/models/config.ts';
import { conv2d } from '../src/nn/layers.ts';
import { Scope } from '../src/nn/scope.ts';
import { Engine } from '../src/runtime/engine.ts';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.ts';
import { initNetwork } from '../src/nn/params.ts';
import type { TaskKind } from '../src/training/tasks.ts';
import { trainingIteration } from './iteration.ts';
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
      const iteration = await trainingIteration(engine, vgg, rng, task, preset, BATCH, size);
      const seconds = await timeMedian(iteration.run, preset === 'paper' ? 1 : 3, 1);
      const flops = iteration.flops;
      rows.push({ preset, task, size, imagesPerSecond: BATCH / seconds, gflopsPerStep: flops / 1e9, gflopsPerSecond: flops / seconds / 1e9 });
      iteration.dispose();
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
