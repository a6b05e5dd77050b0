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
 * The right-hand sides are solved together, their values interleaved per cell (`CHANNELS` of
 * them, a colour's): the operator's weights are read once for all three.
 */
const CHANNELS = 3;

/**
 * One level of the hierarchy: a weighted 5-point operator on a grid with a ring of cells that are
 * never unknown, so that an unknown cell's four neighbours always exist. A class, every field set
 * by its constructor, so that all levels share one shape: V8 then keeps the solver's loops
 * optimised from the first call (a `coarse` added to some levels later deoptimised them).
 */
class Level {
  /** Per cell, 1 where it is an unknown. */
  readonly unknown: Uint8Array;
  /** Per unknown cell, L's diagonal. */
  readonly diag: Float32Array;
  /** The weight of the edge from each cell to its right (east) and lower (south) neighbour; 0 where either is not unknown. */
  readonly east: Float32Array;
  readonly south: Float32Array;
  /** The next coarser level. */
  coarse: Level | null = null;
  /** Work space of a V-cycle at this level, `CHANNELS` values a cell: its right-hand side, solution and L x. */
  readonly b: Float32Array;
  readonly x: Float32Array;
  readonly r: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    const cells = width * height;
    this.unknown = new Uint8Array(cells);
    this.diag = new Float32Array(cells);
    this.east = new Float32Array(cells);
    this.south = new Float32Array(cells);
    this.b = new Float32Array(CHANNELS * cells);
    this.x = new Float32Array(CHANNELS * cells);
    this.r = new Float32Array(CHANNELS * cells);
  }
}

/** Stop joining cells once a level has at most this many unknowns: it is solved by sweeps. */
const COARSEST = 16;

/** Symmetric Gauss-Seidel sweeps that solve the coarsest level. */
const COARSEST_SWEEPS = 20;

/** The finest level: the grid with a ring around it. */
function finest(kind: Uint8Array, width: number, height: number): Level {
  const top = new Level(width + 2, height + 2);
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
  const coarse = new Level(((fw - 1) >> 1) + 2, ((fh - 1) >> 1) + 2);
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
  const size = CHANNELS * top.unknown.length;
  // In the ring's frame, channels interleaved: the residual is the V-cycle's b, its preconditioned
  // copy the V-cycle's x; p the search direction, q L p.
  const r = top.b;
  const z = top.x;
  const d = new Float32Array(size);
  const p = new Float32Array(size);
  const q = new Float32Array(size);
  for (let c = 0; c < CHANNELS; c++) interleave(rhs[c], kind, width, height, r, c);
  const norm0 = new Float64Array(CHANNELS);
  dots(r, r, norm0);
  const limit = new Float64Array(CHANNELS);
  for (let c = 0; c < CHANNELS; c++) limit[c] = tolerance * tolerance * norm0[c];
  if (norm0[0] > 0 || norm0[1] > 0 || norm0[2] > 0) {
    // Per channel: r.z (and its next value), p.q, the step's and the direction's factors, the
    // residual's squared norm. Each loop is a function of its own, so that V8 optimises it alone.
    const rz = new Float64Array(CHANNELS);
    const next = new Float64Array(CHANNELS);
    const pq = new Float64Array(CHANNELS);
    const alpha = new Float64Array(CHANNELS);
    const beta = new Float64Array(CHANNELS);
    const norm = new Float64Array(CHANNELS);
    vcycle(top);
    p.set(z);
    dots(r, z, rz);
    for (let it = 0; it < maxIterations; it++) {
      apply(top, p, q);
      dots(p, q, pq);
      ratios(rz, pq, alpha);
      descend(d, r, p, q, alpha, norm);
      if (norm[0] <= limit[0] && norm[1] <= limit[1] && norm[2] <= limit[2]) break;
      vcycle(top);
      dots(r, z, next);
      ratios(next, rz, beta);
      rz.set(next);
      redirect(p, z, beta);
    }
  }
  const out: Float32Array[] = [];
  for (let c = 0; c < CHANNELS; c++) out.push(deinterleave(d, width, height, c));
  return out;
}

/** Channel `c` of the interleaved, ringed vector `to` set to `plane` at the unknown cells of `kind`. */
function interleave(plane: Float32Array, kind: Uint8Array, width: number, height: number, to: Float32Array, c: number): void {
  const w = width + 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (kind[y * width + x] === UNKNOWN) to[CHANNELS * ((y + 1) * w + x + 1) + c] = plane[y * width + x];
    }
  }
}

/** Channel `c` of the interleaved, ringed vector `from`, as a width x height plane. */
function deinterleave(from: Float32Array, width: number, height: number, c: number): Float32Array {
  const w = width + 2;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = from[CHANNELS * ((y + 1) * w + x + 1) + c];
  return out;
}

/** Per channel, the dot product of two interleaved vectors, into `out`. */
function dots(a: Float32Array, b: Float32Array, out: Float64Array): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < a.length; i += 3) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
}

/** Per channel, a / b into `out`; 0 where b is not positive. */
function ratios(a: Float64Array, b: Float64Array, out: Float64Array): void {
  for (let c = 0; c < CHANNELS; c++) out[c] = b[c] > 0 ? a[c] / b[c] : 0;
}

/** A step of conjugate gradients: d += alpha p, r -= alpha q, per channel; r's squared norms into `norm`. */
function descend(d: Float32Array, r: Float32Array, p: Float32Array, q: Float32Array, alpha: Float64Array, norm: Float64Array): void {
  const a0 = alpha[0];
  const a1 = alpha[1];
  const a2 = alpha[2];
  let n0 = 0;
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < d.length; i += 3) {
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
  norm[0] = n0;
  norm[1] = n1;
  norm[2] = n2;
}

/** The next search direction of conjugate gradients: p = z + beta p, per channel. */
function redirect(p: Float32Array, z: Float32Array, beta: Float64Array): void {
  const b0 = beta[0];
  const b1 = beta[1];
  const b2 = beta[2];
  for (let i = 0; i < p.length; i += 3) {
    p[i] = z[i] + b0 * p[i];
    p[i + 1] = z[i + 1] + b1 * p[i + 1];
    p[i + 2] = z[i + 2] + b2 * p[i + 2];
  }
}
