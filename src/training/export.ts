/** Turns training checkpoints into a model bundle that inference loads. */
import { InputError } from '../core/errors.ts';
import { writeBundle } from '../models/bundle.ts';
import type { ParamStore } from '../nn/params.ts';
import { generatorValues, readCheckpoint } from './checkpoint.ts';

export interface ExportOptions {
  /** A G1 checkpoint file (e.g. runs/g1/best.ckpt). */
  g1: string;
  /** G2 checkpoints by the scale they were trained at, e.g. { 256: 'runs/g2/best.ckpt' }. */
  g2: Record<number, string>;
  out: string;
  dtype?: 'float32' | 'float16';
}

/**
 * Writes a bundle from a G1 checkpoint and one or more G2 checkpoints.
 * @throws InputError when a checkpoint is of the wrong task, or the checkpoints disagree on the model or VGG weights
 */
export async function exportBundle(o: ExportOptions): Promise<void> {
  const g1 = await readCheckpoint(o.g1);
  if (g1.meta.task !== 'g1') throw new InputError(`${o.g1} is a checkpoint of ${String(g1.meta.task)}, not g1`);
  const g2 = new Map<number, ParamStore>();
  const g2Info: Record<string, { from: string; step: unknown }> = {};
  for (const [scale, path] of Object.entries(o.g2)) {
    const c = await readCheckpoint(path);
    if (c.meta.task !== 'g2') throw new InputError(`${path} is a checkpoint of ${String(c.meta.task)}, not g2`);
    if (JSON.stringify(c.meta.model) !== JSON.stringify(g1.meta.model)) {
      throw new InputError(`${path} and ${o.g1} were trained with different model configurations`);
    }
    if (c.meta.vggSha256 !== g1.meta.vggSha256) throw new InputError(`${path} and ${o.g1} were trained with different VGG weights`);
    g2.set(Number(scale), generatorValues(c));
    g2Info[scale] = { from: path, step: c.meta.step };
  }
  if (g2.size === 0) throw new InputError('a bundle needs at least one G2 checkpoint');
  await writeBundle(
    o.out,
    {
      model: g1.meta.model as never,
      vggSha256: String(g1.meta.vggSha256),
      info: { g1: { from: o.g1, step: g1.meta.step }, g2: g2Info, created: new Date().toISOString() },
    },
    { g1: generatorValues(g1), g2 },
    { dtype: o.dtype },
  );
}
