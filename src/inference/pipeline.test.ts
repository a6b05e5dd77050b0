import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Box, readImage, resizeImage, type RgbImage } from '../core/image.ts';
import { blendRing } from './blend.ts';
import { coherenceTransport } from './coherence.ts';
import { addSourceDetail, CELL, GUIDED_DETAIL } from './detail.ts';
import { addSourceDetailNear, finishFill, type FinishOptions } from './pipeline.ts';
import type { SourceCells } from './pixels.ts';
import { photoPixels, rectMask } from './testing.ts';

/** A 1200x800 photo with a 150x120 hole, the region its own; the last scale `scale` px. */
async function setting(scale: number) {
  const image = await readImage(await photoPixels(1200, 800));
  const holeBox = { x: 500, y: 300, width: 150, height: 120 };
  const hole = rectMask(1200, 800, holeBox);
  const [iw, ih] = [scale, Math.round((scale * 800) / 1200)];
  const cells = { width: iw / CELL, height: Math.floor(ih / CELL), imageWidth: iw, imageHeight: ih };
  // Each hole cell copies from a cell well to its left (past the mid band's reach), above or below.
  const data = new BigInt64Array(cells.width * cells.height).fill(-1n);
  const k = iw / 1200; // working pixels per pixel of the photo
  for (let cy = Math.floor((holeBox.y * k) / CELL); cy <= Math.floor(((holeBox.y + holeBox.height) * k) / CELL); cy++) {
    for (let cx = Math.floor((holeBox.x * k) / CELL); cx <= Math.floor(((holeBox.x + holeBox.width) * k) / CELL); cx++) {
      const [sx, sy] = [cx - 60 - (cy % 7), cy + ((cx % 5) - 2) * 6];
      data[cy * cells.width + cx] = BigInt(sy * cells.width + sx);
    }
  }
  const sources: SourceCells = { ...cells, data };
  // G2's rendering: the photo at the last scale, the hole a flat grey.
  const last = resizeImage(image, iw, ih);
  const small = rectMask(iw, ih, { x: Math.floor(holeBox.x * k), y: Math.floor(holeBox.y * k), width: Math.ceil(holeBox.width * k), height: Math.ceil(holeBox.height * k) });
  for (let c = 0; c < 3; c++) for (let i = 0; i < iw * ih; i++) if (small.data[i]) last.data[c * iw * ih + i] = 0.45;
  return { image, hole, holeBox, last, sources };
}

/** The largest difference of two fills over `box`. */
function maxDifference(a: RgbImage, b: RgbImage, box: Box): number {
  let max = 0;
  const plane = a.width * a.height;
  for (let c = 0; c < 3; c++) {
    for (let y = box.y; y < box.y + box.height; y++) {
      for (let x = box.x; x < box.x + box.width; x++) max = Math.max(max, Math.abs(a.data[c * plane + y * a.width + x] - b.data[c * plane + y * a.width + x]));
    }
  }
  return max;
}

describe('finishFill', () => {
  const whole = { x: 0, y: 0, width: 1200, height: 800 };
  for (const [name, scale, banded] of [['enlarged 1.5x', 800, true], ['at its own size', 1200, false], ['at its own size over an enlarged band', 1200, true]] as const) {
    it(`gives the hole and the ring blending reads what the whole region would (${name})`, async () => {
      const { image, hole, holeBox, last, sources } = await setting(scale);
      for (const guided of [true, false]) {
        const options: FinishOptions = { guided, banded, scaleCount: 3, firstWidth: 256, lastScale: scale, nativeDetail: true };
        const inBox = finishFill({ ...last, data: last.data.slice() }, image, hole, sources, options);
        const onWhole = finishFill({ ...last, data: last.data.slice() }, image, hole, sources, options, whole);
        const ring = blendRing(1200 / scale) + 1;
        const read = { x: holeBox.x - ring, y: holeBox.y - ring, width: holeBox.width + 2 * ring, height: holeBox.height + 2 * ring };
        assert.ok(maxDifference(inBox, onWhole, read) < 1e-5, `guided ${guided}: ${maxDifference(inBox, onWhole, read)}`);
        // The last steps did change the hole (the comparison is not of two unchanged renderings),
        // except where there is nothing to do: an unguided fill made at its own size.
        if (!guided && !banded && scale === 1200) assert.equal(finishFill(last, image, hole, sources, options), last);
        else assert.ok(maxDifference(onWhole, scale === 1200 ? last : resizeImage(last, 1200, 800, 'lanczos'), holeBox) > 0.05);
      }
    });
  }

  it("takes the region's coherence transport when it is given, as if it had made it", async () => {
    const { image, hole, last, sources } = await setting(1200);
    const options: FinishOptions = { guided: true, banded: false, scaleCount: 1, firstWidth: 1200, lastScale: 1200, nativeDetail: true };
    const made = finishFill({ ...last, data: last.data.slice() }, image, hole, sources, options);
    const diffusion = coherenceTransport(image, hole);
    assert.deepEqual(finishFill({ ...last, data: last.data.slice() }, image, hole, sources, { ...options, diffusion }), made);
    // And it is used: another diffusion gives another fill.
    const other = { image: { ...diffusion.image, data: diffusion.image.data.map((v) => 1 - v) }, coherence: diffusion.coherence };
    assert.ok(maxDifference(finishFill({ ...last, data: last.data.slice() }, image, hole, sources, { ...options, diffusion: other }), made, { x: 500, y: 300, width: 150, height: 120 }) > 0.05);
  });

  it('works on less than the region when the hole and its sources are a part of it', async () => {
    const { image, hole, last, sources } = await setting(800);
    const options: FinishOptions = { guided: true, banded: true, scaleCount: 3, firstWidth: 256, lastScale: 800, nativeDetail: true };
    // Outside its box the enlarged fill is the photo; the whole region's is the rendering enlarged.
    const fill = finishFill(last, image, hole, sources, options);
    assert.deepEqual(fill.data.subarray(0, 1200), image.data.subarray(0, 1200));
    assert.ok(maxDifference(finishFill(last, image, hole, sources, options, whole), image, { x: 0, y: 0, width: 1200, height: 1 }) > 0);
  });
});

describe('addSourceDetailNear', () => {
  for (const scale of [800, 600]) {
    it(`gives the hole what addSourceDetail on the whole region would (sources matched at ${scale} px)`, async () => {
      const { image, hole, holeBox, sources } = await setting(scale);
      // The query of a later scale: the region enlarged from the previous one, the hole grey.
      const fill = { ...image, data: image.data.slice() };
      for (let c = 0; c < 3; c++) for (let i = 0; i < 1200 * 800; i++) if (hole.data[i]) fill.data[c * 1200 * 800 + i] = 0.45;
      // With the ramp (none near the known pixels) and without it (the hole's edge reads the sources farthest out).
      for (const ramp of [GUIDED_DETAIL.ramp, undefined]) {
        const [near, whole] = [{ ...fill, data: fill.data.slice() }, { ...fill, data: fill.data.slice() }];
        addSourceDetailNear(near, image, hole, sources, GUIDED_DETAIL.query, ramp);
        addSourceDetail(whole, image, hole, sources, GUIDED_DETAIL.query, ramp);
        const all = { x: 0, y: 0, width: 1200, height: 800 };
        assert.ok(maxDifference(near, whole, all) < 1e-5, `ramp ${ramp ? 'on' : 'off'}: ${maxDifference(near, whole, all)}`);
        assert.ok(maxDifference(whole, fill, holeBox) > 0.05, 'the detail changed the hole');
      }
    });
  }
});
