/**
 * Checks the PyTorch back end against ONNX Runtime on the project's real graphs: two training steps
 * of G1 and of G2 (with the G1 mixture, so the feature and patch-swap graphs run too) and one
 * two-scale inpainting, each graph run on both engines with the same feeds and every output compared.
 * Needs python3 with torch, onnx and numpy (INPAINT_PYTHON to choose another), the VGG weights, the
 * photos and the shipped bundle. Run from the repository root:
 *
 *   npx tsx tools/torch-engine/check.ts [--photos DIR] [--vgg FILE]
 *
 * Prints the largest difference per graph (relative to the output's largest magnitude) and ends with
 * one JSON line. Exit code 1 when a forward output differs by more than 1e-3 or a gradient by more
 * than 0.1: gradients of deep layers legitimately differ by a few per cent, since float32 rounding
 * is amplified through the backward pass (ONNX Runtime's differ from float64 PyTorch's as much).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readImage } from '../../src/core/image.ts';
import { load } from '../../src/inference/inpainter.ts';
import { Engine, type HostTensor, Session } from '../../src/runtime/index.ts';
import { resolveTrainConfig } from '../../src/training/config.ts';
import { train } from '../../src/training/loop.ts';

const { values } = parseArgs({ options: { photos: { type: 'string', default: '../shared/data/photos' }, vgg: { type: 'string' } } });
const photos = values.photos!;

const torch = await Engine.create({ backend: 'torch' });
/** For each ONNX Runtime session, its twin on the PyTorch engine. */
const twins = new WeakMap<Session, Promise<Session>>();
const load0 = Engine.prototype.load;
Engine.prototype.load = async function (this: Engine, model: Uint8Array, name: string) {
  const session = await load0.call(this, model, name);
  if (this !== torch) twins.set(session, load0.call(torch, model, name));
  return session;
};

interface Worst {
  output: string;
  rel: number;
}
const worst = new Map<string, Worst>();
const run0 = Session.prototype.run;
Session.prototype.run = async function (this: Session, feeds, fetch, options) {
  const twin = twins.get(this);
  // The twin runs first: the run below may transfer (empty) the feeds' buffers.
  const other = twin ? await run0.call(await twin, feeds, fetch) : undefined;
  const out = await run0.call(this, feeds, fetch, options);
  if (other) {
    for (const [name, t] of Object.entries(out)) {
      const rel = difference(t, other[name]);
      const key = `${this.name} ${name.startsWith('grad:') ? 'gradients' : 'outputs'}`;
      if (!worst.has(key) || worst.get(key)!.rel < rel) worst.set(key, { output: name, rel });
    }
  }
  return out;
};

/** max |a - b| / max |a| (bools and integers must match exactly: 0 or 1). */
function difference(a: HostTensor, b: HostTensor): number {
  if (a.data.length !== b.data.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    diff = Math.max(diff, Math.abs(x - Number(b.data[i])));
    scale = Math.max(scale, Math.abs(x));
  }
  return a.dtype === 'float32' || a.dtype === 'float64' ? diff / (scale || 1) : diff === 0 ? 0 : 1;
}

const scratch = await mkdtemp(join(tmpdir(), 'torch-check-'));
try {
  for (const task of ['g1', 'g2'] as const) {
    const mix = task === 'g2' ? { g1Mix: 0.5, g1From: 'models/default' } : {};
    const config = resolveTrainConfig(task, {
      data: photos,
      out: join(scratch, task),
      batch: 2,
      size: 256,
      steps: 2,
      valEvery: 2,
      valImages: 2,
      checkpointEvery: 2,
      vggWeights: values.vgg,
      ...mix,
    });
    await train(config, { log: () => undefined });
  }
  const inpainter = await load({ vggWeights: values.vgg });
  const image = await readImage(join(photos, 'opencv-doc', 'baboon.jpg'));
  const mask = { width: image.width, height: image.height, data: new Uint8Array(image.width * image.height) };
  for (let y = image.height >> 2; y < (3 * image.height) >> 2; y++) mask.data.fill(1, y * image.width + (image.width >> 2), y * image.width + ((3 * image.width) >> 2));
  await inpainter.inpaint(image, mask, { scales: [256, 512] });
  await inpainter.dispose();
} finally {
  await rm(scratch, { recursive: true, force: true });
  await torch.dispose();
}

let failed = false;
console.log('graph'.padEnd(34), 'largest relative difference');
for (const [key, w] of [...worst].sort()) {
  const bound = key.endsWith('gradients') ? 0.1 : 1e-3;
  if (!(w.rel <= bound)) failed = true;
  console.log(key.padEnd(34), w.rel.toExponential(2).padEnd(10), w.rel <= bound ? 'ok' : `OVER ${bound}`, `(${w.output})`);
}
console.log(JSON.stringify({ graphs: Object.fromEntries([...worst].map(([k, w]) => [k, w.rel])), ok: !failed }));
process.exitCode = failed ? 1 : 0;
