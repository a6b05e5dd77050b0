/**
 * Checkpoints that lose nothing.
 *
 * A checkpoint is ONE file holding a JSON header (step, configuration, RNG and data-loader state,
 * anything else the loop needs) and named binary parts (each a safetensors file: weights, batch-norm
 * buffers, optimiser moments), with a sha256 of the body in the header. Files are written to a
 * temporary name, fsynced and renamed, so a run killed at any moment leaves either the old set of
 * checkpoints or the old set plus a complete new one, never a partial file under a checkpoint's name.
 * The latest checkpoint is found by listing the folder and taking the newest file that verifies;
 * old ones are pruned only after the new one is in place.
 *
 * Layout of a run folder: `step-00001200.ckpt` (the last N), `best.ckpt` (lowest validation loss).
 *
 * A training run's checkpoint (`snapshot`, `restore`) holds the trained network's weights, batch-norm
 * statistics and Adam state (and its discriminator's, where the task has one), the step, the best
 * validation score, the data loader's position and the configuration, so a resumed run continues
 * exactly as if never stopped.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { concatBytes } from '../core/bytes.ts';
import { InputError, UsageError } from '../core/errors.ts';
import type { LoaderState } from '../data/loader.ts';
import { mergeStores, readBundle } from '../models/bundle.ts';
import { type ModelConfig, resolveModelConfig } from '../models/config.ts';
import { type NetworkState, ParamStore } from '../nn/params.ts';
import { writeFileAtomic } from '../nn/safetensors.ts';
import { Adam } from './adam.ts';
import type { TrainConfig } from './config.ts';
import type { TrainTask } from './tasks.ts';

const MAGIC = 'INPCKPT1';

export interface Checkpoint {
  /** Everything JSON-serialisable: step, config, RNG states, loader position, metrics. */
  readonly meta: Readonly<Record<string, unknown>> & { readonly step: number };
  /** Binary parts by name (safetensors bytes). */
  readonly parts: Readonly<Record<string, Uint8Array>>;
}

/** Serialises a checkpoint: magic, u32 header length, JSON header, then the parts back to back. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const names = Object.keys(c.parts);
  const body = concatBytes(names.map((n) => c.parts[n]));
  const sha256 = createHash('sha256').update(body).digest('hex');
  let offset = 0;
  const index = names.map((name) => {
    const entry = { name, offset, length: c.parts[name].length };
    offset += entry.length;
    return entry;
  });
  const header = new TextEncoder().encode(JSON.stringify({ meta: c.meta, parts: index, sha256 }));
  const out = new Uint8Array(MAGIC.length + 4 + header.length + body.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  out.set(body, MAGIC.length + 4 + header.length);
  return out;
}

/**
 * Parses and verifies a checkpoint.
 * @throws InputError when the bytes are not a checkpoint, are truncated, or fail the checksum.
 */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  const bad = (why: string) => new InputError(`${what} is not a usable checkpoint: ${why}`);
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    throw bad('it does not start with the checkpoint signature');
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const bodyStart = MAGIC.length + 4 + headerLength;
  if (bodyStart > bytes.length) throw bad('the file is truncated (header)');
  let header: { meta: Checkpoint['meta']; parts: { name: string; offset: number; length: number }[]; sha256: string };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, bodyStart)));
  } catch {
    throw bad('the header is not valid JSON');
  }
  const body = bytes.subarray(bodyStart);
  const total = header.parts.reduce((a, p) => a + p.length, 0);
  if (body.length !== total) throw bad(`the body holds ${body.length} bytes, the header lists ${total} (truncated?)`);
  if (createHash('sha256').update(body).digest('hex') !== header.sha256) throw bad('the checksum does not match (corrupt file)');
  if (typeof header.meta?.step !== 'number') throw bad('the header has no step');
  const parts: Record<string, Uint8Array> = {};
  for (const p of header.parts) parts[p.name] = body.subarray(p.offset, p.offset + p.length);
  return { meta: header.meta, parts };
}


const STEP_FILE = /^step-(\d+)\.ckpt$/;

/** Saves, finds and prunes the checkpoints of one run folder. */
export class CheckpointDir {
  constructor(
    readonly dir: string,
    /** How many step checkpoints to keep (the best one is kept apart). */
    readonly keepLast = 3,
  ) {}

  private stepPath(step: number): string {
    return join(this.dir, `step-${String(step).padStart(8, '0')}.ckpt`);
  }

  get bestPath(): string {
    return join(this.dir, 'best.ckpt');
  }

  /** Writes a checkpoint atomically, optionally as the new best, then prunes old step files. */
  async save(c: Checkpoint, options: { best?: boolean } = {}): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const bytes = encodeCheckpoint(c);
    const path = this.stepPath(c.meta.step);
    await writeFileAtomic(path, bytes);
    if (options.best) await writeFileAtomic(this.bestPath, bytes);
    const steps = await this.steps();
    for (const s of steps.slice(0, Math.max(0, steps.length - this.keepLast))) await rm(this.stepPath(s), { force: true });
    return path;
  }

  /** Step numbers of the step checkpoints present, ascending. */
  async steps(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => (STEP_FILE.test(n) ? [Number(STEP_FILE.exec(n)![1])] : [])).sort((a, b) => a - b);
  }

  /**
   * The newest checkpoint that verifies, or null if the folder has none. A newer file that fails to
   * verify (a disk error; our writes are atomic) is reported through `onWarning` and skipped.
   */
  async latest(onWarning: (msg: string) => void = console.warn): Promise<{ path: string; checkpoint: Checkpoint } | null> {
    for (const step of (await this.steps()).reverse()) {
      const path = this.stepPath(step);
      try {
        return { path, checkpoint: decodeCheckpoint(await readFile(path), path) };
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        onWarning(`skipping ${path}: ${err.message}`);
      }
    }
    return null;
  }
}

/** The generator's values (weights and batch-norm statistics) of a checkpoint, as one store. */
export function generatorValues(c: Checkpoint): ParamStore {
  return mergeStores(ParamStore.fromSafetensors(c.parts['g.params']), ParamStore.fromSafetensors(c.parts['g.buffers']));
}

/** Reads and verifies one checkpoint file. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}

// ---------------------------------------------------------------------------------------------
// A training run's checkpoint

/** Everything a network needs to train: weights, running statistics, optimiser. */
export interface Trainee extends NetworkState {
  adam: Adam;
}

/** Where a run stands, besides its networks. */
export interface RunState {
  step: number;
  /** The best validation score so far (+Infinity before the first validation). */
  bestVal: number;
  loader: LoaderState;
}

/**
 * The checkpoint of a training run: G and D (weights, buffers, Adam; no D parts for a task without
 * one), the run's state and configuration.
 */
export function snapshot(config: TrainConfig, model: ModelConfig, vggSha256: string, run: RunState, g: Trainee, d?: Trainee): Checkpoint {
  const { step, bestVal, loader } = run;
  const parts: Record<string, Uint8Array> = {};
  for (const [t, prefix] of trainees(g, d)) {
    parts[`${prefix}.params`] = t.params.toSafetensors();
    parts[`${prefix}.buffers`] = t.buffers.toSafetensors();
    parts[`${prefix}.adam`] = t.adam.toSafetensors();
  }
  return {
    meta: { step, task: config.task, config: { ...config, model }, model, vggSha256, bestVal: Number.isFinite(bestVal) ? bestVal : null, loader },
    parts,
  };
}

/** The networks of a run by their checkpoint prefix: 'g', and 'd' where the task has a discriminator. */
function trainees(g: Trainee, d?: Trainee): [Trainee, 'g' | 'd'][] {
  return d ? [[g, 'g'], [d, 'd']] : [[g, 'g']];
}

/** The networks whose sizes a run's checkpoint depends on: the trained one and its discriminator. */
const TASK_NETWORKS: Record<TrainTask, readonly (keyof ModelConfig)[]> = { g1: ['g1', 'd1'], g2: ['g2', 'd2'], guide: ['guide'] };

/**
 * Whether two model configurations give `networks` the same sizes. Both are resolved first: a
 * configuration saved before a network kind existed (checkpoints and bundles before the guide have
 * no `guide` key) still matches in the networks it has, and nothing else is compared, as no other
 * network's size changes a parameter of these.
 */
export function sameNetworkSizes(a: unknown, b: unknown, networks: readonly (keyof ModelConfig)[]): boolean {
  const [x, y] = [resolveModelConfig(a as object), resolveModelConfig(b as object)];
  return networks.every((n) => JSON.stringify(x[n]) === JSON.stringify(y[n]));
}

/**
 * Loads a run's checkpoint into `g` and `d` (values copied in place, Adam replaced) and returns the
 * run's state. Learning rates come from `config`, so a resumed run may change them.
 * @throws UsageError when the checkpoint is of another task than `config` asks for, or its networks
 *   are of other sizes than `model` gives them
 * @throws InputError when a part does not fit the networks
 */
export function restore(c: Checkpoint, config: TrainConfig, model: ModelConfig, g: Trainee, d?: Trainee): RunState {
  if (c.meta.task !== config.task || !sameNetworkSizes(c.meta.model, model, TASK_NETWORKS[config.task])) {
    throw new UsageError(
      `the run folder ${config.out} holds a checkpoint of task ${String(c.meta.task)} with model ${JSON.stringify(c.meta.model)}; ` +
        `this run asks for task ${config.task} with model ${JSON.stringify(model)}. Use another --out folder, or the same settings.`,
    );
  }
  for (const [t, prefix] of trainees(g, d)) {
    t.params.load(ParamStore.fromSafetensors(c.parts[`${prefix}.params`]), { strict: true });
    t.buffers.load(ParamStore.fromSafetensors(c.parts[`${prefix}.buffers`]), { strict: true });
    t.adam = Adam.fromSafetensors(c.parts[`${prefix}.adam`], t.params);
    // Learning rates and betas come from the current configuration (a resumed run may change them).
    t.adam.lr = prefix === 'g' ? config.lrG : config.lrD;
  }
  return {
    step: c.meta.step,
    bestVal: typeof c.meta.bestVal === 'number' ? c.meta.bestVal : Number.POSITIVE_INFINITY,
    loader: c.meta.loader as LoaderState,
  };
}

/**
 * Sets the trained network's values (`g`, in place) to the weights in `path`, a checkpoint of the
 * task or a model bundle folder: fine-tuning. Its optimiser and any discriminator stay fresh.
 * @returns what to tell the user
 * @throws UsageError when the weights are of another size than `model` gives the network
 * @throws InputError when `path` cannot be read, is of another task or lacks the network
 */
export async function initialise(path: string, config: Pick<TrainConfig, 'task' | 'size'>, model: ModelConfig, vggSha256: string, g: NetworkState): Promise<string> {
  const from = await readGenerator(path, config.task, config.size);
  const [net, title] = [TASK_NETWORKS[config.task][0], TASK_TITLES[config.task]];
  if (!sameNetworkSizes(from.model, model, [net])) {
    const theirs = resolveModelConfig(from.model as object)[net];
    throw new UsageError(
      `${path} holds a ${title} of sizes ${JSON.stringify(theirs)}; this run's is ${JSON.stringify(model[net])}. Give the model sizes it was trained with (--preset or --config).`,
    );
  }
  for (const store of [g.params, g.buffers]) {
    const { missing } = store.load(from.values, { strict: false });
    if (missing.length > 0) throw new InputError(`${path} lacks ${missing.join(', ')} of the ${title}`);
  }
  const step = typeof from.info.step === 'number' ? ` (step ${from.info.step})` : '';
  const note = from.vggSha256 === vggSha256 ? '' : ` (warning: it was trained with other VGG weights, sha256 ${from.vggSha256})`;
  return `starting the ${title} from the weights in ${path}${step} at step 0, with a fresh optimiser${note}`;
}

/** One network's values, the configuration and VGG weights it was trained with, and its origin. */
export interface Generator {
  values: ParamStore;
  model: unknown;
  vggSha256: string;
  info: { from: string; step: unknown };
}

/** How messages name the network of each task. */
const TASK_TITLES: Record<TrainTask, string> = { g1: 'G1', g2: 'G2', guide: 'feature guide' };

/**
 * A trained network from a checkpoint file, or from a model bundle folder (its G1, its G2 of
 * `scale`, or its feature guide): what export joins into a bundle and what G2's mixture
 * fine-tuning takes its G1 from.
 * @throws InputError when a checkpoint is of another task or the bundle lacks the network
 */
export async function readGenerator(path: string, task: TrainTask, scale?: number): Promise<Generator> {
  if (await isFolder(path)) {
    const bundle = await readBundle(path);
    const values = task === 'g1' ? bundle.g1 : task === 'guide' ? bundle.guide : bundle.g2.get(scale!);
    if (!values && task === 'guide') throw new InputError(`the bundle ${path} has no feature guide: give a guide checkpoint or a bundle exported with --guide`);
    if (!values) throw new InputError(`the bundle ${path} has no G2 trained at ${scale} (it has ${[...bundle.g2.keys()].join(', ')})`);
    const earlier = (bundle.manifest.info?.[task] ?? {}) as Record<string, unknown>;
    const recorded = (task === 'g2' ? earlier[String(scale)] : earlier) as { from?: unknown; step?: unknown } | undefined;
    // A bundle re-exported keeps where its networks were trained, when it says.
    const from = typeof recorded?.from === 'string' ? recorded.from : path;
    return { values, model: bundle.manifest.model, vggSha256: bundle.manifest.vggSha256, info: { from, step: recorded?.step } };
  }
  const c = await readCheckpoint(path);
  if (c.meta.task !== task) {
    throw new InputError(`${path} is a checkpoint of task ${String(c.meta.task)}, not ${task}: give a ${TASK_TITLES[task]} checkpoint or a model bundle folder`);
  }
  return { values: generatorValues(c), model: c.meta.model, vggSha256: String(c.meta.vggSha256), info: { from: path, step: c.meta.step } };
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // reading it as a checkpoint says what is wrong
  }
}
