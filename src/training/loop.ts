/**
 * The training loop, top to bottom: set up (data, graphs, weights, optimisers, or all of that from the
 * latest checkpoint), then step G and D, log, validate, checkpoint, until the step budget is spent or
 * the process is asked to stop (SIGINT / SIGTERM / an AbortSignal), which ends with a checkpoint.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError, UsageError } from '../core/errors.ts';
import { removeStaleTemporaryFiles } from '../core/files.ts';
import type { RgbImage } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { ImageFolder } from '../data/dataset.ts';
import { type Batch, BatchLoader, fingerprintOf, type LoaderState, loadValidationSet } from '../data/loader.ts';
import { featureMaskGraph } from '../features/grid.ts';
import { loadVggWeights, sha256File, type VggWeights } from '../features/vgg-weights.ts';
import { findVggWeights } from '../features/weights-location.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import * as op from '../graph/ops.ts';
import { vggRelu31 } from '../features/vgg.ts';
import { maskedPerceptualL1, perceptualL2 } from '../losses/perceptual.ts';
import { l1 } from '../losses/pixel.ts';
import { type ModelConfig, resolveModelConfig } from '../models/config.ts';
import { createNetwork, networkSpecs } from '../models/registry.ts';
import { initNetwork, lookup, type NetworkState, ParamStore } from '../nn/params.ts';
import { Scope } from '../nn/scope.ts';
import { Engine, type Session } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import { Adam } from './adam.ts';
import { type Checkpoint, CheckpointDir, readCheckpoint } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { FeatureSwapper } from './swapped-inputs.ts';
import { JsonlLogger } from './log.ts';
import { ProgressBar } from './progress.ts';
import { writeSampleGrid } from '../core/sample-grid.ts';
import { buildGanGraphs, type GanGraphs } from './tasks.ts';
import { TrainStep, updateRunningStats } from './step.ts';

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

/** Everything a network needs to train: weights, running statistics, optimiser. */
interface Trainee extends NetworkState {
  adam: Adam;
}

const CONFIG_FILE = 'config.json';

/**
 * Trains G1 (with D1) or G2 (with D2) as configured, resuming from the run folder's latest checkpoint
 * if it has one. A checkpoint holds weights, batch-norm statistics, both optimisers, the step, the data
 * loader's position and the configuration, so a resumed run continues exactly as if never stopped.
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

  // --- the frozen VGG and the two step graphs
  const vggPath = await findVggWeights(config.vggWeights);
  const vgg = await loadVggWeights(vggPath);
  const vggSha256 = await sha256File(vggPath);
  const graphs = buildGanGraphs({ kind: config.task, model, vgg, batch: config.batch, size: config.size, weights: config.loss });

  // --- weights and optimisers: fresh, or from the latest checkpoint
  const rng = new Rng(config.seed);
  const g = trainee(graphs.gName, model, rng, config.lrG, config);
  const d = trainee(graphs.dName, model, rng, config.lrD, config);
  const checkpoints = new CheckpointDir(config.out, config.keepLast);
  const latest =
    (await checkpoints.latest((m) => say(`warning: ${m}`))) ??
    (config.resumeFrom ? { path: config.resumeFrom, checkpoint: await readCheckpoint(config.resumeFrom) } : null);
  let step = 0;
  let bestVal = Number.POSITIVE_INFINITY;
  let loaderState: LoaderState | undefined;
  if (latest) {
    ({ step, bestVal, loaderState } = restore(latest.checkpoint, config, model, g, d));
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
    masks: config.masks,
    resume: loaderState,
    onWarning: (m) => say(`warning: ${m}`),
  });
  const gStep = await TrainStep.create(engine, graphs.g);
  const dStep = await TrainStep.create(engine, graphs.d);
  const swapper = config.task === 'g2' ? await FeatureSwapper.create(engine, vgg, config) : null;
  const validator = await Validator.create(engine, graphs, model, vgg, config, valPaths, swapper);
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
    const path = await checkpoints.save(snapshot(step, config, model, vggSha256, bestVal, loader.state(), g, d), { best });
    bar.message(`checkpoint ${path}${best ? ' (best so far)' : ''}`);
  };

  let lastLoss = Number.NaN;
  try {
    while (step < config.steps && !stopRequested) {
      const batch = await loader.next();
      const data = await stepData(batch, config, swapper, step);
      const gr = await gStep.run(lookup(g.params, d.params), data);
      const dr = await dStep.run(lookup(d.params), { ...data, fake: gr.extras.fake });
      if (!Number.isFinite(gr.loss) || !Number.isFinite(dr.loss)) {
        throw new EngineError(
          `the loss is no longer finite at step ${step + 1} (G ${gr.loss}, D ${dr.loss}); the last checkpoint is kept. Try lower learning rates.`,
        );
      }
      g.adam.step(gr.grads);
      d.adam.step(dr.grads);
      updateRunningStats(g.buffers, gr.stats);
      updateRunningStats(d.buffers, dr.stats);
      step++;
      lastLoss = gr.loss;

      const scalars = { g: gr.loss, d: dr.loss, perc: gr.metrics.perceptual, adv: gr.metrics.adversarial, pix: gr.metrics.pixel };
      bar.update(step, scalars);
      if (step % config.logEvery === 0) {
        logger.append({ step, ...scalars, d_real: dr.metrics.real, d_fake: dr.metrics.fake });
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
    dStep.dispose();
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
  return { image, features: hostTensor(await swapper.swap(batch.images, batch.masks, B, { step }), [B, 256, S / 4, S / 4]) };
}

// ---------------------------------------------------------------------------------------------
// Checkpoint contents

function snapshot(
  step: number,
  config: TrainConfig,
  model: ModelConfig,
  vggSha256: string,
  bestVal: number,
  loader: LoaderState,
  g: Trainee,
  d: Trainee,
): Checkpoint {
  return {
    meta: { step, task: config.task, config: { ...config, model }, model, vggSha256, bestVal: Number.isFinite(bestVal) ? bestVal : null, loader },
    parts: {
      'g.params': g.params.toSafetensors(),
      'g.buffers': g.buffers.toSafetensors(),
      'g.adam': g.adam.toSafetensors(),
      'd.params': d.params.toSafetensors(),
      'd.buffers': d.buffers.toSafetensors(),
      'd.adam': d.adam.toSafetensors(),
    },
  };
}

function restore(c: Checkpoint, config: TrainConfig, model: ModelConfig, g: Trainee, d: Trainee) {
  if (c.meta.task !== config.task || JSON.stringify(c.meta.model) !== JSON.stringify(model)) {
    throw new UsageError(
      `the run folder ${config.out} holds a checkpoint of task ${String(c.meta.task)} with model ${JSON.stringify(c.meta.model)}; ` +
        `this run asks for task ${config.task} with model ${JSON.stringify(model)}. Use another --out folder, or the same settings.`,
    );
  }
  for (const [t, prefix] of [[g, 'g'], [d, 'd']] as const) {
    t.params.load(ParamStore.fromSafetensors(c.parts[`${prefix}.params`]), { strict: true });
    t.buffers.load(ParamStore.fromSafetensors(c.parts[`${prefix}.buffers`]), { strict: true });
    t.adam = Adam.fromSafetensors(c.parts[`${prefix}.adam`], t.params);
    // Learning rates and betas come from the current configuration (a resumed run may change them).
    t.adam.lr = prefix === 'g' ? config.lrG : config.lrD;
  }
  return {
    step: c.meta.step,
    bestVal: typeof c.meta.bestVal === 'number' ? c.meta.bestVal : Number.POSITIVE_INFINITY,
    loaderState: c.meta.loader as LoaderState,
  };
}

/** The settings that decide the validation score which differ between a checkpoint's run and this one, as `key a -> b`. */
function validationChanges(c: Checkpoint, config: TrainConfig): string[] {
  const before = (c.meta.config ?? {}) as Partial<TrainConfig>;
  const keys = ['size', 'valImages', 'valFraction', 'seed'] as const;
  return keys.filter((k) => before[k] !== undefined && before[k] !== config[k]).map((k) => `${k} ${String(before[k])} -> ${String(config[k])}`);
}

// ---------------------------------------------------------------------------------------------
// Validation: the generator in eval mode (running batch-norm statistics) on the fixed held-out set.

interface Validation {
  /** The task's perceptual loss (G1: masked l1; G2: l2), the early-stopping criterion. */
  perceptual: number;
  /** Mean absolute error inside the hole, in [0, 1]. */
  l1Hole: number;
}

class Validator {
  private constructor(
    private readonly session: Session,
    private readonly feeds: Record<string, HostTensor>,
    private readonly batch: Batch,
    private readonly size: number,
  ) {}

  static async create(
    engine: Engine,
    graphs: GanGraphs,
    model: ModelConfig,
    vgg: VggWeights,
    config: TrainConfig,
    paths: string[],
    swapper: FeatureSwapper | null,
  ): Promise<Validator> {
    const S = config.size;
    const batch = await loadValidationSet(paths, S, config.seed + 1, { masks: config.masks });
    const n = batch.paths.length;
    const graph = new Graph(`${graphs.gName}_validate`);
    const scope = Scope.root(graph, 'eval');
    const image = graph.input('image', [n, 3, S, S]);
    const mask = graph.input('mask', [n, 1, S, S]);
    const net = createNetwork(graphs.gName, model);
    let out: Tensor;
    let perceptual: Tensor;
    const feeds: Record<string, HostTensor> = { image: hostTensor(batch.images, [n, 3, S, S]), mask: hostTensor(batch.masks, [n, 1, S, S]) };
    if (graphs.kind === 'g1') {
      out = net.build(scope.child('g1'), { image, mask }).composite;
      perceptual = maskedPerceptualL1(vggRelu31(graph, out, vgg), vggRelu31(graph, image, vgg), featureMaskGraph(mask));
    } else {
      const features = graph.input('features', [n, 256, S / 4, S / 4]);
      out = net.build(scope.child('g2'), { features }).image;
      perceptual = perceptualL2(vggRelu31(graph, out, vgg), vggRelu31(graph, image, vgg));
      // Ground-truth features only: the scores compare across runs with another mixture or G1.
      feeds.features = hostTensor(await swapper!.swap(batch.images, batch.masks, n, { mix: 0 }), [n, 256, S / 4, S / 4]);
    }
    graph.output(out, 'out');
    graph.output(perceptual, 'perceptual');
    graph.output(l1(out, image, mask), 'l1_hole');
    return new Validator(await engine.load(toOnnx(graph), graph.name), feeds, batch, S);
  }

  /** Scores the current weights and writes a sample grid (input | output | ground truth). */
  async run(g: NetworkState, gridPath: string): Promise<Validation> {
    const feeds = { ...this.feeds };
    const values = lookup(g.params, g.buffers);
    for (const name of this.session.inputNames) {
      if (!(name in feeds)) {
        const v = values(name)!;
        feeds[name] = hostTensor(v, [...(g.params.has(name) ? g.params.get(name).shape : g.buffers.get(name).shape)]);
      }
    }
    const r = await this.session.run(feeds);
    const S = this.size;
    const plane = S * S;
    const rows: RgbImage[][] = [];
    const out = r.out.data as Float32Array;
    for (let i = 0; i < Math.min(4, this.batch.paths.length); i++) {
      const gt = this.batch.images.slice(i * 3 * plane, (i + 1) * 3 * plane);
      const hole = this.batch.masks.subarray(i * plane, (i + 1) * plane);
      const input = gt.map((v, k) => (hole[k % plane] > 0.5 ? 0.5 : v));
      rows.push([input, out.slice(i * 3 * plane, (i + 1) * 3 * plane), gt].map((data) => ({ width: S, height: S, data })));
    }
    await mkdir(join(gridPath, '..'), { recursive: true });
    await writeSampleGrid(gridPath, rows, { labels: ['input', 'output', 'ground truth'] });
    return { perceptual: (r.perceptual.data as Float32Array)[0], l1Hole: (r.l1_hole.data as Float32Array)[0] };
  }

  dispose(): void {
    this.session.dispose();
  }
}

