/**
 * What the inference graphs ask of a runtime: every graph a fill loads is listed with its operators,
 * and no node declares an output that nothing reads (onnxruntime-web's WebGPU provider refuses
 * MaxPool's unused indices output, and any runtime computes such outputs for nothing).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { readImage } from '../core/image.ts';
import { Engine } from '../runtime/engine.ts';
import { load } from './inpainter.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from './testing.ts';

const { onnx } = onnxProto;

/** The operators of each inference graph, by the graph's name without its size suffixes. */
const EXPECTED_OPERATORS: Record<string, string[]> = {
  g1: ['Add', 'BatchNormalization', 'Concat', 'Conv', 'ConvTranspose', 'Identity', 'Mul', 'Pad', 'Relu', 'Sub', 'Tanh'],
  g2: ['Add', 'BatchNormalization', 'Concat', 'Conv', 'Identity', 'LeakyRelu', 'Mul', 'Relu', 'Resize', 'Tanh'],
  vgg19_relu3_1: ['Conv', 'Identity', 'MaxPool', 'Pad', 'Relu'],
  patchswap_self: [
    'Abs', 'Add', 'ArgMax', 'Cast', 'Concat', 'Conv', 'Div', 'Expand', 'Gather', 'Greater', 'Identity', 'Less', 'MatMul', 'Max', 'MaxPool', 'Min', 'Mul',
    'Pad', 'Range', 'Reciprocal', 'ReduceMax', 'ReduceSum', 'Relu', 'Reshape', 'Shape', 'Slice', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Transpose',
    'Unsqueeze', 'Where',
  ],
};

/** A graph's kind: its name without the scale of a G2 or the band count and locality of patch-swap. */
const kind = (name: string) => (name.startsWith('g2_') ? 'g2' : name.startsWith('patchswap_') ? name.split('_').slice(0, 2).join('_') : name);

describe('inference graphs', () => {
  let dir: string;
  let engine: Engine;
  const loaded = new Map<string, onnxProto.onnx.ModelProto>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graphs-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256, 512] });
    engine = await Engine.create();
    const original = engine.load.bind(engine);
    engine.load = (model: Uint8Array, name: string) => {
      loaded.set(name, onnx.ModelProto.decode(model));
      return original(model, name);
    };
    const inpainter = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS, engine });
    // Both scales (G2 at 256 and 512), VGG and patch-swap.
    const photo = await readImage(await photoPixels(512, 384));
    await inpainter.inpaint(photo, rectMask(512, 384, { x: 200, y: 100, width: 100, height: 80 }));
    await inpainter.dispose();
  });

  after(async () => {
    await engine?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads G1, both G2s, VGG and patch-swap, and no node declares an output nothing reads', () => {
    const names = [...loaded.keys()].sort();
    for (const expected of ['g1', 'g2_256', 'g2_512']) assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    assert.ok(names.some((n) => n.startsWith('patchswap_self')) && names.some((n) => /vgg/i.test(n)), names.join(', '));
    for (const [name, model] of loaded) {
      const graph = model.graph!;
      const read = new Set([...graph.node!.flatMap((n) => n.input ?? []), ...graph.output!.map((o) => o.name)]);
      for (const node of graph.node!) {
        for (const out of node.output ?? []) assert.ok(read.has(out), `${name}: ${node.opType} ${node.name} declares ${out}, which nothing reads`);
      }
      const maxPools = graph.node!.filter((n) => n.opType === 'MaxPool');
      for (const n of maxPools) assert.equal(n.output!.length, 1, `${name}: MaxPool with its indices`);
    }
  });

  it('uses only the operators listed here (a new one must be checked on the browser runtimes)', () => {
    const operators = Object.fromEntries(
      [...loaded].map(([name, model]) => [kind(name), [...new Set(model.graph!.node!.map((n) => n.opType!))].sort()]),
    );
    assert.deepEqual(operators, EXPECTED_OPERATORS);
  });
});
