import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRID_DIRECTIONS, GridCut } from './maxflow.ts';
import { Rng } from './random.ts';

interface Problem {
  width: number;
  height: number;
  /** Per node: the cost of putting it on the sink's side, and on the source's. */
  source: number[];
  sink: number[];
  /** Per node and direction (only those with d even, each link once). */
  links: number[][];
}

function randomProblem(rng: Rng, width: number, height: number): Problem {
  const n = width * height;
  const pick = (scale: number): number => (rng.next() < 0.3 ? 0 : Math.round(rng.next() * scale * 100) / 100);
  return {
    width,
    height,
    source: Array.from({ length: n }, () => pick(10)),
    sink: Array.from({ length: n }, () => pick(10)),
    links: Array.from({ length: n }, () => Array.from({ length: 8 }, (_, d) => (d % 2 === 0 ? pick(6) : 0))),
  };
}

function neighbour(p: Problem, node: number, d: number): number {
  const x = (node % p.width) + GRID_DIRECTIONS[d][0];
  const y = Math.floor(node / p.width) + GRID_DIRECTIONS[d][1];
  return x >= 0 && y >= 0 && x < p.width && y < p.height ? y * p.width + x : -1;
}

/** The cost of a labelling (1 = the source's side). */
function energy(p: Problem, label: (i: number) => number): number {
  let e = 0;
  for (let i = 0; i < p.source.length; i++) {
    e += label(i) ? p.sink[i] : p.source[i];
    for (let d = 0; d < 8; d += 2) {
      const j = neighbour(p, i, d);
      if (j >= 0 && label(i) !== label(j)) e += p.links[i][d];
    }
  }
  return e;
}

function solve(p: Problem): { flow: number; cut: GridCut } {
  const cut = new GridCut(p.width, p.height);
  for (let i = 0; i < p.source.length; i++) {
    cut.addTerminals(i, p.source[i], p.sink[i]);
    for (let d = 0; d < 8; d += 2) cut.setLink(i, d, p.links[i][d]);
  }
  return { flow: cut.maxflow(), cut };
}

describe('GridCut', () => {
  it('finds the minimum cut of random grids, as every labelling tried says', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const [w, h] = [[3, 4], [4, 3], [2, 6], [1, 8], [4, 4]][trial % 5];
      const p = randomProblem(rng, w, h);
      const n = w * h;
      let best = Infinity;
      for (let bits = 0; bits < 1 << n; bits++) best = Math.min(best, energy(p, (i) => (bits >> i) & 1));
      const { flow, cut } = solve(p);
      const tolerance = 1e-4 * (1 + best);
      assert.ok(Math.abs(flow - best) < tolerance, `trial ${trial}: flow ${flow}, minimum cut ${best}`);
      const e = energy(p, (i) => (cut.isSource(i) ? 1 : 0));
      assert.ok(Math.abs(e - best) < tolerance, `trial ${trial}: the labelling costs ${e}, the minimum ${best}`);
    }
  });

  it('separates two regions joined by weak links, on a large grid', () => {
    // Left half tied to the source, right half to the sink; strong links within each, weak across.
    const [w, h] = [300, 200];
    const cut = new GridCut(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        // Only the outer columns know their side: the cut must be found through the grid.
        if (x === 0) cut.addTerminals(i, 1000, 0);
        if (x === w - 1) cut.addTerminals(i, 0, 1000);
        for (let d = 0; d < 8; d++) {
          const nx = x + GRID_DIRECTIONS[d][0];
          cut.setLink(i, d, (x < 100) !== (nx < 100) ? 0.5 : 5);
        }
      }
    }
    const flow = cut.maxflow();
    // The cheapest cut is the weak seam between columns 99 and 100: per row, one straight and two diagonal links.
    assert.ok(Math.abs(flow - h * 0.5 - (h - 1) * 2 * 0.5) < 1e-3, `flow ${flow}`);
    for (let y = 0; y < h; y += 17) {
      for (let x = 0; x < w; x += 7) assert.equal(cut.isSource(y * w + x), x < 100, `(${x}, ${y})`);
    }
  });
});
