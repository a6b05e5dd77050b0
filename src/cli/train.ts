/**
 * `inpaint train g1|g2|guide` (or `--task`): trains a generator with its discriminator, or the
 * feature guide alone, resuming from the run folder.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { readConfigFile, resolveTrainConfig, type TrainConfig } from '../training/config.ts';
import { train } from '../training/loop.ts';
import { TRAIN_TASKS, type TrainTask } from '../training/tasks.ts';
import { type Command, positiveInt } from './args.ts';

const NUMERIC = ['size', 'batch', 'steps', 'lr-g', 'lr-d', 'seed', 'val-every', 'checkpoint-every', 'keep-last', 'g1-mix', 'val-images', 'pixel', 'jitter'] as const;

export const trainCommand: Command = {
  summary: 'train G1 (Image2Feature + D1), G2 (Feature2Image + D2) or the feature guide on a folder of images',
  help: `Usage: inpaint train g1|g2|guide --data DIR --out RUN_DIR [options]
       inpaint train --task g1|g2|guide --data DIR --out RUN_DIR [options]

Trains one generator of the paper with its discriminator, or the feature guide, on every image
under DIR (JPEG, PNG, WebP, TIFF, GIF, AVIF; searched recursively; a held-out share is used for
validation only).
Running the same command again resumes from RUN_DIR's latest checkpoint exactly where it stopped;
Ctrl-C (or SIGTERM) stops after the current step, writes a checkpoint and exits with 130 (143 for
SIGTERM), so that 'train && export' does not export a half-trained model. Temporary files left by
a run killed while writing a checkpoint are removed when the next run starts.

  g1  Image2Feature: fills the hole coarsely; loss 10 x masked perceptual l1 + adversarial
      + 10 x pixel l1 over the hole
  g2  Feature2Image: renders patch-swapped VGG features; loss 10 x perceptual l2 + adversarial
      + 10 x pixel l1
      (train g2 after or alongside g1; --g1-mix P --g1-from CKPT|BUNDLE is the paper's fine-tuning)
  guide  the feature guide (ours, docs/decisions/feature-guide.md): predicts the hole's VGG relu3_1
      features, which patch-swap matches on, from relu3_1 of the photo with its hole grey. Needs no
      discriminator (its features are matched, not looked at): loss 1 x patch cosine (the match's
      measure) + 10 x l1 of the predicted cell colours over the hole (--pixel); its sample grids show
      those colours in the hole. Trains apart from g1 and g2; 'inpaint export --guide' bundles it

Options (defaults in parentheses: g1 / g2 / guide):
  --data DIR               training images
  --out RUN_DIR            checkpoints (step-*.ckpt, best.ckpt), log.jsonl, samples/, config.json
  --config FILE            JSON with any of the options below (camelCase keys); flags override it
  --task NAME              g1, g2 or guide, instead of the first argument
  --preset NAME            model size: paper, small, tiny (small; the guide's: model.guide)
  --size S                 crop size in pixels (128 / 256 / 256; g2 needs a multiple of 256)
  --batch B                (4 / 2 / 4)
  --steps N                total steps (20000)
  --lr-g X, --lr-d X       learning rates (2e-3, 2e-4 / 2e-4, 2e-4 / 5e-4, none); Adam beta1 0.5
                           (guide: 0.9)
  --seed N                 (0)
  --jitter Z               scale jitter: each photo's short side is resized to the crop size times
                           a uniform draw from 1 to Z (never past the photo's own pixels) before
                           cropping; larger Z shows closer views of each photo (1.5)
  --val-every N            validation + sample grid every N steps (250)
  --val-images N           validation images scored (8)
  --checkpoint-every N     (100)
  --keep-last N            step checkpoints kept besides best.ckpt (3)
  --pixel X                weight of the pixel l1 term, ours; 0 gives the paper's loss (10; guide:
                           the cell colours' term)
  --g1-mix P --g1-from F   g2 only: share of samples whose features come from the fill of the G1
                           in F, a G1 checkpoint or a model bundle folder (0)
  --vgg FILE               VGG19 weights (default: see README, downloaded once if needed)
  --resume-from FILE       start from this checkpoint when RUN_DIR has none (continue a run elsewhere)
  --init-from F            fine-tune: start the network from the weights in F, a checkpoint of the
                           same task or a model bundle folder (e.g. models/default), when RUN_DIR has
                           none; step 0, fresh optimiser, this run's data and settings
  --max-pixels N           read training photos of up to N pixels (default 100000000; larger ones
                           are reported and skipped)

Examples:
  inpaint train g1 --data ../shared/data/photos --out runs/g1 --steps 2000
  inpaint plot runs/g1/log.jsonl -o runs/g1/curves.png
  inpaint train --task guide --data ../shared/data/photos --out runs/guide --steps 3300
  inpaint train guide --init-from models/default --data my-photos --out runs/my-guide --steps 1000 --lr-g 2e-4`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        out: { type: 'string' },
        task: { type: 'string' },
        config: { type: 'string' },
        preset: { type: 'string' },
        'g1-from': { type: 'string' },
        'resume-from': { type: 'string' },
        'init-from': { type: 'string' },
        vgg: { type: 'string' },
        'max-pixels': { type: 'string' },
        ...Object.fromEntries(NUMERIC.map((k) => [k, { type: 'string' as const }])),
      },
    });
    // The data loader's workers read photos with the process-wide limit (see defaultMaxPixels).
    if (values['max-pixels'] !== undefined) process.env.INPAINT_MAX_PIXELS = String(positiveInt(values['max-pixels'], '--max-pixels'));
    const task = taskOf(values.task, positionals[0]);
    const fromFile = values.config ? await readConfigFile(values.config) : {};
    const num = (k: (typeof NUMERIC)[number]) => {
      const v = (values as Record<string, string | undefined>)[k];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`Expected a number for --${k} but received ${JSON.stringify(v)}`);
      return n;
    };
    const pixel = num('pixel');
    const flags: Partial<TrainConfig> = {
      data: values.data,
      out: values.out,
      model: values.preset ? { ...(fromFile.model ?? {}), preset: values.preset } : undefined,
      size: num('size'),
      batch: num('batch'),
      steps: num('steps'),
      lrG: num('lr-g'),
      lrD: num('lr-d'),
      seed: num('seed'),
      jitter: num('jitter'),
      valEvery: num('val-every'),
      valImages: num('val-images'),
      checkpointEvery: num('checkpoint-every'),
      keepLast: num('keep-last'),
      loss: pixel === undefined ? undefined : ({ pixel } as TrainConfig['loss']), // merged with the other weights
      g1Mix: num('g1-mix'),
      g1From: values['g1-from'],
      vggWeights: values.vgg,
      resumeFrom: values['resume-from'],
      initFrom: values['init-from'],
    };
    const config = resolveTrainConfig(task, fromFile, flags);
    const result = await train(config);
    console.log(
      result.interrupted
        ? `stopped at step ${result.step}; run the same command again to resume`
        : `finished ${result.step} steps; best validation loss ${result.bestVal.toFixed(4)}; checkpoints in ${config.out}`,
    );
    // 128 + the signal's number, as a shell reports a killed process: not a success.
    if (result.signal) return result.signal === 'SIGINT' ? 130 : 143;
  },
};

/** The task from `--task` or the first argument (one of them, or both the same). */
function taskOf(flag: string | undefined, positional: string | undefined): TrainTask {
  if (flag !== undefined && positional !== undefined && flag !== positional) {
    throw new UsageError(`--task ${flag} and the argument ${positional} name different tasks; give one`);
  }
  const task = flag ?? positional;
  if (!(TRAIN_TASKS as readonly unknown[]).includes(task)) {
    throw new UsageError(`Expected ${TRAIN_TASKS.join(', ')} as the network to train (the first argument or --task) but received ${JSON.stringify(task)}`);
  }
  return task as TrainTask;
}
