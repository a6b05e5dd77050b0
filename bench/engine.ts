/**
 * Engine benchmark: throughput of (a) a forward-only stack of 3x3 convolutions on 1x256x64x64 and
 * (b) a full training step of the same stack (forward, loss, backward, Adam), in GFLOP/s counted
 * from the graphs' conv and matmul work (a multiply-add = 2 FLOPs), and the ratio b / a measured in
 * the same run. Target (engine.md): ratio >= 0.5.
 *
 *   npm run bench -- engine [--layers 4] [--runs 10]
 */
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/random.ts';
import { countFlops } from '../src/graph/flops.ts';
import { Graph, type Tensor } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import * as op from '../src/graph/ops.ts';
import { Scope } from '../src/nn/scope.ts';
import { Engine } from '../src/runtime/engine.ts';
import { hostTensor } from '../src/runtime/tensor.ts';
import { Adam } from '../src/training/adam.ts';
import { TrainStep, buildTrainGraph } from '../src/training/step.ts';
import { initNetwork, lookup } from '../src/nn/params.ts';
import { convStack, printTable, timeMedian } from './util.ts';

const { values } = parseArgs({ options: { layers: { type: 'string', default: '4' }, runs: { type: 'string', default: '10' } } });
const LAYERS = Number(values.layers);
const RUNS = Number(values.runs);
const [N, C, S] = [1, 256, 64];

const stack = (scope: Scope, x: Tensor) => convStack(scope, x, LAYERS);

const timeIt = (fn: () => Promise<unknown>) => timeMedian(fn, RUNS);

const engine = await Engine.create();
const rng = new Rng(1);
const x = hostTensor(Float32Array.from({ length: N * C * S * S }, () => rng.normal()), [N, C, S, S]);

// Training graph first: it also gives the initial weights for the forward graph.
const spec = buildTrainGraph('engine_train', (scope) => {
  const input = scope.graph.input('x', [N, C, S, S]);
  return { loss: op.reduceMean(op.square(stack(scope, input))) };
});
const net = initNetwork(spec.specs, rng);
const adam = new Adam(net.params, { lr: 1e-4 });
const step = await TrainStep.create(engine, spec);

const fwd = new Graph('engine_forward');
const fwdScope = Scope.root(fwd, 'infer', lookup(net.params));
fwd.output(stack(fwdScope, fwd.input('x', [N, C, S, S])), 'y');
const forward = await engine.load(toOnnx(fwd), fwd.name);

const forwardFlops = countFlops(fwd);
const trainFlops = countFlops(spec.graph);
const forwardS = await timeIt(() => forward.run({ x }));
let adamS = 0;
const trainS = await timeIt(async () => {
  const r = await step.run(lookup(net.params), { x });
  const t0 = performance.now();
  adam.step(r.grads);
  adamS = (performance.now() - t0) / 1000;
});

const forwardGflops = forwardFlops / forwardS / 1e9;
const trainGflops = trainFlops / trainS / 1e9;
printTable(
  ['measure', 'GFLOP', 'seconds', 'GFLOP/s'],
  [
    [`forward, ${LAYERS} conv 3x3 ${C}->${C} on ${N}x${C}x${S}x${S}`, (forwardFlops / 1e9).toFixed(2), forwardS.toFixed(4), forwardGflops.toFixed(1)],
    ['training step (fwd + loss + bwd + Adam)', (trainFlops / 1e9).toFixed(2), trainS.toFixed(4), trainGflops.toFixed(1)],
    ['  of which Adam (TypeScript)', '-', adamS.toFixed(4), '-'],
  ],
);
console.log(`ratio train/forward GFLOP/s: ${(trainGflops / forwardGflops).toFixed(2)} (target >= 0.5)`);
forward.dispose();
step.dispose();
await engine.dispose();
console.log(
  JSON.stringify({
    forward_gflops: +forwardGflops.toFixed(2),
    train_step_gflops: +trainGflops.toFixed(2),
    ratio: +(trainGflops / forwardGflops).toFixed(3),
    forward_s: +forwardS.toFixed(5),
    train_step_s: +trainS.toFixed(5),
    adam_s: +adamS.toFixed(5),
    layers: LAYERS,
  }),
);
