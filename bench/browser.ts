/**
 * `npm run bench -- browser`: the library in headless Chromium (src/web.ts in a Web Worker,
 * onnxruntime-web WASM, threads: the page is cross-origin isolated) against Node (onnxruntime-node
 * in a worker thread), in one run, on the default bundle and the shared VGG file.
 *
 *   first load   browser: `load()` in the worker (fetch the bundle, the VGG file and ONNX Runtime's
 *                WASM, check sha256, build the graphs, create the sessions), and the bytes the
 *                server sent for it; Node: `load()` from files
 *   256          256x256 photo, 128x128 centre hole (scale 256)
 *   512          512x512 photo, 224x224 centre hole (scales 256 + 512)
 *   person       (asked for by name only: a minute) as bench/inference.ts's: a 400x800 hole in a
 *                4000x3000 photo, a 2012x2412 crop at its default scales, 256 + 512 + 1024 + 2048
 *                (until session 33 the page's worker capped them at 1024); one run after the cold one
 *
 * As bench/inference.ts: `cold` is the first call at that size, then the median of `runs` calls;
 * the ratio is browser / Node of the medians. Browser and Node calls alternate, never overlap.
 * The last line is one JSON object.
 * `npm run bench -- browser [CASE...]` runs the cases named, else all but those asked for by name.
 * Options: --runs N (default 3), --threads N (browser WASM threads; default hardwareConcurrency).
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { toRgba8 } from '../src/core/raster.ts';
import { DEFAULT_BUNDLE_DIR, load } from '../src/inference/index.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS } from '../src/inference/testing.ts';
import { WebHarness } from '../test/web/harness.ts';
import { compareRgba } from '../test/web/compare.ts';
import { median, printTable, seconds } from './util.ts';

const { values: args, positionals } = parseArgs({ options: { runs: { type: 'string', default: '3' }, threads: { type: 'string' } }, allowPositionals: true });
const threads = args.threads === undefined ? undefined : Number(args.threads);

interface Case {
  name: string;
  width: number;
  height: number;
  hole: [number, number];
  /** The scales, written out as the default picks them (given, so that both sides run the same). */
  scales: number[];
  photo?: string;
  /** Timed calls after the cold one; default --runs. */
  runs?: number;
  /** Run only when asked for by name. */
  byName?: boolean;
}

const CASES: Case[] = [
  { name: '256', width: 256, height: 256, hole: [128, 128], scales: [256] },
  { name: '512', width: 512, height: 512, hole: [224, 224], scales: [256, 512] },
  { name: 'person', width: 4000, height: 3000, hole: [400, 800], scales: [256, 512, 1024, 2048], photo: 'enlightenment-data/Mountain.jpg', runs: 1, byName: true },
];
const unknown = positionals.filter((n) => !CASES.some((c) => c.name === n));
if (unknown.length > 0) throw new Error(`unknown case ${unknown.join(', ')}: the cases are ${CASES.map((c) => c.name).join(', ')}`);
const chosen = positionals.length > 0 ? CASES.filter((c) => positionals.includes(c.name)) : CASES.filter((c) => !c.byName);

if (!existsSync(TEST_VGG_WEIGHTS)) throw new Error(`the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
const harness = await WebHarness.start({ bundleDir: DEFAULT_BUNDLE_DIR, vggPath: TEST_VGG_WEIGHTS });
const figures: Record<string, number | string | boolean> = {};
const rows: string[][] = [];
try {
  harness.bytesSent = 0;
  const web = await harness.load({ backend: 'wasm', ...(threads === undefined ? {} : { threads }) });
  const downloaded = harness.bytesSent;
  let node: Awaited<ReturnType<typeof load>> | undefined;
  const nodeLoad = await seconds(async () => {
    node = await load({ vggWeights: TEST_VGG_WEIGHTS });
  });
  figures.browser_threads = threads ?? web.cores;
  figures.node_threads = availableParallelism();
  figures.cross_origin_isolated = web.crossOriginIsolated;
  figures.browser_first_load_s = +web.seconds.toFixed(3);
  figures.browser_first_load_mb = +(downloaded / 1e6).toFixed(2);
  figures.node_load_s = +nodeLoad.toFixed(3);
  try {
    for (const c of chosen) {
      const { width, height } = c;
      const rgb = await photoPixels(width, height, c.photo);
      const rgba = new Uint8Array(width * height * 4);
      for (let i = 0; i < width * height; i++) {
        rgba.set(rgb.data.subarray(3 * i, 3 * i + 3), 4 * i);
        rgba[4 * i + 3] = 255;
      }
      const [hw, hh] = c.hole;
      const mask = rectMask(width, height, { x: (width - hw) >> 1, y: (height - hh) >> 1, width: hw, height: hh });
      const options = { scales: c.scales };
      const runs = c.runs ?? Number(args.runs);
      const browserTimes: number[] = [];
      const nodeTimes: number[] = [];
      let browserOut: Uint8Array | undefined;
      let nodeOut: Uint8ClampedArray | undefined;
      for (let i = 0; i <= runs; i++) {
        const b = await harness.inpaint(rgba, mask.data, width, height, options);
        browserTimes.push(b.seconds);
        browserOut = b.rgba;
        nodeTimes.push(
          await seconds(async () => {
            nodeOut = toRgba8((await node!.inpaint({ data: rgba, width, height, channels: 4 }, mask, options)).image);
          }),
        );
      }
      const [bCold, nCold] = [browserTimes.shift()!, nodeTimes.shift()!];
      const [b, n] = [median(browserTimes), median(nodeTimes)];
      const { max } = compareRgba(browserOut!, nodeOut!);
      Object.assign(figures, {
        [`browser_${c.name}_s`]: +b.toFixed(3),
        [`browser_cold_${c.name}_s`]: +bCold.toFixed(3),
        [`node_${c.name}_s`]: +n.toFixed(3),
        [`node_cold_${c.name}_s`]: +nCold.toFixed(3),
        [`ratio_${c.name}`]: +(b / n).toFixed(2),
        [`max_diff_${c.name}`]: max,
      });
      rows.push([c.name, `${width}x${height}`, c.scales.join('+'), bCold.toFixed(2), b.toFixed(2), nCold.toFixed(2), n.toFixed(2), (b / n).toFixed(2), String(max)]);
    }
  } finally {
    await node?.dispose();
  }
} finally {
  await harness.close();
}

printTable(['case', 'image', 'scales', 'browser cold s', 'browser s', 'node cold s', 'node s', 'browser/node', 'max diff'], rows);
console.log(
  `first load in the browser: ${figures.browser_first_load_s} s, ${figures.browser_first_load_mb} MB downloaded (bundle, VGG, ONNX Runtime's WASM); ` +
    `Node load ${figures.node_load_s} s. Threads: browser ${figures.browser_threads} (cross-origin isolated: ${figures.cross_origin_isolated}), Node ${figures.node_threads}. ` +
    `Load average ${loadavg()[0].toFixed(2)} at the end.`,
);
console.log(JSON.stringify(figures));
