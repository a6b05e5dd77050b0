/**
 * Poisson's equation on the unknown cells of a grid, with the value 0 held at its known cells
 * (Dirichlet) and nothing across its other cells or the grid's edge (Neumann): L d = b, where
 * (L d)_p = sum over p's 4-neighbours q that are unknown or known of (d_p - d_q), d_q = 0 at the
 * known ones. This is the least-squares fit of d's differences between neighbours to given ones, as
 * Poisson image editing solves it (Pérez, Gangnet and Blake, SIGGRAPH 2003).
 *
 * Solved by conjugate gradients preconditioned with one multigrid V-cycle [ours, the textbook
 * method]: each coarser level joins 2x2 cells, its operator is the finer one's Galerkin product
 * with that piecewise-constant joining (edge weights summed, inner edges dropped), so it stays the
 * same kind of weighted 5-point operator; red-black Gauss-Seidel smooths, red then black before the
 * coarse correction and black then red after, which keeps the preconditioner symmetric. Iterations
 * grow little with the grid: 5 to reach 3% of the residual for the seams of coherence.ts's fill of
 * a 128-px hole at 256 and of a 224-px one at 512, where plain conjugate gradients take hundreds.
 */

import { expect } from '../core/errors.ts';

/** A grid cell's part in the problem. */
export const OUTSIDE = 0;
export const KNOWN = 1;
export const UNKNOWN = 2;

/**
 * One level of the hierarchy: a weighted 5-point operator on a grid with a ring of cells that are
 * never unknown, so that an unknown cell's four neighbours always exist.
 */
interface Level {
  width: number;
  height: number;
  /** Per cell, 1 where it is an unknown. */
  unknown: Uint8Array;
  /** Per unknown cell, L's diagonal. */
  diag: Float32Array;
  /** The weight of the edge from each cell to its right (east) and lower (south) neighbour; 0 where either is not unknown. */
  east: Float32Array;
  south: Float32Array;
  /** The next coarser level. */
  coarse?: Level;
  /** Work space of a V-cycle at this level, `CHANNELS` values a cell: its right-hand side, solution and L x. */
  b: Float32Array;
  x: Float32Array;
  r: Float32Array;
}

/** Stop joining cells once a level has at most this many unknowns: it is solved by sweeps. */
const COARSEST = 16;

/** Symmetric Gauss-Seidel sweeps that solve the coarsest level. */
const COARSEST_SWEEPS = 20;

function level(width: number, height: number): Level {
  const cells = width * height;
  const f = (n = cells) => new Float32Array(n);
  return { width, height, unknown: new Uint8Array(cells), diag: f(), east: f(), south: f(), b: f(CHANNELS * cells), x: f(CHANNELS * cells), r: f(CHANNELS * cells) };
}

/** The finest level: the grid with a ring around it. */
function finest(kind: Uint8Array, width: number, height: number): Level {
  const top = level(width + 2, height + 2);
  const { unknown, diag, east, south } = top;
  const w = width + 2;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? OUTSIDE : kind[y * width + x]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (kind[y * width + x] !== UNKNOWN) continue;
      const i = (y + 1) * w + x + 1;
      unknown[i] = 1;
      diag[i] = +(at(x - 1, y) !== OUTSIDE) + +(at(x + 1, y) !== OUTSIDE) + +(at(x, y - 1) !== OUTSIDE) + +(at(x, y + 1) !== OUTSIDE);
      if (at(x + 1, y) === UNKNOWN) east[i] = 1;
      if (at(x, y + 1) === UNKNOWN) south[i] = 1;
    }
  }
  return top;
}

/**
 * The Galerkin coarsening of `fine` by 2x2 blocks: fine cells 2X - 1 and 2X make coarse cell X
 * (the rings map to the ring).
 */
function coarsen(fine: Level): Level {
  const { width: fw, height: fh } = fine;
  const coarse = level(((fw - 1) >> 1) + 2, ((fh - 1) >> 1) + 2);
  const { width, unknown, diag, east, south } = coarse;
  for (let y = 1; y < fh - 1; y++) {
    for (let x = 1; x < fw - 1; x++) {
      const i = y * fw + x;
      if (!fine.unknown[i]) continue;
      const I = ((y + 1) >> 1) * width + ((x + 1) >> 1);
      unknown[I] = 1;
      diag[I] += fine.diag[i];
      const e = fine.east[i];
      if (e) {
        if (x & 1) diag[I] -= 2 * e; // x and x + 1 are in this block
        else east[I] += e;
      }
      const s = fine.south[i];
      if (s) {
        if (y & 1) diag[I] -= 2 * s;
        else south[I] += s;
      }
    }
  }
  return coarse;
}

/** The levels, finest first, each linked to the next. */
function hierarchy(kind: Uint8Array, width: number, height: number): Level {
  const top = finest(kind, width, height);
  let at = top;
  for (;;) {
    let count = 0;
    for (let i = 0; i < at.unknown.length; i++) count += at.unknown[i];
    if (count <= COARSEST || (at.width <= 4 && at.height <= 4)) break;
    at.coarse = coarsen(at);
    at = at.coarse;
  }
  return top;
}

/**
 * The right-hand sides are solved together, their values interleaved per cell (`CHANNELS` of
 * them, a colour's): the operator's weights are read once for all three.
 */
const CHANNELS = 3;

/** One Gauss-Seidel sweep over the cells of one colour ((x + y) % 2 === colour), solving L x = b there. */
function sweep(level: Level, x: Float32Array, b: Float32Array, colour: number): void {
  const { width, height, unknown, diag, east, south } = level;
  const up = CHANNELS * width;
  for (let y = 1; y < height - 1; y++) {
    for (let i = y * width + 1 + ((y + 1 + colour) & 1), end = (y + 1) * width - 1; i < end; i += 2) {
      if (!unknown[i]) continue;
      const w = east[i - 1];
      const e = east[i];
      const n = south[i - width];
      const s = south[i];
      const inverse = 1 / diag[i];
      for (let c = 0, k = CHANNELS * i; c < CHANNELS; c++, k++) x[k] = (b[k] + w * x[k - CHANNELS] + e * x[k + CHANNELS] + n * x[k - up] + s * x[k + up]) * inverse;
    }
  }
}

/** L x into `out` (0 off the unknown cells). */
function apply(level: Level, x: Float32Array, out: Float32Array): void {
  const { width, unknown, diag, east, south } = level;
  const up = CHANNELS * width;
  for (let i = width; i < unknown.length - width; i++) {
    const k0 = CHANNELS * i;
    if (!unknown[i]) {
      for (let c = 0; c < CHANNELS; c++) out[k0 + c] = 0;
      continue;
    }
    const w = east[i - 1];
    const e = east[i];
    const n = south[i - width];
    const s = south[i];
    const d = diag[i];
    for (let c = 0, k = k0; c < CHANNELS; c++, k++) out[k] = d * x[k] - w * x[k - CHANNELS] - e * x[k + CHANNELS] - n * x[k - up] - s * x[k + up];
  }
}

/**
 * Between `level` and its coarse level, over the unknown cells: restriction (each cell's residual,
 * `b` - `r`, summed into its parent's right-hand side, which it replaces) or prolongation (each parent's solution
 * added to its cells' `x`), each the other's transpose.
 */
function transfer(level: Level, restrict: boolean): void {
  const { width, height, unknown, x, b, r } = level;
  const coarse = level.coarse!;
  if (restrict) coarse.b.fill(0);
  for (let y = 1; y < height - 1; y++) {
    const row = ((y + 1) >> 1) * coarse.width;
    for (let col = 1; col < width - 1; col++) {
      const i = y * width + col;
      if (!unknown[i]) continue;
      const K = CHANNELS * (row + ((col + 1) >> 1));
      for (let c = 0, k = CHANNELS * i; c < CHANNELS; c++, k++) {
        if (restrict) coarse.b[K + c] += b[k] - r[k];
        else x[k] += coarse.x[K + c];
      }
    }
  }
}

/** `level.x` = one V-cycle's approximation of L^-1 `level.b`, from zero. */
function vcycle(level: Level): void {
  const { x, b, r, coarse } = level;
  x.fill(0);
  if (!coarse) {
    for (let s = 0; s < COARSEST_SWEEPS; s++) {
      sweep(level, x, b, 0);
      sweep(level, x, b, 1);
      sweep(level, x, b, 1);
      sweep(level, x, b, 0);
    }
    return;
  }
  sweep(level, x, b, 0);
  sweep(level, x, b, 1);
  apply(level, x, r);
  transfer(level, true);
  vcycle(coarse);
  transfer(level, false);
  sweep(level, x, b, 1);
  sweep(level, x, b, 0);
}

/**
 * Solves L d = b (see the file comment) for the three right-hand sides of a colour's channels.
 * @param kind per cell of a width x height grid: OUTSIDE, KNOWN or UNKNOWN; every connected set of
 *   unknown cells must touch a known one
 * @param rhs per channel, a plane of the grid (read at the unknown cells)
 * @param tolerance stop when each channel's residual norm is at most this share of its b's
 * @returns per channel, d on the grid (0 at the cells that are not unknown)
 */
export function solvePoisson(kind: Uint8Array, width: number, height: number, rhs: readonly Float32Array[], tolerance = 1e-3, maxIterations = 100): Float32Array[] {
  expect(rhs.length === CHANNELS, 'the right-hand sides', `${CHANNELS}`, rhs.length);
  const top = hierarchy(kind, width, height);
  const w = width + 2;
  const size = CHANNELS * top.unknown.length;
  // In the ring's frame, channels interleaved: the residual is the V-cycle's b, its preconditioned
  // copy the V-cycle's x; p the search direction, q L p.
  const [r, z] = [top.b, top.x];
  const [d, p, q] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (kind[y * width + x] !== UNKNOWN) continue;
      for (let c = 0; c < CHANNELS; c++) r[CHANNELS * ((y + 1) * w + x + 1) + c] = rhs[c][y * width + x];
    }
  }
  const norm0 = dots(r, r);
  const limit = norm0.map((n) => tolerance * tolerance * n);
  if (norm0.some((n) => n > 0)) {
    vcycle(top);
    p.set(z);
    let rz = dots(r, z);
    for (let it = 0; it < maxIterations; it++) {
      apply(top, p, q);
      const pq = dots(p, q);
      const [a0, a1, a2] = [0, 1, 2].map((c) => (pq[c] > 0 ? rz[c] / pq[c] : 0));
      let [n0, n1, n2] = [0, 0, 0];
      for (let i = 0; i < size; i += 3) {
        d[i] += a0 * p[i];
        d[i + 1] += a1 * p[i + 1];
        d[i + 2] += a2 * p[i + 2];
        const r0 = (r[i] -= a0 * q[i]);
        const r1 = (r[i + 1] -= a1 * q[i + 1]);
        const r2 = (r[i + 2] -= a2 * q[i + 2]);
        n0 += r0 * r0;
        n1 += r1 * r1;
        n2 += r2 * r2;
      }
      if (n0 <= limit[0] && n1 <= limit[1] && n2 <= limit[2]) break;
      vcycle(top);
      const next = dots(r, z);
      const [b0, b1, b2] = [0, 1, 2].map((c) => (rz[c] > 0 ? next[c] / rz[c] : 0));
      rz = next;
      for (let i = 0; i < size; i += 3) {
        p[i] = z[i] + b0 * p[i];
        p[i + 1] = z[i + 1] + b1 * p[i + 1];
        p[i + 2] = z[i + 2] + b2 * p[i + 2];
      }
    }
  }
  return rhs.map((_, c) => {
    const out = new Float32Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = d[CHANNELS * ((y + 1) * w + x + 1) + c];
    return out;
  });
}

/** Per channel, the dot product of two interleaved vectors. */
function dots(a: Float32Array, b: Float32Array): [number, number, number] {
  let [s0, s1, s2] = [0, 0, 0];
  for (let i = 0; i < a.length; i += 3) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
  }
  return [s0, s1, s2];
}
