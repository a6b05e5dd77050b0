import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KNOWN, OUTSIDE, solvePoisson, UNKNOWN } from './poisson.ts';

/** L d at each unknown cell, by the file comment's definition (a separate implementation). */
function laplacian(kind: Uint8Array, width: number, height: number, d: Float32Array): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (kind[i] !== UNKNOWN) continue;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const [nx, ny] = [x + dx, y + dy];
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const j = ny * width + nx;
        if (kind[j] === OUTSIDE) continue;
        out[i] += d[i] - (kind[j] === UNKNOWN ? d[j] : 0);
      }
    }
  }
  return out;
}

/** A 1-pixel-high grid of these kinds, and a right-hand side of 1 at `at`. */
function chain(kinds: number[], at: number): [Uint8Array, Float32Array] {
  const b = new Float32Array(kinds.length);
  b[at] = 1;
  return [Uint8Array.from(kinds), b];
}

describe('solvePoisson', () => {
  it('solves a chain held at 0 at both ends: the tent of the discrete Green function', () => {
    // Unknowns 1..9 between known cells 0 and 10; L is tridiag(-1, 2, -1), and L d = e_k has
    // d_i = i (10 - k) / 10 for i <= k and k (10 - i) / 10 beyond.
    const k = 3;
    const [kind, b] = chain([KNOWN, ...Array<number>(9).fill(UNKNOWN), KNOWN], k);
    // The three channels at once: the same, twice it, and none.
    const [d, twice, none] = solvePoisson(kind, 11, 1, [b, b.map((v) => 2 * v), new Float32Array(11)], 1e-7);
    assert.ok(twice.every((v, i) => Math.abs(v - 2 * d[i]) < 1e-4));
    assert.ok(none.every((v) => v === 0));
    for (let i = 1; i <= 9; i++) {
      const want = i <= k ? (i * (10 - k)) / 10 : (k * (10 - i)) / 10;
      assert.ok(Math.abs(d[i] - want) < 1e-4, `cell ${i}: ${d[i]}, expected ${want}`);
    }
    assert.equal(d[0], 0);
    assert.equal(d[10], 0);
  });

  it('holds nothing across an outside cell or the grid edge (Neumann)', () => {
    // Known | u1 u2 u3 | outside: L = [[2, -1, 0], [-1, 2, -1], [0, -1, 1]], and L d = e_1 gives d = (1, 1, 1).
    const [kind, b] = chain([KNOWN, UNKNOWN, UNKNOWN, UNKNOWN, OUTSIDE], 1);
    const [d] = solvePoisson(kind, 5, 1, [b, b, b], 1e-7);
    assert.deepEqual([...d].map((v) => Math.round(v * 1e4) / 1e4), [0, 1, 1, 1, 0]);
    // The same with the grid's edge in the outside cell's place.
    const edge = b.subarray(0, 4);
    const [d2] = solvePoisson(kind.subarray(0, 4), 4, 1, [edge, edge, edge], 1e-7);
    assert.deepEqual([...d2].map((v) => Math.round(v * 1e4) / 1e4), [0, 1, 1, 1]);
  });

  it('meets its tolerance on an irregular hole, for each right-hand side, and is 0 off the unknown cells', () => {
    const [width, height] = [150, 90];
    const kind = new Uint8Array(width * height).fill(KNOWN);
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [u, v] = [(x - 75) / 60, (y - 20) / 55];
        if (u * u + v * v < 1 || (x > 100 && y > 60)) kind[y * width + x] = UNKNOWN;
      }
    }
    for (let x = 0; x < width; x += 3) kind[x] = OUTSIDE; // along the top, where the hole meets the frame
    const rhs = [0, 1, 2].map(() => Float32Array.from({ length: width * height }, () => (random() < 0.03 ? random() - 0.5 : 0)));
    for (const tolerance of [1e-2, 1e-5]) {
      const solved = solvePoisson(kind, width, height, rhs, tolerance);
      assert.equal(solved.length, 3);
      for (const [n, d] of solved.entries()) {
        const b = rhs[n];
        const lhs = laplacian(kind, width, height, d);
        let [error, norm] = [0, 0];
        for (let i = 0; i < kind.length; i++) {
          if (kind[i] !== UNKNOWN) {
            assert.equal(d[i], 0, `cell ${i} is not unknown`);
            continue;
          }
          error += (lhs[i] - b[i]) ** 2;
          norm += b[i] ** 2;
        }
        // The solver's float residual drifts a little from the true one at the tightest tolerance.
        assert.ok(Math.sqrt(error) <= 2 * tolerance * Math.sqrt(norm), `tolerance ${tolerance}, rhs ${n}: residual ${Math.sqrt(error / norm)}`);
      }
    }
  });

  it('returns zeros for a zero right-hand side', () => {
    const [kind] = chain([KNOWN, UNKNOWN, UNKNOWN, KNOWN], 1);
    const zero = new Float32Array(4);
    assert.deepEqual(solvePoisson(kind, 4, 1, [zero, zero, zero]), [zero, zero, zero]);
    assert.throws(() => solvePoisson(kind, 4, 1, [zero]), /3/);
  });
});
