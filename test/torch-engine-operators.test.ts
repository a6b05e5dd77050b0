/**
 * The PyTorch back end (src/runtime/torch-engine.py) runs our ONNX graphs op by op from its table
 * `OPS`, and fails at session creation on an operator it lacks, which on a lent GPU machine is a
 * lost call. So every operator our graphs use must be in that table. This reads the table from the
 * .py file (no Python needed) and builds the project's real graphs of the tiny model without running
 * them: both training steps of G1 and of G2 (forward, losses, D, the autodiff backward; validation
 * is the same task's forward pass, so its operators are among these), G2's swapped inputs (ground
 * truth and G1 fill), and inference's G1, G2, VGG and every patch-swap variant. It lives in test/
 * because it reaches across the layers, from runtime/ up to training/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { FrozenVgg } from '../src/features/vgg.ts';
import { loadVggWeights, type VggWeights } from '../src/features/vgg-weights.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { Networks } from '../src/inference/networks.ts';
import { TEST_VGG_WEIGHTS, writeRandomBundle } from '../src/inference/testing.ts';
import { readBundle } from '../src/models/bundle.ts';
import { resolveModelConfig } from '../src/models/config.ts';
import { PatchSwapper } from '../src/patchswap/index.ts';
import type { Engine, Session } from '../src/runtime/engine.ts';
import { hostTensor } from '../src/runtime/tensor.ts';
import { resolveTrainConfig } from '../src/training/config.ts';
import { FeatureSwapper } from '../src/training/swapped-inputs.ts';
import { buildGanGraphs, type TaskKind } from '../src/training/tasks.ts';

const INTERPRETER = new URL('../src/runtime/torch-engine.py', import.meta.url);

/** The operator names of the interpreter's `OPS = { 'Add': ..., ... }` table, in file order. */
function operatorTable(python: string): string[] {
  const start = python.indexOf('\nOPS = {\n');
  assert.ok(start >= 0, 'torch-engine.py defines OPS = { ... } at the top level');
  const body = python.slice(start, python.indexOf('\n}\n', start));
  return [...body.matchAll(/^ {4}'([A-Za-z]+)':/gm)].map((m) => m[1]);
}

/** The operators of `used` (by graph) that `table` lacks, as 'Op (graph, graph)'. */
function missingOperators(table: readonly string[], used: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const have = new Set(table);
  const missing = new Map<string, string[]>();
  for (const [graph, ops] of used) for (const op of ops) if (!have.has(op)) missing.set(op, [...(missing.get(op) ?? []), graph]);
  return [...missing].map(([op, graphs]) => `${op} (${graphs.join(', ')})`).sort();
}

const { onnx } = onnxProto;
const operatorsOf = (model: Uint8Array) => new Set(onnx.ModelProto.decode(model).graph!.node!.map((n) => n.opType!));

/** Stands in for a session: the graph was loaded (and recorded); running it is not this test's business. */
const NOT_RUN = new Error('not run');

/** An engine that records every model it is asked to load, by name, and runs nothing. */
function recordingEngine(seen: Map<string, Set<string>>): Engine {
  const session = { run: async () => Promise.reject(NOT_RUN), dispose: () => {}, inputNames: [] } as unknown as Session;
  return {
    load: async (model: Uint8Array, name: string) => {
      seen.set(name, operatorsOf(model));
      return session;
    },
  } as unknown as Engine;
}
const loadOnly = (p: Promise<unknown>) => p.then(() => assert.fail('the recording engine ran a graph'), (e) => assert.equal(e, NOT_RUN));

describe('the PyTorch interpreter covers every operator of our graphs', () => {
  const used = new Map<string, Set<string>>();
  let dir: string;
  let vgg: VggWeights;
  const model = resolveModelConfig({ preset: 'tiny' });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'torch-ops-'));
    vgg = await loadVggWeights(TEST_VGG_WEIGHTS);
    const engine = recordingEngine(used);

    // Training: generator and discriminator steps, forward + losses + backward.
    for (const [kind, size] of [['g1', 64], ['g2', 256]] as [TaskKind, number][]) {
      const graphs = buildGanGraphs({ kind, model, vgg, batch: 1, size, weights: { perceptual: 10, adversarial: 1, pixel: 10 } });
      for (const step of [graphs.g, graphs.d]) used.set(step.graph.name, operatorsOf(toOnnx(step.graph)));
    }
    // G2's inputs: patch-swapped relu3_1 of the ground truth and of a G1 fill.
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
    const config = resolveTrainConfig('g2', { data: dir, out: dir, model: { preset: 'tiny' }, g1Mix: 0.5, g1From: join(dir, 'bundle') });
    (await FeatureSwapper.create(engine, vgg, config)).dispose();

    // Inference: G1, G2, VGG, and patch-swap in each variant (self, with locality, excluding, against a source).
    const frozen = new FrozenVgg(vgg);
    const nets = await Networks.create(engine, await readBundle(join(dir, 'bundle')), frozen);
    await loadOnly(nets.vggFeatures({ width: 32, height: 32, data: new Float32Array(3 * 32 * 32).fill(0.5) }));
    const swapper = await PatchSwapper.create(engine);
    const features = hostTensor(new Float32Array(8 * 8 * 8), [1, 8, 8, 8]);
    const mask = (cells: number[]) => {
      const m = new Float32Array(64);
      for (const c of cells) m[c] = 1;
      return hostTensor(m, [1, 1, 8, 8]);
    };
    await loadOnly(swapper.swap({ features, mask: mask([27]) }));
    await loadOnly(swapper.swap({ features, mask: mask([27]), locality: 1 }));
    await loadOnly(swapper.swap({ features, mask: mask([27]), sourceMask: mask([0]) }));
    await loadOnly(swapper.swap({ features, source: features }));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds the graphs it means to check', () => {
    const names = [...used.keys()];
    for (const expected of ['g1_step', 'd1_step', 'g2_step', 'd2_step', 'swap_gt', 'swap_g1', 'g1', 'g2_256', 'vgg19_relu3_1']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    for (const variant of ['self', 'excluding', 'source']) assert.ok(names.some((n) => n.startsWith(`patchswap_${variant}_`)), `patchswap_${variant} in ${names.join(', ')}`);
    assert.ok(names.some((n) => /^patchswap_self_.*_local/.test(n)), `a patch-swap with locality in ${names.join(', ')}`);
    // The backward pass brings operators the forward graphs do not have.
    // The backward passes bring operators of their own: G2 has no transposed convolution, its
    // gradient does; MaxPool's gradient scatters.
    assert.ok(!used.get('g2_256')!.has('ConvTranspose') && used.get('g2_step')!.has('ConvTranspose'), 'the G2 step has its backward');
    assert.ok(used.get('g1_step')!.has('ScatterElements'), 'the G1 step has the backward of the VGG in its loss');
  });

  it('finds every operator in the table of torch-engine.py', () => {
    const table = operatorTable(readFileSync(INTERPRETER, 'utf8'));
    assert.ok(table.length >= 40 && table.includes('Conv'), `parsed ${table.length} operators: ${table.join(', ')}`);
    assert.deepEqual(missingOperators(table, used), [], 'operators the PyTorch back end lacks (add them to OPS in src/runtime/torch-engine.py)');
  });

  it('would notice a missing one', () => {
    const table = operatorTable(readFileSync(INTERPRETER, 'utf8')).filter((op) => op !== 'ConvTranspose');
    assert.ok(missingOperators(table, used).some((m) => m.startsWith('ConvTranspose (')));
  });
});
