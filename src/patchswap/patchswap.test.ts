import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GraphError, UsageError } from '../core/errors.ts';
import { Rng } from '../core/random.ts';
import { type Feeds, runOnce } from '../graph/run-once.ts';
import { Graph, type Shape } from '../graph/graph.ts';
import { Engine } from '../runtime/engine.ts';
import { hostTensor } from '../runtime/tensor.ts';
import { PatchSwapper, featureShape, featureSize, mapMaskToFeatures } from './index.ts';
import { type PatchSwapOptions, patchSwap } from './patchswap.ts';
import { type FeatureMap, type ReferenceResult, referencePatchSwap } from './reference.ts';

const rng = new Rng(20180917);

/** Random features; half-rectified like relu3_1 when `relu`. */
function randomMap(channels: number, height: number, width: number, relu = false): FeatureMap {
  const data = Float32Array.from({ length: channels * height * width }, () => (relu ? Math.max(0, rng.normal()) : rng.normal()));
  return { channels, height, width, data };
}

/** A cell mask (1 = hole) from a predicate. */
function maskOf(height: number, width: number, hole: (y: number, x: number) => boolean): Uint8Array {
  const m = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) m[y * width + x] = hole(y, x) ? 1 : 0;
  return m;
}

const rect = (y0: number, x0: number, h: number, w: number) => (y: number, x: number) => y >= y0 && y < y0 + h && x >= x0 && x < x0 + w;

interface GraphOut {
  swapped: Float32Array;
  provenance: number[];
}

/**
 * Builds patchSwap with symbolic sizes (static ones when `staticShapes`) and runs it in-process.
 * A null mask with a source swaps everything.
 */
async function runGraph(
  features: FeatureMap,
  mask: Uint8Array | null,
  options: { source?: FeatureMap; sourceMask?: Uint8Array; bands?: number; staticShapes?: boolean; locality?: number } = {},
): Promise<GraphOut> {
  const g = new Graph('patchswap_test');
  const dims = (m: FeatureMap, c: number, h: string, w: string): Shape => (options.staticShapes ? [1, c, m.height, m.width] : [1, c, h, w]);
  const f = g.input('features', dims(features, features.channels, 'H', 'W'));
  const feeds: Feeds = { features: { data: Float32Array.from(features.data), shape: [1, features.channels, features.height, features.width] } };
  let m = null;
  if (mask) {
    m = g.input('mask', dims(features, 1, 'H', 'W'));
    feeds.mask = { data: Float32Array.from(mask), shape: [1, 1, features.height, features.width] };
  }
  const swapOptions: PatchSwapOptions = { bands: options.bands, locality: options.locality };
  if (options.source) {
    const s = options.source;
    swapOptions.source = g.input('source', dims(s, s.channels, 'Hs', 'Ws'));
    feeds.source = { data: Float32Array.from(s.data), shape: [1, s.channels, s.height, s.width] };
  }
  if (options.sourceMask) {
    const s = options.source ?? features;
    swapOptions.sourceMask = g.input('source_mask', dims(s, 1, options.source ? 'Hs' : 'H', options.source ? 'Ws' : 'W'));
    feeds.source_mask = { data: Float32Array.from(options.sourceMask), shape: [1, 1, s.height, s.width] };
  }
  const { swapped, provenance } = patchSwap(f, m, swapOptions);
  g.output(swapped, 'swapped');
  g.output(provenance, 'provenance');
  const out = await runOnce(g, feeds);
  assert.deepEqual(out.swapped.shape, [1, features.channels, features.height, features.width]);
  assert.deepEqual(out.provenance.shape, [1, 1, features.height, features.width]);
  return { swapped: out.swapped.data, provenance: Array.from(out.provenance.data as unknown as BigInt64Array, Number) };
}

/** Same choices as the reference (so identical provenance) and the same values to float32 rounding. */
function assertMatches(out: GraphOut, ref: ReferenceResult, what: string): void {
  assert.deepEqual(out.provenance, Array.from(ref.provenance), `${what}: provenance`);
  let worst = 0;
  for (let i = 0; i < ref.swapped.length; i++) worst = Math.max(worst, Math.abs(out.swapped[i] - ref.swapped[i]));
  assert.ok(worst < 1e-5, `${what}: swapped features differ from the reference by up to ${worst}`);
}

describe('patchSwap graph against the float64 reference', () => {
  const cases: { name: string; channels: number; height: number; width: number; hole: (y: number, x: number) => boolean; bands?: number; relu?: boolean; staticShapes?: boolean; locality?: number }[] = [
    { name: 'centre hole, square map', channels: 8, height: 16, width: 16, hole: rect(6, 6, 4, 4) },
    { name: 'odd sizes, off-centre hole', channels: 5, height: 13, width: 19, hole: rect(3, 8, 5, 3), relu: true },
    { name: 'hole touching the left border', channels: 6, height: 12, width: 15, hole: rect(4, 0, 4, 3) },
    { name: 'hole touching the bottom border', channels: 6, height: 11, width: 14, hole: rect(8, 5, 3, 4), bands: 3 },
    { name: 'hole in the top-left corner', channels: 7, height: 14, width: 12, hole: rect(0, 0, 3, 4) },
    { name: 'hole in the bottom-right corner', channels: 4, height: 9, width: 11, hole: rect(7, 9, 2, 2), bands: 1 },
    { name: 'two holes far apart', channels: 6, height: 17, width: 17, hole: (y, x) => rect(1, 2, 2, 3)(y, x) || rect(12, 11, 3, 2)(y, x), relu: true },
    { name: 'irregular hole (a disc and a stroke)', channels: 8, height: 18, width: 16, hole: (y, x) => (y - 8) ** 2 + (x - 7) ** 2 <= 6 || (y === 14 && x > 3 && x < 12) },
    { name: 'single hole cell', channels: 3, height: 10, width: 10, hole: rect(4, 5, 1, 1) },
    { name: 'static shapes', channels: 8, height: 12, width: 13, hole: rect(5, 4, 3, 5), staticShapes: true },
    { name: 'more bands than query rows (empty bands)', channels: 4, height: 9, width: 9, hole: rect(3, 3, 1, 1), bands: 64 },
    { name: 'locality, centre hole', channels: 8, height: 16, width: 16, hole: rect(6, 6, 4, 4), locality: 1, relu: true },
    { name: 'locality, strong, odd sizes, several bands', channels: 5, height: 13, width: 19, hole: rect(3, 8, 5, 3), locality: 4, bands: 5 },
    { name: 'locality, two holes far apart', channels: 6, height: 17, width: 17, hole: (y, x) => rect(1, 2, 2, 3)(y, x) || rect(12, 11, 3, 2)(y, x), locality: 2, relu: true },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const features = randomMap(c.channels, c.height, c.width, c.relu);
      const mask = maskOf(c.height, c.width, c.hole);
      const ref = referencePatchSwap(features, mask, { locality: c.locality });
      assertMatches(await runGraph(features, mask, { bands: c.bands, staticShapes: c.staticShapes, locality: c.locality }), ref, c.name);
    });
  }

  test('every hole cell is changed and every known cell is kept bit for bit', async () => {
    const features = randomMap(4, 12, 12);
    const mask = maskOf(12, 12, rect(5, 5, 3, 3));
    const out = await runGraph(features, mask);
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < 144; i++) {
        const [a, b] = [out.swapped[c * 144 + i], features.data[c * 144 + i]];
        if (mask[i]) assert.notEqual(a, b, `hole cell ${i}, channel ${c} kept its value`);
        else assert.equal(a, b, `known cell ${i}, channel ${c} changed`);
      }
    }
  });

  test('a hole cell becomes the mean of the chosen patches covering it', async () => {
    // One hole cell at (4, 4) of a 9x9 map: covered by the 9 patches with top-left (2..4, 2..4).
    const features = randomMap(3, 9, 9);
    const mask = maskOf(9, 9, rect(4, 4, 1, 1));
    const out = await runGraph(features, mask);
    const ref = referencePatchSwap(features, mask);
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let ty = 2; ty <= 4; ty++) {
        for (let tx = 2; tx <= 4; tx++) {
          const j = ref.choices[ty * 7 + tx];
          sum += features.data[c * 81 + (Math.floor(j / 9) + 4 - ty) * 9 + (j % 9) + 4 - tx];
        }
      }
      assert.ok(Math.abs(out.swapped[c * 81 + 40] - sum / 9) < 1e-5, `channel ${c}: ${out.swapped[c * 81 + 40]} is not the mean ${sum / 9}`);
    }
  });
});

describe('ties', () => {
  test('when every candidate is the same patch, the first in row-major order wins', async () => {
    // Known cells all hold one vector: every candidate scores exactly the same for every query.
    const [H, W, C] = [10, 12, 4];
    const mask = maskOf(H, W, rect(4, 5, 3, 3));
    const value = [0.5, 1.5, 0.25, 2];
    const data = new Float32Array(C * H * W);
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) data[c * H * W + i] = mask[i] ? rng.normal() : value[c];
    const out = await runGraph({ channels: C, height: H, width: W, data }, mask);
    // The chosen top-left is always (0, 0), so a hole cell's source is its offset in the owning patch.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (!mask[y * W + x]) continue;
        const [ty, tx] = [Math.min(Math.max(y - 1, 0), H - 3), Math.min(Math.max(x - 1, 0), W - 3)];
        assert.equal(out.provenance[y * W + x], (y - ty) * W + (x - tx), `cell (${y}, ${x})`);
      }
    }
  });

  test('of two identical best candidates the one earlier in row-major order wins', async () => {
    // Copy the query patch with top-left (4, 4) to (0, 7) and (7, 1): both score |p| exactly, the
    // maximum (Cauchy-Schwarz), and are bitwise equal; (0, 7) comes first (index 7 < 7 * 12 + 1).
    const [H, W, C] = [11, 12, 6];
    const mask = maskOf(H, W, rect(5, 5, 1, 1));
    const copies: [number, number][] = [
      [7, 1],
      [0, 7],
    ];
    const build = (perturbFirst: boolean) => {
      const m = randomMap(C, H, W);
      for (const [sy, sx] of copies) {
        for (let c = 0; c < C; c++) {
          for (let d = 0; d < 9; d++) {
            const [dy, dx] = [Math.floor(d / 3), d % 3];
            m.data[(c * H + sy + dy) * W + sx + dx] = m.data[(c * H + 4 + dy) * W + 4 + dx];
          }
        }
      }
      // A slightly changed copy at (0, 7) leaves (7, 1) the only best.
      if (perturbFirst) m.data[(0 * H + 1) * W + 8] += 0.3;
      return m;
    };
    const centre = 5 * W + 5; // the hole cell, owned by the patch with top-left (4, 4)
    const tie = await runGraph(build(false), mask);
    assert.equal(tie.provenance[centre], 7 + W + 1, 'the earlier copy (0, 7) should win the tie');
    const noTie = await runGraph(build(true), mask);
    assert.equal(noTie.provenance[centre], (7 + 1) * W + 1 + 1, 'with (0, 7) perturbed, (7, 1) should win');
  });

  test('with locality, of two identical best candidates the nearer one wins; a clearly better far one wins unless locality is strong', async () => {
    // The query patch with top-left (4, 4) copied to (0, 7) (distance 5) and (7, 1) (distance 4.24).
    const [H, W, C] = [11, 12, 6];
    const mask = maskOf(H, W, rect(5, 5, 1, 1));
    const m = randomMap(C, H, W, true);
    for (const [sy, sx] of [[0, 7], [7, 1]]) {
      for (let c = 0; c < C; c++) for (let d = 0; d < 9; d++) m.data[(c * H + sy + Math.floor(d / 3)) * W + sx + (d % 3)] = m.data[(c * H + 4 + Math.floor(d / 3)) * W + 4 + (d % 3)];
    }
    const centre = 5 * W + 5; // the hole cell, owned by the patch with top-left (4, 4)
    const [far, near] = [7 + W + 1, (7 + 1) * W + 1 + 1];
    assert.equal((await runGraph(m, mask)).provenance[centre], far, 'without locality the earlier copy (0, 7) wins');
    assert.equal((await runGraph(m, mask, { locality: 0.1 })).provenance[centre], near, 'with locality the nearer copy (7, 1) wins');
    // Spoil the near copy's centre cell: the far copy is now the better match by a margin, which
    // weak locality keeps and strong locality overrides (some nearer patch wins).
    for (let c = 0; c < C; c++) m.data[(c * H + 8) * W + 2] += 1;
    assert.equal((await runGraph(m, mask, { locality: 0.001 })).provenance[centre], far, 'weak locality: the better far copy wins');
    assert.notEqual((await runGraph(m, mask, { locality: 10 })).provenance[centre], far, 'strong locality: the far copy loses');
  });

  test('locality is refused with a source map, and when negative', () => {
    const g = new Graph('bad_locality');
    const f = g.input('features', [1, 4, 8, 8]);
    const m = g.input('mask', [1, 1, 8, 8]);
    assert.throws(() => patchSwap(f, m, { locality: -1 }), (e: unknown) => e instanceof GraphError && /locality must be a number >= 0/.test(e.message));
    assert.throws(() => patchSwap(f, m, { locality: 1, source: g.input('source', [1, 4, 8, 8]) }), (e: unknown) => e instanceof GraphError && /cannot be used with a source/.test(e.message));
  });

  test('an all-zero query patch scores 0 everywhere and takes the first candidate', async () => {
    const [H, W, C] = [8, 8, 3];
    const mask = maskOf(H, W, rect(3, 3, 2, 2));
    const m = randomMap(C, H, W, true);
    // Zero the cells 2..5 x 2..5: the query patch with top-left (2, 2), centred on the hole cell
    // (3, 3), is all zeros, so every candidate scores exactly 0.
    for (let c = 0; c < C; c++) for (let y = 2; y <= 5; y++) for (let x = 2; x <= 5; x++) m.data[(c * H + y) * W + x] = 0;
    const out = await runGraph(m, mask);
    const ref = referencePatchSwap(m, mask);
    assert.equal(ref.choices[2 * (W - 2) + 2], 0, 'reference: first candidate');
    assert.equal(out.provenance[3 * W + 3], 0 + W + 1, 'graph: the patch centred on (3, 3) took candidate (0, 0)');
    // With locality the zero scores tie and distance alone decides: the nearest candidate.
    const local = referencePatchSwap(m, mask, { locality: 1 });
    const chosen = local.choices[2 * (W - 2) + 2];
    const [cy, cx] = [Math.floor(chosen / W), chosen % W];
    assert.ok(Math.hypot(cy - 2, cx - 2) <= 2.5, `reference: a nearest candidate, got (${cy}, ${cx})`);
    assertMatches(await runGraph(m, mask, { locality: 1 }), local, 'all-zero query with locality');
  });
});

describe('empty masks and swapping everything', () => {
  test('a mask without a hole leaves the features unchanged and the provenance -1', async () => {
    const features = randomMap(4, 9, 10);
    const out = await runGraph(features, new Uint8Array(90));
    assert.deepEqual(out.swapped, Float32Array.from(features.data));
    assert.deepEqual(out.provenance, new Array(90).fill(-1));
  });

  test('without a mask and without a source the graph refuses', () => {
    const g = new Graph('bad');
    assert.throws(() => patchSwap(g.input('f', [1, 4, 'H', 'W']), null), GraphError);
  });

  test('a mask whose size differs from the features is refused when sizes are static', () => {
    const g = new Graph('bad');
    assert.throws(() => patchSwap(g.input('f', [1, 4, 8, 8]), g.input('m', [1, 1, 8, 9])), /does not match/);
  });
});

describe('source map', () => {
  test('holes are filled from a separate source of another size, honouring its mask', async () => {
    const features = randomMap(5, 12, 11);
    const mask = maskOf(12, 11, rect(4, 3, 3, 4));
    const source = randomMap(5, 9, 14);
    const sourceMask = maskOf(9, 14, rect(2, 2, 5, 6));
    const ref = referencePatchSwap(features, mask, { source, sourceMask });
    const out = await runGraph(features, mask, { source, sourceMask });
    assertMatches(out, ref, 'source with mask');
    // No chosen patch may touch the source's masked cells.
    for (const j of ref.choices) {
      if (j < 0) continue;
      const [sy, sx] = [Math.floor(j / 14), j % 14];
      for (let d = 0; d < 9; d++) assert.equal(sourceMask[(sy + Math.floor(d / 3)) * 14 + sx + (d % 3)], 0);
    }
  });

  test('a source mask on the features themselves keeps the match out of the excluded cells, locality or not', async () => {
    const features = randomMap(5, 12, 13);
    const mask = maskOf(12, 13, rect(4, 4, 3, 4));
    // Exclude the left half: every copy must come from the right.
    const excluded = maskOf(12, 13, rect(0, 0, 12, 6));
    for (const locality of [0, 1]) {
      const ref = referencePatchSwap(features, mask, { sourceMask: excluded, locality });
      assertMatches(await runGraph(features, mask, { sourceMask: excluded, locality }), ref, `excluding, locality ${locality}`);
      let chosen = 0;
      for (const j of ref.choices) {
        if (j < 0) continue;
        chosen++;
        const [sy, sx] = [Math.floor(j / 13), j % 13];
        for (let d = 0; d < 9; d++) {
          const cell = (sy + Math.floor(d / 3)) * 13 + sx + (d % 3);
          assert.equal(excluded[cell] | mask[cell], 0, `patch (${sy}, ${sx}) touches an excluded or hole cell`);
        }
      }
      assert.ok(chosen > 0);
      // Without the exclusion some copies come from the left half: the mask changes the result.
      const free = referencePatchSwap(features, mask, { locality });
      assert.ok([...free.choices].some((j) => j >= 0 && j % 13 < 6), 'the unrestricted match uses the left half');
    }
  });

  test('a source without a mask offers all its patches', async () => {
    const features = randomMap(4, 10, 10, true);
    const mask = maskOf(10, 10, rect(0, 6, 4, 4));
    const source = randomMap(4, 7, 8, true);
    assertMatches(await runGraph(features, mask, { source }), referencePatchSwap(features, mask, { source }), 'source without mask');
  });

  test('style transfer: no masks at all swaps every cell', async () => {
    const content = randomMap(6, 9, 12);
    const style = randomMap(6, 11, 10);
    const ref = referencePatchSwap(content, null, { source: style });
    const out = await runGraph(content, null, { source: style, bands: 5 });
    assertMatches(out, ref, 'style');
    assert.ok(out.provenance.every((p) => p >= 0 && p < 110), 'every cell has a source position');
  });
});

describe('mapMaskToFeatures', () => {
  test('feature size follows two ceil-mode 2x2 pools', () => {
    assert.deepEqual([256, 255, 254, 253, 5, 4, 1].map(featureSize), [64, 64, 64, 64, 2, 1, 1]);
    assert.deepEqual(featureShape(3, 255, 512), [3, 256, 64, 128]);
  });

  test('a cell is a hole if any pixel of its 4x4 block is', () => {
    const [width, height] = [22, 13]; // features 6 x 4; the last column and row of cells are partial
    const data = new Uint8Array(width * height);
    const set = (x: number, y: number) => (data[y * width + x] = 1);
    set(5, 9); // cell (2, 1)
    set(21, 12); // the lone pixel of the bottom-right partial cell (3, 5)
    set(0, 3); // cell (0, 0), its block's last row
    const mask = mapMaskToFeatures({ width, height, data }, 4, 6);
    assert.deepEqual(mask.shape, [1, 1, 4, 6]);
    const holes = [...(mask.data as Float32Array)].flatMap((v, i) => (v ? [[Math.floor(i / 6), i % 6]] : []));
    assert.deepEqual(holes, [
      [0, 0],
      [2, 1],
      [3, 5],
    ]);
    assert.ok([...(mask.data as Float32Array)].every((v) => v === 0 || v === 1));
  });

  test('a one-pixel stroke is never lost', () => {
    const [width, height] = [32, 32];
    const data = new Uint8Array(width * height);
    for (let x = 0; x < width; x++) data[17 * width + x] = 1; // a horizontal line at row 17
    const mask = mapMaskToFeatures({ width, height, data }, 8, 8);
    const cells = mask.data as Float32Array;
    for (let j = 0; j < 8; j++) {
      for (let i = 0; i < 8; i++) assert.equal(cells[i * 8 + j], i === 4 ? 1 : 0, `cell (${i}, ${j})`);
    }
  });

  test('a feature size that does not match the pixel size is refused', () => {
    const data = new Uint8Array(64 * 64);
    assert.throws(() => mapMaskToFeatures({ width: 64, height: 64, data }, 16, 17), (e: unknown) => e instanceof UsageError && /16x16/.test(e.message));
    assert.throws(() => mapMaskToFeatures({ width: 64, height: 64, data: new Uint8Array(10) }, 16, 16), UsageError);
  });
});

describe('PatchSwapper on an Engine', () => {
  let engine: Engine;
  let swapper: PatchSwapper;
  before(async () => {
    engine = await Engine.create({ threads: 2 });
    swapper = await PatchSwapper.create(engine, { bandSize: 500 }); // small bands: several per call
  });
  after(async () => {
    swapper.dispose();
    await engine.dispose();
  });

  const feed = (m: FeatureMap) => hostTensor(Float32Array.from(m.data), [1, m.channels, m.height, m.width]);
  const maskFeed = (mask: Uint8Array, h: number, w: number) => hostTensor(Float32Array.from(mask), [1, 1, h, w]);

  test('agrees with the reference, with several band counts', async () => {
    for (const [h, w, hole, locality] of [
      [12, 12, rect(4, 4, 4, 4), 0],
      [15, 9, rect(10, 0, 5, 3), 0],
      [15, 9, rect(10, 0, 5, 3), 1.5],
    ] as const) {
      const features = randomMap(6, h, w, true);
      const mask = maskOf(h, w, hole);
      const out = await swapper.swap({ features: feed(features), mask: maskFeed(mask, h, w), locality });
      assert.equal(out.provenance.dtype, 'int64');
      assertMatches(
        { swapped: out.swapped.data as Float32Array, provenance: Array.from(out.provenance.data as BigInt64Array, Number) },
        referencePatchSwap(features, mask, { locality }),
        `${h}x${w}, locality ${locality}`,
      );
    }
  });

  test('swaps against a source, and swaps everything without a mask', async () => {
    const features = randomMap(3, 8, 9);
    const source = randomMap(3, 10, 7);
    const sourceMask = maskOf(10, 7, rect(0, 0, 4, 7));
    const mask = maskOf(8, 9, rect(2, 2, 2, 2));
    const withMask = await swapper.swap({ features: feed(features), mask: maskFeed(mask, 8, 9), source: feed(source), sourceMask: maskFeed(sourceMask, 10, 7) });
    assert.deepEqual(Array.from(withMask.provenance.data as BigInt64Array, Number), Array.from(referencePatchSwap(features, mask, { source, sourceMask }).provenance));
    const style = await swapper.swap({ features: feed(features), source: feed(source) });
    assert.deepEqual(Array.from(style.provenance.data as BigInt64Array, Number), Array.from(referencePatchSwap(features, null, { source }).provenance));
  });

  test('copies only from allowed cells of the features themselves, and refuses an allowed region with no complete patch', async () => {
    const features = randomMap(4, 9, 10);
    const mask = maskOf(9, 10, rect(3, 3, 3, 3));
    const excluded = maskOf(9, 10, rect(0, 5, 9, 5));
    const out = await swapper.swap({ features: feed(features), mask: maskFeed(mask, 9, 10), sourceMask: maskFeed(excluded, 9, 10), locality: 1 });
    assert.deepEqual(Array.from(out.provenance.data as BigInt64Array, Number), Array.from(referencePatchSwap(features, mask, { sourceMask: excluded, locality: 1 }).provenance));
    for (const p of out.provenance.data as BigInt64Array) if (p >= 0n) assert.ok(Number(p) % 10 < 5, `source cell ${p} is excluded`);
    // Leave only a 2-cell-wide strip allowed: no 3x3 patch fits.
    const most = maskOf(9, 10, rect(0, 2, 9, 8));
    await assert.rejects(
      swapper.swap({ features: feed(features), mask: maskFeed(mask, 9, 10), sourceMask: maskFeed(most, 9, 10) }),
      (e: unknown) => e instanceof UsageError && /region to copy from leaves no 3x3 block of feature cells \(12x12 pixels\) that is both known and allowed/.test(e.message),
    );
  });

  test('a hole-free mask returns the features unchanged', async () => {
    const features = randomMap(4, 7, 7);
    const out = await swapper.swap({ features: feed(features), mask: maskFeed(new Uint8Array(49), 7, 7) });
    assert.deepEqual(out.swapped.data, Float32Array.from(features.data));
    assert.deepEqual(out.provenance.data, new BigInt64Array(49).fill(-1n));
  });

  test('a hole that leaves no complete known 3x3 patch is refused with a clear error', async () => {
    // In a 5x5 map every 3x3 patch contains the centre cell.
    const features = randomMap(4, 5, 5);
    await assert.rejects(swapper.swap({ features: feed(features), mask: maskFeed(maskOf(5, 5, rect(2, 2, 1, 1)), 5, 5) }), (e: unknown) => e instanceof UsageError && /hole covers too much/.test(e.message));
    // One cell less hole in a 6x5 map leaves the patch at the bottom: accepted.
    const taller = randomMap(4, 6, 5);
    await swapper.swap({ features: feed(taller), mask: maskFeed(maskOf(6, 5, rect(2, 2, 1, 1)), 6, 5) });
    const source = randomMap(4, 4, 4);
    await assert.rejects(
      swapper.swap({ features: feed(taller), mask: maskFeed(maskOf(6, 5, rect(2, 2, 1, 1)), 6, 5), source: feed(source), sourceMask: maskFeed(maskOf(4, 4, rect(1, 1, 2, 2)), 4, 4) }),
      /source mask leaves no 3x3 block/,
    );
  });

  test('wrong shapes and a missing mask are usage errors', async () => {
    const features = feed(randomMap(4, 6, 6));
    await assert.rejects(swapper.swap({ features, mask: maskFeed(new Uint8Array(30), 5, 6) }), /mask must be float32 \[1, 1, 6, 6\]/);
    await assert.rejects(swapper.swap({ features }), /needs a mask/);
    await assert.rejects(swapper.swap({ features: hostTensor(new Float32Array(8), [1, 2, 2, 2]), mask: maskFeed(new Uint8Array(4), 2, 2) }), /H, W >= 3/);
    await assert.rejects(swapper.swap({ features, mask: maskFeed(new Uint8Array(36), 6, 6), source: feed(randomMap(3, 6, 6)) }), /3 channels/);
    await assert.rejects(swapper.swap({ features, mask: maskFeed(new Uint8Array(36), 6, 6), locality: -0.5 }), /a number >= 0 for locality/);
    await assert.rejects(swapper.swap({ features, mask: maskFeed(new Uint8Array(36), 6, 6), source: feed(randomMap(4, 6, 6)), locality: 1 }), /cannot be used with a source/);
  });
});
