import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { VGG_SHA256, VGG_SOURCE_URL, sha256File } from './vgg-weights.ts';
import { VGG_FILE_NAME, resolveVggWeights } from './weights-location.ts';

/** The shared copy of the public weights; the tests fail (not skip) when it is missing. */
const VGG_PTH = fileURLToPath(new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url));

let root: string;
/** A copy of the real file, which the local servers read (never the shared folder directly). */
let served: Buffer;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vgg-location-'));
  await copyFile(VGG_PTH, join(root, 'served.pth'));
  served = await readFile(join(root, 'served.pth'));
});
after(() => rm(root, { recursive: true, force: true }));

let dirs = 0;
/** A fresh folder under the test root. */
async function freshDir(name: string): Promise<string> {
  const dir = join(root, `${name}-${dirs++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

const VARIABLES = ['INPAINT_VGG_WEIGHTS', 'INPAINT_CACHE_DIR', 'INPAINT_OFFLINE', 'INPAINT_VGG_URL', 'XDG_CACHE_HOME', 'HOME'] as const;

/**
 * Runs `fn` with exactly the given variables set among those the module reads (the rest unset, HOME
 * in the test root), so that neither the caller's environment nor the real home cache can leak in.
 */
async function withEnv<T>(vars: Partial<Record<(typeof VARIABLES)[number], string>>, fn: () => Promise<T>): Promise<T> {
  const saved = VARIABLES.map((name) => [name, process.env[name]] as const);
  const wanted: Partial<Record<string, string>> = { HOME: join(root, 'home'), ...vars };
  for (const name of VARIABLES) {
    if (wanted[name] === undefined) delete process.env[name];
    else process.env[name] = wanted[name];
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** An HTTP server on 127.0.0.1 that counts its requests. */
async function serve(handler: RequestListener): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/models/${VGG_FILE_NAME}`,
    requests: () => count,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const isInputError = (...patterns: (string | RegExp)[]) => (e: unknown) =>
  e instanceof InputError && patterns.every((p) => (typeof p === 'string' ? e.message.includes(p) : p.test(e.message)));

/** The advice every "cannot get the file" error must give. */
const HOW_TO = [VGG_SOURCE_URL, VGG_SHA256, 'INPAINT_VGG_WEIGHTS'];

test('an explicit path is used as given (made absolute), ahead of the environment', async () => {
  await withEnv({ INPAINT_VGG_WEIGHTS: join(root, 'absent.pth'), INPAINT_OFFLINE: '1' }, async () => {
    assert.equal(await resolveVggWeights({ path: relative(process.cwd(), VGG_PTH) }), VGG_PTH);
    const missing = join(root, 'nowhere', 'vgg.pth');
    await assert.rejects(resolveVggWeights({ path: missing }), isInputError(missing, 'does not exist', ...HOW_TO));
    await assert.rejects(resolveVggWeights({ path: root }), isInputError(root, 'is not a file'));
  });
});

test('INPAINT_VGG_WEIGHTS is used ahead of the cache, and must exist', async () => {
  const emptyCache = await freshDir('cache');
  await withEnv({ INPAINT_VGG_WEIGHTS: VGG_PTH, INPAINT_CACHE_DIR: emptyCache, INPAINT_OFFLINE: '1' }, async () => {
    assert.equal(await resolveVggWeights(), VGG_PTH);
  });
  const missing = join(root, 'gone.pth');
  await withEnv({ INPAINT_VGG_WEIGHTS: missing, INPAINT_CACHE_DIR: emptyCache }, async () => {
    await assert.rejects(resolveVggWeights(), isInputError(missing, 'INPAINT_VGG_WEIGHTS', 'does not exist'));
  });
});

test('a verified file in the cache folder is found: cacheDir, INPAINT_CACHE_DIR, XDG_CACHE_HOME', async () => {
  const cache = await freshDir('cache');
  await copyFile(VGG_PTH, join(cache, VGG_FILE_NAME));
  const xdg = await freshDir('xdg');
  await mkdir(join(xdg, 'contextual-inpaint'));
  await copyFile(VGG_PTH, join(xdg, 'contextual-inpaint', VGG_FILE_NAME));
  await withEnv({ INPAINT_OFFLINE: '1' }, async () => {
    assert.equal(await resolveVggWeights({ cacheDir: cache }), join(cache, VGG_FILE_NAME));
  });
  await withEnv({ INPAINT_CACHE_DIR: cache, XDG_CACHE_HOME: xdg }, async () => {
    assert.equal(await resolveVggWeights({ download: false }), join(cache, VGG_FILE_NAME));
  });
  await withEnv({ XDG_CACHE_HOME: xdg }, async () => {
    assert.equal(await resolveVggWeights({ download: false }), join(xdg, 'contextual-inpaint', VGG_FILE_NAME));
  });
});

test('without XDG_CACHE_HOME the cache is ~/.cache/contextual-inpaint', async () => {
  const home = await freshDir('home');
  await withEnv({ HOME: home }, async () => {
    const expected = join(home, '.cache', 'contextual-inpaint', VGG_FILE_NAME);
    await assert.rejects(resolveVggWeights({ download: false }), isInputError(expected, 'downloading was turned off', ...HOW_TO));
  });
});

test('a corrupt or empty cached file is an error that says to delete it, also after a good check', async () => {
  const cache = await freshDir('cache');
  const target = join(cache, VGG_FILE_NAME);
  await withEnv({ INPAINT_OFFLINE: '1' }, async () => {
    await writeFile(target, '');
    await assert.rejects(resolveVggWeights({ cacheDir: cache }), isInputError(target, 'is empty', 'Delete it'));

    const flipped = Buffer.from(served);
    flipped[flipped.length - 1] ^= 1;
    await writeFile(target, flipped);
    await assert.rejects(resolveVggWeights({ cacheDir: cache }), isInputError(target, `not ${VGG_SHA256}`, 'Delete it'));

    // Fixed, then damaged again: the check of the good file must not vouch for its replacement.
    await copyFile(VGG_PTH, target);
    assert.equal(await resolveVggWeights({ cacheDir: cache }), target);
    await writeFile(target, served.subarray(0, 1000));
    await assert.rejects(resolveVggWeights({ cacheDir: cache }), isInputError(target, 'Delete it'));
  });
});

test('downloads into the cache once, verified, with progress, leaving no temp file', async () => {
  const server = await serve((_req, res) => res.end(served));
  const cache = join(await freshDir('cache'), 'not', 'yet', 'made');
  try {
    await withEnv({ INPAINT_VGG_URL: server.url }, async () => {
      const progress: [number, number | undefined][] = [];
      const heard: [number, number | undefined][] = [];
      // Either caller may start the download (both first look in the cache): both hear its progress.
      const [first, second] = await Promise.all([
        resolveVggWeights({ cacheDir: cache, onProgress: (bytes, total) => progress.push([bytes, total]) }),
        resolveVggWeights({ cacheDir: cache, onProgress: (bytes, total) => heard.push([bytes, total]) }),
      ]);
      assert.deepEqual(heard.at(-1), [served.length, served.length]);
      const target = join(cache, VGG_FILE_NAME);
      assert.deepEqual([first, second], [target, target]);
      assert.equal(server.requests(), 1, 'concurrent callers share one download');
      assert.equal(await sha256File(target), VGG_SHA256);
      assert.deepEqual(await readdir(cache), [VGG_FILE_NAME]);
      assert.deepEqual(progress.at(-1), [served.length, served.length]);
      assert.ok(progress.every(([bytes], i) => i === 0 || bytes > progress[i - 1][0]), 'progress only grows');

      // Now cached: no second request.
      assert.equal(await resolveVggWeights({ cacheDir: cache }), target);
      assert.equal(server.requests(), 1);
    });
  } finally {
    await server.close();
  }
});

test('downloads with the fetch given', async () => {
  const cache = await freshDir('cache');
  const asked: string[] = [];
  const fakeFetch = (async (url: string | URL | Request) => {
    asked.push(String(url));
    return new Response(served);
  }) as typeof fetch;
  await withEnv({}, async () => {
    assert.equal(await resolveVggWeights({ cacheDir: cache, fetch: fakeFetch }), join(cache, VGG_FILE_NAME));
  });
  assert.deepEqual(asked, [VGG_SOURCE_URL]);
});

test('a download with the wrong sha256 is deleted and reported as corrupt or a wrong mirror', async () => {
  const server = await serve((_req, res) => res.end(randomBytes(4096)));
  const cache = await freshDir('cache');
  try {
    await withEnv({ INPAINT_VGG_URL: server.url }, async () => {
      await assert.rejects(
        resolveVggWeights({ cacheDir: cache }),
        isInputError(server.url, 'download was corrupt or the mirror serves another file', `not ${VGG_SHA256}`, ...HOW_TO),
      );
    });
    assert.equal(server.requests(), 1);
    assert.deepEqual(await readdir(cache), [], 'nothing left behind');
  } finally {
    await server.close();
  }
});

test('offline mode never downloads and says what to do by hand', async () => {
  const server = await serve((_req, res) => res.end(served));
  const cache = await freshDir('cache');
  try {
    await withEnv({ INPAINT_OFFLINE: '1', INPAINT_VGG_URL: server.url }, async () => {
      // The environment overrides a caller that allows downloading: the user asked for no network.
      await assert.rejects(
        resolveVggWeights({ cacheDir: cache, download: true }),
        isInputError('INPAINT_OFFLINE=1', join(cache, VGG_FILE_NAME), ...HOW_TO),
      );
    });
    assert.equal(server.requests(), 0);
  } finally {
    await server.close();
  }
});

test('a server that is down or answers 404 gives an error that says what to do by hand', async () => {
  const cache = await freshDir('cache');
  const down = await serve((_req, res) => res.end(served));
  await down.close();
  await withEnv({ INPAINT_VGG_URL: down.url }, async () => {
    await assert.rejects(resolveVggWeights({ cacheDir: cache }), isInputError(down.url, 'ECONNREFUSED', join(cache, VGG_FILE_NAME), ...HOW_TO));
  });

  const missing = await serve((_req, res) => {
    res.statusCode = 404;
    res.end('no such file');
  });
  try {
    await withEnv({ INPAINT_VGG_URL: missing.url }, async () => {
      await assert.rejects(resolveVggWeights({ cacheDir: cache }), isInputError(missing.url, 'HTTP 404', ...HOW_TO));
    });
  } finally {
    await missing.close();
  }
  assert.deepEqual(await readdir(cache), [], 'nothing left behind');
});
