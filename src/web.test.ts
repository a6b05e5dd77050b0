/**
 * The browser entry without a browser: it bundles for the browser with nothing of Node's in it
 * (the platform split of issue 18 holds), its pixel helpers round-trip canvas pixels, and its
 * default memory budget follows the device's memory. The
 * browser's fill against Node's is test/web/browser.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { UsageError } from './core/errors.ts';
import { defaultWebMemoryBudget, imageToRgba, rgbaToImage } from './web.ts';

describe('src/web.ts', () => {
  it('bundles for the browser, importing nothing from Node, sharp or onnxruntime-node', async () => {
    const entry = fileURLToPath(new URL('./web.ts', import.meta.url));
    const result = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    const nodeOnly = inputs.filter((f) => /^node:|node_modules\/(sharp|onnxruntime-node|onnxruntime-web)\//.test(f));
    assert.deepEqual(nodeOnly, [], 'onnxruntime-web is imported at run time from wasmPaths, sharp and Node never');
    for (const mine of ['src/core/image.ts', 'src/runtime/engine.ts', 'src/inference/inpainter.ts', 'src/models/bundle.ts', 'src/features/vgg-weights.ts']) {
      assert.ok(!inputs.includes(mine), `${mine} (Node) must not be in the browser bundle`);
    }
  });

  it('rgbaToImage and imageToRgba round-trip canvas pixels (alpha comes back 255)', () => {
    const rgba = new Uint8ClampedArray([0, 128, 255, 7, 10, 20, 30, 255]);
    const image = rgbaToImage(rgba, 2, 1);
    assert.deepEqual([...image.data].map((v) => Math.round(v * 255)), [0, 10, 128, 20, 255, 30]);
    assert.deepEqual([...imageToRgba(image)], [0, 128, 255, 255, 10, 20, 30, 255]);
    assert.throws(() => rgbaToImage(rgba, 3, 1), UsageError);
  });

  it("the default memory budget is half the device's memory, at most 4 GB, and assumes 4 GB where it is not reported", () => {
    const GiB = 2 ** 30;
    assert.equal(defaultWebMemoryBudget(8), 4e9);
    assert.equal(defaultWebMemoryBudget(4), 2 * GiB);
    assert.equal(defaultWebMemoryBudget(0.5), 0.25 * GiB);
    assert.equal(defaultWebMemoryBudget(undefined), 2 * GiB);
  });
});
