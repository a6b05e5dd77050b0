/** Turns training checkpoints into a model bundle that inference loads. */
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';
import { readBundle, writeBundle } from '../models/bundle.ts';
import type { ParamStore } from '../nn/params.ts';
import { generatorValues, readCheckpoint } from './checkpoint.ts';

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

/** One network's values, the configuration and VGG weights it was trained with, and its origin. */
interface Network {
  values: ParamStore;
  model: unknown;
  vggSha256: string;
  info: { from: string; step: unknown };
}

/**
 * A network from a checkpoint file, or from a bundle folder (its G1, or its G2 of `scale`), so that
 * a new G2 can join the networks of a shipped bundle.
 */
async function readNetwork(path: string, task: 'g1' | 'g2', scale?: number): Promise<Network> {
  if (await isFolder(path)) {
    const bundle = await readBundle(path);
    const values = task === 'g1' ? bundle.g1 : bundle.g2.get(scale!);
    if (!values) throw new InputError(`the bundle ${path} has no G2 trained at ${scale} (it has ${[...bundle.g2.keys()].join(', ')})`);
    const earlier = (bundle.manifest.info?.[task] ?? {}) as Record<string, unknown>;
    const step = task === 'g1' ? earlier.step : (earlier[String(scale)] as { step?: unknown } | undefined)?.step;
    return { values, model: bundle.manifest.model, vggSha256: bundle.manifest.vggSha256, info: { from: path, step } };
  }
  const c = await readCheckpoint(path);
  if (c.meta.task !== task) throw new InputError(`${path} is a checkpoint of ${String(c.meta.task)}, not ${task}`);
  return { values: generatorValues(c), model: c.meta.model, vggSha256: String(c.meta.vggSha256), info: { from: path, step: c.meta.step } };
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // reading it as a checkpoint says what is wrong
  }
}

/**
 * Writes a bundle from G1 and one or more G2s, each from a checkpoint or a bundle.
 * @throws InputError when a checkpoint is of the wrong task, a bundle lacks the network, or the
 *   sources disagree on the model or VGG weights
 */
export async function exportBundle(o: ExportOptions): Promise<void> {
  const g1 = await readNetwork(o.g1, 'g1');
  const g2 = new Map<number, ParamStore>();
  const g2Info: Record<string, Network['info']> = {};
  for (const [scale, path] of Object.entries(o.g2)) {
    const n = await readNetwork(path, 'g2', Number(scale));
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
