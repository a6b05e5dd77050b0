import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { encodeSafetensors } from '../nn/safetensors.ts';
import { readLegacyTorch } from './pth.ts';
import { VGG_SHA256, VGG_SOURCE_URL, loadVggWeights, sha256File } from './vgg-weights.ts';

/** The shared copy of the public weights; the tests fail (not skip) when it is missing. */
const VGG_PTH = fileURLToPath(new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url));
const README = fileURLToPath(new URL('../../../shared/models/README.md', import.meta.url));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vgg-weights-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The shared file's tensors, re-encoded as safetensors after `edit` changed them. */
async function safetensorsVariant(name: string, edit: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void): Promise<string> {
  const tensors = readLegacyTorch(await readFile(VGG_PTH));
  edit(tensors);
  const path = join(dir, name);
  await writeFile(path, encodeSafetensors(tensors));
  return path;
}

test('loads the six convolutions of the shared .pth file with the documented shapes', async () => {
  const { layers } = await loadVggWeights(VGG_PTH);
  assert.deepEqual(
    layers.map((l) => [l.name, l.weightShape]),
    [
      ['conv0', [3, 3, 1, 1]],
      ['conv1_1', [64, 3, 3, 3]],
      ['conv1_2', [64, 64, 3, 3]],
      ['conv2_1', [128, 64, 3, 3]],
      ['conv2_2', [128, 128, 3, 3]],
      ['conv3_1', [256, 128, 3, 3]],
    ],
  );
  for (const l of layers) {
    assert.equal(l.weight.length, l.weightShape.reduce((a, b) => a * b, 1), l.name);
    assert.equal(l.bias.length, l.weightShape[0], l.name);
  }
  assert.equal(layers.reduce((n, l) => n + l.weight.length + l.bias.length, 0), 555_340);
});

test('the shared file has the pinned sha256, and the pinned constants are the README\'s', async () => {
  assert.equal(await sha256File(VGG_PTH), VGG_SHA256);
  const readme = await readFile(README, 'utf8');
  assert.ok(readme.includes(`sha256 \`${VGG_SHA256}\``), 'README pins another sha256');
  const origin = /repository `([^`]+)`[\s\S]*?file\s+`([^`]+)`/.exec(readme);
  assert.ok(origin, 'README names no origin');
  assert.equal(VGG_SOURCE_URL, `https://raw.githubusercontent.com/${origin[1]}/master/${origin[2]}`);
});

test('a safetensors file with the same keys loads to the same weights', async () => {
  const path = await safetensorsVariant('same.safetensors', () => {});
  assert.deepEqual(await loadVggWeights(path), await loadVggWeights(VGG_PTH));
});

test('a missing file says where it looked and how to get the file', async () => {
  const path = join(dir, 'absent', 'vgg.pth');
  await assert.rejects(
    loadVggWeights(path),
    (e) => e instanceof InputError && e.message.includes(path) && e.message.includes(VGG_SOURCE_URL) && e.message.includes(VGG_SHA256),
  );
});

test('a missing layer or a layer of the wrong shape is rejected naming the layer', async () => {
  const missing = await safetensorsVariant('missing.safetensors', (t) => t.delete('12.bias'));
  await assert.rejects(loadVggWeights(missing), (e) => e instanceof InputError && /12\.weight and 12\.bias for conv2_2/.test(e.message));
  const reshaped = await safetensorsVariant('reshaped.safetensors', (t) => {
    t.get('16.weight')!.shape = [256, 128, 9, 1];
  });
  await assert.rejects(
    loadVggWeights(reshaped),
    (e) => e instanceof InputError && /conv3_1 \(16\) has weight \[256,128,9,1\].*needs \[256,128,3,3\]/.test(e.message),
  );
});

test('truncated or foreign files are InputErrors naming the path', async () => {
  const bytes = await readFile(VGG_PTH);
  const truncated = join(dir, 'truncated.pth');
  await writeFile(truncated, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadVggWeights(truncated), (e) => e instanceof InputError && e.message.startsWith(truncated) && /truncated/.test(e.message));
  const foreign = join(dir, 'foreign.bin');
  await writeFile(foreign, 'GIF89a, not weights at all');
  await assert.rejects(loadVggWeights(foreign), (e) => e instanceof InputError && /Neither a legacy PyTorch file nor a safetensors file/.test(e.message));
});

test('a weight that is NaN (4 bytes set to 0xFF in the .pth) is refused naming the file and the layer', async () => {
  const bytes = new Uint8Array(await readFile(VGG_PTH));
  const { layers } = await loadVggWeights(VGG_PTH);
  // Find conv2_1's 11th weight in the file by its little-endian bytes, and overwrite it with 0xFF.
  const value = new Uint8Array(new Float32Array([layers[3].weight[10]]).buffer);
  const at = Buffer.from(bytes).indexOf(Buffer.from(value));
  assert.ok(at > 0, 'the value is stored in the file');
  bytes.fill(0xff, at, at + 4);
  const corrupt = join(dir, 'nan-vgg.pth');
  await writeFile(corrupt, bytes);
  await assert.rejects(loadVggWeights(corrupt), (e: Error) => e instanceof InputError && e.message.startsWith(`${corrupt}: `) && /\((\d+)\.(weight|bias)\) holds NaN at index \d+: the file is corrupt/.test(e.message));
});
