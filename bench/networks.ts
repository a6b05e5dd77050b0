/**
 * `npm run bench -- networks [preset...]`: forward time of each network, batch 1, at 256x256 and
 * 512x512, for each preset (default all): inference graphs (weights baked in, batch norm folded by
 * ONNX Runtime) on an Engine with randomly initialised weights. Prints a table; the last line is one
 * JSON object of the figures.
 *
 * Timing: one warm-up run (session creation and first-run allocation excluded), then the median of
 * enough runs to fill about TIME_PER_CASE_S (at least MIN_RUNS, at most MAX_RUNS): fast cases are
 * otherwise dominated by scheduler noise. A case whose estimate (the 256 time scaled by the FLOP ratio) exceeds SKIP_OVER_S is
 * skipped and reported as such, so the paper-size G1 at 512 does not hold the benchmark up on a CPU.
 */
import { availableParallelism } from 'node:os';
import { Rng } from '../src/core/random.ts';
import { countFlops } from '../src/graph/flops.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { MODEL_PRESET_NAMES, MODEL_PRESETS, type ModelPreset } from '../src/models/config.ts';
import { buildNetworkGraph, createNetwork, NETWORK_KINDS, networkSpecs, parameterCount } from '../src/models/registry.ts';
import { Engine } from '../src/runtime/engine.ts';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.ts';
import { initNetwork, lookup } from '../src/nn/params.ts';
import { median } from './util.ts';

const SIZES = [256, 512] as const;
const MIN_RUNS = 3;
const MAX_RUNS = 25;
const TIME_PER_CASE_S = 2;
const SKIP_OVER_S = 20;

interface Result {
  preset: ModelPreset;
  kind: string;
  size: number;
  params: number;
  gflops: number;
  /** Median seconds a forward pass; null when skipped. */
  seconds: number | null;
  gflopsPerSecond: number | null;
  /** Timed runs the median is of. */
  runs?: number;
  skipped?: string;
}

/** Plausible inputs: pixels in [0, 1], a centre hole, non-negative features of relu-like scale. */
function feeds(shapes: Record<string, readonly (number | string)[]>, rng: Rng): Record<string, HostTensor> {
  return Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => {
      const dims = shape as number[];
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      if (name === 'mask') {
        const [h, w] = [dims[2], dims[3]];
        for (let y = h / 4; y < (3 * h) / 4; y++) data.fill(1, y * w + w / 4, y * w + (3 * w) / 4);
      } else {
        for (let i = 0; i < data.length; i++) data[i] = name === 'features' ? Math.max(0, 2 * rng.normal()) : rng.next();
      }
      return [name, hostTensor(data, dims)];
    }),
  );
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const presets = requested.length > 0 ? requested : MODEL_PRESET_NAMES;
  const engine = await Engine.create();
  const results: Result[] = [];
  const header = ['preset', 'network', 'size', 'params (M)', 'GFLOPs', 'seconds', 'GFLOP/s'];
  const widths = [6, 7, 4, 10, 8, 8, 8];
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  console.log(`networks: forward pass, batch 1, ${engine.threads} ONNX Runtime threads (${availableParallelism()} cores)`);
  row(header);
  try {
    for (const presetName of presets) {
      const preset = presetName as ModelPreset;
      for (const kind of NETWORK_KINDS) {
        const network = createNetwork(kind, MODEL_PRESETS[preset]);
        const specs = networkSpecs(network);
        const params = parameterCount(specs);
        const state = initNetwork(specs, new Rng(1));
        let secondsPerGflop: number | null = null;
        for (const size of SIZES) {
          const built = buildNetworkGraph(network, { batch: 1, height: size, width: size }, 'infer', lookup(state.params, state.buffers));
          const gflops = countFlops(built.graph) / 1e9;
          const estimate = secondsPerGflop === null ? 0 : secondsPerGflop * gflops;
          let result: Result;
          if (estimate > SKIP_OVER_S) {
            result = { preset, kind, size, params, gflops, seconds: null, gflopsPerSecond: null, skipped: `estimated ${estimate.toFixed(0)} s > ${SKIP_OVER_S} s` };
          } else {
            const session = await engine.load(toOnnx(built.graph), `${preset}-${kind}-${size}`);
            const input = feeds(network.inputShapes({ batch: 1, height: size, width: size }), new Rng(2));
            try {
              const w0 = performance.now();
              await session.run(input);
              const warmup = (performance.now() - w0) / 1000;
              const runs = Math.min(MAX_RUNS, Math.max(MIN_RUNS, Math.ceil(TIME_PER_CASE_S / warmup)));
              const times: number[] = [];
              for (let i = 0; i < runs; i++) {
                const t0 = performance.now();
                await session.run(input);
                times.push((performance.now() - t0) / 1000);
              }
              const seconds = median(times);
              secondsPerGflop ??= seconds / gflops;
              result = { preset, kind, size, params, gflops, seconds, gflopsPerSecond: gflops / seconds, runs };
            } finally {
              session.dispose();
            }
          }
          results.push(result);
          row([
            preset,
            kind,
            String(size),
            (params / 1e6).toFixed(3),
            gflops.toFixed(2),
            result.seconds === null ? 'skipped' : result.seconds.toFixed(3),
            result.gflopsPerSecond === null ? '-' : result.gflopsPerSecond.toFixed(1),
          ]);
          if (result.skipped) console.log(`  (${preset} ${kind} at ${size} skipped: ${result.skipped})`);
        }
      }
    }
  } finally {
    await engine.dispose();
  }
  console.log(JSON.stringify({ bench: 'networks', threads: engine.threads, batch: 1, results }));
}

await main();
