/** Turns training checkpoints into a model bundle that inference loads. */
import { InputError } from '../core/errors.ts';
import { writeBundle } from '../models/bundle.ts';
import { resolveModelConfig } from '../models/config.ts';
import type { ParamStore } from '../nn/params.ts';
import { type Generator, readGenerator, sameNetworkSizes } from './checkpoint.ts';

export interface ExportOptions {
  /** G1: a checkpoint file (e.g. runs/g1/best.ckpt), or a bundle folder to take its G1 from. */
  g1: string;
  /**
   * G2 by the scale it was trained at, e.g. { 256: 'runs/g2/best.ckpt' }: each a checkpoint, or a
   * bundle folder to take its G2 of that scale from.
   */
  g2: Record<number, string>;
  /**
   * The feature guide, optional: a guide checkpoint (e.g. runs/guide/best.ckpt), or a bundle folder
   * to take its guide from. Its size is its own: the bundle records it whatever G1's run had.
   */
  guide?: string;
  out: string;
  dtype?: 'float32' | 'float16';
}

/**
 * Writes a bundle from G1, one or more G2s and optionally a feature guide, each from a checkpoint or
 * a bundle. The bundle's model configuration is G1's, with G2's size checked against it and the
 * guide's taken from the guide's own source (it is trained apart, at any size).
 * @throws InputError when a checkpoint is of the wrong task, a bundle lacks the network, or the
 *   sources disagree on G2's size or on the VGG weights
 */
export async function exportBundle(o: ExportOptions): Promise<void> {
  const g1 = await readGenerator(o.g1, 'g1');
  const sameVgg = (n: Generator, path: string) => {
    if (n.vggSha256 !== g1.vggSha256) throw new InputError(`${path} and ${o.g1} were trained with different VGG weights (sha256 ${n.vggSha256} and ${g1.vggSha256})`);
  };
  const g2 = new Map<number, ParamStore>();
  const g2Info: Record<string, Generator['info']> = {};
  for (const [scale, path] of Object.entries(o.g2)) {
    const n = await readGenerator(path, 'g2', Number(scale));
    if (!sameNetworkSizes(n.model, g1.model, ['g2'])) throw new InputError(`${path} and ${o.g1} were trained with different model configurations (G2's)`);
    sameVgg(n, path);
    g2.set(Number(scale), n.values);
    g2Info[scale] = n.info;
  }
  if (g2.size === 0) throw new InputError('a bundle needs at least one G2 checkpoint');
  const guide = o.guide === undefined ? undefined : await readGenerator(o.guide, 'guide');
  if (guide) sameVgg(guide, o.guide!);
  const model = resolveModelConfig(g1.model as object);
  await writeBundle(
    o.out,
    {
      model: guide ? { ...model, guide: resolveModelConfig(guide.model as object).guide } : model,
      vggSha256: g1.vggSha256,
      info: { g1: g1.info, g2: g2Info, ...(guide ? { guide: guide.info } : {}), created: new Date().toISOString() },
    },
    { g1: g1.values, g2, ...(guide ? { guide: guide.values } : {}) },
    { dtype: o.dtype },
  );
}
