/** Turns training checkpoints into a model bundle that inference loads. */
import { InputError } from '../core/errors.ts';
import { writeBundle } from '../models/bundle.ts';
import type { ParamStore } from '../nn/params.ts';
import { type Generator, readGenerator } from './checkpoint.ts';

export interface ExportOptions {
  /** G1: a checkpoint file (e.g. runs/g1/best.ckpt), or a bundle folder to take its G1 from. */
  g1: string;
  /**
   * G2 by the scale it was trained at, e.g. { 256: 'runs/g2/best.ckpt' }: each a checkpoint, or a
   * bundle folder to take its G2 of that scale from.
   */
  g2: Record<number, string>;
  out: string;
  dtype?: 'float32' | 'float16';
}

/**
 * Writes a bundle from G1 and one or more G2s, each from a checkpoint or a bundle.
 * @throws InputError when a checkpoint is of the wrong task, a bundle lacks the network, or the
 *   sources disagree on the model or VGG weights
 */
export async function exportBundle(o: ExportOptions): Promise<void> {
  const g1 = await readGenerator(o.g1, 'g1');
  const g2 = new Map<number, ParamStore>();
  const g2Info: Record<string, Generator['info']> = {};
  for (const [scale, path] of Object.entries(o.g2)) {
    const n = await readGenerator(path, 'g2', Number(scale));
    if (JSON.stringify(n.model) !== JSON.stringify(g1.model)) throw new InputError(`${path} and ${o.g1} were trained with different model configurations`);
    if (n.vggSha256 !== g1.vggSha256) throw new InputError(`${path} and ${o.g1} were trained with different VGG weights`);
    g2.set(Number(scale), n.values);
    g2Info[scale] = n.info;
  }
  if (g2.size === 0) throw new InputError('a bundle needs at least one G2 checkpoint');
  await writeBundle(
    o.out,
    { model: g1.model as never, vggSha256: g1.vggSha256, info: { g1: g1.info, g2: g2Info, created: new Date().toISOString() } },
    { g1: g1.values, g2 },
    { dtype: o.dtype },
  );
}
