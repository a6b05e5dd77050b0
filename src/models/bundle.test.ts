import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { ParamStore } from '../nn/params.ts';
import { type BundleManifest, readBundle, writeBundle } from './bundle.ts';
import { resolveModelConfig } from './config.ts';

const DEFAULT_BUNDLE = fileURLToPath(new URL('../../models/default/', import.meta.url));

function store(prefix: string, values: number[]): ParamStore {
  const s = new ParamStore();
  s.add(`${prefix}.w`, [values.length], Float32Array.from(values));
  return s;
}

let root: string;
let count = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-test-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** A small bundle (the reader does not build the networks, so any values do). */
async function bundle(g1 = [1, 2, 3]): Promise<string> {
  const dir = join(root, `b${count++}`);
  await writeBundle(dir, { model: resolveModelConfig({ preset: 'tiny' }), vggSha256: 'ab'.repeat(32) }, { g1: store('g1', g1), g2: new Map([[256, store('g2', [4, 5])]]) });
  return dir;
}

const manifestOf = async (dir: string): Promise<BundleManifest> => JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
const rewrite = async (dir: string, edit: (m: BundleManifest) => void) => {
  const m = await manifestOf(dir);
  edit(m);
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(m));
};
const refused = (dir: string, pattern: RegExp) => assert.rejects(readBundle(dir), (e: Error) => e instanceof InputError && pattern.test(e.message));

describe('bundle files', () => {
  test('writeBundle records the size and sha256 of every network file, and readBundle reads it back', async () => {
    const dir = await bundle();
    const { files } = await manifestOf(dir);
    assert.deepEqual(Object.keys(files!).sort(), ['g1.safetensors', 'g2-256.safetensors']);
    for (const [name, { bytes, sha256 }] of Object.entries(files!)) {
      const data = await readFile(join(dir, name));
      assert.equal(bytes, data.length, name);
      assert.equal(sha256, createHash('sha256').update(data).digest('hex'), name);
    }
    assert.deepEqual(Array.from((await readBundle(dir)).g1.get('g1.w').data), [1, 2, 3]);
  });

  test('the feature guide is optional: written and read back when given, absent (and not required) otherwise', async () => {
    const dir = join(root, `b${count++}`);
    const networks = { g1: store('g1', [1]), g2: new Map([[256, store('g2', [2])]]), guide: store('guide', [7, 8]) };
    await writeBundle(dir, { model: resolveModelConfig({ preset: 'tiny' }), vggSha256: 'ab'.repeat(32) }, networks);
    assert.equal((await manifestOf(dir)).networks.guide, 'guide.safetensors');
    assert.deepEqual(Array.from((await readBundle(dir)).guide!.get('guide.w').data), [7, 8]);
    // Its file gets the same checks as the others'.
    await appendFile(join(dir, 'guide.safetensors'), 'x');
    await refused(dir, /guide\.safetensors.*bundle\.json says/);
    const without = await bundle();
    assert.equal((await manifestOf(without)).networks.guide, undefined);
    assert.equal((await readBundle(without)).guide, undefined);
  });

  test('names that leave the bundle folder are refused before anything is read', async () => {
    for (const name of ['../../../../dev/zero', '../etc/passwd', '/etc/passwd', 'sub/g1.safetensors', '..', '.hidden']) {
      const dir = await bundle();
      await rewrite(dir, (m) => {
        m.networks.g1 = name;
        delete m.files; // an older bundle: no sizes to stop the read
      });
      await refused(dir, /must be a plain file name inside the bundle folder/);
    }
  });

  test('a plain name that is a link out of the folder, or not a regular file, is refused', async () => {
    const outside = await bundle();
    for (const target of ['/dev/zero', join(outside, 'g1.safetensors')]) {
      const dir = await bundle();
      await rm(join(dir, 'g1.safetensors'));
      await symlink(target, join(dir, 'g1.safetensors'));
      await rewrite(dir, (m) => delete m.files);
      await refused(dir, /leads out of the bundle folder/);
    }
    const dir = await bundle();
    await rm(join(dir, 'g1.safetensors'));
    await mkdir(join(dir, 'g1.safetensors'));
    await refused(dir, /not a regular file/);
  });

  test('a file of another size or sha256 than recorded is refused; a file with no record too', async () => {
    const longer = await bundle();
    await appendFile(join(longer, 'g1.safetensors'), 'x');
    await refused(longer, /g1\.safetensors.*has \d+ bytes, bundle\.json says \d+/);
    const flipped = await bundle();
    const bytes = await readFile(join(flipped, 'g2-256.safetensors'));
    bytes[bytes.length - 1] ^= 1;
    await writeFile(join(flipped, 'g2-256.safetensors'), bytes);
    await refused(flipped, /g2-256\.safetensors.*its sha256 is [0-9a-f]{64}, bundle\.json says/);
    const unrecorded = await bundle();
    await rewrite(unrecorded, (m) => delete m.files!['g1.safetensors']);
    await refused(unrecorded, /records no size and sha256/);
  });

  test('a weight that is NaN or infinite is refused, naming the file and the tensor', async () => {
    await refused(await bundle([1, Number.NaN, 3]), /cannot load "g1\.safetensors": g1\.w\[1\] = NaN: a weight that is not a finite number/);
    await refused(await bundle([Number.NEGATIVE_INFINITY]), /g1\.w\[0\] = -Infinity/);
  });

  test('a bundle written before sizes were recorded still loads', async () => {
    const dir = await bundle();
    await rewrite(dir, (m) => delete m.files);
    assert.deepEqual(Array.from((await readBundle(dir)).g2.get(256)!.get('g2.w').data), [4, 5]);
  });

  test('the shipped default bundle records its files and loads under the checks', async () => {
    const loaded = await readBundle(DEFAULT_BUNDLE);
    assert.deepEqual(Object.keys(loaded.manifest.files ?? {}).sort(), ['g1.safetensors', 'g2-256.safetensors', 'guide.safetensors']);
    assert.ok(loaded.guide && loaded.guide.names().length > 0, 'the default bundle has the feature guide');
  });
});
