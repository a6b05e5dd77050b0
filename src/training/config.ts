/**
 * The training configuration: typed, with the paper's defaults, resolved once from a JSON file plus
 * command-line overrides, and saved beside every checkpoint (inside it, and as `config.json`).
 */
import { readFile } from 'node:fs/promises';
import { expect, InputError, UsageError } from '../core/errors.ts';
import { DEFAULT_SPLIT } from '../data/dataset.ts';
import { DEFAULT_JITTER_MAX, DEFAULT_MASK_WEIGHTS, type MaskWeights } from '../data/loader.ts';
import { type ModelConfigInput, resolveModelConfig } from '../models/config.ts';
import { type LossWeights, TRAIN_TASKS, type TrainTask } from './tasks.ts';

export interface TrainConfig {
  /** What to train: 'g1' (Image2Feature + D1), 'g2' (Feature2Image + D2) or 'guide' (the feature guide, no D). */
  task: TrainTask;
  /** Folder of training images (searched recursively). */
  data: string;
  /** Run folder: checkpoints, log, samples, config. */
  out: string;
  /** Network sizes: a preset name and overrides (see models/config.ts). */
  model: ModelConfigInput;
  /** Crop size in pixels (G2 needs a multiple of 256). */
  size: number;
  batch: number;
  /** Total generator steps. */
  steps: number;
  /**
   * Learning rates and Adam's betas (paper: lr_G 2e-3 for G1, 2e-4 for G2; lr_D 2e-4; beta1 0.5).
   * `lrG` is the trained network's (the guide's too); `lrD` goes unused without a discriminator.
   */
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  loss: LossWeights;
  /**
   * Scale jitter: before cropping, a photo's short side is resized to size x uniform(1, jitter),
   * at most to its own (1: every crop shows as much of the photo as fits; larger: closer views too).
   */
  jitter: number;
  /** Mask kinds drawn for training holes, with relative weights. */
  masks: MaskWeights;
  /** Fraction of the folder held out for validation (never trained on). */
  valFraction: number;
  /** How many validation images to score (the first of the held-out list). */
  valImages: number;
  seed: number;
  /** Steps between log lines, validations (+ sample grid) and checkpoints. */
  logEvery: number;
  valEvery: number;
  checkpointEvery: number;
  /** Step checkpoints kept (the best-by-validation one is kept apart). */
  keepLast: number;
  /** G2 only: the paper's fine-tuning: with this probability a sample's features come from G1's fill. */
  g1Mix: number;
  /** G2 only, with g1Mix > 0: the G1 checkpoint or bundle to take fills from. */
  g1From?: string;
  /** VGG weights file; default: resolved as documented in features/weights-location.ts. */
  vggWeights?: string;
  /** A checkpoint file to start from when the run folder has none yet (continuing a run elsewhere). */
  resumeFrom?: string;
  /**
   * Weights to start the trained network from when the run folder has no checkpoint yet (fine-tuning):
   * a checkpoint of the same task or a model bundle folder (e.g. models/default). Unlike `resumeFrom`
   * the run starts at step 0 with fresh optimiser state, on its own data and settings; a
   * discriminator starts fresh.
   */
  initFrom?: string;
}

/** Settings the trainings share; the task-specific ones follow. */
const COMMON_DEFAULTS = {
  model: { preset: 'small' },
  steps: 20000,
  lrD: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  // The paper's lambdas, plus our pixel term (0 = the paper's loss exactly).
  loss: { perceptual: 10, adversarial: 1, pixel: 10 },
  jitter: DEFAULT_JITTER_MAX,
  masks: { ...DEFAULT_MASK_WEIGHTS },
  valFraction: DEFAULT_SPLIT.fraction,
  valImages: 8,
  seed: DEFAULT_SPLIT.seed,
  logEvery: 10,
  valEvery: 250,
  checkpointEvery: 100,
  keepLast: 3,
  g1Mix: 0,
} as const;

export const TRAIN_DEFAULTS: Record<TrainTask, Omit<TrainConfig, 'data' | 'out'>> = {
  // G1 learns a coarse fill: small crops suffice and its learning rate is the paper's 2e-3.
  g1: { ...COMMON_DEFAULTS, task: 'g1', size: 128, batch: 4, lrG: 2e-3 },
  // G2's U-Net needs multiples of 256 pixels (64 feature cells down to 1x1).
  g2: { ...COMMON_DEFAULTS, task: 'g2', size: 256, batch: 2, lrG: 2e-4 },
  // The session-12 prototype's settings (docs/decisions/feature-guide.md), so its numbers carry over:
  // 256 crops (its dilations reach 16 cells), Adam 5e-4 with PyTorch's default betas (no adversary
  // to keep slow), the patch cosine at 1 and the cell colours at 10, no adversarial term.
  guide: { ...COMMON_DEFAULTS, task: 'guide', size: 256, batch: 4, lrG: 5e-4, beta1: 0.9, beta2: 0.999, loss: { perceptual: 1, adversarial: 0, pixel: 10 } },
};

/** Crop sizes must be multiples of this: G1's three stride-2 convs, G2's U-Net, the guide's feature cells. */
const SIZE_MODULUS: Record<TrainTask, number> = { g1: 8, g2: 256, guide: 4 };

/** Reads a JSON configuration file (any subset of TrainConfig). */
export async function readConfigFile(path: string): Promise<Partial<TrainConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the configuration file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`the configuration file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Merges defaults (for the task), a file's values and overrides, then validates everything.
 * @throws UsageError naming the first invalid field
 */
export function resolveTrainConfig(task: TrainTask, ...layers: Partial<TrainConfig>[]): TrainConfig {
  expect(TRAIN_TASKS.includes(task), 'task', TRAIN_TASKS.map((t) => `'${t}'`).join(', '), task);
  const merged = { ...TRAIN_DEFAULTS[task] } as Record<string, unknown>;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (!(k in TRAIN_DEFAULTS.g1) && !['data', 'out', 'g1From', 'vggWeights', 'resumeFrom', 'initFrom'].includes(k)) {
        throw new UsageError(`unknown training option ${JSON.stringify(k)}`);
      }
      merged[k] = k === 'loss' ? { ...(merged.loss as object), ...(v as object) } : v;
    }
  }
  const c = merged as unknown as TrainConfig;
  c.task = task;
  expect(typeof c.data === 'string' && c.data.length > 0, 'data', 'a folder of training images', c.data);
  expect(typeof c.out === 'string' && c.out.length > 0, 'out', 'a run folder', c.out);
  resolveModelConfig(c.model); // validates
  const posInt = (name: keyof TrainConfig) =>
    expect(Number.isSafeInteger(c[name]) && (c[name] as number) > 0, name, 'a positive integer', c[name]);
  for (const k of ['size', 'batch', 'steps', 'valImages', 'logEvery', 'valEvery', 'checkpointEvery', 'keepLast'] as const) posInt(k);
  const modulus = SIZE_MODULUS[task];
  expect(c.size % modulus === 0, 'size', `a multiple of ${modulus} for ${task}`, c.size);
  for (const k of ['lrG', 'lrD'] as const) expect(Number.isFinite(c[k]) && c[k] > 0, k, 'a positive number', c[k]);
  for (const k of ['beta1', 'beta2'] as const) expect(c[k] >= 0 && c[k] < 1, k, 'a number in [0, 1)', c[k]);
  for (const [k, v] of Object.entries(c.loss)) {
    expect(k in COMMON_DEFAULTS.loss, `loss.${k}`, `one of ${Object.keys(COMMON_DEFAULTS.loss).join(', ')}`, k);
    expect(Number.isFinite(v) && v >= 0, `loss.${k}`, 'a number >= 0', v);
  }
  if (task === 'guide') expect(c.loss.adversarial === 0, 'loss.adversarial', '0 for the guide (it trains without a discriminator)', c.loss.adversarial);
  expect(Number.isFinite(c.jitter) && c.jitter >= 1, 'jitter', 'a number >= 1', c.jitter);
  expect(c.valFraction > 0 && c.valFraction < 1, 'valFraction', 'a number in (0, 1)', c.valFraction);
  expect(c.g1Mix >= 0 && c.g1Mix <= 1, 'g1Mix', 'a probability in [0, 1]', c.g1Mix);
  if (c.initFrom !== undefined && c.resumeFrom !== undefined) {
    throw new UsageError('give either resumeFrom (--resume-from: continue a run, its step, optimiser and data order) or initFrom (--init-from: start a new run from its weights), not both');
  }
  if (c.g1Mix > 0) expect(task === 'g2' && typeof c.g1From === 'string', 'g1From', 'a G1 checkpoint or bundle (needed with g1Mix > 0, task g2)', c.g1From);
  return c;
}
