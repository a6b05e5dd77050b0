/**
 * Patch-swap speed: 64x64x256 with a 32x32 centre hole (the paper's setting, target <= 0.1 s on this
 * CPU) and 128x128x256 with a 56x56 hole, run through `PatchSwapper` on an Engine, each as the
 * paper defines it and with the locality penalty the inpainter uses (`locality` 1), one after the
 * other in the same run; then the 128 case as the inpainter's later scales swap it, searched near
 * the choices of a 64x64 swap of the same map halved (`localPatchSwap`, TypeScript, no engine).
 * Prints a table and ends with one JSON line.
 *
 *   npm run bench -- patchswap [runs]
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../src/core/random.ts';
import { Engine } from '../src/runtime/engine.ts';
import { hostTensor } from '../src/runtime/tensor.ts';
import { localPatchSwap, matchFlops, offsetsFrom, PatchSwapper } from '../src/patchswap/index.ts';

const CHANNELS = 256;
const WARMUP = 3;
const runs = Number(process.argv[2] ?? 10);

interface Row {
  size: number;
  hole: number;
  locality: number;
  /** The first run, which creates the session of this band count (its nodes grow with the bands). */
  coldS: number;
  medianS: number;
  minS: number;
  gflop: number;
  directGflop: number;
  /** The share of the machine's CPU time that other processes used during the timed runs. */
  otherLoad: number;
}

/** Busy and total CPU time of the whole machine in ms (Linux /proc/stat), or null elsewhere. */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + fields[4]; // idle, iowait
    const tick = 10; // USER_HZ = 100 on Linux
    return { busy: (total - idle) * tick, total: total * tick };
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A case's features (relu3_1-like: non-negative, about half zeros; seeded by the size) and its centred square hole. */
function benchCase(size: number, hole: number): { data: Float32Array; mask: Float32Array } {
  const rng = new Rng(size);
  const data = Float32Array.from({ length: CHANNELS * size * size }, () => Math.max(0, rng.normal()));
  const mask = new Float32Array(size * size);
  const o = (size - hole) / 2;
  for (let y = o; y < o + hole; y++) mask.fill(1, y * size + o, y * size + o + hole);
  return { data, mask };
}

async function measure(swapper: PatchSwapper, size: number, hole: number, locality: number): Promise<Row> {
  const { data, mask } = benchCase(size, hole);
  const features = hostTensor(data, [1, CHANNELS, size, size]);
  const input = { features, mask: hostTensor(mask, [1, 1, size, size]), locality };
  const times: number[] = [];
  const t0 = performance.now();
  await swapper.swap(input);
  const coldS = (performance.now() - t0) / 1000;
  for (let i = 1; i < WARMUP; i++) await swapper.swap(input);
  const [cpu0, own0] = [machineCpu(), process.cpuUsage()];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await swapper.swap(input);
    times.push((performance.now() - t) / 1000);
  }
  const [cpu1, own] = [machineCpu(), process.cpuUsage(own0)];
  // Others' load matters: ONNX Runtime's threads spin while they wait, so a busy machine slows
  // these runs far more than its load alone would suggest.
  const otherLoad = cpu0 && cpu1 ? Math.max(0, cpu1.busy - cpu0.busy - (own.user + own.system) / 1000) / (cpu1.total - cpu0.total) : Number.NaN;
  // Query patches: those touching the hole, (hole + 2)^2; candidates: the complete known patches.
  const queries = (hole + 2) ** 2;
  const candidates = (size - 2) ** 2 - queries;
  return {
    size,
    hole,
    locality,
    coldS,
    medianS: median(times),
    minS: Math.min(...times),
    gflop: matchFlops(hole + 2, hole + 2, size, size, CHANNELS) / 1e9,
    directGflop: (2 * queries * candidates * 9 * CHANNELS) / 1e9,
    otherLoad,
  };
}

const engine = await Engine.create();
const swapper = await PatchSwapper.create(engine);
const rows: Row[] = [];
for (const [size, hole] of [
  [64, 32],
  [128, 56],
]) {
  for (const locality of [0, 1]) rows.push(await measure(swapper, size, hole, locality));
}

/** The case of `measure` (same features), swapped near a 64x64 swap's choices: cold and median seconds. */
async function measureLocal(size: number, hole: number): Promise<{ coldS: number; medianS: number }> {
  const { data, mask } = benchCase(size, hole);
  // The coarser scale: the map and its hole halved (2x2 means; a cell is hole if any of its 4 is).
  const half = size / 2;
  const coarse = new Float32Array(CHANNELS * half * half);
  const coarseMask = new Float32Array(half * half);
  for (let c = 0; c < CHANNELS; c++) {
    for (let y = 0; y < half; y++) {
      for (let x = 0; x < half; x++) {
        let [sum, holed] = [0, 0];
        for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          sum += data[c * size * size + (2 * y + dy) * size + 2 * x + dx];
          holed = Math.max(holed, mask[(2 * y + dy) * size + 2 * x + dx]);
        }
        coarse[c * half * half + y * half + x] = sum / 4;
        coarseMask[y * half + x] = holed;
      }
    }
  }
  const first = await swapper.swap({ features: hostTensor(coarse, [1, CHANNELS, half, half]), mask: hostTensor(coarseMask, [1, 1, half, half]), locality: 1 });
  const offsets = offsetsFrom({ width: half, height: half, data: first.provenance.data as BigInt64Array }, size, size);
  const input = { features: { channels: CHANNELS, height: size, width: size, data }, hole: mask, locality: 1, offsets };
  const t0 = performance.now();
  localPatchSwap(input);
  const coldS = (performance.now() - t0) / 1000;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    localPatchSwap(input);
    times.push((performance.now() - t) / 1000);
  }
  return { coldS, medianS: median(times) };
}
const local = await measureLocal(128, 56);
swapper.dispose();
await engine.dispose();

console.log(`patch-swap, exact, ${engine.threads} threads, median and min of ${runs} runs after ${WARMUP} warm-up runs`);
console.log('map           hole    locality  cold s  median s   min s  match GFLOP  GFLOP/s  style-swap GFLOP  other load');
for (const r of rows) {
  const map = `${r.size}x${r.size}x${CHANNELS}`.padEnd(13);
  const hole = `${r.hole}x${r.hole}`.padEnd(7);
  const load = Number.isNaN(r.otherLoad) ? '?' : `${(100 * r.otherLoad).toFixed(0)}%`;
  console.log(
    `${map} ${hole} ${String(r.locality).padStart(8)} ${r.coldS.toFixed(2).padStart(7)} ${r.medianS.toFixed(4).padStart(9)} ${r.minS.toFixed(4).padStart(7)} ${r.gflop.toFixed(2).padStart(12)} ${(r.gflop / r.medianS).toFixed(0).padStart(8)} ${r.directGflop.toFixed(1).padStart(17)} ${load.padStart(11)}`,
  );
}
console.log(`${'128x128x256'.padEnd(13)} ${'56x56'.padEnd(7)} ${'1 local'.padStart(8)} ${local.coldS.toFixed(2).padStart(7)} ${local.medianS.toFixed(4).padStart(9)}`);
console.log('local: searched near a 64x64 swap\'s choices, as the inpainter\'s later scales are (src/patchswap/local.ts).');
console.log('match GFLOP: the Gram product and shifted sums done here; style-swap GFLOP: one convolution of the');
console.log('hole\'s patches with the known candidates as filters, the classic fast form, for comparison.');
console.log('cold s: the first run, with the creation of its session (one per band count and locality).');
console.log('other load: CPU used by other processes during the timed runs (times are only comparable near 0%).');
console.log(
  JSON.stringify({
    patchswap_64_s: rows[0].medianS,
    patchswap_64_locality_s: rows[1].medianS,
    patchswap_128_s: rows[2].medianS,
    patchswap_128_locality_s: rows[3].medianS,
    patchswap_128_locality_cold_s: rows[3].coldS,
    local_128_s: local.medianS,
    local_128_cold_s: local.coldS,
    patchswap_64_min_s: rows[0].minS,
    patchswap_128_min_s: rows[2].minS,
    match_gflop_64: rows[0].gflop,
    match_gflop_128: rows[2].gflop,
    other_load_64: rows[0].otherLoad,
    other_load_128: rows[2].otherLoad,
  }),
);
