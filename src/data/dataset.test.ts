import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { ImageFolder } from './dataset.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dataset-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Makes empty files (listing and splitting never open them) under a fresh folder. */
async function folderWith(name: string, files: readonly string[]): Promise<string> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  for (const f of files) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), '');
  }
  return root;
}

const names = (n: number, prefix = 'img') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.jpg`);

describe('ImageFolder.open', () => {
  test('lists images recursively, any extension case, sorted by code unit; skips other files and dot-names', async () => {
    const root = await folderWith('mixed', ['b.JPG', 'a/z.png', 'a/b/c.webp', 'A.jpeg', 'notes.txt', 'x.svg', '.hidden.jpg', '.cache/d.jpg', 'a/._e.jpg', 's/scan.TIF', 's/t.tiff', 'x.gif', 'x.avif', 'IMG_1.HEIC']);
    await symlink(join(root, 'b.JPG'), join(root, 'link.jpg'));
    await symlink(join(root, 'missing.jpg'), join(root, 'dangling.jpg'));
    const folder = await ImageFolder.open(root);
    assert.deepEqual(folder.files, ['A.jpeg', 'IMG_1.HEIC', 'a/b/c.webp', 'a/z.png', 'b.JPG', 'link.jpg', 's/scan.TIF', 's/t.tiff', 'x.avif', 'x.gif']);
    assert.deepEqual(folder.paths, folder.files.map((f) => join(root, f)));
    const pngs = await ImageFolder.open(root, { extensions: ['PNG', '.webp'] });
    assert.deepEqual(pngs.files, ['a/b/c.webp', 'a/z.png']);
  });

  test('a missing folder, a file, an empty folder or one without images is an InputError saying so', async () => {
    await assert.rejects(ImageFolder.open(join(dir, 'nope')), (e: Error) => e instanceof InputError && /does not exist/.test(e.message));
    const root = await folderWith('text-only', ['readme.txt', 'sub/data.csv']);
    await assert.rejects(ImageFolder.open(join(root, 'readme.txt')), (e: Error) => e instanceof InputError && /is not a folder/.test(e.message));
    await assert.rejects(ImageFolder.open(root), (e: Error) => e instanceof InputError && /holds no images/.test(e.message) && e.message.includes('.jpg'));
    await assert.rejects(ImageFolder.open(await folderWith('empty', [])), (e: Error) => e instanceof InputError && /holds no images/.test(e.message));
  });

  test('bad extensions are a UsageError', async () => {
    const root = await folderWith('ext', ['a.jpg']);
    await assert.rejects(ImageFolder.open(root, { extensions: [] }), UsageError);
    await assert.rejects(ImageFolder.open(root, { extensions: ['tar.gz'] }), UsageError);
  });
});

describe('ImageFolder.split', () => {
  test('is reproducible, disjoint and complete, about valFraction to validation; seeds differ', async () => {
    const folder = await ImageFolder.open(await folderWith('many', names(400)));
    const a = folder.split(0.2, 5);
    assert.deepEqual(folder.split(0.2, 5), a);
    assert.deepEqual([...a.train, ...a.val].sort(), folder.paths);
    assert.equal(new Set([...a.train, ...a.val]).size, 400);
    // Binomial(400, 0.2): mean 80, sd 8.
    assert.ok(a.val.length > 50 && a.val.length < 110, `val has ${a.val.length}`);
    assert.notDeepEqual(folder.split(0.2, 6).val, a.val);
  });

  test('is stable: adding files leaves every existing file on its side', async () => {
    const before = (await ImageFolder.open(await folderWith('grow', names(100)))).split(0.25, 3);
    await folderWith('grow', [...names(60, 'new'), ...names(20, 'sub/img')]);
    const after = (await ImageFolder.open(join(dir, 'grow'))).split(0.25, 3);
    assert.equal(after.train.length + after.val.length, 180);
    const afterVal = new Set(after.val);
    for (const f of before.val) assert.ok(afterVal.has(f), `${f} left validation`);
    for (const f of before.train) assert.ok(!afterVal.has(f), `${f} left training`);
  });

  test('with two files or more each side gets one; a single file goes to training', async () => {
    for (const n of [2, 3, 5]) {
      const folder = await ImageFolder.open(await folderWith(`small${n}`, names(n)));
      for (const fraction of [0.001, 0.999]) {
        for (let seed = 0; seed < 10; seed++) {
          const { train, val } = folder.split(fraction, seed);
          assert.ok(train.length >= 1 && val.length >= 1, `${n} files, fraction ${fraction}, seed ${seed}`);
          assert.equal(train.length + val.length, n);
        }
      }
    }
    const one = await ImageFolder.open(await folderWith('one', ['only.png']));
    assert.deepEqual(one.split(0.9, 1), { train: one.paths, val: [] });
  });

  test('valFraction outside (0, 1) or a fractional seed is a UsageError', async () => {
    const folder = await ImageFolder.open(await folderWith('args', names(3)));
    for (const bad of [0, 1, -0.1, Number.NaN]) assert.throws(() => folder.split(bad, 1), UsageError);
    assert.throws(() => folder.split(0.5, 1.5), UsageError);
  });
});
