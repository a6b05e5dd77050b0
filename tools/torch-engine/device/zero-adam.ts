/**
 * Copies a training checkpoint with both Adam states zeroed at step 0: weights, batch-norm buffers,
 * step and data position exact, the optimisers fresh. Zeros compress to nothing, so the copy travels
 * at the size of its weights (for a device call's 64 MiB limit). Its best validation score is
 * dropped too, so the run that resumes from it keeps its own best (it validates on other copies of
 * the photos).
 *
 *   npx tsx tools/torch-engine/device/zero-adam.ts IN.ckpt OUT.ckpt
 */
import { readFile, writeFile } from 'node:fs/promises';
import { decodeSafetensors, encodeSafetensors } from '../../../src/nn/safetensors.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/training/checkpoint.ts';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: zero-adam.ts IN.ckpt OUT.ckpt');
const checkpoint = decodeCheckpoint(await readFile(input), input);
const parts: Record<string, Uint8Array> = {};
for (const [name, bytes] of Object.entries(checkpoint.parts)) {
  if (!name.endsWith('.adam')) {
    parts[name] = bytes;
    continue;
  }
  const { tensors, metadata } = decodeSafetensors(bytes);
  const zeroed = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.length) }]));
  parts[name] = encodeSafetensors(zeroed, { metadata: { ...metadata, step: '0' } });
}
await writeFile(output, encodeCheckpoint({ meta: { ...checkpoint.meta, bestVal: null }, parts }));
console.log(`${output}: step ${checkpoint.meta.step}, Adam states zeroed, no best score`);
