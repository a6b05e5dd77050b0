/**
 * `npm run bench -- inference`: end-to-end inpainting time and peak memory.
 *
 * Cases (the paper's two settings and a large photo):
 *   256    256x256 photo, 128x128 centre hole (scale 256)
 *   512    512x512 photo, 224x224 centre hole (scales 256 + 512)
 *   large  4000x3000 photo (a real photo enlarged), 300x200 hole (a 912x812 crop, scales 256 + 512
 *          + 912: the crop at its own size)
 *   large_512        the large case at 256 + 512 alone, its crop's fill enlarged 1.78x (the default
 *                    before session 25): what the third scale costs, as a ratio within one run
 *   256_e2, 256_e4, 256_e8   the 256 case with the self-ensemble at 2, 4 and 8 orientations (the
 *                    others run the default, 1)
 *   256_noguide      the 256 case matched on G1's guide (`guide: false`), the paper's: what the
 *                    bundle's feature guide costs, as a ratio within one run
 *   huge   (asked for by name only: a minute a call) 4000x3000 photo, 1400x1000 hole: the whole
 *          photo one region, scales 256 + 512 + 1024 + 2667 (the least that leaves it enlarged
 *          under 1.5x)
 *   huge_2048        the huge case at 256 + 512 + 1024 + 2048, enlarged 1.95x (the default before
 *                    session 27)
 *   person (asked for by name only: 20 s a call) 4000x3000 photo, 400x800 hole, a person removed
 *          from a phone photo: a 2012x2412 crop, scales 256 + 512 + 1024 + 2048
 *   straighten (asked for by name only: a minute a call) 4000x3000 photo turned 3 degrees (`inpaint run
 *          --rotate 3`): its four empty corners, each a strip of context along it (since session
 *          40; before, the whole photo one region), at the default scales
 *
 * `npm run bench -- inference [CASE...]` runs the cases named, else all but those asked for by name.
 *
 * The scales are written out: those `inpaint` picks by default for each case (`defaultScales`).
 * The model is the default bundle when one is installed, else a random-weight bundle of the `small`
 * configuration (same cost as trained weights of that size); the output says which. Images are
 * decoded beforehand; a case's time is one `inpaint()` call, as `cold` (the first call at that size,
 * which creates size-specific patch-swap sessions and lets ONNX Runtime plan its memory) and as the
 * median of later calls; `CPU s` is the median CPU time of a call (all threads), a check on wall
 * times taken while other processes share the machine. Peak RSS is the process's maximum resident set (the engine's worker
 * included) after each case. Before the cases, the machine's speed on convolutions is measured
 * (`machineGflops`, `machine_gflops` in the JSON): the same call takes three times as long on a
 * busy day, and the targets assume an idle one. The last line is one JSON object.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, type RgbImage } from '../src/core/image.ts';
import { reframe } from '../src/core/reframe.ts';
import { DEFAULT_BUNDLE_DIR, load } from '../src/inference/index.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from '../src/inference/testing.ts';
import { Engine } from '../src/runtime/engine.ts';
import { cpuSeconds, machineGflops, median, printTable, seconds } from './util.ts';

interface Case {
  name: string;
  width: number;
  height: number;
  hole: [number, number];
  /** The hole is instead the corners the photo turned this many degrees leaves empty. */
  rotate?: number;
  /** Timed calls after the cold one. */
  runs: number;
  /** The working scales; the default's when undefined. */
  scales?: number[];
  photo: string;
  /** The self-ensemble; default inpaint's. */
  ensemble?: number;
  /** Whether the match uses the bundle's feature guide; default inpaint's. */
  guide?: boolean;
  /** Run only when asked for by name. */
  byName?: boolean;
}

const CASES: Case[] = [
  { name: '256', width: 256, height: 256, hole: [128, 128], runs: 5, scales: [256], photo: 'python3-sklearn/china.jpg' },
  { name: '256_noguide', width: 256, height: 256, hole: [128, 128], runs: 5, scales: [256], photo: 'python3-sklearn/china.jpg', guide: false },
  { name: '256_e2', width: 256, height: 256, hole: [128, 128], runs: 5, scales: [256], photo: 'python3-sklearn/china.jpg', ensemble: 2 },
  { name: '256_e4', width: 256, height: 256, hole: [128, 128], runs: 3, scales: [256], photo: 'python3-sklearn/china.jpg', ensemble: 4 },
  { name: '256_e8', width: 256, height: 256, hole: [128, 128], runs: 3, scales: [256], photo: 'python3-sklearn/china.jpg', ensemble: 8 },
  { name: '512', width: 512, height: 512, hole: [224, 224], runs: 3, scales: [256, 512], photo: 'python3-sklearn/china.jpg' },
  { name: 'large', width: 4000, height: 3000, hole: [300, 200], runs: 2, scales: [256, 512, 912], photo: 'enlightenment-data/Mountain.jpg' },
  { name: 'large_512', width: 4000, height: 3000, hole: [300, 200], runs: 2, scales: [256, 512], photo: 'enlightenment-data/Mountain.jpg' },
  { name: 'huge', width: 4000, height: 3000, hole: [1400, 1000], runs: 1, scales: [256, 512, 1024, 2667], photo: 'enlightenment-data/Mountain.jpg', byName: true },
  { name: 'huge_2048', width: 4000, height: 3000, hole: [1400, 1000], runs: 1, scales: [256, 512, 1024, 2048], photo: 'enlightenment-data/Mountain.jpg', byName: true },
  { name: 'person', width: 4000, height: 3000, hole: [400, 800], runs: 1, scales: [256, 512, 1024, 2048], photo: 'enlightenment-data/Mountain.jpg', byName: true },
  { name: 'straighten', width: 4000, height: 3000, hole: [0, 0], rotate: 3, runs: 1, photo: 'enlightenment-data/Mountain.jpg', byName: true },
];
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !CASES.some((c) => c.name === name));
if (unknown.length) {
  console.error(`unknown case ${unknown.join(', ')}; the cases: ${CASES.map((c) => c.name).join(', ')}`);
  process.exit(2);
}
const cases = asked.length ? CASES.filter((c) => asked.includes(c.name)) : CASES.filter((c) => !c.byName);

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

const installed = existsSync(join(DEFAULT_BUNDLE_DIR, 'bundle.json'));
const scratch = await mkdtemp(join(tmpdir(), 'bench-inference-'));
let bundle = DEFAULT_BUNDLE_DIR;
if (!installed) {
  bundle = join(scratch, 'small');
  await writeRandomBundle(bundle, { preset: 'small', g2Scales: [256, 512] });
}
const model = installed ? `default bundle (${DEFAULT_BUNDLE_DIR})` : 'random-weight bundle, small config (no default bundle installed)';
console.log(`model: ${model}; ${availableParallelism()} CPU threads`);

// The machine's speed in this run, on an engine of its own: the same photo's time varies with it.
const calibration = await Engine.create();
const gflops = await machineGflops(calibration).finally(() => calibration.dispose());

let inpainter: Awaited<ReturnType<typeof load>> | undefined;
const loadSeconds = await seconds(async () => {
  inpainter = await load({ bundle, vggWeights: existsSync(TEST_VGG_WEIGHTS) ? TEST_VGG_WEIGHTS : undefined });
});
const rows: string[][] = [];
const figures: Record<string, number> = {};
try {
  for (const c of cases) {
    // Decode the photo at its real size, then enlarge it: the pixels of a photo, at any size.
    const image: RgbImage = await readImage(await photoPixels(c.width, c.height, c.photo));
    const [hw, hh] = c.hole;
    const mask = c.rotate
      ? reframe({ image }, undefined, { rotate: c.rotate }).hole
      : rectMask(c.width, c.height, { x: (c.width - hw) >> 1, y: (c.height - hh) >> 1, width: hw, height: hh });
    let regions = '';
    const cold = await seconds(async () => {
      const { debug } = await inpainter!.inpaint(image, mask, { scales: c.scales, ensemble: c.ensemble, guide: c.guide, debug: true });
      regions = debug!.regions.map((r) => `${r.box.width}x${r.box.height}@${r.scales.join('+')}`).join(' ');
    });
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < c.runs; i++) cpu.push(await cpuSeconds(async () => times.push(await seconds(() => inpainter!.inpaint(image, mask, { scales: c.scales, ensemble: c.ensemble, guide: c.guide })))));
    const warm = median(times);
    figures[`e2e_${c.name}_s`] = +warm.toFixed(3);
    figures[`cold_${c.name}_s`] = +cold.toFixed(3);
    figures[`cpu_${c.name}_s`] = +median(cpu).toFixed(3);
    rows.push([c.name, `${c.width}x${c.height}`, c.rotate ? `turned ${c.rotate}°` : `${hw}x${hh}`, regions, cold.toFixed(2), warm.toFixed(2), median(cpu).toFixed(2), peakRssMb().toFixed(0)]);
  }
} finally {
  await inpainter?.dispose();
  await rm(scratch, { recursive: true, force: true });
}

printTable(['case', 'image', 'hole', 'crop@scales', 'cold s', 'median s', 'CPU s', 'peak RSS MB'], rows);
// CPU seconds over the thread count is what a call would take on an otherwise idle machine if it
// kept every thread busy: a check on wall times measured while other processes share the CPU.
console.log(`load ${loadSeconds.toFixed(2)} s; load average ${loadavg()[0].toFixed(2)} at the end. Targets on the 2-core CPU: 256 < 0.5 s, 512 < 2 s (median).`);
console.log(`The machine ran convolutions at ${gflops.toFixed(0)} GFLOP/s in this run (npm run bench -- engine's forward; 200 to 300 on an idle day, which the targets assume).`);
console.log(
  JSON.stringify({
    model: installed ? 'default' : 'random-small',
    threads: availableParallelism(),
    machine_gflops: +gflops.toFixed(1),
    load_s: +loadSeconds.toFixed(3),
    ...figures,
    peak_rss_mb: Math.round(peakRssMb()),
  }),
);
