import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TEST_VGG_WEIGHTS, writeRandomBundle } from '../inference/testing.ts';
import { formBody, maskBytes, photoBytes } from '../server/testing.ts';

const BIN = fileURLToPath(new URL('../../bin/inpaint.mjs', import.meta.url));

/** Runs `inpaint serve ...`; resolves with the child and its address once it listens. */
function serve(args: string[]): Promise<{ child: ChildProcess; address: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, address: m[1], output: () => out });
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(Object.assign(new Error(`exited with ${code}: ${out}`), { code })));
  });
}

describe('inpaint serve', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-serve-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses a bad flag with exit code 2', async () => {
    await assert.rejects(serve(['--port', 'eighty']), (err: Error & { code?: number }) => err.code === 2 && /Expected an integer >= 0 for --port/.test(err.message));
  });

  it('serves the page and the API; on SIGTERM finishes the request in flight, then exits 0', async () => {
    const { child, address, output } = await serve(['--port', '0', '--model', join(dir, 'bundle'), '--vgg', TEST_VGG_WEIGHTS]);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await fetch(address);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="module" src="app.js">/);
      // Cross-origin isolated, so that the page's WASM can use threads.
      assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
      const js = await fetch(`${address}/app.js`);
      assert.equal(js.status, 200);
      assert.ok((await js.text()).length > 5000, 'the bundled page script');
      // What the device mode fetches: config.json names the bundle's files and the VGG file from --vgg.
      const config = (await (await fetch(`${address}/config.json`)).json()) as { mode: string; vggUrl: string; bundleUrl: string; files: { url: string }[] };
      assert.equal(config.mode, 'server');
      const vgg = await fetch(`${address}/${config.vggUrl}`);
      assert.equal(vgg.status, 200);
      assert.equal(Number(vgg.headers.get('content-length')), (await stat(TEST_VGG_WEIGHTS)).size);
      await vgg.arrayBuffer();
      const bundle = (await (await fetch(`${address}/${config.bundleUrl}bundle.json`)).json()) as { files: Record<string, unknown> };
      for (const name of Object.keys(bundle.files)) assert.ok(config.files.some((f) => f.url === `model/${name}`), `config.json lists ${name}`);

      // A request in flight (the first at its size, which also creates its patch-swap sessions:
      // over a second, many health polls), then SIGTERM.
      const { body, headers } = await formBody({ image: await photoBytes(256, 192), mask: await maskBytes(256, 192, { x: 100, y: 70, width: 50, height: 40 }), ensemble: '2' });
      const inFlight = fetch(`${address}/api/v1/inpaint`, { method: 'POST', body, headers });
      while (!/"running":true/.test(await (await fetch(`${address}/api/v1/health`)).text())) await new Promise((r) => setTimeout(r, 20));
      // Twice, 0.1 s apart, as a service manager and bin/inpaint.mjs deliver it: still one stop
      // request (sent at the same moment, the two would merge into one delivery).
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(await exited, 0);
      assert.match(output(), /SIGTERM: finishing 1 request\(s\), then exiting[\s\S]*stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('dies at once by a second signal that comes later, dropping the request in flight', async () => {
    const { child, address, output } = await serve(['--port', '0', '--model', join(dir, 'bundle'), '--vgg', TEST_VGG_WEIGHTS]);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    try {
      // A request that runs for seconds (two scales, eight orientations), well past the second signal.
      const { body, headers } = await formBody({ image: await photoBytes(512, 384), mask: await maskBytes(512, 384, { x: 200, y: 140, width: 100, height: 80 }), ensemble: '8' });
      const inFlight = fetch(`${address}/api/v1/inpaint`, { method: 'POST', body, headers }).then(
        (res) => res.status,
        () => 'dropped',
      );
      while (!/"running":true/.test(await (await fetch(`${address}/api/v1/health`)).text())) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      // The second signal must come more than half a second after the server took the first: on a
      // busy machine its event loop may take the first late, and two signals it takes together are
      // one delivered twice.
      while (!/SIGINT: finishing/.test(output())) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 700));
      child.kill('SIGINT');
      // Killed by SIGINT, as a Ctrl-C kills (the shell's status 130), with no abort from a running
      // inference's native code.
      assert.equal(await exited, 'SIGINT', output());
      assert.equal(await inFlight, 'dropped');
      assert.doesNotMatch(output(), /stopped|terminate called|Napi/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
