/** Shared helpers for benchmark scripts: robust timing statistics, a plain-text table, the machine's speed. */
import { Rng } from '../src/core/random.ts';
import { countFlops } from '../src/graph/flops.ts';
import { Graph, type Tensor } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import * as op from '../src/graph/ops.ts';
import { conv2d } from '../src/nn/layers.ts';
import { initNetwork, lookup } from '../src/nn/params.ts';
import { Scope } from '../src/nn/scope.ts';
import type { Engine } from '../src/runtime/engine.ts';
import { hostTensor } from '../src/runtime/tensor.ts';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Prints rows as an aligned table with a header rule. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** Median seconds of `fn` over `runs` calls after `warmup` calls. */
export async function timeMedian(fn: () => Promise<unknown>, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** Wall-clock seconds of one call of `f`. */
export async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

/** CPU seconds of the whole process (the engine's worker threads included) spent in `f`. */
export async function cpuSeconds(f: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await f();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1e6;
}

/** `layers` 3x3 convolutions of `x`'s channel count, each with a ReLU: the stack `npm run bench -- engine` times. */
export function convStack(scope: Scope, x: Tensor, layers: number): Tensor {
  let h = x;
  for (let i = 0; i < layers; i++) h = op.relu(conv2d(scope.child(`conv${i}`), h, { cout: x.shape[1] as number }));
  return h;
}

/**
 * The engine's forward speed in GFLOP/s on `convStack` (4 layers, 1x256x64x64), as `npm run bench
 * -- engine` reports it: how fast the machine was in the run that the other figures come from. This
 * project's 2-core machine gives 200 to 300 on an idle day and 70 on a busy one, so timings taken
 * on different days compare only beside it.
 */
export async function machineGflops(engine: Engine, runs = 5): Promise<number> {
  const shape = [1, 256, 64, 64];
  // A training-mode build declares the parameters; the inference graph bakes in their initial values.
  const declared = new Graph('declare');
  const declaring = Scope.root(declared, 'train');
  convStack(declaring, declared.input('x', shape), 4);
  const { params } = initNetwork(declaring.specs, new Rng(1));
  const graph = new Graph('machine_forward');
  graph.output(convStack(Scope.root(graph, 'infer', lookup(params)), graph.input('x', shape), 4), 'y');
  const session = await engine.load(toOnnx(graph), graph.name);
  try {
    const x = hostTensor(new Float32Array(shape.reduce((a, b) => a * b)).fill(0.5), shape);
    return countFlops(graph) / (await timeMedian(() => session.run({ x }), runs)) / 1e9;
  } finally {
    session.dispose();
  }
}
