/**
 * Validation: the generator in eval mode (running batch-norm statistics) on the fixed held-out set.
 * Its graph is the task's own forward pass and perceptual loss (`Task.generate` in tasks.ts), the
 * same definition the training step differentiates, without the adversarial term and the backward
 * pass; it adds the l1 inside the hole, a score in pixels one can read. Each run also writes a
 * sample grid (input | output | ground truth). For the feature guide, whose output is features, the
 * 'output' is its predicted cell colours painted into the hole (`Generated.fake` in tasks.ts): the
 * l1 and the grid show what it predicts, its patch cosine is the score.
 */
import type { RgbImage } from '../core/image.ts';
import { writeSampleGrid } from '../core/sample-grid.ts';
import { type Batch, loadValidationSet } from '../data/loader.ts';
import { Graph } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import { l1 } from '../losses/pixel.ts';
import { lookup, type NetworkState } from '../nn/params.ts';
import { Scope } from '../nn/scope.ts';
import type { Engine, Session } from '../runtime/engine.ts';
import { type HostTensor, hostTensor } from '../runtime/tensor.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import type { FeatureSwapper } from './swapped-inputs.ts';
import type { Task } from './tasks.ts';

export interface Validation {
  /** The task's perceptual loss (G1: masked l1; G2: l2; the guide: patch cosine), the early-stopping criterion. */
  perceptual: number;
  /** Mean absolute error inside the hole, in [0, 1]. */
  l1Hole: number;
}

/** The settings that decide the validation score, which a resumed run compares with its checkpoint's. */
const VALIDATION_SETTINGS = ['size', 'valImages', 'valFraction', 'seed'] as const;

/** The settings that decide the validation score which differ between a checkpoint's run and this one, as `key a -> b`. */
export function validationChanges(c: Checkpoint, config: TrainConfig): string[] {
  const before = (c.meta.config ?? {}) as Partial<TrainConfig>;
  return VALIDATION_SETTINGS.filter((k) => before[k] !== undefined && before[k] !== config[k]).map((k) => `${k} ${String(before[k])} -> ${String(config[k])}`);
}

export class Validator {
  private constructor(
    private readonly session: Session,
    private readonly feeds: Record<string, HostTensor>,
    private readonly batch: Batch,
    private readonly size: number,
  ) {}

  /**
   * Loads the validation images (masks drawn with seed + 1, the same in every run) and the task's
   * validation graph. G2 is scored on ground-truth features only (`swapper` with mix 0), so that the
   * scores compare across runs with another mixture or G1.
   */
  static async create(engine: Engine, task: Task, config: TrainConfig, paths: string[], swapper: FeatureSwapper | null): Promise<Validator> {
    const S = task.size;
    const batch = await loadValidationSet(paths, S, config.seed + 1, { masks: config.masks });
    const n = batch.paths.length;
    const graph = new Graph(`${task.gName}_validate`);
    const data = task.inputs(graph, n);
    // G2 reads no mask; the hole's l1 does.
    const mask = data.mask ?? graph.input('mask', [n, 1, S, S]);
    const { fake, perceptual } = task.generate(Scope.root(graph, 'eval'), data);
    graph.output(fake, 'out');
    graph.output(perceptual, 'perceptual');
    graph.output(l1(fake, data.image, mask), 'l1_hole');
    const feeds: Record<string, HostTensor> = { image: hostTensor(batch.images, [n, 3, S, S]), mask: hostTensor(batch.masks, [n, 1, S, S]) };
    if (data.features) feeds.features = await swapper!.swap(batch.images, batch.masks, n, { mix: 0 });
    return new Validator(await engine.load(toOnnx(graph), graph.name), feeds, batch, S);
  }

  /** Scores the current weights and writes a sample grid (input | output | ground truth) to `gridPath`. */
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
    await writeSampleGrid(gridPath, rows, { labels: ['input', 'output', 'ground truth'] });
    return { perceptual: (r.perceptual.data as Float32Array)[0], l1Hole: (r.l1_hole.data as Float32Array)[0] };
  }

  dispose(): void {
    this.session.dispose();
  }
}
