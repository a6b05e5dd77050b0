/**
 * `npm run bench -- spinning [rounds]`: what stopping ONNX Runtime's spinning threads after each run
 * (`EngineOptions.keepSpinning: false`, the default) gains over letting them spin (ONNX Runtime's own
 * default), for work that alternates sessions: inpainting a 256x256 photo with a 128x128 centre hole
 * (G1, VGG, patch-swap, G2 in turn), the same with `ensemble: 8`, and a training iteration of each
 * generator (generator step, discriminator step) with the `small` configuration.
 *
 * The two settings run in separate child processes, one after the other, for `rounds` rounds
 * (default 3): an engine's spinning threads would also slow another engine in the same process.
 * Each child reports medians; the table gives the median over rounds and the ratio stop / spin
 * (below 1: stopping is faster). The model is the installed default bundle (a random-weight `small`
 * bundle when none is installed: the same cost). The last line is one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/random.ts';
import { readImage } from '../src/core/image.ts';
import { loadVggWeights } from '../src/features/vgg-weights.ts';
import { findVggWeights } from '../src/features/weights-location.ts';
import { DEFAULT_BUNDLE_DIR, load } from '../src/inference/index.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from '../src/inference/testing.ts';
import { Engine } from '../src/runtime/engine.ts';
import { trainingIteration } from './iteration.ts';
import { median, printTable, timeMedian } from './util.ts';

const CASES = ['inpaint_256', 'inpaint_256_e8', 'train_g1_256', 'train_g2_256'] as const;
type Figures = Record<(typeof CASES)[number], number>;

/** One setting's medians, in this process. */
async function measure(keepSpinning: boolean): Promise<Figures> {
  const engine = await Engine.create({ keepSpinning });
  const scratch = await mkdtemp(join(tmpdir(), 'bench-spinning-'));
  try {
    let bundle = DEFAULT_BUNDLE_DIR;
    if (!existsSync(join(bundle, 'bundle.json'))) {
      bundle = join(scratch, 'small');
      await writeRandomBundle(bundle, { preset: 'small', g2Scales: [256] });
    }
    const inpainter = await load({ bundle, engine, vggWeights: existsSync(TEST_VGG_WEIGHTS) ? TEST_VGG_WEIGHTS : undefined });
    const image = await readImage(await photoPixels(256, 256, 'python3-sklearn/china.jpg'));
    const mask = rectMask(256, 256, { x: 64, y: 64, width: 128, height: 128 });
    const inpaint_256 = await timeMedian(() => inpainter.inpaint(image, mask), 7);
    const inpaint_256_e8 = await timeMedian(() => inpainter.inpaint(image, mask, { ensemble: 8 }), 3, 1);
    await inpainter.dispose();

    const vgg = await loadVggWeights(await findVggWeights());
    const rng = new Rng(1);
    const train = async (kind: 'g1' | 'g2') => {
      const iteration = await trainingIteration(engine, vgg, rng, kind, 'small', 2, 256);
      const seconds = await timeMedian(iteration.run, 3, 1);
      iteration.dispose();
      return seconds;
    };
    return { inpaint_256, inpaint_256_e8, train_g1_256: await train('g1'), train_g2_256: await train('g2') };
  } finally {
    await engine.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

const [flag, value] = process.argv.slice(2);
if (flag === '--child') {
  console.log(JSON.stringify(await measure(value === 'spin')));
} else {
  const rounds = flag === undefined ? 3 : Number(flag);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error('usage: npm run bench -- spinning [rounds]   (rounds: a positive integer, default 3)');
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const results: Record<'spin' | 'stop', Figures[]> = { spin: [], stop: [] };
  for (let r = 0; r < rounds; r++) {
    for (const setting of ['spin', 'stop'] as const) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', setting], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (child.status !== 0) throw new Error(`the ${setting} child failed (exit ${child.status})`);
      results[setting].push(JSON.parse(child.stdout.trim().split('\n').pop()!));
      console.log(`round ${r + 1}/${rounds}: ${setting} done`);
    }
  }
  const figures: Record<string, number> = { rounds };
  const rows = CASES.map((c) => {
    const [spin, stop] = [median(results.spin.map((f) => f[c])), median(results.stop.map((f) => f[c]))];
    Object.assign(figures, { [`${c}_spin_s`]: +spin.toFixed(4), [`${c}_stop_s`]: +stop.toFixed(4), [`${c}_ratio`]: +(stop / spin).toFixed(3) });
    return [c, spin.toFixed(3), stop.toFixed(3), (stop / spin).toFixed(2)];
  });
  console.log(`median seconds over ${rounds} rounds (inpainting: one call; training: one iteration, batch 2)`);
  printTable(['case', 'spinning', 'stopped', 'stopped / spinning'], rows);
  console.log(JSON.stringify(figures));
}
