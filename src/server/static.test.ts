/**
 * The static build (`npm run build:web`) in Chromium, served by a plain node:http file server on
 * 127.0.0.1 that sends no special headers and has no API at all: the page must run the fill on the
 * device (the default model, onnxruntime-web in the page's worker), with its service worker adding
 * the isolation headers; then, with the file server stopped and the browser offline, reload and fill
 * again from the cache. And a 4000x3000 photo opened in the page does not crash the tab.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { VGG_SOURCE_URL } from '../features/vgg-weights.ts';
import { DEFAULT_BUNDLE_DIR } from '../inference/inpainter.ts';
import { TEST_VGG_WEIGHTS } from '../inference/testing.ts';
import { buildStatic } from './static.ts';
import { CHROMIUM, CHROMIUM_ARGS, maskBytes, photoBytes, pixels } from './testing.ts';

const W = 256;
const H = 192;
/** A small hole: WASM costs several times native, so the test fills little. */
const HOLE = { x: 100, y: 80, width: 40, height: 30 };

/** The types of a careless host: .mjs and .wasm go out as application/octet-stream (the service worker puts them right). */
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/** A file server like any static host's: files by path, a type by extension, no other headers. */
function staticServer(root: string): Promise<{ server: Server; address: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, requests })));
}

// Page-side conditions as strings: this file is compiled without the DOM's types.
const infoHas = (text: string) => `document.querySelector('#info').textContent.includes(${JSON.stringify(text)})`;
const MASK_LOADED = `/Mask loaded/.test(document.querySelector('#status').textContent)`;
const RUN_ENDED = `['done', 'error'].includes(document.querySelector('#status').dataset.state)`;

interface EngineState {
  engine: string;
  mode?: string;
  isolated: boolean;
  state: string;
  downloaded: number;
  total: number;
  loadSeconds?: number;
  lastRunSeconds?: number;
  backend?: string;
  threads?: boolean;
  message?: string;
}

describe('the static build in Chromium: device inference, offline, a large photo', () => {
  let dir: string;
  let out: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let files: Awaited<ReturnType<typeof staticServer>>;
  const errors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium must be installed at ${CHROMIUM}`);
    dir = await mkdtemp(join(tmpdir(), 'inpaint-static-'));
    out = join(dir, 'site');
    await buildStatic({ out, bundleDir: DEFAULT_BUNDLE_DIR, vggWeights: TEST_VGG_WEIGHTS });
    files = await staticServer(out);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 700 } });
    page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('crash', () => errors.push('the tab crashed'));
    await writeFile(join(dir, 'photo.png'), await photoBytes(W, H));
    await writeFile(join(dir, 'mask.png'), await maskBytes(W, H, HOLE));
  });

  after(async () => {
    await browser?.close();
    files?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const engine = () => page.evaluate(() => (globalThis as unknown as { inpaintPage: { engine: EngineState } }).inpaintPage.engine);
  /**
   * Waits for a page to settle (the service worker's one reload included) and be isolated. A photo
   * opened before that reload would race it (the page then keeps the photo and skips the reload).
   */
  const settle = async (p: Page = page) => {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        await p.waitForFunction('window.inpaintPage !== undefined && crossOriginIsolated', undefined, { timeout: 2000 });
        await p.evaluate(() => (globalThis as unknown as { inpaintPage: { started: Promise<void> } }).inpaintPage.started);
        return;
      } catch (err) {
        if (Date.now() > end) throw new Error(`the page did not become cross-origin isolated: ${(err as Error).message}`);
      }
    }
  };
  const download = async () => {
    await page.selectOption('#download-format', 'png');
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const path = join(dir, `download-${Date.now()}.png`);
    await file.saveAs(path);
    return pixels(await readFile(path));
  };
  const fillOnce = async (timeout: number) => {
    await page.setInputFiles('#file', join(dir, 'photo.png'));
    await page.waitForFunction(infoHas('256×192'));
    await page.setInputFiles('#mask-file', join(dir, 'mask.png'));
    await page.waitForFunction(MASK_LOADED);
    // The longest main-thread task while it runs: the pipeline is in the worker, the page stays responsive.
    await page.evaluate(`window.longestTask = 0; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longestTask = Math.max(window.longestTask, e.duration); }).observe({ type: 'longtask' })`);
    await page.click('#run');
    await page.waitForFunction(RUN_ENDED, undefined, { timeout });
    const longest = Number(await page.evaluate('window.longestTask'));
    const status = await page.locator('#status').textContent();
    assert.match(status ?? '', /Done in .* on this device/, `the fill failed: ${status}`);
    const [input, output] = [await pixels(await readFile(join(dir, 'photo.png'))), await download()];
    assert.deepEqual([output.width, output.height], [W, H]);
    // Outside the hole grown by the default dilation (2 px) and the feathered seam, every pixel is the photo's.
    const margin = 4;
    let changed = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const near = x >= HOLE.x - margin && x < HOLE.x + HOLE.width + margin && y >= HOLE.y - margin && y < HOLE.y + HOLE.height + margin;
        for (let c = 0; c < 3; c++) {
          const [a, b] = [input.data[(y * W + x) * input.channels + c], output.data[(y * W + x) * output.channels + c]];
          if (!near) assert.equal(b, a, `pixel (${x}, ${y}) outside the hole changed`);
          else if (Math.abs(a - b) > 8) changed++;
        }
      }
    }
    assert.ok(changed > 0.3 * HOLE.width * HOLE.height * 3, `the hole was filled: ${changed} channel values differ from the photo`);
    // Inference on the main thread would block it for the whole fill (seconds in WASM).
    assert.ok(longest < 1000, `the main thread was blocked for ${longest} ms during the fill`);
    console.log(`# longest main-thread task during the fill: ${longest.toFixed(0)} ms`);
    return output;
  };

  it('fills on the device from a static host with no API, then offline from the cache', async () => {
    const t0 = Date.now();
    await page.goto(files.address);
    await settle();
    let state = await engine();
    assert.equal(state.mode, 'static');
    assert.equal(state.engine, 'device', `the device is the default: ${state.message ?? ''}`);
    assert.equal(await page.locator('#engine-server').isDisabled(), true, 'no server to switch to');
    await fillOnce(120_000);
    state = await engine();
    assert.equal(state.state, 'ready');
    assert.ok(state.downloaded > 5e6, `the first visit downloaded the model: ${state.downloaded} bytes`);
    // The service worker's headers made the page cross-origin isolated: ORT's WASM runs with threads.
    assert.equal(state.threads, true, 'WASM threads');
    console.log(`# first visit (${state.backend}${state.threads ? ', threads' : ''}): ${(state.downloaded / 1e6).toFixed(1)} MB downloaded, model loaded in ${state.loadSeconds?.toFixed(1)} s, fill ${state.lastRunSeconds?.toFixed(1)} s, ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
    assert.ok(!files.requests.some((p) => p.startsWith('/api/')), 'the page never asked for an API');
    // What makes it an installable app comes with it.
    for (const name of ['manifest.webmanifest', 'icon.svg', 'icon-192.png', 'icon-512.png']) assert.ok(existsSync(join(out, name)), name);

    // No network: the file server stops and the browser goes offline; the page still loads and fills.
    // close() waits for every open connection to end: the browser's are cut first, or it may wait forever.
    const closed = new Promise((r) => files.server.close(r));
    files.server.closeAllConnections();
    await closed;
    await context.setOffline(true);
    const t1 = Date.now();
    await page.reload();
    await settle();
    await fillOnce(120_000);
    state = await engine();
    assert.equal(state.downloaded, 0, 'nothing was downloaded offline');
    console.log(`# offline visit: model loaded from the cache in ${state.loadSeconds?.toFixed(1)} s, fill ${state.lastRunSeconds?.toFixed(1)} s, ${((Date.now() - t1) / 1000).toFixed(1)} s in all`);
    assert.deepEqual(errors, []);
  });

  it('reports a model file that fails its sha256 check, and keeps no cache of it', async () => {
    const bad = join(dir, 'bad-site');
    await buildStatic({ out: bad, bundleDir: DEFAULT_BUNDLE_DIR, vggWeights: TEST_VGG_WEIGHTS });
    const g1 = join(bad, 'model', 'g1.safetensors');
    const bytes = await readFile(g1);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(g1, bytes);
    const host = await staticServer(bad);
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(host.address);
      await settle(p);
      await p.setInputFiles('#file', join(dir, 'photo.png'));
      await p.waitForFunction(`window.inpaintPage.engine.state === 'error'`, undefined, { timeout: 60_000 });
      const text = (await p.locator('#engine-status').textContent()) ?? '';
      assert.match(text, /could not be loaded on this device: .*g1\.safetensors.*sha256/, text);
      const version = JSON.parse(await readFile(join(bad, 'config.json'), 'utf8')).version;
      assert.deepEqual(await p.evaluate(`caches.keys().then((k) => k.filter((n) => n.includes(${JSON.stringify(version)})))`), [], 'the failed version is not cached');
    } finally {
      await other.close();
      host.server.close();
    }
  });

  it('without a local VGG file, fetches it from its public origin (answered here by a stand-in)', async () => {
    const site = join(dir, 'no-vgg-site');
    await buildStatic({ out: site, bundleDir: DEFAULT_BUNDLE_DIR });
    assert.equal(existsSync(join(site, 'vgg')), false, 'no VGG file copied');
    const config = JSON.parse(await readFile(join(site, 'config.json'), 'utf8'));
    assert.equal(config.vggUrl, VGG_SOURCE_URL);
    const host = await staticServer(site);
    const other = await browser.newContext();
    let asked = 0;
    // No network here: the public origin is played by a route answering as it does, with CORS allowed
    // (Playwright's interception lets a response without the header through as well: CORS is not what this checks).
    await other.route(VGG_SOURCE_URL, async (route) => {
      asked++;
      await route.fulfill({ status: 200, body: await readFile(TEST_VGG_WEIGHTS), headers: { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' } });
    });
    try {
      const p = await other.newPage();
      await p.goto(host.address);
      await settle(p);
      await p.setInputFiles('#file', join(dir, 'photo.png'));
      await p.waitForFunction(`['ready', 'error'].includes(window.inpaintPage.engine.state)`, undefined, { timeout: 60_000 }).catch(async (err) => {
        const now = await p.evaluate(`JSON.stringify({ engine: window.inpaintPage.engine, status: document.querySelector('#status').textContent, isolated: crossOriginIsolated })`);
        throw new Error(`${(err as Error).message}; the page: ${now}; the VGG URL was asked ${asked} time(s)`);
      });
      const state = (await p.evaluate('window.inpaintPage.engine')) as EngineState;
      assert.equal(state.state, 'ready', state.message);
      assert.equal(asked, 1, 'the VGG file came from its public origin, once');
    } finally {
      await other.close();
      host.server.close();
    }
  });

  it('opens a 4000x3000 photo without crashing the tab; a small fill completes or says why not', async () => {
    const big = join(dir, 'big.jpg');
    await writeFile(big, await photoBytes(4000, 3000, 'jpeg'));
    await writeFile(join(dir, 'big-mask.png'), await maskBytes(4000, 3000, { x: 2000, y: 1500, width: 60, height: 50 }));
    await page.setInputFiles('#file', big);
    await page.waitForFunction(infoHas('4000×3000'), undefined, { timeout: 30_000 });
    await page.setInputFiles('#mask-file', join(dir, 'big-mask.png'));
    await page.waitForFunction(MASK_LOADED, undefined, { timeout: 30_000 });
    await page.click('#run');
    await page.waitForFunction(RUN_ENDED, undefined, { timeout: 120_000 });
    const status = (await page.locator('#status').textContent()) ?? '';
    assert.match(status, /Done in .* on this device|megapixels|memory/, `neither done nor a clear message: ${status}`);
    const state = await engine();
    console.log(`# 4000x3000: ${status.slice(0, 60)}; fill ${state.lastRunSeconds?.toFixed(1)} s`);
    // The tab is alive and answers.
    assert.equal(await page.evaluate(() => 1 + 1), 2);
    assert.deepEqual(errors, []);
  });
});
