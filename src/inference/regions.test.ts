import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box } from '../core/image.ts';
import { dilateMask } from '../core/raster.ts';
import { reframe } from '../core/reframe.ts';
import { enlargedNotice } from './inpainter-core.ts';
import { contextBox, defaultScales, fillMemory, firstScale, LEAST_BUDGETED_SCALE, memoryCap, planRegions, workingSize } from './regions.ts';
import { rectMask } from './testing.ts';

const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const disjoint = (a: Box, b: Box) => a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;

describe('planRegions', () => {
  it('keeps a small image whole, whatever its holes', () => {
    const mask = rectMask(512, 384, { x: 10, y: 10, width: 20, height: 20 }, { x: 400, y: 300, width: 30, height: 30 });
    assert.deepEqual(planRegions(mask), [{ box: { x: 0, y: 0, width: 512, height: 384 }, holeBox: { x: 10, y: 10, width: 420, height: 320 } }]);
  });

  it('crops a large photo to the hole grown by its longer side on every side', () => {
    const hole = { x: 2000, y: 1500, width: 300, height: 200 };
    const [region, ...rest] = planRegions(rectMask(4000, 3000, hole));
    assert.equal(rest.length, 0);
    assert.deepEqual(region.holeBox, hole);
    assert.deepEqual(region.box, { x: 1700, y: 1200, width: 900, height: 800 });
  });

  it('gives far-apart holes disjoint crops and merges holes whose crops would overlap', () => {
    const a = { x: 100, y: 100, width: 100, height: 80 };
    const b = { x: 3500, y: 2500, width: 120, height: 100 };
    const near = { x: 320, y: 120, width: 40, height: 40 };
    const far = planRegions(rectMask(4000, 3000, a, b));
    assert.equal(far.length, 2);
    assert.ok(disjoint(far[0].box, far[1].box));
    for (const hole of [a, b]) assert.ok(far.some((r) => inside(hole, r.box)));
    const merged = planRegions(rectMask(4000, 3000, a, near));
    assert.equal(merged.length, 1);
    assert.ok(inside(a, merged[0].box) && inside(near, merged[0].box));
  });

  it("merges two holes' crops into their union, not into a crop grown by the span between them", () => {
    // Two people 150 px apart in an 800x533 snapshot: each crop is its hole grown by its longer
    // side; the two overlap, and their union is the region, far smaller than the photo.
    const left = { x: 6, y: 242, width: 50, height: 100 };
    const right = { x: 208, y: 212, width: 70, height: 100 };
    const [region, ...rest] = planRegions(rectMask(800, 533, left, right));
    assert.equal(rest.length, 0);
    assert.deepEqual(region.holeBox, { x: 6, y: 212, width: 272, height: 130 });
    const [a, b] = [contextBox(left, 800, 533), contextBox(right, 800, 533)];
    const x = Math.min(a.x, b.x);
    const y = Math.min(a.y, b.y);
    assert.deepEqual(region.box, { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y });
    // 378x330: filled at 256 and enlarged 1.48x (the photo whole: 3.1x).
    assert.ok(Math.max(region.box.width, region.box.height) <= 1.5 * 256, JSON.stringify(region.box));
  });

  it('clamps the crop of a hole touching the border to the image, at least 256 px across', () => {
    const hole = { x: 0, y: 2990, width: 30, height: 10 };
    const [{ box }] = planRegions(rectMask(4000, 3000, hole));
    assert.ok(inside(hole, box));
    assert.ok(inside(box, { x: 0, y: 0, width: 4000, height: 3000 }));
    assert.deepEqual([box.width, box.height], [256, 256]);
  });
});

describe('scales', () => {
  it("adds a second scale, the region's own size up to 512, for regions of at least 384 px", () => {
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 300, height: 217 }), [256]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 384, height: 200 }), [256, 384]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 450, height: 500 }), [256, 500]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 767, height: 600 }), [256, 512]);
  });

  it('adds scales, each at most twice the last, until the fill is enlarged less than 1.5x, doubling up to 2048', () => {
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 768, height: 600 }), [256, 512, 768]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 900, height: 800 }), [256, 512, 900]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 1513, height: 1024 }), [256, 512, 1024]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 1536, height: 1024 }), [256, 512, 1024, 1536]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 3000, height: 2000 }), [256, 512, 1024, 2048]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 900, height: 800 }, 600), [256, 512, 600]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 900, height: 800 }, 256), [256]);
  });

  it("past 2048 only as far as the fill needs: instead of 2048 up to 3 times 1024, else after it", () => {
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 3072, height: 2000 }), [256, 512, 1024, 2049]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4000, height: 3000 }), [256, 512, 1024, 2667]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4607, height: 3000 }), [256, 512, 1024, 3072]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 6000, height: 4000 }), [256, 512, 1024, 2048, 4001]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 8000, height: 6000 }), [256, 512, 1024, 2048, 5334]);
    // Past 9216 px, 4096 stays in between (each step at most 3 times the one before).
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 11547, height: 8660 }), [256, 512, 1024, 2048, 4096, 7699]);
    // Panoramas (their first scale keeps 128 px across: firstScale): past 18432 px 8192 stays in
    // between too, and so on; capped at 65536 (an area of 98304 px or more is enlarged), or lower at
    // the caller's cap.
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 16000, height: 4000 }), [512, 1024, 2048, 4096, 10667]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 20000, height: 5000 }), [512, 1024, 2048, 4096, 8192, 13334]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 30000, height: 5000 }), [768, 1536, 2048, 4096, 8192, 20001]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 49999, height: 2000 }), [2559, 5118, 10236, 20472, 33333]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 100000, height: 1000 }), [5120, 10240, 20480, 40960, 65536]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 30000, height: 5000 }, 16384), [768, 1536, 2048, 4096, 8192, 16384]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 16000, height: 9000 }, 8192), [256, 512, 1024, 2048, 4096, 8192]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 8000, height: 6000 }, 4096), [256, 512, 1024, 2048, 4096]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 11547, height: 8660 }, 5000), [256, 512, 1024, 2048, 5000]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4000, height: 3000 }, 3000), [256, 512, 1024, 2667]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4000, height: 3000 }, 2500), [256, 512, 1024, 2500]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4000, height: 3000 }, 2048), [256, 512, 1024, 2048]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 4000, height: 3000 }, 1024), [256, 512, 1024]);
    for (let side = 100; side < 98304; side += 7) {
      for (const across of [side, Math.ceil(side / 3), 1]) {
        const scales = defaultScales({ x: 0, y: 0, width: side, height: across });
        assert.ok(side / scales.at(-1)! < 1.5, `${side}x${across}: ${scales}`);
        for (let k = 1; k < scales.length; k++) assert.ok(scales[k] > scales[k - 1] && scales[k] <= (k < scales.length - 1 ? 2 : 3) * scales[k - 1], `${side}x${across}: ${scales}`);
        // No more than the fill needs: without its last scale, it would be enlarged 1.5x or more.
        if (scales.length > 1) assert.ok(side / scales.at(-2)! >= 1.5, `${side}x${across}: ${scales}`);
      }
    }
  });

  it("starts a strip at the scale that keeps its short side 128 px across, up to its own size and 4 x 256 x 256 px", () => {
    assert.equal(firstScale({ x: 0, y: 0, width: 2000, height: 1000 }), 256);
    assert.equal(firstScale({ x: 0, y: 0, width: 3000, height: 1000 }), 384);
    assert.equal(firstScale({ x: 0, y: 0, width: 1000, height: 3000 }), 384);
    assert.equal(firstScale({ x: 0, y: 0, width: 1242, height: 171 }), 930);
    assert.equal(firstScale({ x: 0, y: 0, width: 478, height: 120 }), 478);
    assert.equal(firstScale({ x: 0, y: 0, width: 200, height: 20 }), 256);
    assert.equal(firstScale({ x: 0, y: 0, width: 30000, height: 3000 }), 1280);
    assert.equal(firstScale({ x: 0, y: 0, width: 30000, height: 3000 }, 1024), 1024);
    // Past 16:1 the area bounds it: 5120 x 51 for 100:1.
    assert.equal(firstScale({ x: 0, y: 0, width: 100000, height: 1000 }), 5120);
    assert.deepEqual(workingSize(100000, 1000, 5120), { width: 5120, height: 51 });
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 1242, height: 171 }), [930]);
    assert.deepEqual(defaultScales({ x: 0, y: 0, width: 3000, height: 1000 }), [384, 768, 1536, 2048]);
  });

  it('gives a thin hole a strip of context along it, not most of the photo: a wire, the corners a turn leaves', () => {
    // A wire 8 px thick and 2000 long: grown by 32 px, not 2000; at least 256 across.
    const wire = { x: 1000, y: 1500, width: 2000, height: 8 };
    assert.deepEqual(planRegions(rectMask(4000, 3000, wire)).map((r) => r.box), [{ x: 968, y: 1376, width: 2064, height: 256 }]);
    // Up to 4 times as long as it is thick, the margin is its longer side as for any hole (a standing person).
    assert.deepEqual(contextBox({ x: 2000, y: 1000, width: 100, height: 300 }, 4000, 3000), { x: 1700, y: 700, width: 700, height: 900 });
    assert.deepEqual(contextBox({ x: 2000, y: 1000, width: 100, height: 400 }, 4000, 3000), { x: 1600, y: 600, width: 900, height: 1200 });
    assert.deepEqual(contextBox({ x: 2000, y: 1000, width: 100, height: 401 }, 4000, 3000), { x: 1600, y: 600, width: 900, height: 1201 });
    // A strip along the frame (a border --extend adds): its margin on the inner side only, not moved
    // inside whole to give it twice that there.
    assert.deepEqual(planRegions(rectMask(4000, 3000, { x: 3680, y: 0, width: 320, height: 3000 })).map((r) => r.box), [{ x: 2400, y: 0, width: 1600, height: 3000 }]);
    assert.deepEqual(contextBox({ x: 0, y: 0, width: 2, height: 300 }, 4000, 3000), { x: 0, y: 0, width: 256, height: 308 }, 'at least 256 across');
    // The four corners of a 4000x3000 photo turned 3 degrees, grown by 2 px as inpaint grows a
    // hole: four strips, none the photo, with a third of its pixels in all; every hole pixel in one of them.
    const turned = dilateMask(reframe({ image: { width: 4000, height: 3000, data: new Float32Array(3 * 4000 * 3000) } }, undefined, { rotate: 3 }).hole, 2);
    const regions = planRegions(turned);
    assert.equal(regions.length, 4);
    const area = regions.reduce((n, r) => n + r.box.width * r.box.height, 0);
    assert.ok(area < (4000 * 3000) / 3, `${area} pixels`);
    for (let i = 0; i < regions.length; i++) for (let j = i + 1; j < regions.length; j++) assert.ok(disjoint(regions[i].box, regions[j].box));
    let outside = 0;
    for (let y = 0; y < 3000; y++) for (let x = 0; x < 4000; x++) if (turned.data[y * 4000 + x] && !regions.some((r) => inside({ x, y, width: 1, height: 1 }, r.holeBox))) outside++;
    assert.equal(outside, 0);
  });

  it('maps the longer side of a region to the scale', () => {
    assert.deepEqual(workingSize(900, 800, 512), { width: 512, height: 455 });
    assert.deepEqual(workingSize(300, 217, 256), { width: 256, height: 185 });
    assert.deepEqual(contextBox({ x: 0, y: 0, width: 10, height: 10 }, 100, 50), { x: 0, y: 0, width: 100, height: 50 });
  });
});

describe('fillMemory and memoryCap', () => {
  // Peaks measured with `/usr/bin/time -v` (docs/results-history.md, sessions 28 to 31): the photo,
  // its region (the whole photo but for the first and the person), the last scale, the peak in GB.
  const measured: [number, number, Box, number, number][] = [
    [4000, 3000, { x: 0, y: 0, width: 912, height: 812 }, 912, 1.1],
    [4000, 3000, { x: 0, y: 0, width: 2012, height: 2412 }, 2048, 1.8],
    [4000, 3000, { x: 0, y: 0, width: 4000, height: 3000 }, 2667, 2.4],
    [6000, 4500, { x: 0, y: 0, width: 6000, height: 4500 }, 4001, 4.5],
    [8000, 6000, { x: 0, y: 0, width: 8000, height: 6000 }, 4096, 5.77],
    [8000, 6000, { x: 0, y: 0, width: 8000, height: 6000 }, 5334, 6.86],
    [16000, 4000, { x: 0, y: 0, width: 13512, height: 4000 }, 8192, 8.25],
    [16000, 4000, { x: 0, y: 0, width: 13512, height: 4000 }, 9009, 9.05],
    [30000, 3000, { x: 0, y: 0, width: 30000, height: 3000 }, 20001, 14.01],
  ];

  it('is at most 1.1 GB above each peak measured, and never below one', () => {
    for (const [w, h, box, scale, peak] of measured) {
      const gb = fillMemory(w * h, box, scale) / 1e9;
      assert.ok(gb >= peak && gb <= peak + 1.1, `${w}x${h}, ${box.width}x${box.height} at ${scale}: ${gb.toFixed(2)} GB against ${peak}`);
    }
  });

  it('lowers the largest scale until the fill fits the budget, never below LEAST_BUDGETED_SCALE', () => {
    const box = { x: 0, y: 0, width: 8000, height: 6000 };
    const photo = 8000 * 6000;
    assert.equal(memoryCap(photo, box, 1e12, 16384), 16384);
    assert.equal(memoryCap(photo, box, 1e12, 4096), 4096);
    assert.equal(memoryCap(photo, box, 1e3, 16384), LEAST_BUDGETED_SCALE);
    assert.equal(memoryCap(photo, box, 1e3, 600), 600);
    let previous = 0;
    for (let budget = 4e9; budget <= 12e9; budget += 0.25e9) {
      const cap = memoryCap(photo, box, budget, 16384);
      const last = defaultScales(box, cap).at(-1)!;
      // Where even the least scale it lowers to does not fit, that one.
      if (fillMemory(photo, box, LEAST_BUDGETED_SCALE) > budget) assert.equal(cap, LEAST_BUDGETED_SCALE);
      else assert.ok(fillMemory(photo, box, last) <= budget, `${budget}: ${last}`);
      // The largest that fits: one more pixel of scale would not.
      if (cap > LEAST_BUDGETED_SCALE && cap < 16384) assert.ok(fillMemory(photo, box, cap + 1) > budget, `${budget}: ${cap}`);
      assert.ok(cap >= previous);
      previous = cap;
    }
    // Three quarters of 8 GB: the 8000x6000 region at 3277 px, not 5334.
    assert.deepEqual(defaultScales(box, memoryCap(photo, box, 6e9, 16384)), [256, 512, 1024, 2048, 3277]);
  });
});

describe('enlargedNotice', () => {
  const photo = { x: 0, y: 0, width: 100000, height: 1000 };
  const o = { nativeDetail: true, stage: 'full' as const };

  it('says nothing of a region filled near its own size', () => {
    const box = { x: 5, y: 5, width: 600, height: 500 };
    assert.deepEqual(enlargedNotice(box, defaultScales(box), o), []);
    const large = { x: 0, y: 0, width: 98303, height: 1000 };
    assert.deepEqual(enlargedNotice(large, defaultScales(large), o), []);
  });

  it('names the enlargement past the largest scale, or a cap the caller chose', () => {
    const [note] = enlargedNotice(photo, defaultScales(photo), o);
    assert.match(note, /^the 100000x1000 area at \(0, 0\) was inpainted at 65536 px and enlarged 1\.5x, its finest detail taken from the photo where its patches came from/);
    const [capped] = enlargedNotice(photo, defaultScales(photo, 1024), o);
    assert.match(capped, /inpainted at 1024 px and enlarged 97\.7x/);
    assert.match(enlargedNotice(photo, [256], { ...o, nativeDetail: false })[0], /enlarged 390\.6x; expect it softer than the photo/);
  });
});
