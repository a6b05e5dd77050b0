import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { Graph } from '../graph/graph.ts';
import { Scope } from '../nn/scope.ts';
import { MODEL_PRESETS, resolveModelConfig, type ModelConfigInput } from './config.ts';
import { featureDiscriminator } from './discriminators.ts';
import { feature2Image, g2PaddedSize } from './feature2image.ts';
import { buildNetworkGraph, createNetwork, NETWORK_KINDS } from './registry.ts';

const tiny = MODEL_PRESETS.tiny;

describe('model config', () => {
  it('resolves to the paper preset by default and merges overrides into the chosen preset', () => {
    assert.deepEqual(resolveModelConfig(), MODEL_PRESETS.paper);
    const c = resolveModelConfig({ preset: 'small', g1: { resBlocks: 6 }, d2: { layers: 2 } });
    assert.deepEqual(c.g1, { width: 16, resBlocks: 6, dilation: 2 });
    assert.deepEqual(c.g2, MODEL_PRESETS.small.g2);
    assert.deepEqual(c.d1, MODEL_PRESETS.small.d1);
    assert.deepEqual(c.d2, { width: 16, layers: 2 });
    // The preset itself is left untouched.
    assert.equal(MODEL_PRESETS.small.g1.resBlocks, 9);
  });

  it('rejects unknown presets, networks and fields, and values below their minimum', () => {
    const bad: [unknown, RegExp][] = [
      [{ preset: 'huge' }, /one of paper, small, tiny for model config preset but received "huge"/],
      [{ g3: {} }, /Unknown key "g3"/],
      [{ g1: { widht: 8 } }, /Unknown field "widht" in model config g1/],
      [{ g1: { width: 1.5 } }, /integer >= 1 for model config g1\.width but received 1\.5/],
      [{ g2: { width: 0 } }, /for model config g2\.width but received 0/],
      [{ d1: { width: '16' } }, /for model config d1\.width but received "16"/],
      [{ d2: { layers: 1 } }, /integer >= 2 for model config d2\.layers but received 1/],
      [{ g1: [] }, /an object for model config g1 but/],
      [null, /an object for model config but received null/],
    ];
    for (const [input, message] of bad) {
      assert.throws(() => resolveModelConfig(input as ModelConfigInput), (e: unknown) => e instanceof UsageError && message.test(e.message), JSON.stringify(input));
    }
  });
});

describe('network registry', () => {
  it('creates each kind and rejects an unknown one naming the known kinds', () => {
    for (const kind of NETWORK_KINDS) assert.equal(createNetwork(kind, tiny).kind, kind);
    assert.throws(() => createNetwork('g3', tiny), (e: unknown) => e instanceof UsageError && /Unknown network kind "g3"; expected one of g1, g2, d1, d2/.test(e.message));
  });

  it('reports each size modulus and rejects static sizes that break it', () => {
    assert.deepEqual(
      NETWORK_KINDS.map((k) => createNetwork(k, tiny).sizeModulus),
      [8, 256, 8, 8, 4],
    );
    assert.throws(
      () => buildNetworkGraph(createNetwork('g2', tiny), { batch: 1, height: 256, width: 320 }, 'train'),
      (e: unknown) => e instanceof UsageError && /multiple of 256 for g2 image width but received 320/.test(e.message),
    );
    assert.throws(() => buildNetworkGraph(createNetwork('g1', tiny), { batch: 1, height: 0, width: 64 }, 'train'), UsageError);
    assert.equal(g2PaddedSize(300), 512);
    assert.equal(g2PaddedSize(256), 256);
  });

  it('the builders check their inputs: channels, G1 size against the dilation, D2 image against features', () => {
    const g = new Graph('bad');
    const s = Scope.root(g, 'train');
    assert.throws(() => feature2Image(s.child('g2'), tiny.g2, g.input('f', [1, 128, 64, 64])), /256 channels .*for G2 features but received \[1, 128, 64, 64\]/);
    assert.throws(() => feature2Image(s.child('g2b'), tiny.g2, g.input('f2', [1, 256, 32, 64])), /multiples of 64 for G2 features but received \[1, 256, 32, 64\]/);
    assert.throws(
      () => featureDiscriminator(s.child('d2'), tiny.d2, g.input('f3', [1, 256, 16, 16]), g.input('i3', [1, 3, 128, 128])),
      /4x the feature size 16 for D2 image size but received 128/,
    );
    assert.throws(
      () => buildNetworkGraph(createNetwork('g1', resolveModelConfig({ preset: 'tiny', g1: { dilation: 4 } })), { batch: 1, height: 32, width: 32 }, 'train'),
      /at least 40 \(dilation 4\) for G1 image height and width but received 32/,
    );
    assert.throws(() => createNetwork('d1', tiny).build(s.child('d1'), {}), /a tensor for d1 input "masked" but received undefined/);
  });
});
