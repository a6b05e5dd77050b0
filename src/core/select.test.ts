import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.ts';
import { Rng } from './random.ts';
import { type Area, areaOf, areaSize, maskOfAreas, type Rgba, selectSimilar } from './select.ts';

/** A picture of `background` (plus noise of +-`noise` levels) with shapes painted over it. */
function picture(width: number, height: number, background: number[], noise = 0, seed = 1): Rgba {
  const rng = new Rng(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) data[4 * i + c] = background[c] + Math.round((rng.next() * 2 - 1) * noise);
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

function paint(p: Rgba, inside: (x: number, y: number) => boolean, colour: number[]): number {
  let n = 0;
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      if (!inside(x, y)) continue;
      p.data.set(colour, 4 * (y * p.width + x));
      n++;
    }
  }
  return n;
}

/** The area as a 0/1 mask of the whole picture. */
function maskOf(area: Area, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let k = 0; k < area.runs.length; k += 2) {
    const start = area.runs[k];
    const row = Math.floor(start / area.width);
    assert.ok((start % area.width) + area.runs[k + 1] <= area.width, 'a run stays in its row');
    for (let j = 0; j < area.runs[k + 1]; j++) mask[(area.y + row) * width + area.x + (start % area.width) + j] = 1;
  }
  return mask;
}

const disc = (cx: number, cy: number, r: number) => (x: number, y: number) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

describe('selectSimilar', () => {
  it('selects a red disc on grass exactly, and none of the grass', () => {
    const p = picture(120, 90, [60, 140, 50], 12);
    const inside = disc(50, 40, 20);
    const n = paint(p, inside, [200, 30, 30, 255]);
    const area = selectSimilar(p, 52, 38, 32)!;
    assert.deepEqual([area.x, area.y, area.width, area.height], [30, 20, 41, 41]);
    assert.equal(areaSize(area), n);
    const mask = maskOf(area, p.width, p.height);
    for (let y = 0; y < p.height; y++) for (let x = 0; x < p.width; x++) assert.equal(mask[y * p.width + x], inside(x, y) ? 1 : 0, `(${x}, ${y})`);
    // The grass, clicked, is the grass: all but the disc (its noise is within the tolerance).
    assert.equal(areaSize(selectSimilar(p, 5, 5, 32)!), p.width * p.height - n);
  });

  it('follows only what is connected to the click; not contiguous, takes it anywhere', () => {
    const p = picture(100, 50, [250, 250, 250]);
    const a = paint(p, disc(20, 25, 10), [0, 0, 0, 255]);
    const b = paint(p, disc(70, 25, 15), [0, 0, 0, 255]);
    assert.equal(areaSize(selectSimilar(p, 20, 25, 10)!), a);
    assert.equal(areaSize(selectSimilar(p, 70, 25, 10)!), b);
    const both = selectSimilar(p, 20, 25, 10, false)!;
    assert.equal(areaSize(both), a + b);
    assert.deepEqual([...maskOf(both, 100, 50)], Array.from({ length: 5000 }, (_, i) => (disc(20, 25, 10)(i % 100, Math.floor(i / 100)) || disc(70, 25, 15)(i % 100, Math.floor(i / 100)) ? 1 : 0)));
  });

  it('takes every pixel within the tolerance on each channel, and none beyond it', () => {
    // A ramp of red from 100 to 199 across, other channels fixed: the click at 150 with tolerance t
    // takes the columns of 150 - t to 150 + t.
    const p = picture(100, 4, [0, 80, 80]);
    for (let x = 0; x < 100; x++) for (let y = 0; y < 4; y++) p.data[4 * (y * 100 + x)] = 100 + x;
    for (const t of [0, 5, 20]) {
      const area = selectSimilar(p, 50, 1, t)!;
      assert.deepEqual([area.x, area.width, areaSize(area)], [50 - t, 2 * t + 1, 4 * (2 * t + 1)], `tolerance ${t}`);
    }
    // A difference in green alone counts as much.
    for (let y = 0; y < 4; y++) p.data[4 * (y * 100 + 55) + 1] = 80 + 21;
    const stopped = selectSimilar(p, 50, 1, 20)!;
    assert.deepEqual([stopped.x, stopped.width], [30, 25], 'stops at the column whose green is 21 off');
  });

  it("closes the small parts it encloses (a highlight, lettering), not a large island of another thing", () => {
    const p = picture(200, 200, [40, 90, 200]); // a sky
    const sign = (x: number, y: number) => x >= 20 && x < 80 && y >= 20 && y < 60;
    const n = paint(p, sign, [220, 200, 20, 255]);
    paint(p, (x, y) => x >= 30 && x < 36 && y >= 30 && y < 45, [10, 10, 10, 255]); // a letter, 90 px
    paint(p, (x, y) => x >= 50 && x < 53 && y >= 30 && y < 35, [255, 255, 255, 255]); // a glint, 15 px
    assert.equal(areaSize(selectSimilar(p, 70, 55, 30)!), n, 'the sign whole, its letter and glint closed');

    // The sky around an island of 40x40 (1,600 px, more than a sixteenth of the sky's 20,000 px
    // below it): the island stays out.
    const q = picture(200, 100, [40, 90, 200]);
    const island = (x: number, y: number) => x >= 100 && x < 140 && y >= 30 && y < 70;
    const k = paint(q, island, [30, 120, 30, 255]);
    assert.equal(areaSize(selectSimilar(q, 5, 5, 30)!), 200 * 100 - k);
  });

  it('averages the click over its 3x3 neighbours, so that one odd pixel does not decide', () => {
    const p = picture(50, 50, [100, 100, 100]);
    p.data.set([255, 0, 0, 255], 4 * (25 * 50 + 25));
    const area = selectSimilar(p, 25, 25, 30)!;
    // The mean is 17 levels off grey in red: grey is within 30 of it, and the odd pixel is kept
    // (clicked, and closed in).
    assert.equal(areaSize(area), 2500);
  });

  it('areaOf gives a mask back as its box and runs, and nothing for an empty mask', () => {
    const [w, h] = [40, 30];
    const data = new Uint8Array(w * h);
    for (const [x, y] of [[3, 4], [4, 4], [5, 4], [39, 4], [10, 29], [0, 10]]) data[y * w + x] = 7;
    const area = areaOf({ width: w, height: h, data })!;
    assert.deepEqual([area.x, area.y, area.width, area.height, areaSize(area)], [0, 4, 40, 26, 6]);
    assert.deepEqual([...maskOf(area, w, h)], [...data].map((v) => (v ? 1 : 0)));
    assert.equal(areaOf({ width: w, height: h, data: new Uint8Array(w * h) }), undefined);
  });

  it('works at the picture\'s edge and corner, reads alpha as a channel, and gives nothing outside', () => {
    const p = picture(30, 20, [10, 10, 10]);
    paint(p, (x, y) => x < 5 && y < 5, [10, 10, 10, 0]); // transparent corner
    const corner = selectSimilar(p, 0, 0, 50)!;
    assert.deepEqual([corner.x, corner.y, corner.width, corner.height, areaSize(corner)], [0, 0, 5, 5, 25]);
    assert.equal(areaSize(selectSimilar(p, 29, 19, 50)!), 600 - 25);
    assert.equal(selectSimilar(p, -1, 3, 50), undefined);
    assert.equal(selectSimilar(p, 30, 3, 50), undefined);
    assert.equal(selectSimilar(p, Number.NaN, 3, 50), undefined);
  });
});

describe('maskOfAreas', () => {
  it('marks the areas on a mask of the picture, on a copy of the one given', () => {
    const onto = { width: 6, height: 4, data: new Uint8Array(24) };
    onto.data[0] = 1;
    // (3,1), (4,1), and (2,2) of the picture, as runs over the box (2,1) 3x2.
    const area = { x: 2, y: 1, width: 3, height: 2, runs: Uint32Array.from([1, 2, 3, 1]) };
    const mask = maskOfAreas([area], 6, 4, onto);
    assert.deepEqual([...mask.data].flatMap((v, i) => (v ? [i] : [])), [0, 9, 10, 14]);
    assert.equal(onto.data[9], 0, 'the mask given is left as it was');
    assert.throws(() => maskOfAreas([area], 7, 4, onto), UsageError);
  });
});
