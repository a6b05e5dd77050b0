import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from './errors.ts';
import type { MaskImage, RgbImage } from './raster.ts';
import { Rng } from './random.ts';
import { parseMargins, parseRotation, reframe, reframes, resolveMargins } from './reframe.ts';

/** A smooth picture (gradients and long waves): resampling it half a pixel off changes it little. */
function smooth(width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      data[i] = x / width;
      data[n + i] = y / height;
      data[2 * n + i] = 0.5 + 0.4 * Math.sin(x / 9) * Math.cos(y / 11);
    }
  }
  return { width, height, data };
}

const at = (image: RgbImage, c: number, x: number, y: number) => image.data[c * image.width * image.height + y * image.width + x];

describe('reframe: extend', () => {
  it('copies every pixel of the photo into the new canvas and makes exactly the border the hole', () => {
    const image = smooth(40, 30);
    const alpha = new Float32Array(40 * 30).fill(0.5);
    const hole: MaskImage = { width: 40, height: 30, data: new Uint8Array(40 * 30) };
    hole.data[5 * 40 + 7] = 1;
    const out = reframe({ image, alpha }, hole, { extend: parseMargins('3,10%,0,2') }, { alongside: [hole] });
    const [moved] = out.alongside;
    // 10% of the height (30) is 3 at the top.
    assert.deepEqual([out.photo.image.width, out.photo.image.height], [43, 35]);
    let border = 0;
    for (let y = 0; y < 35; y++) {
      for (let x = 0; x < 43; x++) {
        const i = y * 43 + x;
        const inside = x >= 3 && x < 43 && y >= 3 && y < 33;
        if (!inside) {
          border++;
          assert.equal(out.hole.data[i], 1);
          assert.equal(out.photo.alpha![i], 1, 'the border is opaque: it will be filled');
          assert.equal(moved.data[i], 0);
          continue;
        }
        const [sx, sy] = [x - 3, y - 3];
        for (let c = 0; c < 3; c++) assert.equal(at(out.photo.image, c, x, y), at(image, c, sx, sy));
        assert.equal(out.photo.alpha![i], 0.5);
        assert.equal(out.hole.data[i], sx === 7 && sy === 5 ? 1 : 0);
        assert.equal(moved.data[i], out.hole.data[i]);
      }
    }
    assert.equal(out.empty, border);
  });

  it('reads margins in pixels and percent, one for every side or four', () => {
    assert.deepEqual(resolveMargins(parseMargins('12'), 200, 100), { left: 12, top: 12, right: 12, bottom: 12 });
    assert.deepEqual(resolveMargins(parseMargins('10%'), 200, 100), { left: 20, top: 10, right: 20, bottom: 10 });
    assert.deepEqual(resolveMargins(parseMargins(' 0, 5% ,7,100% '), 200, 100), { left: 0, top: 5, right: 7, bottom: 100 });
    for (const bad of ['', '-3', '1.5', '3,4', '1,2,3,4,5', 'x', '%', '5%%', '1,,2,3']) {
      assert.throws(() => parseMargins(bad, '--extend'), (e: Error) => e instanceof UsageError && e.message.includes('--extend') && e.message.includes(JSON.stringify(bad)), bad);
    }
    assert.throws(() => resolveMargins(parseMargins('0,0,201,0'), 200, 100), (e: Error) => e instanceof UsageError && /right border of 201 px is more than the photo is wide \(200 px\)/.test(e.message));
    assert.throws(() => resolveMargins(parseMargins('101%'), 200, 100), /left border of 202 px/);
  });

  it('reads a shape W:H and gives the border that makes it, half on each side that needs it', () => {
    assert.deepEqual(parseMargins(' 16 : 9 '), { aspect: [16, 9] });
    assert.deepEqual(parseMargins('1.91:1'), { aspect: [1.91, 1] });
    // 200x100 to 1:1: 100 more rows, 50 at the top and 50 at the bottom; to 1:2, 300 more: 150 a side, more than it is tall.
    assert.deepEqual(resolveMargins(parseMargins('1:1'), 200, 100), { left: 0, top: 50, right: 0, bottom: 50 });
    assert.deepEqual(resolveMargins(parseMargins('3:1'), 200, 100), { left: 50, top: 0, right: 50, bottom: 0 });
    assert.deepEqual(resolveMargins(parseMargins('2:1'), 200, 100), { left: 0, top: 0, right: 0, bottom: 0 });
    // The odd pixel on the right or at the bottom; the nearest whole size.
    assert.deepEqual(resolveMargins(parseMargins('1:1'), 200, 101), { left: 0, top: 49, right: 0, bottom: 50 });
    assert.deepEqual(resolveMargins(parseMargins('16:9'), 1000, 700), { left: 122, top: 0, right: 122, bottom: 0 });
    assert.deepEqual(resolveMargins(parseMargins('4:5'), 200, 100), { left: 0, top: 75, right: 0, bottom: 75 });
    assert.throws(() => resolveMargins(parseMargins('1:2'), 200, 100), (e: Error) => e instanceof UsageError && /^extend: the top border of 150 px to make it 1:2 is more than the photo is tall \(100 px\)/.test(e.message));
    for (const bad of ['0:1', '1:0', '-1:1', ':1', '1:', '1:2:3', '1:x', '1,2:3,4,5']) {
      assert.throws(() => parseMargins(bad, '--extend'), (e: Error) => e instanceof UsageError && e.message.includes('W:H') && e.message.includes(JSON.stringify(bad)), bad);
    }
    assert.equal(reframes({ extend: parseMargins('3:2') }), true, 'whether a shape changes the frame depends on the photo');
    // Over random sizes and shapes: the result has the shape to within a pixel, and grows one way only.
    const rng = new Rng(3);
    for (let t = 0; t < 200; t++) {
      const [w, h] = [1 + Math.floor(rng.next() * 500), 1 + Math.floor(rng.next() * 500)];
      const aspect: [number, number] = [1 + Math.floor(rng.next() * 20), 1 + Math.floor(rng.next() * 20)];
      let m;
      try {
        m = resolveMargins({ aspect }, w, h);
      } catch {
        continue;
      }
      const [W, H] = [w + m.left + m.right, h + m.top + m.bottom];
      assert.ok(m.left + m.right === 0 || m.top + m.bottom === 0, `${w}x${h} to ${aspect}`);
      assert.ok(Math.abs(W - (H * aspect[0]) / aspect[1]) <= 0.5 || Math.abs(H - (W * aspect[1]) / aspect[0]) <= 0.5, `${w}x${h} to ${aspect}: ${W}x${H}`);
      assert.ok(Math.abs(m.left - m.right) <= 1 && Math.abs(m.top - m.bottom) <= 1);
    }
  });

  it('refuses a result over the pixel limit, and a hole of another size', () => {
    const image = smooth(20, 10);
    assert.throws(() => reframe({ image }, undefined, { extend: parseMargins('10') }, { maxPixels: 20 * 10 * 4 }), (e: Error) => e instanceof UsageError && e.message.includes('40x30') && e.message.includes('--max-pixels'));
    assert.throws(() => reframe({ image }, { width: 10, height: 10, data: new Uint8Array(100) }, { rotate: 3 }), /is not the photo's size/);
  });
});

describe('reframe: rotate', () => {
  it('turns clockwise about the centre as sharp does, and leaves empty the corners sharp leaves transparent', async () => {
    const [w, h, deg] = [120, 80, 7];
    const image = smooth(w, h);
    const out = reframe({ image }, undefined, { rotate: deg });
    assert.deepEqual([out.photo.image.width, out.photo.image.height], [w, h]);
    // sharp turns onto a larger canvas; its middle w x h is the same frame.
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round(image.data[c * w * h + i] * 255);
    const turned = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).ensureAlpha().rotate(deg, { background: { r: 0, g: 0, b: 0, alpha: 0 } }).raw().toBuffer({ resolveWithObject: true });
    const [tw, th] = [turned.info.width, turned.info.height];
    const [ox, oy] = [(tw - w) / 2, (th - h) / 2];
    let disagree = 0;
    let diff = 0;
    let compared = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // sharp's canvas may be an odd number of pixels larger: sample it between pixels then.
        const px = (u: number, v: number, c: number) => turned.data[4 * (Math.min(th - 1, v) * tw + Math.min(tw - 1, u)) + c];
        const pick = (c: number) => {
          const [u0, v0] = [Math.floor(x + ox), Math.floor(y + oy)];
          const [fu, fv] = [x + ox - u0, y + oy - v0];
          return (1 - fu) * (1 - fv) * px(u0, v0, c) + fu * (1 - fv) * px(u0 + 1, v0, c) + (1 - fu) * fv * px(u0, v0 + 1, c) + fu * fv * px(u0 + 1, v0 + 1, c);
        };
        const opaque = pick(3) > 254;
        const transparent = pick(3) < 1;
        const empty = out.hole.data[y * w + x] === 1;
        if ((opaque && empty) || (transparent && !empty)) disagree++;
        if (opaque && !empty) {
          for (let c = 0; c < 3; c++) diff += Math.abs(pick(c) / 255 - at(out.photo.image, c, x, y));
          compared += 3;
        }
      }
    }
    // Where a pixel's centre lands within a hair of the photo's edge, the two may round apart.
    assert.ok(disagree <= 0.001 * w * h, `${disagree} pixels empty in one and whole in the other`);
    assert.ok(compared > 0.8 * 3 * w * h, `${compared / 3} pixels compared`);
    assert.ok(diff / compared < 0.01, `mean difference ${diff / compared} to sharp's turn`);
    let empty = 0;
    for (const v of out.hole.data) empty += v;
    assert.equal(out.empty, empty);
    // The corners are empty, the middle and the middles of the sides are not.
    for (const [x, y, e] of [[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1], [w / 2, h / 2, 0], [w / 2, 2, 0], [2, h / 2, 0]] as const) assert.equal(out.hole.data[y * w + x], e, `(${x}, ${y})`);
  });

  it('turns the hole and the alpha with the photo, and undoes itself where nothing was lost', () => {
    const [w, h] = [90, 70];
    const image = smooth(w, h);
    const hole: MaskImage = { width: w, height: h, data: new Uint8Array(w * h) };
    // A block right of the centre: turned 30 degrees clockwise, it moves down.
    for (let y = 32; y < 38; y++) for (let x = 70; x < 76; x++) hole.data[y * w + x] = 1;
    const alpha = new Float32Array(w * h).fill(0.25);
    const out = reframe({ image, alpha }, hole, { rotate: 30 }, { alongside: [hole] });
    // A mask moved alongside is the hole less the empty corners.
    let [holes, moved] = [0, 0];
    for (let i = 0; i < w * h; i++) {
      assert.ok(out.alongside[0].data[i] <= out.hole.data[i]);
      [holes, moved] = [holes + out.hole.data[i], moved + out.alongside[0].data[i]];
    }
    assert.equal(holes - moved, out.empty);
    // The block's centre (72.5, 34.5) is 28 px right of the photo's centre (44.5, 34.5): turned, it lies at (44.5 + 28 cos 30, 34.5 + 28 sin 30).
    const [ex, ey] = [44.5 + 28 * Math.cos(Math.PI / 6), 34.5 + 28 * Math.sin(Math.PI / 6)];
    let [mx, my, m] = [0, 0, 0];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const centreish = Math.abs(x - ex) < 8 && Math.abs(y - ey) < 8;
        if (out.hole.data[y * w + x] && centreish) [mx, my, m] = [mx + x, my + y, m + 1];
      }
    }
    assert.ok(m >= 30 && m <= 42, `${m} hole pixels where the block went`);
    assert.ok(Math.abs(mx / m - ex) < 0.6 && Math.abs(my / m - ey) < 0.6, `the block's centre at (${mx / m}, ${my / m}), expected (${ex}, ${ey})`);
    // The alpha turns with the photo (a flat 0.25 stays 0.25); the empty corners are opaque.
    for (let i = 0; i < w * h; i++) if (!out.hole.data[i]) assert.ok(Math.abs(out.photo.alpha![i] - 0.25) < 1e-6);
    for (const i of [0, w - 1, (h - 1) * w, h * w - 1]) assert.equal(out.photo.alpha![i], 1);
    const back = reframe(out.photo, undefined, { rotate: -30 });
    let [err, n] = [0, 0];
    for (let y = 20; y < 50; y++) {
      for (let x = 25; x < 65; x++) {
        for (let c = 0; c < 3; c++) err += Math.abs(at(back.photo.image, c, x, y) - at(image, c, x, y));
        n += 3;
        assert.ok(Math.abs(back.photo.alpha![y * w + x] - 0.25) < 1e-6);
      }
    }
    assert.ok(err / n < 0.004, `turned and back, the middle differs by ${err / n}`);
  });

  it('reads angles and refuses what it cannot turn', () => {
    assert.equal(parseRotation('-2.5'), -2.5);
    assert.equal(parseRotation(' 45'), 45);
    for (const bad of ['', 'x', '46', '-90', 'NaN', 'Infinity']) assert.throws(() => parseRotation(bad, '--rotate'), (e: Error) => e instanceof UsageError && e.message.includes('--rotate'), bad);
    assert.match(String(catchIt(() => parseRotation('90'))), /quarter turn/);
    assert.equal(reframes({}), false);
    assert.equal(reframes({ rotate: 0, extend: parseMargins('0') }), false);
    assert.equal(reframes({ rotate: 0.1 }), true);
    assert.equal(reframes({ extend: parseMargins('0,0,1,0') }), true);
  });

  it('keeps every value in range and every given hole pixel, over random photos, angles and borders', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 60; t++) {
      const [w, h] = [1 + Math.floor(rng.next() * 40), 1 + Math.floor(rng.next() * 40)];
      const image: RgbImage = { width: w, height: h, data: Float32Array.from({ length: 3 * w * h }, () => rng.next()) };
      const hole: MaskImage = { width: w, height: h, data: Uint8Array.from({ length: w * h }, () => (rng.next() < 0.1 ? 1 : 0)) };
      const rotate = rng.next() < 0.3 ? 0 : (rng.next() * 2 - 1) * 45;
      const extend = parseMargins(Array.from({ length: 4 }, () => String(Math.floor(rng.next() * Math.min(w, h)))).join(','));
      const out = reframe({ image }, hole, { rotate, extend });
      const m = resolveMargins(extend, w, h);
      assert.deepEqual([out.photo.image.width, out.photo.image.height], [w + m.left + m.right, h + m.top + m.bottom]);
      for (const v of out.photo.image.data) assert.ok(v >= 0 && v <= 1);
      let holes = 0;
      for (const v of out.hole.data) holes += v;
      assert.ok(holes >= out.empty && out.empty >= (w + m.left + m.right) * (h + m.top + m.bottom) - w * h);
      if (rotate === 0) {
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.equal(out.hole.data[(y + m.top) * out.hole.width + x + m.left], hole.data[y * w + x]);
      }
    }
  });
});

function catchIt(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
