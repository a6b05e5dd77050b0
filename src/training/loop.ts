/**
 * The training loop, top to bottom: set up (data, graphs, weights, optimisers, or all of that from the
 * latest checkpoint), then step G and D (G alone for a task without a discriminator, the guide), log,
 * validate, checkpoint, until the step budget is spent or the process is asked to stop (SIGINT /
 * SIGTERM / an AbortSignal), which ends with a checkpoint.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../core/errors.ts';
import { removeStaleTemporaryFiles } from '../core/files.ts';
import { Rng } from '../core/random.ts';
import { ImageFolder } from '../data/dataset.ts';
import { type Batch, BatchLoader, fingerprintOf, type LoaderState } from '../data/loader.ts';
import { loadVggWeights, sha256File } from '../features/vgg-weights.ts';
import { findVggWeights } from '../features/weights-location.ts';
import { type ModelConfig, resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { initNetwork, lookup } from '../nn/params.ts';
import { Engine } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { Adam } from './adam.ts';
import { CheckpointDir, initialise, readCheckpoint, restore, snapshot, type Trainee } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { JsonlLogger } from './log.ts';
import { ProgressBar } from './progress.ts';
import { TrainStep, updateRunningStats } from './step.ts';
import { FeatureSwapper } from './swapped-inputs.ts';
import { buildTaskGraphs } from './tasks.ts';
import { validationChanges, Validator } from './validator.ts';

export interface TrainOptions {
  /** Stops the run after the current step (with a checkpoint). SIGINT and SIGTERM do the same. */
  signal?: AbortSignal;
  /** Messages (resume, validation, checkpoints). Default: console.log. */
  log?: (message: string) => void;
  /** Where the progress bar draws. Default: process.stderr. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface TrainResult {
  step: number;
  /** Generator loss of the last step, and the best validation loss. */
  lastLoss: number;
  bestVal: number;
  /** True when the run stopped early (signal), false when it reached `steps`. */
  interrupted: boolean;
  /** The process signal that stopped it early, if one did (the command line exits with 128 + its number). */
  signal?: 'SIGINT' | 'SIGTERM';
}

const CONFIG_FILE = 'config.json';

/**
 * Trains G1 (with D1), G2 (with D2) or the feature guide (alone) as configured, resuming from the run
 * folder's latest checkpoint if it has one. A checkpoint holds weights, batch-norm statistics, the
 * optimisers, the step, the data loader's position and the configuration, so a resumed run continues
 * exactly as if never stopped.
 * @throws UsageError when the run folder holds a checkpoint of another task or model
 * @throws EngineError when the loss stops being finite (the last checkpoint is kept)
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const say = options.log ?? ((m: string) => console.log(m));
  await mkdir(config.out, { recursive: true });
  // A run killed while writing a checkpoint leaves its temporary file (a checkpoint's size) behind.
  for (const dir of [config.out, join(config.out, 'samples')]) {
    for (const name of await removeStaleTemporaryFiles(dir)) say(`removed ${join(dir, name)}, left by a run killed while writing it`);
  }
  const model = resolveModelConfig(config.model);

  // --- data: a stable split; validation images are never trained on
  const folder = await ImageFolder.open(config.data);
  const split = folder.split(config.valFraction, config.seed);
  const valPaths = split.val.slice(0, config.valImages);

  // --- the frozen VGG and the step graphs
  const vggPath = await findVggWeights(config.vggWeights);
  const vgg = await loadVggWeights(vggPath);
  const vggSha256 = await sha256File(vggPath);
  const graphs = buildTaskGraphs({ kind: config.task, model, vgg, batch: config.batch, size: config.size, weights: config.loss });

  // --- weights and optimisers: fresh, or from the latest checkpoint
  const rng = new Rng(config.seed);
  const g = trainee(graphs.task.gName, model, rng, config.lrG, config);
  const d = graphs.task.dName ? trainee(graphs.task.dName, model, rng, config.lrD, config) : undefined;
  const checkpoints = new CheckpointDir(config.out, config.keepLast);
  const latest =
    (await checkpoints.latest((m) => say(`warning: ${m}`))) ??
    (config.resumeFrom ? { path: config.resumeFrom, checkpoint: await readCheckpoint(config.resumeFrom) } : null);
  let step = 0;
  let bestVal = Number.POSITIVE_INFINITY;
  let loaderState: LoaderState | undefined;
  if (latest) {
    ({ step, bestVal, loader: loaderState } = restore(latest.checkpoint, config, model, g, d));
    say(`resuming from ${latest.path} (step ${step})`);
    const changed = validationChanges(latest.checkpoint, config);
    if (changed.length > 0 && Number.isFinite(bestVal)) {
      // Scores under other validation settings are not comparable: the best checkpoint starts afresh.
      say(`warning: validation settings changed (${changed.join(', ')}); earlier validation scores no longer compare, so best.ckpt restarts from this run's first validation`);
      bestVal = Number.POSITIVE_INFINITY;
    }
    if (loaderState?.fingerprint !== fingerprintOf(split.train, config.seed)) {
      // Images added, removed or renamed since: the weights carry on, the data order cannot.
      say(`warning: the training images differ from those the checkpoint was trained on; the model continues from step ${step}, the data order starts afresh`);
      loaderState = undefined;
    }
  } else if (config.initFrom) {
    // Fine-tuning: the weights only; the step, optimiser and data order start afresh.
    say(await initialise(config.initFrom, config, model, vggSha256, g));
  }
  await writeFile(join(config.out, CONFIG_FILE), `${JSON.stringify({ ...config, model }, null, 2)}\n`);

  const engine = await Engine.create();
  // The default goes unsaid; another back end (INPAINT_ENGINE) is worth a line, GPU or not.
  if (engine.backend !== 'onnxruntime') say(`engine: ${engine.description}`);
  const loader = await BatchLoader.create({
    files: split.train,
    batchSize: config.batch,
    size: config.size,
    seed: config.seed,
    jitterMax: config.jitter,
    masks: config.masks,
    resume: loaderState,
    onWarning: (m) => say(`warning: ${m}`),
  });
  const gStep = await TrainStep.create(engine, graphs.g);
  const dStep = graphs.d && (await TrainStep.create(engine, graphs.d));
  const swapper = config.task === 'g2' ? await FeatureSwapper.create(engine, vgg, config) : null;
  const validator = await Validator.create(engine, graphs.task, config, valPaths, swapper);
  const logger = await JsonlLogger.open(join(config.out, 'log.jsonl'), { resumeFromStep: step });
  const bar = new ProgressBar({ total: config.steps, imagesPerStep: config.batch, stream: options.progress ?? process.stderr });

  // --- stop requests end the current step, then checkpoint
  let stopRequested = false;
  let stoppedBy: TrainResult['signal'];
  const stop = (signal?: unknown) => {
    if (!stopRequested) bar.message('stopping after this step (checkpoint follows)...');
    stopRequested = true;
    if (signal === 'SIGINT' || signal === 'SIGTERM') stoppedBy ??= signal;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  options.signal?.addEventListener('abort', () => stop());

  const save = async (best = false) => {
    const path = await checkpoints.save(snapshot(config, model, vggSha256, { step, bestVal, loader: loader.state() }, g, d), { best });
    bar.message(`checkpoint ${path}${best ? ' (best so far)' : ''}`);
  };

  let lastLoss = Number.NaN;
  try {
    while (step < config.steps && !stopRequested) {
      const batch = await loader.next();
      const data = await stepData(batch, config, swapper, step);
      const gr = await gStep.run(lookup(g.params, ...(d ? [d.params] : [])), data);
      const dr = dStep && (await dStep.run(lookup(d!.params), { ...data, fake: gr.extras.fake }));
      if (!Number.isFinite(gr.loss) || (dr && !Number.isFinite(dr.loss))) {
        throw new EngineError(
          `the loss is no longer finite at step ${step + 1} (G ${gr.loss}${dr ? `, D ${dr.loss}` : ''}); the last checkpoint is kept. Try lower learning rates.`,
        );
      }
      g.adam.step(gr.grads);
      updateRunningStats(g.buffers, gr.stats);
      if (d && dr) {
        d.adam.step(dr.grads);
        updateRunningStats(d.buffers, dr.stats);
      }
      step++;
      lastLoss = gr.loss;

      const scalars = {
        g: gr.loss,
        ...(dr ? { d: dr.loss } : {}),
        perc: gr.metrics.perceptual,
        ...(dr ? { adv: gr.metrics.adversarial } : {}),
        pix: gr.metrics.pixel,
      };
      bar.update(step, scalars);
      if (step % config.logEvery === 0) {
        logger.append({ step, ...scalars, ...(dr ? { d_real: dr.metrics.real, d_fake: dr.metrics.fake } : {}) });
      }
      let best = false;
      if (step % config.valEvery === 0 || step === config.steps) {
        const val = await validator.run(g, join(config.out, 'samples', `step-${String(step).padStart(8, '0')}.png`));
        logger.append({ step, val: val.perceptual, val_l1_hole: val.l1Hole });
        best = val.perceptual < bestVal;
        if (best) bestVal = val.perceptual;
        bar.message(`step ${step}: validation perceptual ${val.perceptual.toFixed(4)}, hole l1 ${(100 * val.l1Hole).toFixed(2)}%${best ? ' (best)' : ''}`);
      }
      if (step % config.checkpointEvery === 0 || step === config.steps || best) await save(best);
    }
    if (stopRequested && step % config.checkpointEvery !== 0) await save();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    bar.finish();
    logger.close();
    gStep.dispose();
    dStep?.dispose();
    validator.dispose();
    swapper?.dispose();
    await loader.dispose();
    await engine.dispose();
  }
  const interrupted = stopRequested && step < config.steps;
  return { step, lastLoss, bestVal, interrupted, ...(interrupted && stoppedBy ? { signal: stoppedBy } : {}) };
}

function trainee(name: string, model: ModelConfig, rng: Rng, lr: number, config: TrainConfig): Trainee {
  const state = initNetwork(networkSpecs(createNetwork(name, model)), rng);
  return { ...state, adam: new Adam(state.params, { lr, beta1: config.beta1, beta2: config.beta2 }) };
}

/** The data feeds of one step: G1 reads image and mask; G2 reads image and swapped features. */
async function stepData(batch: Batch, config: TrainConfig, swapper: FeatureSwapper | null, step: number): Promise<Record<string, HostTensor>> {
  const [B, S] = [config.batch, config.size];
  const image = hostTensor(batch.images, [B, 3, S, S]);
  if (!swapper) return { image, mask: hostTensor(batch.masks, [B, 1, S, S]) };
  return { image, features: await swapper.swap(batch.images, batch.masks, B, { step }) };
}
