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
 *
 * As bench/inference.ts: `cold` is the first call at that size, then the median of `runs` calls;
 * the ratio is browser / Node of the medians. Browser and Node calls alternate, never overlap.
 * The last line is one JSON object.
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

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, threads: { type: 'string' } } });
const runs = Number(args.runs);
const threads = args.threads === undefined ? undefined : Number(args.threads);

const CASES = [
  { name: '256', size: 256, hole: 128, scales: [256] },
  { name: '512', size: 512, hole: 224, scales: [256, 512] },
];

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
    for (const c of CASES) {
      const rgb = await photoPixels(c.size, c.size);
      const rgba = new Uint8Array(c.size * c.size * 4);
      for (let i = 0; i < c.size * c.size; i++) {
        rgba.set(rgb.data.subarray(3 * i, 3 * i + 3), 4 * i);
        rgba[4 * i + 3] = 255;
      }
      const at = (c.size - c.hole) >> 1;
      const mask = rectMask(c.size, c.size, { x: at, y: at, width: c.hole, height: c.hole });
      const options = { scales: c.scales };
      const browserTimes: number[] = [];
      const nodeTimes: number[] = [];
      let browserOut: Uint8Array | undefined;
      let nodeOut: Uint8ClampedArray | undefined;
      for (let i = 0; i <= runs; i++) {
        const b = await harness.inpaint(rgba, mask.data, c.size, c.size, options);
        browserTimes.push(b.seconds);
        browserOut = b.rgba;
        nodeTimes.push(
          await seconds(async () => {
            nodeOut = toRgba8((await node!.inpaint({ data: rgba, width: c.size, height: c.size, channels: 4 }, mask, options)).image);
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
      rows.push([c.name, `${c.size}x${c.size}`, c.scales.join('+'), bCold.toFixed(2), b.toFixed(2), nCold.toFixed(2), n.toFixed(2), (b / n).toFixed(2), String(max)]);
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
