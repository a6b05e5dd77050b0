import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { readImage } from '../core/image.ts';
import { photoPixels, rectMask } from '../inference/testing.ts';
import { loadOpenCv, navierStokesMethod, openCvInpaint, teleaMethod } from './opencv.ts';
import { changedKnownValues, gradient, holeError, meanColourFill, withHoleValue } from './testing.ts';

const ALGORITHMS = ['telea', 'navier-stokes'] as const;

describe('openCvInpaint', () => {
  it('fills a hole in a smooth gradient closely, off-centre and at the border', async () => {
    const image = gradient(64, 64);
    for (const hole of [{ x: 40, y: 10, width: 10, height: 10 }, { x: 0, y: 20, width: 10, height: 10 }]) {
      const mask = rectMask(64, 64, hole);
      const naive = holeError(meanColourFill(image, mask), image, mask);
      for (const algorithm of ALGORITHMS) {
        const error = holeError(await openCvInpaint(image, mask, algorithm), image, mask);
        assert.ok(error < 0.03 && error < naive / 4, `${algorithm} at ${JSON.stringify(hole)}: hole error ${error}, mean colour ${naive}`);
      }
    }
  });

  it('returns known pixels bit-identical, hole pixels as 8-bit levels, whatever the hole held', async () => {
    const image = await readImage(await photoPixels(80, 60));
    // Not 8-bit levels: known values must come back as they are, not rounded.
    const input = { ...image, data: image.data.map((v) => v * 0.999 + 0.0004) };
    const mask = rectMask(80, 60, { x: 30, y: 20, width: 16, height: 12 }, { x: 70, y: 0, width: 10, height: 60 });
    for (const algorithm of ALGORITHMS) {
      const filled = await openCvInpaint(input, mask, algorithm);
      assert.deepEqual(changedKnownValues(input, filled, mask), []);
      const plane = 80 * 60;
      for (let i = 0; i < filled.data.length; i++) {
        if (mask.data[i % plane]) assert.equal(filled.data[i], Math.fround(Math.round(filled.data[i] * 255) / 255), `value ${i}`);
      }
      assert.deepEqual((await openCvInpaint(withHoleValue(input, mask, 1), mask, algorithm)).data, filled.data);
    }
  });

  it('gives what cv.inpaint gives on the whole image', async () => {
    const raw = await photoPixels(120, 90);
    const image = await readImage(raw);
    const mask = rectMask(120, 90, { x: 40, y: 30, width: 30, height: 20 });
    const cv = await loadOpenCv();
    const src = new cv.Mat(90, 120, cv.CV_8UC3);
    const hole = new cv.Mat(90, 120, cv.CV_8UC1);
    const dst = new cv.Mat();
    try {
      src.data.set(raw.data);
      hole.data.set(mask.data.map((v) => 255 * v));
      cv.inpaint(src, hole, dst, 5, cv.INPAINT_NS);
      const filled = await openCvInpaint(image, mask, 'navier-stokes', { radius: 5 });
      const plane = 120 * 90;
      for (let i = 0; i < plane; i++) {
        if (!mask.data[i]) continue;
        for (let c = 0; c < 3; c++) assert.equal(Math.round(filled.data[c * plane + i] * 255), dst.data[3 * i + c], `pixel ${i}, channel ${c}`);
      }
    } finally {
      src.delete();
      hole.delete();
      dst.delete();
    }
  });

  it('refuses a bad radius, algorithm or mask size; returns a copy for an empty mask', async () => {
    const image = gradient(16, 16);
    await assert.rejects(openCvInpaint(image, rectMask(16, 16), 'telea', { radius: 0 }), UsageError);
    await assert.rejects(openCvInpaint(image, rectMask(16, 16), 'fast' as never), /'telea' or 'navier-stokes'/);
    await assert.rejects(openCvInpaint(image, rectMask(8, 16), 'telea'), /16x16/);
    assert.throws(() => teleaMethod({ radius: 1.5 }), UsageError);
    const copy = await openCvInpaint(image, rectMask(16, 16), 'telea');
    assert.notEqual(copy.data, image.data);
    assert.deepEqual(copy.data, image.data);
  });

  it('has an InpaintMethod for each algorithm', async () => {
    const image = gradient(32, 32);
    const mask = rectMask(32, 32, { x: 10, y: 10, width: 6, height: 6 });
    for (const [method, algorithm] of [[teleaMethod({ radius: 4 }), 'telea'], [navierStokesMethod({ radius: 4 }), 'navier-stokes']] as const) {
      assert.equal(method.name, algorithm);
      assert.deepEqual((await method.inpaint(image, mask)).data, (await openCvInpaint(image, mask, algorithm, { radius: 4 })).data);
    }
  });
});
