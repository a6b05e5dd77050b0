/** Test helpers for the loss tests: run a loss graph once, and deterministic inputs. */
import { Rng } from '../core/random.ts';
import { runOnce } from '../graph/run-once.ts';
import { Graph, type Tensor } from '../graph/graph.ts';

export interface Fed {
  shape: number[];
  data: Float32Array;
}

/** Builds a graph whose inputs are `feeds` (in order), runs it, and returns every output by name. */
export async function runGraph(
  feeds: Fed[],
  build: (...xs: Tensor[]) => Record<string, Tensor>,
): Promise<Record<string, Float32Array>> {
  const g = new Graph('losstest');
  const xs = feeds.map((f, i) => g.input(`x${i}`, f.shape));
  for (const [name, t] of Object.entries(build(...xs))) g.output(t, name);
  const out = await runOnce(g, Object.fromEntries(feeds.map((f, i) => [`x${i}`, f])));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
}

/** Runs a graph with one scalar output and returns its value. */
export async function scalar(feeds: Fed[], build: (...xs: Tensor[]) => Tensor): Promise<number> {
  return (await runGraph(feeds, (...xs) => ({ y: build(...xs) }))).y[0];
}

export function normals(shape: number[], seed: number): Fed {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => rng.normal()) };
}

/** A copy of `x` shifted by +-(0.3 + |normal|) per element: a difference bounded away from 0 (Abs's kink). */
export function awayFrom(x: Fed, seed: number): Fed {
  const rng = new Rng(seed);
  return { shape: x.shape, data: x.data.map((v) => v + (rng.next() < 0.5 ? -1 : 1) * (0.3 + Math.abs(rng.normal()))) };
}

/** An [N, 1, h, w] mask from rows of '0'/'1' strings, one array of rows per batch item. */
export function maskFrom(...items: string[][]): Fed {
  const h = items[0].length;
  const w = items[0][0].length;
  const data = Float32Array.from(items.flatMap((rows) => rows.flatMap((r) => [...r].map(Number))));
  return { shape: [items.length, 1, h, w], data };
}
