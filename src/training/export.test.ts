import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it, mock } from 'node:test';
import { InputError } from '../core/errors.ts';
import { readBundle } from '../models/bundle.ts';
import { ParamStore } from '../nn/params.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../nn/safetensors.ts';
import { exportCommand } from '../cli/export.ts';
import { encodeCheckpoint, generatorValues, readCheckpoint } from './checkpoint.ts';
import { resolveTrainConfig } from './config.ts';
import { exportBundle } from './export.ts';
import { train } from './loop.ts';

const VGG = new URL('../../../shared/models/vgg_normalised_conv3_1.pth', import.meta.url).pathname;
const PHOTOS = new URL('../../../shared/data/photos/enlightenment-data/', import.meta.url).pathname;
const SHIPPED = new URL('../../models/default', import.meta.url).pathname;
const quiet = { log: () => {}, progress: Object.assign(new PassThrough(), { isTTY: false }) };

describe('exporting a bundle', () => {
  let g1: string;
  let g2: string;
  let g2Other: string;
  let guide: string;
  before(async () => {
    const data = mkdtempSync(join(tmpdir(), 'export-data-'));
    for (const f of readdirSync(PHOTOS).sort().slice(0, 3)) copyFileSync(join(PHOTOS, f), join(data, f));
    const base = { data, vggWeights: VGG, valImages: 1, valEvery: 1000, batch: 1, steps: 2, checkpointEvery: 2 };
    const run = async (task: 'g1' | 'g2' | 'guide', size: number, model: object) => {
      const out = mkdtempSync(join(tmpdir(), `export-${task}-`));
      await train(resolveTrainConfig(task, { ...base, out, size, model }), quiet);
      return join(out, 'step-00000002.ckpt');
    };
    g1 = await run('g1', 64, { preset: 'tiny' });
    g2 = await run('g2', 256, { preset: 'tiny' });
    g2Other = await run('g2', 256, { preset: 'small' });
    // A guide of its own size, not the tiny preset's: the bundle must record the guide's.
    guide = await run('guide', 32, { preset: 'tiny', guide: { width: 3, blocks: 1 } });
  });

  it('writes the generators (float16) with their provenance, and inference reads them back', async () => {
    const out = mkdtempSync(join(tmpdir(), 'export-bundle-'));
    await exportBundle({ g1, g2: { 256: g2 }, out, dtype: 'float16' });
    const bundle = await readBundle(out);
    assert.deepEqual(bundle.manifest.info?.g1, { from: g1, step: 2 });
    assert.deepEqual(bundle.manifest.info?.g2, { 256: { from: g2, step: 2 } });
    assert.deepEqual([...bundle.g2.keys()], [256]);
    // Every value of the checkpoint's generator, to float16 precision; nothing of the discriminator.
    const ckpt = await readCheckpoint(g2);
    const params = ParamStore.fromSafetensors(ckpt.parts['g.params']);
    const exported = bundle.g2.get(256)!;
    let compared = 0;
    for (const [name, p] of params.entries()) {
      const q = exported.get(name).data;
      for (let i = 0; i < p.data.length; i++) assert.ok(Math.abs(q[i] - p.data[i]) <= 1e-3 * Math.abs(p.data[i]) + 1e-7, `${name}[${i}]`);
      compared++;
    }
    assert.ok(compared > 0);
    assert.ok([...exported.entries()].every(([name]) => name.startsWith('g2.')), 'generator values only');
  });

  it('inpaint export --fp16 stores every tensor as float16 (without the flag float32), with sizes and sha256 recorded', async () => {
    const header = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))));
    const log = mock.method(console, 'log', () => {});
    const dtypes: Record<string, string[]> = {};
    try {
      for (const flags of [['--fp16'], []]) {
        const out = mkdtempSync(join(tmpdir(), 'export-cli-'));
        await exportCommand.run(['--g1', g1, '--g2', g2, '-o', out, ...flags]);
        const manifest = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
        for (const file of ['g1.safetensors', 'g2-256.safetensors']) {
          const bytes = readFileSync(join(out, file));
          assert.deepEqual(manifest.files[file], { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
          const types = Object.entries(header(bytes)).filter(([k]) => k !== '__metadata__').map(([, v]) => (v as { dtype: string }).dtype);
          dtypes[`${flags.join('')}:${file}`] = [...new Set(types)];
        }
        // The values are the checkpoint's rounded to float16 exactly (or kept exactly in float32).
        const ckpt = ParamStore.fromSafetensors((await readCheckpoint(g2)).parts['g.params']);
        const [name, p] = [...ckpt.entries()][0];
        const stored = (await readBundle(out)).g2.get(256)!.get(name).data;
        const expected = flags.length ? p.data.map((v) => float16BitsToFloat32(float32ToFloat16Bits(v))) : p.data;
        assert.deepEqual(stored, expected);
      }
    } finally {
      log.mock.restore();
    }
    assert.deepEqual(dtypes, { '--fp16:g1.safetensors': ['F16'], '--fp16:g2-256.safetensors': ['F16'], ':g1.safetensors': ['F32'], ':g2-256.safetensors': ['F32'] });
  });

  it("takes networks from a bundle folder: a new G2 at 512 joins a bundle's G1 and G2, values unchanged", async () => {
    const first = mkdtempSync(join(tmpdir(), 'export-first-'));
    await exportBundle({ g1, g2: { 256: g2 }, out: first, dtype: 'float16' });
    const joined = mkdtempSync(join(tmpdir(), 'export-joined-'));
    await exportBundle({ g1: first, g2: { 256: first, 512: g2 }, out: joined, dtype: 'float16' });
    const [a, b] = [await readBundle(first), await readBundle(joined)];
    assert.deepEqual([...b.g2.keys()].sort(), [256, 512]);
    // Same bytes: float16 values read and written again as float16 are exact.
    for (const f of ['g1.safetensors', 'g2-256.safetensors']) assert.equal(b.manifest.files![f].sha256, a.manifest.files![f].sha256, f);
    assert.equal(b.manifest.files!['g2-512.safetensors'].sha256, a.manifest.files!['g2-256.safetensors'].sha256, 'the 512 G2 is the checkpoint given');
    // Where each network was trained carries over from the first bundle.
    assert.deepEqual(b.manifest.info?.g1, { from: g1, step: 2 });
    assert.deepEqual(b.manifest.info?.g2, { 256: { from: g2, step: 2 }, 512: { from: g2, step: 2 } });
    await assert.rejects(exportBundle({ g1: first, g2: { 512: first }, out: joined }), (e: Error) => e instanceof InputError && /has no G2 trained at 512 \(it has 256\)/.test(e.message));
    await assert.rejects(exportBundle({ g1: first, g2: { 256: g2Other }, out: joined }), (e: Error) => e instanceof InputError && /different model configurations/.test(e.message));
  });

  it('refuses checkpoints of the wrong task or of different model sizes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'export-bad-'));
    await assert.rejects(exportBundle({ g1: g2, g2: { 256: g2 }, out }), (e: Error) => e instanceof InputError && /not g1/.test(e.message));
    await assert.rejects(exportBundle({ g1, g2: { 256: g1 }, out }), (e: Error) => e instanceof InputError && /not g2/.test(e.message));
    await assert.rejects(exportBundle({ g1, g2: { 256: g2Other }, out }), (e: Error) => e instanceof InputError && /different model configurations/.test(e.message));
    await assert.rejects(exportBundle({ g1, g2: {}, out }), (e: Error) => e instanceof InputError && /at least one G2/.test(e.message));
  });

  it("adds the feature guide with its own size, beside the shipped bundle's G1 and G2 (written before the guide existed)", async () => {
    const out = mkdtempSync(join(tmpdir(), 'export-guide-'));
    const log = mock.method(console, 'log', () => {});
    try {
      await exportCommand.run(['--g1', SHIPPED, '--g2', SHIPPED, '--guide', guide, '-o', out, '--fp16']);
    } finally {
      log.mock.restore();
    }
    const [bundle, shipped] = [await readBundle(out), await readBundle(SHIPPED)];
    assert.deepEqual(bundle.manifest.model, { ...shipped.manifest.model, guide: { width: 3, blocks: 1 } });
    assert.deepEqual(bundle.manifest.info?.guide, { from: guide, step: 2 });
    assert.deepEqual(bundle.manifest.info?.g1, shipped.manifest.info?.g1, "the shipped G1's origin carries over");
    for (const f of ['g1.safetensors', 'g2-256.safetensors']) assert.equal(bundle.manifest.files![f].sha256, shipped.manifest.files![f].sha256, f);
    // Every value of the guide checkpoint (rounded to float16, as the shipped bundle is), and nothing else.
    const trained = generatorValues(await readCheckpoint(guide));
    assert.deepEqual([...bundle.guide!.entries()].map(([n]) => n).sort(), [...trained.entries()].map(([n]) => n).sort());
    assert.ok(trained.names().length > 0 && [...trained.entries()].every(([n]) => n.startsWith('guide.')));
    for (const [name, p] of trained.entries()) assert.deepEqual(bundle.guide!.get(name).data, p.data.map((v) => float16BitsToFloat32(float32ToFloat16Bits(v))), name);
    // A bundle with a guide gives it on: the same bytes again.
    const again = mkdtempSync(join(tmpdir(), 'export-guide-again-'));
    await exportBundle({ g1: out, g2: { 256: out }, guide: out, out: again, dtype: 'float16' });
    assert.equal((await readBundle(again)).manifest.files!['guide.safetensors'].sha256, bundle.manifest.files!['guide.safetensors'].sha256);
    assert.deepEqual((await readBundle(again)).manifest.model.guide, { width: 3, blocks: 1 });
  });

  it('refuses as --guide a checkpoint of another task, a bundle without a guide, and a guide of other VGG weights', async () => {
    const out = mkdtempSync(join(tmpdir(), 'export-guide-bad-'));
    const refused = (guidePath: string, pattern: RegExp) =>
      assert.rejects(exportBundle({ g1, g2: { 256: g2 }, guide: guidePath, out }), (e: Error) => e instanceof InputError && pattern.test(e.message));
    await refused(g1, /is a checkpoint of task g1, not guide: give a feature guide checkpoint/);
    const plain = mkdtempSync(join(tmpdir(), 'export-no-guide-'));
    await exportBundle({ g1, g2: { 256: g2 }, out: plain });
    await refused(plain, /bundle .*export-no-guide-.* has no feature guide/);
    const c = await readCheckpoint(guide);
    const otherVgg = join(mkdtempSync(join(tmpdir(), 'export-guide-vgg-')), 'guide.ckpt');
    writeFileSync(otherVgg, encodeCheckpoint({ ...c, meta: { ...c.meta, vggSha256: '0'.repeat(64) } }));
    await refused(otherVgg, /different VGG weights/);
    // A guide is no G1 or G2 either.
    await assert.rejects(exportBundle({ g1: guide, g2: { 256: g2 }, out }), /task guide, not g1/);
  });
});
