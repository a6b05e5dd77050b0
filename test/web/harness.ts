/**
 * The library in a real browser, for the browser-equals-Node test and `npm run bench -- browser`:
 * worker.ts (which imports src/web.ts) bundled by esbuild, served with a bundle folder, the VGG
 * file and onnxruntime-web's dist files by a small node:http server on 127.0.0.1 with the COOP /
 * COEP headers that make the page cross-origin isolated (so WASM runs multi-threaded), and opened
 * in headless Chromium (playwright-core; Debian's chromium at /usr/bin/chromium).
 *
 * The page starts the worker; `WebHarness.load` / `inpaint` send it requests. Photos and masks go
 * to the browser over HTTP (`/input/<id>`), results come back as base64 RGBA. The server counts the
 * bytes it sends, the downloads of a first load.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { InpaintOptions } from '../../src/inference/inpainter-core.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** As src/server/testing.ts's, with a fixed WASM-friendly setting: no GPU in headless CI. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** onnxruntime-web's dist folder (found through a file its package exports). */
const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>web harness</title>
<script type="module">
const worker = new Worker('/worker.js', { type: 'module' });
const pending = new Map();
let next = 1;
window.workerReady = new Promise((resolve, reject) => {
  worker.onerror = (e) => reject(new Error('worker error: ' + e.message));
  worker.onmessage = (e) => {
    if (e.data.ready) return resolve(true);
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.ok) p.resolve(e.data.value); else p.reject(new Error(e.data.message));
  };
});
window.call = (request) => new Promise((resolve, reject) => {
  const id = next++;
  pending.set(id, { resolve, reject });
  worker.postMessage({ id, ...request });
});
</script>`;

export interface WebHarnessOptions {
  /** The bundle folder to serve at /bundle/. */
  bundleDir: string;
  /** The VGG file to serve at /vgg.pth. */
  vggPath: string;
  /** Chromium's command line instead of the default (which disables the GPU). */
  chromiumArgs?: string[];
}

export interface WebLoadResult {
  seconds: number;
  notices: string[];
  crossOriginIsolated: boolean;
  cores: number;
}

export interface WebFill {
  seconds: number;
  notices: string[];
  /** Interleaved RGBA, 8 bits. */
  rgba: Uint8Array;
}

/** A server, a browser and a page whose worker runs src/web.ts. */
export class WebHarness {
  /** Bytes the server has sent since the last `resetBytes()`. */
  bytesSent = 0;
  readonly #server: Server;
  readonly #browser: Browser;
  readonly #page: Page;
  readonly #inputs: Map<string, Uint8Array>;
  readonly origin: string;
  #nextInput = 1;

  private constructor(server: Server, browser: Browser, page: Page, inputs: Map<string, Uint8Array>, origin: string) {
    this.#server = server;
    this.#browser = browser;
    this.#page = page;
    this.#inputs = inputs;
    this.origin = origin;
  }

  /**
   * Bundles the worker, starts the server and Chromium, opens the page and waits for the worker.
   * @throws when Chromium is missing or the page fails
   */
  static async start(options: WebHarnessOptions): Promise<WebHarness> {
    const built = await esbuild.build({ entryPoints: [WORKER_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
    const workerJs = built.outputFiles[0].contents;
    const inputs = new Map<string, Uint8Array>();
    let harness: WebHarness | undefined;
    const server = createServer((req, res) => {
      serve(req.url ?? '/', options, workerJs, inputs).then(
        ({ body, type }) => {
          res.writeHead(200, {
            'content-type': type,
            'content-length': body.length,
            'cross-origin-opener-policy': 'same-origin',
            'cross-origin-embedder-policy': 'require-corp',
            'cross-origin-resource-policy': 'same-origin',
            'cache-control': 'no-store',
          });
          res.end(body);
          if (harness) harness.bytesSent += body.length;
        },
        (err: Error) => {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end(err.message);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: options.chromiumArgs ?? CHROMIUM_ARGS, headless: true });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${origin}/`);
      await page.evaluate('window.workerReady');
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
      harness = new WebHarness(server, browser, page, inputs, origin);
      return harness;
    } catch (err) {
      await browser?.close();
      await new Promise((resolve) => server.close(resolve));
      throw err;
    }
  }

  /** What the page says about WebGPU: 'no navigator.gpu', 'no adapter', or the adapter's description. */
  webgpu(): Promise<string> {
    return this.#page.evaluate(`(async () => {
      if (!navigator.gpu) return 'no navigator.gpu';
      const adapter = await navigator.gpu.requestAdapter();
      return adapter ? 'adapter ' + JSON.stringify({ vendor: adapter.info?.vendor, architecture: adapter.info?.architecture, description: adapter.info?.description }) : 'no adapter';
    })()`) as Promise<string>;
  }

  /** Whether the page is cross-origin isolated (WASM threads possible). */
  isolated(): Promise<boolean> {
    return this.#page.evaluate('window.crossOriginIsolated') as Promise<boolean>;
  }

  /**
   * `load()` of src/web.ts in the worker, from the served bundle and VGG file (fetched by a
   * `fetchBytes` of the worker's; with `tamper`, the file of that name arrives with its last byte changed).
   */
  load(options: { backend?: 'auto' | 'wasm' | 'webgpu'; threads?: number; tamper?: string; memoryBudget?: number } = {}): Promise<WebLoadResult> {
    const request = { op: 'load', options: { bundleUrl: '/bundle/', vggUrl: '/vgg.pth', wasmPaths: '/ort/', ...options } };
    return this.#page.evaluate((r) => (globalThis as unknown as { call(r: unknown): Promise<WebLoadResult> }).call(r), request);
  }

  /**
   * `inpaint()` in the worker.
   * @param rgba the photo, interleaved RGBA
   * @param hole one byte a pixel, nonzero = hole
   */
  async inpaint(rgba: Uint8Array, hole: Uint8Array, width: number, height: number, options: InpaintOptions = {}): Promise<WebFill> {
    return this.#inpaint({ width, height }, rgba, hole, options);
  }

  /** `inpaint()` in the worker with a photo and a mask given as image files (PNG, JPEG...), decoded by the browser. */
  inpaintEncoded(image: Uint8Array, mask: Uint8Array, options: InpaintOptions = {}): Promise<WebFill> {
    return this.#inpaint({ encoded: true }, image, mask, options);
  }

  async #inpaint(how: { width?: number; height?: number; encoded?: boolean }, rgba: Uint8Array, hole: Uint8Array, options: InpaintOptions): Promise<WebFill> {
    const image = `${this.#nextInput++}`;
    const mask = `${this.#nextInput++}`;
    this.#inputs.set(image, rgba);
    this.#inputs.set(mask, hole);
    try {
      const request = { op: 'inpaint', image, mask, ...how, options };
      const out = await this.#page.evaluate((r) => (globalThis as unknown as { call(r: unknown): Promise<{ seconds: number; notices: string[]; rgba: string }> }).call(r), request);
      return { seconds: out.seconds, notices: out.notices, rgba: new Uint8Array(Buffer.from(out.rgba, 'base64')) };
    } finally {
      this.#inputs.delete(image);
      this.#inputs.delete(mask);
    }
  }

  /** Disposes the worker's inpainter. */
  async unload(): Promise<void> {
    await this.#page.evaluate(() => (globalThis as unknown as { call(r: unknown): Promise<unknown> }).call({ op: 'dispose' }));
  }

  async close(): Promise<void> {
    await this.#browser.close();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** A file inside `folder`, or a rejection for a name that leads out of it. */
async function fileIn(folder: string, name: string): Promise<Uint8Array> {
  const root = resolve(folder);
  const path = resolve(root, decodeURIComponent(name));
  if (!path.startsWith(root + sep)) throw new Error('not found');
  if (!(await stat(path)).isFile()) throw new Error('not found');
  return readFile(path);
}

async function serve(url: string, options: WebHarnessOptions, workerJs: Uint8Array, inputs: Map<string, Uint8Array>): Promise<{ body: Uint8Array; type: string }> {
  const path = url.split('?')[0];
  const typed = (body: Uint8Array, name: string) => ({ body, type: TYPES[extname(name)] ?? 'application/octet-stream' });
  if (path === '/') return typed(Buffer.from(PAGE), 'index.html');
  if (path === '/worker.js') return typed(workerJs, 'worker.js');
  if (path === '/vgg.pth') return typed(await readFile(options.vggPath), 'vgg.pth');
  if (path.startsWith('/ort/')) return typed(await fileIn(ORT_DIST, path.slice(5)), path);
  if (path.startsWith('/bundle/')) return typed(await fileIn(options.bundleDir, path.slice(8)), path);
  if (path.startsWith('/input/')) {
    const body = inputs.get(path.slice(7));
    if (body) return typed(body, 'input');
  }
  throw new Error('not found');
}
