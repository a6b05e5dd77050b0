/**
 * The browser's fill equals Node's (issue 18, item 5): the same photo and mask, filled by
 * `src/web.ts` in a Web Worker of headless Chromium (onnxruntime-web, WASM, threads: the page is
 * cross-origin isolated) and by Node's `load()` (onnxruntime-node), with the default bundle and the
 * shared VGG file, agree to at most 1 level (of 255) in every channel of every pixel. Two crops of
 * a real photo: 256x256 and 384x288 (a 4:3 image: G1 and G2 pad differently). Node's fill with a
 * deliberately different option (`locality: 0`) must differ by more, or the comparison proves
 * nothing. The photo given as PNG bytes (decoded by the browser) fills exactly as its raw pixels. Fails, never skips, without Chromium (/usr/bin/chromium) or the VGG file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { toRgba8 } from '../../src/core/raster.ts';
import { checkoutVggWeights } from '../../src/features/weights-location.ts';
import { DEFAULT_BUNDLE_DIR, type Inpainter, load } from '../../src/inference/inpainter.ts';
import { compareRgba } from './compare.ts';
import { CHROMIUM, WebHarness } from './harness.ts';

const PHOTO = fileURLToPath(new URL('../../../shared/data/photos-other/jigzo-data/horse-4x3.jpg', import.meta.url));

/** A crop of the photo as RGBA (alpha 255) and a rectangular hole in its middle. */
async function testCase(width: number, height: number, left: number, top: number) {
  const data = await sharp(PHOTO).extract({ left, top, width, height }).removeAlpha().ensureAlpha().raw().toBuffer();
  const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const hole = new Uint8Array(width * height);
  const [hw, hh] = [Math.round(width * 0.3), Math.round(height * 0.3)];
  const [x0, y0] = [Math.round(width * 0.4), Math.round(height * 0.35)];
  for (let y = y0; y < y0 + hh; y++) hole.fill(1, y * width + x0, y * width + x0 + hw);
  return { rgba, hole, width, height };
}

describe('the browser build fills as Node does', () => {
  let harness: WebHarness;
  let node: Inpainter;
  const vgg = checkoutVggWeights();
  /** The browser's fills of the raw test cases, by size, for the encoded case. */
  const fills = new Map<string, Uint8Array>();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium must be installed at ${CHROMIUM} (apt-get install chromium; .ci/run does it)`);
    assert.ok(vgg, 'the VGG weights must be in ../shared/models (or INPAINT_VGG_WEIGHTS)');
    // Node's load runs beside the browser's start (the two share the machine's cores, but each waits on I/O too).
    const nodeLoad = load({ vggWeights: vgg });
    nodeLoad.catch(() => undefined);
    harness = await WebHarness.start({ bundleDir: DEFAULT_BUNDLE_DIR, vggPath: vgg });
    assert.equal(await harness.isolated(), true, 'the page must be cross-origin isolated (COOP/COEP) so that WASM runs threaded');
    const loaded = await harness.load({ backend: 'wasm' });
    assert.deepEqual(loaded.notices, [], 'the served VGG file is the one the bundle names, so load() has nothing to say');
    node = await nodeLoad;
  });

  after(async () => {
    await harness?.close();
    await node?.dispose();
  });

  for (const [width, height, left, top] of [
    [256, 256, 200, 120],
    [384, 288, 120, 100],
  ] as const) {
    it(`${width}x${height}: every channel of every pixel within 1 level`, async () => {
      const c = await testCase(width, height, left, top);
      const [web, ours] = await Promise.all([
        harness.inpaint(c.rgba, c.hole, width, height),
        node.inpaint({ data: c.rgba, width, height, channels: 4 }, { width, height, data: c.hole }),
      ]);
      assert.deepEqual(web.notices, ours.notices);
      fills.set(`${width}x${height}`, web.rgba);
      const { max, differing } = compareRgba(web.rgba, toRgba8(ours.image));
      console.log(`# ${width}x${height}: max difference ${max} level(s), ${differing} of ${web.rgba.length} bytes differ; browser ${web.seconds.toFixed(2)} s`);
      assert.ok(max <= 1, `the browser's fill differs from Node's by ${max} levels (${differing} bytes differ)`);
    });
  }

  it('decodes PNG bytes in the worker (createImageBitmap, OffscreenCanvas) to the same fill as raw pixels', async () => {
    const c = await testCase(256, 256, 200, 120);
    const png = await sharp(Buffer.from(c.rgba), { raw: { width: 256, height: 256, channels: 4 } }).png().toBuffer();
    const maskPng = await sharp(Buffer.from(c.hole.map((v) => (v ? 255 : 0))), { raw: { width: 256, height: 256, channels: 1 } }).png().toBuffer();
    const encoded = await harness.inpaintEncoded(png, maskPng);
    const raw = fills.get('256x256') ?? (await harness.inpaint(c.rgba, c.hole, 256, 256)).rgba;
    assert.equal(compareRgba(encoded.rgba, raw).max, 0);
  });

  it('tells a different fill apart (Node with locality 0 against the browser with the default)', async () => {
    const c = await testCase(256, 256, 200, 120);
    const web = fills.get('256x256') ?? (await harness.inpaint(c.rgba, c.hole, 256, 256)).rgba;
    const other = await node.inpaint({ data: c.rgba, width: 256, height: 256, channels: 4 }, { width: 256, height: 256, data: c.hole }, { locality: 0 });
    const { max, differing } = compareRgba(web, toRgba8(other.image));
    console.log(`# locality 0 against the default: max difference ${max} levels, ${differing} bytes differ`);
    assert.ok(max > 1, `a fill with another option must differ by more than 1 level, but differs by ${max}`);
  });

  it('refuses a bundle file whose sha256 is not the one bundle.json records, as Node does', async () => {
    await assert.rejects(harness.load({ backend: 'wasm', tamper: 'g2-256.safetensors' }), /InputError: bundle \/bundle\/: cannot load "g2-256.safetensors": its sha256 is [0-9a-f]{64}, bundle.json says/);
  });

  it("fills a region over load()'s memoryBudget at a smaller scale, and says so", async () => {
    // A 2000x300 strip with a 600x100 hole: a region past 1536 px, cheap to fill. Under a budget
    // below what it takes at any scale, its last scale is lowered to 1024, not its own.
    const [width, height] = [2000, 300];
    const data = await sharp(PHOTO).resize(width, height, { fit: 'fill' }).removeAlpha().ensureAlpha().raw().toBuffer();
    const hole = new Uint8Array(width * height);
    for (let y = 100; y < 200; y++) hole.fill(1, y * width + 700, y * width + 1300);
    await harness.unload();
    await harness.load({ backend: 'wasm', memoryBudget: 1e8 });
    try {
      const fill = await harness.inpaint(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), hole, width, height);
      const said = / was inpainted at up to 1024 px, not \d+, and still takes about [\d.]+ GB, over the 0\.1 GB budget; a device with more memory \(or a larger memoryBudget\) fills it nearer its own size$/;
      assert.equal(fill.notices.filter((n) => said.test(n)).length, 1, fill.notices.join('\n'));
    } finally {
      await harness.unload();
      await harness.load({ backend: 'wasm' });
    }
  });
});
