/**
 * `npm run bench -- stylize`: style transfer time (`Inpainter.stylize`), and where it goes.
 *
 * Cases (content and style decoded beforehand, as a server holding both would have them):
 *   512@256    512x512 content, 512x512 style, the default working size 256 (target < 1 s)
 *   512@512    the same at working size 512 (style matched at 512 too: 16 times the matching work,
 *              in 5 bands of rows)
 *   large@256  a 4000x3000 content with a 1024x768 style at 256: the resizing of a large photo
 *
 * A case's time is one `stylize()` call, as `cold` (the first at that size, which creates the
 * size-specific patch-swap sessions) and the median of later calls; `CPU s` is the median CPU time of
 * a call (all threads), a check on wall times taken while other processes share the machine.
 * The stage table splits the default case into its steps, run one by one on the same networks.
 * The model is the default bundle when installed, else a random-weight `small` bundle (same cost).
 * The last line is one JSON object.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, resizeImage, type RgbImage } from '../src/core/image.ts';
import { loadVggWeights } from '../src/features/vgg-weights.ts';
import { FrozenVgg } from '../src/features/vgg.ts';
import { findVggWeights } from '../src/features/weights-location.ts';
import { DEFAULT_BUNDLE_DIR, load } from '../src/inference/index.ts';
import { Networks } from '../src/inference/networks.ts';
import { styleSwap } from '../src/inference/stylize.ts';
import { photoPixels, TEST_VGG_WEIGHTS, writeRandomBundle } from '../src/inference/testing.ts';
import { readBundle } from '../src/models/bundle.ts';
import { Engine } from '../src/runtime/engine.ts';
import { cpuSeconds, median, printTable, seconds } from './util.ts';

interface Case {
  name: string;
  content: [number, number, string];
  style: [number, number, string];
  size: number;
  /** Timed calls after the cold one. */
  runs: number;
}

const CONTENT = 'python3-sklearn/china.jpg';
const STYLE = 'tuxpaint-data/ocean_waves.jpg';
const CASES: Case[] = [
  { name: '512@256', content: [512, 512, CONTENT], style: [512, 512, STYLE], size: 256, runs: 7 },
  { name: '512@512', content: [512, 512, CONTENT], style: [512, 512, STYLE], size: 512, runs: 3 },
  { name: 'large@256', content: [4000, 3000, 'enlightenment-data/Mountain.jpg'], style: [1024, 768, STYLE], size: 256, runs: 3 },
];

const photo = async ([w, h, file]: [number, number, string]): Promise<RgbImage> => readImage(await photoPixels(w, h, file));

const installed = existsSync(join(DEFAULT_BUNDLE_DIR, 'bundle.json'));
const scratch = await mkdtemp(join(tmpdir(), 'bench-stylize-'));
let bundle = DEFAULT_BUNDLE_DIR;
if (!installed) {
  bundle = join(scratch, 'small');
  await writeRandomBundle(bundle, { preset: 'small', g2Scales: [256] });
}
const vggWeights = existsSync(TEST_VGG_WEIGHTS) ? TEST_VGG_WEIGHTS : undefined;
console.log(`model: ${installed ? `default bundle (${DEFAULT_BUNDLE_DIR})` : 'random-weight bundle, small config'}; ${availableParallelism()} CPU threads; load average ${loadavg()[0].toFixed(2)} at the start`);

const engine = await Engine.create();
const inpainter = await load({ bundle, vggWeights, engine });
const rows: string[][] = [];
const stageRows: string[][] = [];
const figures: Record<string, number> = {};
let nets: Networks | undefined;
try {
  for (const c of CASES) {
    const [content, style] = [await photo(c.content), await photo(c.style)];
    const call = () => inpainter.stylize(content, style, { size: c.size });
    const cold = await seconds(call);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < c.runs; i++) cpu.push(await cpuSeconds(async () => times.push(await seconds(call))));
    figures[`${c.name}_s`] = +median(times).toFixed(3);
    figures[`${c.name}_cold_s`] = +cold.toFixed(3);
    figures[`${c.name}_cpu_s`] = +median(cpu).toFixed(3);
    rows.push([c.name, `${c.content[0]}x${c.content[1]}`, `${c.style[0]}x${c.style[1]}`, String(c.size), cold.toFixed(2), median(times).toFixed(2), median(cpu).toFixed(2)]);
  }

  // The default case's steps, each timed alone (median of 7 after a warm-up).
  nets = await Networks.create(engine, await readBundle(bundle), new FrozenVgg(await loadVggWeights(await findVggWeights(vggWeights))));
  const [content, style] = [await photo(CASES[0].content), await photo(CASES[0].style)];
  const stages: [string, string, () => Promise<unknown>][] = [];
  const small = { content: resizeImage(content, 256, 256), style: resizeImage(style, 256, 256) };
  const fc = await nets.vggFeatures(small.content);
  const fs = await nets.vggFeatures(small.style);
  const { swapped } = await styleSwap(nets, fc, fs);
  const rendered = await nets.render(256, { ...swapped, data: swapped.data.slice() }, 256, 256);
  stages.push(['resize both to 256', 'resize', async () => [resizeImage(content, 256, 256), resizeImage(style, 256, 256)]]);
  stages.push(['VGG content', 'vgg_content', () => nets!.vggFeatures(small.content)]);
  stages.push(['VGG style', 'vgg_style', () => nets!.vggFeatures(small.style)]);
  stages.push(['style-swap 64x64 vs 64x64 cells', 'swap', () => styleSwap(nets!, fc, fs)]);
  stages.push(['G2', 'g2', () => nets!.render(256, { ...swapped, data: swapped.data.slice() }, 256, 256)]);
  stages.push(['enlarge to 512', 'enlarge', async () => resizeImage(rendered, 512, 512, 'lanczos')]);
  for (const [name, key, f] of stages) {
    await f();
    const times: number[] = [];
    for (let i = 0; i < 7; i++) times.push(await seconds(f));
    stageRows.push([name, median(times).toFixed(3)]);
    figures[`stage_${key}_s`] = +median(times).toFixed(3);
  }
} finally {
  await nets?.dispose();
  await inpainter.dispose();
  await engine.dispose();
  await rm(scratch, { recursive: true, force: true });
}

printTable(['case', 'content', 'style', 'size', 'cold s', 'median s', 'CPU s'], rows);
console.log('');
printTable(['512@256 step', 'median s'], stageRows);
console.log(`\nload average ${loadavg()[0].toFixed(2)} at the end (measured on a shared machine: compare CPU s / threads). Target on the 2-core CPU: 512@256 < 1 s (median).`);
console.log(JSON.stringify({ model: installed ? 'default' : 'random-small', threads: availableParallelism(), ...figures, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
