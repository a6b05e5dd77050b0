import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_VGG_WEIGHTS, writeRandomBundle } from '../inference/testing.ts';
import { createServer, type InpaintServer, type ServerMethods } from './app.ts';
import { type DeviceAssets, deviceAssets, ortDistDir } from './assets.ts';

/** The server's device files: a fixed list by name, with the isolation headers and the right types. */
describe('the device mode files of inpaint serve', () => {
  let dir: string;
  let assets: DeviceAssets;
  let server: InpaintServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inpaint-assets-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    assets = await deviceAssets({ bundleDir: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, mode: 'server' });
    // No inference here: the routes under test never reach the methods.
    const methods = { bundleDir: join(dir, 'bundle') } as unknown as ServerMethods;
    server = await createServer({ methods, device: assets });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });

  it('lists the bundle, the VGG file and ORT in config.json and serves each with its type and the isolation headers', async () => {
    const config = (await get('/config.json')).json();
    assert.equal(config.mode, 'server');
    assert.equal(config.vggUrl, 'vgg/vgg_normalised_conv3_1.pth');
    const bundle = JSON.parse(await readFile(join(dir, 'bundle', 'bundle.json'), 'utf8'));
    for (const name of Object.keys(bundle.files)) {
      const res = await get(`/model/${name}`);
      assert.equal(res.statusCode, 200, name);
      assert.ok(res.rawPayload.equals(await readFile(join(dir, 'bundle', name))), `${name} is the bundle's file`);
    }
    const vgg = await get(`/${config.vggUrl}`);
    assert.equal(vgg.rawPayload.length, (await stat(TEST_VGG_WEIGHTS)).size);
    assert.ok(ortDistDir(), 'onnxruntime-web is installed');
    const wasm = config.files.find((f: { url: string }) => f.url.endsWith('.wasm'));
    assert.ok(wasm, 'an ORT .wasm is listed');
    const res = await get(`/${wasm.url}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/wasm');
    assert.equal(Number(res.headers['content-length']), wasm.bytes);
    assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp');
    // Revalidation: the same version answers 304 without the body.
    const again = await get(`/${wasm.url}`, { 'if-none-match': String(res.headers.etag) });
    assert.equal(again.statusCode, 304);
    for (const url of ['/', '/app.js', '/sw.js', '/inpaint-worker.js']) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', url);
    }
  });

  it('answers nothing outside the list: no path from a client reaches the disk', async () => {
    for (const url of ['/model/..%2F..%2Fetc%2Fpasswd', '/model/%2E%2E%2Fbundle%2Fbundle.json', '/model/../bundle/bundle.json', '/vgg/bundle.json', '/ort/ort.min.mjs', '/ort/package.json', '/model/', '/model/g1.safetensors/x']) {
      const res = await get(url);
      assert.equal(res.statusCode, 404, `${url}: ${res.statusCode}`);
      assert.equal(res.json().error, 'not_found');
    }
  });

  it('refuses a bundle.json that names a file outside its folder', async () => {
    const bad = join(dir, 'bad');
    await writeRandomBundle(bad, { preset: 'tiny', g2Scales: [256] });
    const manifest = JSON.parse(await readFile(join(bad, 'bundle.json'), 'utf8'));
    manifest.files['../../secret'] = { bytes: 1, sha256: '0' };
    await writeFile(join(bad, 'bundle.json'), JSON.stringify(manifest));
    await assert.rejects(deviceAssets({ bundleDir: bad, mode: 'server' }), /not a file of the bundle folder/);
  });
});
