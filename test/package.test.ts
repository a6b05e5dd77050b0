/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ first, through `prepack`),
 * the tarball installed into an empty folder, and there, with no tsx and no sources: the `inpaint`
 * command (help, a fill, the demo, the page of `serve`), `import { load } from 'contextual-inpaint'`
 * in plain Node, and the package's types seen by tsc. The fills must equal those of the sources.
 *
 * npm runs with the npm_* variables of an enclosing `npm test` removed (they would point the inner
 * npm at this checkout) and with `--onnxruntime-node-install=skip`: on Linux x64 onnxruntime-node's
 * install script fetches CUDA providers from NuGet, which this CPU-only package does not use.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { checkoutVggWeights } from '../src/features/weights-location.ts';
import { encodeImage, load } from '../src/index.ts';
import { maskBytes, photoBytes, pixels } from '../src/server/testing.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--onnxruntime-node-install=skip'];
const SIZE = 96;
const HOLE = { x: 36, y: 30, width: 24, height: 28 };

/** This process's environment without npm's per-run variables; `extra` added. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

/** Runs a command to its end; fails the test with its output unless it exits 0. */
function run(cmd: string, args: string[], options: SpawnSyncOptions): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')} exited with ${res.status} (${res.error?.message ?? ''}):\n${output}`);
  return String(res.stdout);
}

describe('the packed package, installed into an empty folder', { timeout: 300_000 }, () => {
  const vgg = checkoutVggWeights();
  let tmp: string;
  let app: string;
  let tarball: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(vgg, 'the VGG weights of the development checkout (../shared/models/)');
    tmp = mkdtempSync(join(tmpdir(), 'inpaint-package-'));
    app = join(tmp, 'app');
    mkdirSync(app);
    mkdirSync(join(tmp, 'cache'));
    // INPAINT_CACHE_DIR empty: the weights can come only from INPAINT_VGG_WEIGHTS.
    env = cleanEnv({ INPAINT_VGG_WEIGHTS: vgg, INPAINT_CACHE_DIR: join(tmp, 'cache') });

    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: REPO, env: cleanEnv() }).replace(/^[^[]*/, '')) as { filename: string }[];
    tarball = join(tmp, packed[0]!.filename);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run('npm', ['install', tarball, ...NPM_FLAGS], { cwd: app, env });
    writeFileSync(join(app, 'photo.png'), await photoBytes(SIZE, SIZE));
    writeFileSync(join(app, 'mask.png'), await maskBytes(SIZE, SIZE, HOLE));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the compiled library, its runtime files and nothing of the repository besides', () => {
    const files = run('tar', ['-tzf', tarball], {}).split('\n').filter(Boolean);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/runtime/worker.js', 'dist/data/loader-worker.js', 'bin/inpaint.mjs', 'models/default/bundle.json', 'assets/demo.jpg', 'web/main.ts', 'web/index.html', 'dist/runtime/torch-engine.py', 'dist/web.js', 'dist/web.d.ts', 'README.md']) {
      assert.ok(files.includes(`package/${f}`), `${f} in the tarball`);
    }
    const unwanted = files.filter((f) => /\.test\.|\/testing\.|\.ckpt$|\.ts$(?<!\.d\.ts)|^package\/(src|test|bench|training|docs|scripts|\.ci)\//.test(f) && !f.startsWith('package/web/'));
    assert.deepEqual(unwanted, []);
    assert.ok(!existsSync(join(app, 'node_modules', 'tsx')), 'tsx is not installed with the package');
    assert.ok(!existsSync(join(app, 'node_modules', 'contextual-inpaint', 'src')), 'no sources installed');
  });

  it('`npx inpaint --help` lists the commands', () => {
    const out = run('npx', ['--no', '--', 'inpaint', '--help'], { cwd: app, env });
    for (const command of ['run', 'demo', 'serve', 'train', 'stylize']) assert.match(out, new RegExp(`^  ${command} `, 'm'));
  });

  it('`inpaint run` fills a photo, `inpaint demo` the demo photo, both as the sources do', async () => {
    run('npx', ['--no', '--', 'inpaint', 'run', 'photo.png', '--mask', 'mask.png', '-o', 'cli.png'], { cwd: app, env });
    const cli = await pixels(readFileSync(join(app, 'cli.png')));
    const photo = await pixels(readFileSync(join(app, 'photo.png')));
    assert.deepEqual([cli.width, cli.height, cli.channels], [SIZE, SIZE, 3]);

    // The same fill from the TypeScript sources in this process: the build changes no pixel.
    const inpainter = await load({ vggWeights: vgg });
    try {
      const { image } = await inpainter.inpaint(readFileSync(join(app, 'photo.png')), readFileSync(join(app, 'mask.png')));
      const expected = await pixels(await encodeImage(image, 'png'));
      assert.ok(cli.data.equals(expected.data), 'the CLI of the package fills as the sources do');
    } finally {
      await inpainter.dispose();
    }
    assert.notEqual(Buffer.compare(cli.data, photo.data), 0, 'the hole was filled');

    run('npx', ['--no', '--', 'inpaint', 'demo'], { cwd: app, env });
    assert.ok(existsSync(join(app, 'demo', 'output.png')) && existsSync(join(app, 'demo', 'comparison.png')));
  });

  it("plain Node imports { load } from 'contextual-inpaint' and fills", () => {
    const script = `
      import { load, maskOfAreas, reframe, selectObject, writeImage, UsageError } from 'contextual-inpaint';
      const inpainter = await load();
      try {
        const { image } = await inpainter.inpaint('photo.png', 'mask.png');
        await writeImage('lib.png', image);
        console.log(JSON.stringify({ width: image.width, height: image.height, usageError: typeof UsageError, selection: [typeof selectObject, typeof maskOfAreas, typeof reframe] }));
      } finally {
        await inpainter.dispose();
      }`;
    const out = run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { width: SIZE, height: SIZE, usageError: 'function', selection: ['function', 'function', 'function'] });
    assert.ok(readFileSync(join(app, 'lib.png')).equals(readFileSync(join(app, 'cli.png'))), 'the library and the CLI write the same file');
  });

  it("training's batch loader starts its worker from dist", () => {
    // Not part of the exports: imported by path, as `inpaint train` does inside the package.
    const script = `
      import { BatchLoader } from './node_modules/contextual-inpaint/dist/data/loader.js';
      const loader = await BatchLoader.create({ files: ['photo.png'], batchSize: 2, size: 64, seed: 0 });
      try {
        const batch = await loader.next();
        console.log(JSON.stringify({ images: batch.images.length, masks: batch.masks.length }));
      } finally {
        await loader.dispose();
      }`;
    const out = run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { images: 2 * 3 * 64 * 64, masks: 2 * 64 * 64 });
  });

  it('its types resolve through the exports map and check a use of load()', () => {
    assert.ok(existsSync(join(app, 'node_modules', 'contextual-inpaint', 'dist', 'index.d.ts')));
    writeFileSync(
      join(app, 'use.ts'),
      `import { load, type Inpainter, type InpaintResult } from 'contextual-inpaint';
       const inpainter: Inpainter = await load({ bundle: 'models/default' });
       const result: InpaintResult = await inpainter.inpaint('photo.png', 'mask.png');
       const width: number = result.image.width;
       // @ts-expect-error: the types are real, not any
       await load({ bundle: 42 });
       export { width };
      `,
    );
    const tsconfig = {
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] },
      files: ['use.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, env });
  });

  it('`inpaint serve` bundles and serves the page', async () => {
    const child: ChildProcess = spawn(join(app, 'node_modules', '.bin', 'inpaint'), ['serve', '--port', '0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const check = (c: Buffer) => {
          out += c;
          const m = /open (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.on('exit', (code) => reject(new Error(`inpaint serve exited with ${code}: ${out}`)));
      });
      const page = await fetch(address);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="module" src="app.js">/);
      const js = await fetch(`${address}/app.js`);
      assert.equal(js.status, 200);
      assert.ok((await js.text()).length > 5000, 'the bundled page script');
      // The device mode from the installed package: the worker bundled from dist/web.js, ORT's files from its dependency.
      const worker = await fetch(`${address}/inpaint-worker.js`);
      assert.equal(worker.status, 200, await worker.clone().text());
      assert.ok((await worker.text()).length > 50_000, 'the bundled device worker');
      const config = (await (await fetch(`${address}/config.json`)).json()) as { files: { url: string }[] };
      assert.ok(config.files.some((f) => f.url === 'ort/ort-wasm-simd-threaded.wasm'), 'ORT is served');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
