import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.ts';
import { objectsInBoxes, parseBox, selectObject } from './grabcut.ts';
import { Rng } from './random.ts';
import { type Area, maskOfAreas, type Rgba } from './select.ts';

/**
 * A picture of a noisy background in two colours (stripes), with an object over it: a disc whose
 * top half is red and bottom half blue, neither like the background. Returns the picture and the
 * object's true mask.
 */
function scene(width: number, height: number, cx: number, cy: number, r: number, seed = 1): { pixels: Rgba; truth: Uint8Array } {
  const rng = new Rng(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  const truth = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
      truth[i] = inside ? 1 : 0;
      const colour = inside ? (y < cy ? [200, 40, 40] : [40, 60, 200]) : Math.floor(x / 23) % 2 ? [90, 160, 80] : [150, 150, 140];
      for (let c = 0; c < 3; c++) data[4 * i + c] = colour[c] + Math.round((rng.next() * 2 - 1) * 12);
      data[4 * i + 3] = 255;
    }
  }
  return { pixels: { width, height, data }, truth };
}

function maskOf(area: Area, width: number, height: number): Uint8Array {
  return maskOfAreas([area], width, height).data;
}

function iou(a: Uint8Array, b: Uint8Array): number {
  let both = 0;
  let either = 0;
  for (let i = 0; i < a.length; i++) {
    both += a[i] & b[i];
    either += a[i] | b[i];
  }
  return both / either;
}

describe('selectObject', () => {
  it('selects an object of two colours from a box drawn around it, and nothing of the background', () => {
    const { pixels, truth } = scene(200, 160, 90, 80, 40);
    // A spot of the background's colour on the object (closed into the selection), and a speck of
    // the object's colour in the box's corner (dropped).
    const fill = (x0: number, y0: number, size: number, colour: number[]): void => {
      for (let y = y0; y < y0 + size; y++) for (let x = x0; x < x0 + size; x++) pixels.data.set(colour, 4 * (y * 200 + x));
    };
    fill(92, 92, 14, [90, 160, 80]);
    fill(43, 33, 3, [200, 40, 40]);
    const area = selectObject(pixels, { x: 40, y: 30, width: 100, height: 100 }, { margin: 0 });
    assert.ok(area);
    const mask = maskOf(area, 200, 160);
    assert.ok(iou(mask, truth) > 0.95, `IoU ${iou(mask, truth)}`);
    for (let k = 0; k < 14 * 14; k++) assert.equal(mask[(92 + Math.floor(k / 14)) * 200 + 92 + (k % 14)], 1, 'the spot on the object is selected');
    for (let k = 0; k < 3 * 3; k++) assert.equal(mask[(33 + Math.floor(k / 3)) * 200 + 43 + (k % 3)], 0, 'the speck is not');
  });

  it('works on a shrunk grid for a large picture, and grows the selection by its margin', () => {
    const { pixels, truth } = scene(2400, 1600, 1000, 800, 420, 2);
    const box = { x: 520, y: 330, width: 960, height: 940 };
    const tight = selectObject(pixels, box, { margin: 0 })!;
    const tightMask = maskOf(tight, 2400, 1600);
    assert.ok(iou(tightMask, truth) > 0.95, `IoU ${iou(tightMask, truth)}`);
    // The default margin: 1% of the box's longer side (10 px here, more than a working cell).
    const grown = maskOf(selectObject(pixels, box)!, 2400, 1600);
    let added = 0;
    for (let i = 0; i < grown.length; i++) {
      assert.ok(grown[i] >= tightMask[i], 'the grown selection holds the tight one');
      added += grown[i] - tightMask[i];
    }
    // A ring about 10 px wide around a disc of radius 420.
    const ring = 2 * Math.PI * 420 * 10;
    assert.ok(added > 0.7 * ring && added < 1.3 * ring, `${added} px added, a ring of ${ring.toFixed(0)}`);
    // Nothing outside the box grown by the margin.
    for (let i = 0; i < grown.length; i++) {
      if (!grown[i]) continue;
      const x = i % 2400;
      const y = Math.floor(i / 2400);
      assert.ok(x >= box.x - 10 && x < box.x + box.width + 10 && y >= box.y - 10 && y < box.y + box.height + 10, `(${x}, ${y})`);
    }
  });

  it('finds the object where the box touches the picture edge', () => {
    const { pixels, truth } = scene(200, 160, 40, 80, 35, 3);
    const area = selectObject(pixels, { x: 0, y: 35, width: 85, height: 90 }, { margin: 0 })!;
    assert.ok(iou(maskOf(area, 200, 160), truth) > 0.95);
  });

  it('selects nothing where the box holds only more of what surrounds it', () => {
    const { pixels } = scene(200, 160, 10_000, 10_000, 1, 4);
    assert.equal(selectObject(pixels, { x: 60, y: 40, width: 80, height: 80 }), undefined);
  });

  it('refuses a box over the whole picture or outside it, saying what to do', () => {
    const { pixels } = scene(100, 80, 50, 40, 20);
    assert.throws(() => selectObject(pixels, { x: -5, y: -5, width: 120, height: 100 }), (e) => e instanceof UsageError && /whole picture/.test(e.message));
    assert.throws(() => selectObject(pixels, { x: 150, y: 10, width: 20, height: 20 }), (e) => e instanceof UsageError && /draw it around the object/.test(e.message));
    assert.throws(() => selectObject(pixels, { x: Number.NaN, y: 10, width: 20, height: 20 }), (e) => e instanceof UsageError && /four finite numbers/.test(e.message));
  });
});

describe('selectObject on random pictures and boxes', () => {
  it('answers an area inside the box grown by its margin, nothing, or a UsageError: never anything else', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 150; trial++) {
      const [w, h] = [rng.int(1, 60), rng.int(1, 60)];
      const data = new Uint8ClampedArray(w * h * 4);
      // Flat, noisy or blocky pictures: one colour, or a few, or noise.
      const kind = trial % 3;
      for (let i = 0; i < w * h; i++) {
        for (let c = 0; c < 3; c++) data[4 * i + c] = kind === 0 ? 100 : kind === 1 ? ((Math.floor((i % w) / 7) + Math.floor(i / w / 5)) % 3) * 100 : rng.int(0, 255);
        data[4 * i + 3] = 255;
      }
      const box = { x: rng.int(-10, w), y: rng.int(-10, h), width: rng.int(1, 70), height: rng.int(1, 70) };
      const margin = rng.int(0, 3);
      let area;
      try {
        area = selectObject({ width: w, height: h, data }, box, { margin });
      } catch (e) {
        assert.ok(e instanceof UsageError, `trial ${trial}: ${e}`);
        continue;
      }
      if (!area) continue;
      const mask = maskOf(area, w, h);
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        const [x, y] = [i % w, Math.floor(i / w)];
        assert.ok(x >= Math.floor(box.x) - margin && x < box.x + box.width + margin && y >= Math.floor(box.y) - margin && y < box.y + box.height + margin, `trial ${trial}: (${x}, ${y}) outside ${JSON.stringify(box)}`);
      }
    }
  });
});

describe('parseBox', () => {
  it('reads X,Y,W,H as four numbers, spaces around them allowed', () => {
    assert.deepEqual(parseBox('120,80,60,140'), { x: 120, y: 80, width: 60, height: 140 });
    assert.deepEqual(parseBox(' -4, 2.5 ,10,20 '), { x: -4, y: 2.5, width: 10, height: 20 });
  });

  it('refuses anything else, naming what it was given as and what it received', () => {
    for (const text of ['', '1,2,3', '1,2,3,4,5', '1,,3,4', '1,2,x,4', '1,2,0,4', '1,2,3,-4', '1,2,Infinity,4', '1;2;3;4']) {
      assert.throws(() => parseBox(text, '--box'), (e) => e instanceof UsageError && e.message.startsWith('Expected X,Y,W,H for --box (four numbers') && e.message.endsWith(`but received ${JSON.stringify(text)}`), text);
    }
  });
});

describe('objectsInBoxes', () => {
  it('finds the object in each box, says its size, and names the box that cannot be used', () => {
    const { pixels } = scene(200, 160, 90, 80, 30);
    const notices: string[] = [];
    const [area] = objectsInBoxes(pixels, [{ text: '50,40,80,80', box: { x: 50, y: 40, width: 80, height: 80 } }], '--box', (n) => notices.push(n));
    assert.ok(area);
    assert.match(notices[0], /^--box 50,40,80,80: selected [\d,]+ px$/);
    const empty = { text: '150,10,40,40', box: { x: 150, y: 10, width: 40, height: 40 } };
    assert.throws(() => objectsInBoxes(pixels, [empty], 'box'), (e) => e instanceof UsageError && /^box 150,10,40,40: nothing in the box stands apart/.test(e.message));
    const whole = { text: '0,0,200,160', box: { x: 0, y: 0, width: 200, height: 160 } };
    assert.throws(() => objectsInBoxes(pixels, [whole], 'box'), (e) => e instanceof UsageError && /^box 0,0,200,160: The box .* covers the whole picture/.test(e.message));
  });
});
