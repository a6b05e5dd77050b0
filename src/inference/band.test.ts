import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dilateMask, readImage, type RgbImage } from '../core/image.ts';
import { load } from './inpainter.ts';
import { keepCoarseBand } from './pipeline.ts';
import { photoPixels, rectMask, TEST_VGG_WEIGHTS, writeRandomBundle } from './testing.ts';

const [W, H] = [40, 30];

function image(value: (c: number, x: number, y: number) => number): RgbImage {
  const data = new Float32Array(3 * W * H);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[(c * H + y) * W + x] = value(c, x, y);
  return { width: W, height: H, data };
}

function maxDifference(a: RgbImage, b: RgbImage): number {
  return a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);
}

describe('keepCoarseBand', () => {
  const coarse = image((c, x, y) => 0.2 + 0.1 * c + 0.01 * x + 0.005 * y);

  it("keeps the coarse image's colours: a rendering that differs by a constant gives the coarse image back", () => {
    assert.ok(maxDifference(keepCoarseBand(coarse, coarse), coarse) < 1e-6);
    const shifted = image((c, x, y) => coarse.data[(c * H + y) * W + x] + 0.3 - 0.2 * c);
    assert.ok(maxDifference(keepCoarseBand(shifted, coarse), coarse) < 1e-5);
  });

  it("adds the rendering's fine band: a one-pixel checkerboard survives, a smooth ramp does not", () => {
    const checker = (x: number, y: number) => ((x + y) % 2 ? 0.1 : -0.1);
    const fine = keepCoarseBand(image((c, x, y) => 0.5 + checker(x, y)), coarse);
    // Away from the border (where the box blur's clamping leaks the pattern), most of the
    // checkerboard's contrast is on the coarse image.
    for (const [x, y] of [[10, 10], [11, 10], [20, 15]]) {
      const i = y * W + x;
      const added = fine.data[i] - coarse.data[i];
      assert.ok(Math.sign(added) === Math.sign(checker(x, y)) && Math.abs(added) > 0.05, `(${x}, ${y}): ${added}`);
    }
    const ramp = keepCoarseBand(image((c, x) => 0.01 * x), coarse);
    for (const [x, y] of [[10, 10], [20, 15]]) assert.ok(Math.abs(ramp.data[y * W + x] - coarse.data[y * W + x]) < 1e-3);
  });
});

describe('keepCoarseBand with a weight', () => {
  it("scales the rendering's fine band per pixel: 1 is the default, 0 leaves the coarse image's blur", () => {
    const coarse = image((c, x, y) => 0.3 + 0.2 * ((x >> 2) % 2) + 0.05 * c + 0.01 * y);
    const rendered = image((c, x, y) => 0.5 + ((x + y) % 2 ? 0.1 : -0.1));
    const ones = new Float32Array(W * H).fill(1);
    assert.ok(maxDifference(keepCoarseBand(rendered, coarse, ones), keepCoarseBand(rendered, coarse)) < 1e-6);
    const zeros = new Float32Array(W * H);
    const blurOnly = keepCoarseBand(rendered, coarse, zeros);
    // The same as the band of a rendering with no detail of its own (a constant).
    assert.ok(maxDifference(blurOnly, keepCoarseBand(image(() => 0.5), coarse)) < 1e-5);
    const half = keepCoarseBand(rendered, coarse, new Float32Array(W * H).fill(0.5));
    const full = keepCoarseBand(rendered, coarse);
    for (let i = 0; i < half.data.length; i++) assert.ok(Math.abs(half.data[i] - (blurOnly.data[i] + full.data[i]) / 2) < 1e-5);
  });
});

describe('a second scale without a G2 trained at it (random-weight tiny networks, a real photo)', () => {
  let dir: string;
  before(async () => {
    assert.ok(existsSync(TEST_VGG_WEIGHTS), `the VGG weights must be at ${TEST_VGG_WEIGHTS}`);
    dir = await mkdtemp(join(tmpdir(), 'band-'));
    await writeRandomBundle(join(dir, 'bundle'), { preset: 'tiny', g2Scales: [256] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('fills a 512-pixel photo at 512 by default, with the colours of its 256 fill and detail of its own', async () => {
    const inpainter = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS });
    try {
      const photo = await readImage(await photoPixels(512, 384, 'enlightenment-data/Mountain.jpg'));
      const mask = rectMask(512, 384, { x: 180, y: 120, width: 150, height: 120 });
      const options = { debug: true, nativeDetail: false } as const;
      const two = await inpainter.inpaint(photo, mask, options);
      assert.deepEqual(two.debug!.regions[0].scales, [256, 512]);
      assert.ok(!two.notices.some((n) => /enlarged/.test(n)), two.notices.join('; '));
      const one = await inpainter.inpaint(photo, mask, { ...options, scales: [256] });
      assert.ok(one.notices.some((n) => /enlarged 2\.0x/.test(n)), one.notices.join('; '));

      // The random G2's rendering of 512 has colours of its own; the fill keeps the 256 fill's.
      const hole = dilateMask(mask, 2);
      const plane = 512 * 384;
      const stats = (img: RgbImage) => {
        const mean = [0, 0, 0];
        let [variation, n] = [0, 0];
        for (let i = 0; i < plane; i++) {
          if (!hole.data[i]) continue;
          n++;
          for (let c = 0; c < 3; c++) {
            mean[c] += img.data[c * plane + i];
            if (hole.data[i + 1]) variation += Math.abs(img.data[c * plane + i + 1] - img.data[c * plane + i]);
          }
        }
        return { mean: mean.map((m) => m / n), variation: variation / n };
      };
      const [a, b] = [stats(two.debug!.regions[0].beforeBlend), stats(one.debug!.regions[0].beforeBlend)];
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(a.mean[c] - b.mean[c]) < 0.02, `channel ${c}: ${a.mean[c]} vs ${b.mean[c]}`);
      assert.ok(a.variation > 1.1 * b.variation, `pixel-to-pixel variation ${a.variation} vs ${b.variation} enlarged`);
    } finally {
      await inpainter.dispose();
    }
  });

  it('fills a region of 768 px or more at its own size by default, with the colours of its 512 fill', async () => {
    const inpainter = await load({ bundle: join(dir, 'bundle'), vggWeights: TEST_VGG_WEIGHTS });
    try {
      const [w, h] = [1200, 1000];
      const photo = await readImage(await photoPixels(w, h, 'enlightenment-data/Mountain.jpg'));
      // A 260x200 hole, 264x204 once dilated: a 792x732 region around it.
      const mask = rectMask(w, h, { x: 470, y: 400, width: 260, height: 200 });
      const three = await inpainter.inpaint(photo, mask, { debug: true });
      const region = three.debug!.regions[0];
      assert.deepEqual([region.box.width, region.box.height, ...region.scales], [792, 732, 256, 512, 792]);
      assert.ok(!three.notices.some((n) => /enlarged/.test(n)), three.notices.join('; '));
      const two = await inpainter.inpaint(photo, mask, { debug: true, scales: [256, 512] });
      assert.ok(two.notices.some((n) => /enlarged 1\.5x/.test(n)), two.notices.join('; '));
      // Every hole cell of the last scale's grid, one cell a 4x4 block of the region, has a known source.
      const { sources } = region;
      const hole = dilateMask(rectMask(792, 732, { x: 266, y: 266, width: 260, height: 200 }), 2);
      const inHole = (k: number) => hole.data[(4 * Math.floor(k / sources.width) + 2) * 792 + 4 * (k % sources.width) + 2] === 1;
      assert.deepEqual([sources.width, sources.height], [198, 183]);
      for (let k = 0; k < sources.width * sources.height; k++) {
        const s = Number(sources.data[k]);
        if (inHole(k)) assert.ok(s >= 0 && !inHole(s), `cell ${k}: source ${s}`);
      }
      const mean = (img: RgbImage) => {
        const plane = img.width * img.height;
        const sums = [0, 0, 0];
        let n = 0;
        for (let i = 0; i < plane; i++) {
          if (!hole.data[i]) continue;
          n++;
          for (let c = 0; c < 3; c++) sums[c] += img.data[c * plane + i];
        }
        return sums.map((v) => v / n);
      };
      const [a, b] = [mean(region.beforeBlend), mean(two.debug!.regions[0].beforeBlend)];
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(a[c] - b[c]) < 0.02, `channel ${c}: ${a[c]} vs ${b[c]}`);
    } finally {
      await inpainter.dispose();
    }
  });
});
