import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError, UsageError } from '../core/errors.ts';
import { holeFraction, type MaskImage, maskBoundingBox, writeMask } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { makeMask, MASK_KINDS, MaskFolder, sampleRectangles } from './masks.ts';

const SYNTHETIC = MASK_KINDS.filter((k) => k !== 'folder');
const RANDOM = SYNTHETIC.filter((k) => k !== 'centre');

function holes(mask: MaskImage): number {
  return mask.data.reduce((a, b) => a + b, 0);
}

describe('synthetic masks', () => {
  test('the same seed gives the same mask; different seeds differ', async () => {
    for (const kind of SYNTHETIC) {
      const a = await makeMask(kind, 256, 192, new Rng(7));
      assert.deepEqual([a.width, a.height, a.data.length], [256, 192, 256 * 192], kind);
      assert.deepEqual(await makeMask(kind, 256, 192, new Rng(7)), a, kind);
    }
    for (const kind of RANDOM) {
      const a = await makeMask(kind, 256, 256, new Rng(1));
      const b = await makeMask(kind, 256, 256, new Rng(2));
      assert.notDeepEqual(a.data, b.data, kind);
    }
  });

  test('centre: 128 at 256 and 224 at 512, exactly in the middle; holeSize overrides', async () => {
    const rng = new Rng(0);
    const at256 = await makeMask('centre', 256, 256, rng);
    assert.deepEqual(maskBoundingBox(at256), { x: 64, y: 64, width: 128, height: 128 });
    assert.equal(holes(at256), 128 * 128);
    const at512 = await makeMask('centre', 512, 512, rng);
    assert.deepEqual(maskBoundingBox(at512), { x: 144, y: 144, width: 224, height: 224 });
    assert.equal(holes(at512), 224 * 224);
    const custom = await makeMask('centre', 100, 60, rng, { holeSize: 20 });
    assert.deepEqual(maskBoundingBox(custom), { x: 40, y: 20, width: 20, height: 20 });
    assert.equal(holes(custom), 400);
    await assert.rejects(makeMask('centre', 100, 60, rng, { holeSize: 61 }), UsageError);
  });

  test('edge and border: one box against a side, every side in turn; a border spans the whole side', async () => {
    for (const [kind, across, along] of [['edge', [40, 100], [64, 160]], ['border', [20, 50], undefined]] as const) {
      const sides = new Set<string>();
      for (let seed = 0; seed < 80; seed++) {
        const [w, h] = [256, 192 + (seed % 3) * 64];
        const mask = await makeMask(kind, w, h, new Rng(seed));
        const box = maskBoundingBox(mask)!;
        // A box: every pixel of its bounding box is hole.
        assert.equal(holes(mask), box.width * box.height, `${kind} ${seed}`);
        const touches = { left: box.x === 0, top: box.y === 0, right: box.x + box.width === w, bottom: box.y + box.height === h };
        const side = (Object.keys(touches) as (keyof typeof touches)[]).find((k) => touches[k] && (k === 'left' || k === 'right' ? box.width < w : box.height < h));
        assert.ok(side, `${kind} ${seed}: ${JSON.stringify(box)} is against no side`);
        sides.add(side);
        const [depth, length, full] = side === 'left' || side === 'right' ? [box.width, box.height, h] : [box.height, box.width, w];
        const s = Math.min(w, h) / 256;
        assert.ok(depth >= Math.round(across[0] * s) && depth <= Math.round(across[1] * s), `${kind} ${seed}: ${depth} deep`);
        if (along) assert.ok(length >= Math.round(along[0] * s) && length <= Math.round(along[1] * s), `${kind} ${seed}: ${length} long`);
        else assert.equal(length, full, `${kind} ${seed}: the whole side`);
      }
      assert.equal(sides.size, 4, `${kind}: ${[...sides]}`);
    }
  });

  test('rectangles: 1 to 4 inside the image, sides 32..128 at 256 and 64..256 at 512', async () => {
    for (const [size, lo, hi] of [[256, 32, 128], [512, 64, 256]]) {
      const counts = new Set<number>();
      let longest = 0;
      for (let seed = 0; seed < 100; seed++) {
        const boxes = sampleRectangles(size, size, new Rng(seed));
        counts.add(boxes.length);
        for (const b of boxes) {
          for (const side of [b.width, b.height]) assert.ok(side >= lo && side <= hi, `${size}: side ${side}`);
          assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= size && b.y + b.height <= size);
          longest = Math.max(longest, b.width, b.height);
        }
        // The mask is exactly the union of the boxes drawn from the same rng state.
        const mask = await makeMask('rectangles', size, size, new Rng(seed));
        const union = new Uint8Array(size * size);
        for (const b of boxes) for (let y = b.y; y < b.y + b.height; y++) union.fill(1, y * size + b.x, y * size + b.x + b.width);
        assert.deepEqual(mask.data, union);
      }
      assert.deepEqual([...counts].sort(), [1, 2, 3, 4], `${size}: counts`);
      assert.ok(longest > (lo + hi) / 2, `${size}: sides reach towards ${hi}`);
    }
  });

  test('strokes: mean hole fraction thin < medium < thick, and never 0 or 1', async () => {
    const means: number[] = [];
    for (const kind of ['strokes-thin', 'strokes-medium', 'strokes-thick']) {
      const rng = new Rng(11);
      let sum = 0;
      for (let i = 0; i < 50; i++) {
        const f = holeFraction(await makeMask(kind, 256, 256, rng));
        assert.ok(f > 0 && f <= 0.7, `${kind}: hole fraction ${f}`);
        sum += f;
      }
      means.push(sum / 50);
    }
    assert.ok(means[0] < means[1] && means[1] < means[2], `means ${means}`);
  });

  test('stroke sizes scale with the image: the hole fraction is about the same at 512', async () => {
    for (const kind of ['strokes-thin', 'strokes-thick']) {
      const mean = async (size: number) => {
        const rng = new Rng(5);
        let sum = 0;
        for (let i = 0; i < 20; i++) sum += holeFraction(await makeMask(kind, size, size, rng));
        return sum / 20;
      };
      const [small, large] = [await mean(256), await mean(512)];
      assert.ok(Math.abs(small - large) < 0.2 * small, `${kind}: ${small} at 256, ${large} at 512`);
    }
  });

  test('every random kind leaves both holes and known pixels, even on tiny images', async () => {
    for (const kind of RANDOM) {
      const rng = new Rng(3);
      for (let i = 0; i < 30; i++) {
        const f = holeFraction(await makeMask(kind, 40, 24, rng));
        assert.ok(f > 0 && f < 1, `${kind}: hole fraction ${f}`);
      }
    }
  });

  test('unknown kinds, bad sizes and folder without a folder are UsageErrors', async () => {
    await assert.rejects(makeMask('blobs', 64, 64, new Rng(0)), (err: Error) => err instanceof UsageError && /centre, rectangles/.test(err.message));
    await assert.rejects(makeMask('toString', 64, 64, new Rng(0)), UsageError);
    await assert.rejects(makeMask('centre', 0, 64, new Rng(0)), UsageError);
    await assert.rejects(makeMask('folder', 64, 64, new Rng(0)), UsageError);
  });
});

describe('MaskFolder', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'masks-test-'));
    // One hole pixel in the top-left corner of an 8x8 mask: flips move it to the other corners.
    const corner = { width: 8, height: 8, data: new Uint8Array(64) };
    corner.data[0] = 1;
    await writeMask(join(dir, 'a.png'), corner);
    const full = { width: 4, height: 4, data: new Uint8Array(16).fill(1) };
    await writeMask(join(dir, 'b.png'), full);
    await writeFile(join(dir, 'README.txt'), 'not a mask');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('lists mask images only, sorted', async () => {
    const folder = await MaskFolder.open(dir);
    assert.deepEqual(folder.files, ['a.png', 'b.png']);
  });

  test('samples are resized, flipped at random, and reproducible', async () => {
    const folder = await MaskFolder.open(dir);
    const corners = new Set<string>();
    let fullSeen = false;
    for (let seed = 0; seed < 40; seed++) {
      const mask = await makeMask('folder', 32, 16, new Rng(seed), { folder });
      assert.deepEqual([mask.width, mask.height], [32, 16]);
      assert.deepEqual(await folder.sample(32, 16, new Rng(seed)), mask);
      if (holeFraction(mask) === 1) {
        fullSeen = true;
        continue;
      }
      // The corner pixel becomes a 4x2 block (8x8 -> 32x16) in one of the four corners.
      const box = maskBoundingBox(mask);
      assert.ok(box && box.width === 4 && box.height === 2 && holes(mask) === 8, JSON.stringify(box));
      assert.ok((box.x === 0 || box.x === 28) && (box.y === 0 || box.y === 14), JSON.stringify(box));
      corners.add(`${box.x},${box.y}`);
    }
    assert.ok(fullSeen, 'both files get picked');
    assert.equal(corners.size, 4, `corners seen: ${[...corners]}`);
  });

  test('a missing or empty folder is an InputError', async () => {
    await assert.rejects(MaskFolder.open(join(dir, 'nope')), InputError);
    const empty = await mkdtemp(join(tmpdir(), 'masks-empty-'));
    await assert.rejects(MaskFolder.open(empty), InputError);
    await rm(empty, { recursive: true });
  });
});
