/**
 * The minimum cut of a pixel grid, by maximum flow: Boykov and Kolmogorov's algorithm ("An
 * experimental comparison of min-cut/max-flow algorithms for energy minimization in vision",
 * PAMI 2004), which grows two search trees, one from the source and one from the sink, and reuses
 * them after each augmentation, as vision's grid graphs reward. Used by `selectObject`
 * (`grabcut.ts`) to split a box into an object and what is around it.
 *
 * The graph is a `width` x `height` grid whose every node links to its 8 neighbours. Arc `8 * node
 * + dir` leaves `node` towards `node + offset[dir]`; its reverse is `dir ^ 1` from there. Arcs
 * hold their residual capacity, so the arrays are the whole state of the flow.
 */

const DX = [1, -1, 0, 0, 1, -1, -1, 1];
const DY = [0, 0, 1, -1, 1, -1, 1, -1];

/** Parent markers: a tree's root, a node cut from its tree, a node in no tree. */
const TERMINAL = -1;
const ORPHAN = -2;
const FREE = -3;

/** The directions `dir` (0 to 7) as (dx, dy); `dir ^ 1` is the opposite one. */
export const GRID_DIRECTIONS: readonly (readonly [number, number])[] = DX.map((dx, d) => [dx, DY[d]] as const);

export class GridCut {
  readonly width: number;
  readonly height: number;
  /** Residual capacity of each arc, `8 * node + dir`. */
  readonly arcs: Float32Array;
  /** Residual capacity of each node's terminal link: from the source where positive, to the sink where negative. */
  readonly terminals: Float64Array;
  /** The flow sent so far, including what the terminal links of a node carry straight through it. */
  #flow = 0;
  readonly #offset: Int32Array;
  /** Per node, a bit for each direction whose neighbour lies in the grid. */
  readonly #valid: Uint8Array;
  readonly #parent: Int32Array;
  readonly #sink: Uint8Array;

  constructor(width: number, height: number) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`GridCut: a grid of ${width}x${height}`);
    this.width = width;
    this.height = height;
    const n = width * height;
    this.arcs = new Float32Array(8 * n);
    this.terminals = new Float64Array(n);
    this.#offset = Int32Array.from(DX, (dx, d) => dx + DY[d] * width);
    this.#valid = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let bits = 0;
        for (let d = 0; d < 8; d++) {
          const nx = x + DX[d];
          const ny = y + DY[d];
          if (nx >= 0 && ny >= 0 && nx < width && ny < height) bits |= 1 << d;
        }
        this.#valid[y * width + x] = bits;
      }
    }
    this.#parent = new Int32Array(n).fill(FREE);
    this.#sink = new Uint8Array(n);
  }

  /** Sets the capacity of the link between `node` and its neighbour in `dir`, the same both ways. */
  setLink(node: number, dir: number, capacity: number): void {
    if (!(this.#valid[node] & (1 << dir))) return;
    this.arcs[8 * node + dir] = capacity;
    this.arcs[8 * (node + this.#offset[dir]) + (dir ^ 1)] = capacity;
  }

  /** Adds terminal links: `source` is the cost of cutting `node` from the source, `sink` from the sink. */
  addTerminals(node: number, source: number, sink: number): void {
    const t = this.terminals[node];
    if (t > 0) source += t;
    else sink -= t;
    this.#flow += Math.min(source, sink);
    this.terminals[node] = source - sink;
  }

  /** Sends the maximum flow; returns its value, the cost of the minimum cut. */
  maxflow(): number {
    const n = this.width * this.height;
    const { arcs, terminals: tr } = this;
    const offset = this.#offset;
    const valid = this.#valid;
    const parent = this.#parent;
    const sink = this.#sink;
    const head = (a: number): number => (a >> 3) + offset[a & 7];
    const sister = (a: number): number => 8 * head(a) + ((a & 7) ^ 1);
    // When a node's path to its terminal was last checked, and how long it was (the heuristics that
    // make an orphan take the nearest parent).
    const stamp = new Int32Array(n);
    const dist = new Int32Array(n);
    let time = 0;

    const queue = new Int32Array(n);
    const queued = new Uint8Array(n);
    let qHead = 0;
    let qCount = 0;
    const activate = (i: number): void => {
      if (queued[i]) return;
      queued[i] = 1;
      queue[(qHead + qCount) % n] = i;
      qCount++;
    };
    const nextActive = (): number => {
      while (qCount > 0) {
        const i = queue[qHead];
        qHead = (qHead + 1) % n;
        qCount--;
        queued[i] = 0;
        if (parent[i] !== FREE) return i;
      }
      return -1;
    };
    const orphans = new Int32Array(n);
    let oHead = 0;
    let oCount = 0;
    const orphan = (i: number): void => {
      parent[i] = ORPHAN;
      orphans[(oHead + oCount) % n] = i;
      oCount++;
    };

    for (let i = 0; i < n; i++) {
      sink[i] = 0;
      parent[i] = FREE;
      if (tr[i] !== 0) {
        sink[i] = tr[i] < 0 ? 1 : 0;
        parent[i] = TERMINAL;
        dist[i] = 1;
        activate(i);
      }
    }

    const augment = (middle: number): void => {
      let b = arcs[middle];
      let k = middle >> 3;
      while (parent[k] !== TERMINAL) {
        const a = parent[k];
        b = Math.min(b, arcs[sister(a)]);
        k = head(a);
      }
      b = Math.min(b, tr[k]);
      k = head(middle);
      while (parent[k] !== TERMINAL) {
        const a = parent[k];
        b = Math.min(b, arcs[a]);
        k = head(a);
      }
      b = Math.min(b, -tr[k]);

      arcs[sister(middle)] += b;
      arcs[middle] -= b;
      k = middle >> 3;
      while (parent[k] !== TERMINAL) {
        const a = parent[k];
        const s = sister(a);
        arcs[a] += b;
        arcs[s] -= b;
        const next = head(a);
        if (arcs[s] <= 0) orphan(k);
        k = next;
      }
      tr[k] -= b;
      if (tr[k] <= 0) orphan(k);
      k = head(middle);
      while (parent[k] !== TERMINAL) {
        const a = parent[k];
        arcs[sister(a)] += b;
        arcs[a] -= b;
        const next = head(a);
        if (arcs[a] <= 0) orphan(k);
        k = next;
      }
      tr[k] += b;
      if (tr[k] >= 0) orphan(k);
      this.#flow += b;
    };

    // The length of the path from `j` up to its terminal, or Infinity where it passes an orphan;
    // the nodes on a path found are stamped with their distance.
    const rootDistance = (j: number): number => {
      let d = 0;
      let k = j;
      for (;;) {
        if (stamp[k] === time) {
          d += dist[k];
          break;
        }
        const a = parent[k];
        d++;
        if (a === TERMINAL) {
          stamp[k] = time;
          dist[k] = 1;
          break;
        }
        if (a === ORPHAN) return Infinity;
        k = head(a);
      }
      let dd = d;
      for (k = j; stamp[k] !== time; k = head(parent[k])) {
        stamp[k] = time;
        dist[k] = dd--;
      }
      return d;
    };

    const adopt = (i: number): void => {
      const inSink = sink[i];
      let best = FREE;
      let bestDist = Infinity;
      for (let d = 0; d < 8; d++) {
        if (!(valid[i] & (1 << d))) continue;
        const a = 8 * i + d;
        const j = i + offset[d];
        // A parent must be able to send flow to `i` (source tree) or take it from `i` (sink tree).
        const residual = inSink ? arcs[a] : arcs[8 * j + (d ^ 1)];
        if (residual <= 0 || sink[j] !== inSink || parent[j] === FREE) continue;
        const dj = rootDistance(j);
        if (dj < bestDist) {
          bestDist = dj;
          best = a;
        }
      }
      parent[i] = best;
      if (best !== FREE) {
        stamp[i] = time;
        dist[i] = bestDist + 1;
        return;
      }
      // No parent: `i` leaves its tree; its neighbours in the tree may grow into it again, and its
      // children are orphans.
      for (let d = 0; d < 8; d++) {
        if (!(valid[i] & (1 << d))) continue;
        const j = i + offset[d];
        if (sink[j] !== inSink || parent[j] === FREE) continue;
        if ((inSink ? arcs[8 * i + d] : arcs[8 * j + (d ^ 1)]) > 0) activate(j);
        const pj = parent[j];
        if (pj !== TERMINAL && pj !== ORPHAN && head(pj) === i) orphan(j);
      }
    };

    let current = -1;
    for (;;) {
      if (current >= 0 && parent[current] === FREE) current = -1;
      if (current < 0) {
        current = nextActive();
        if (current < 0) break;
      }
      const i = current;
      // Grow the tree of `i` into its neighbours, until it meets the other tree.
      let middle = -1;
      for (let d = 0; d < 8 && middle < 0; d++) {
        if (!(valid[i] & (1 << d))) continue;
        const j = i + offset[d];
        const out = 8 * i + d;
        const back = 8 * j + (d ^ 1);
        if ((sink[i] ? arcs[back] : arcs[out]) <= 0) continue;
        if (parent[j] === FREE) {
          sink[j] = sink[i];
          parent[j] = back;
          stamp[j] = stamp[i];
          dist[j] = dist[i] + 1;
          activate(j);
        } else if (sink[j] !== sink[i]) {
          middle = sink[i] ? back : out;
        } else if (stamp[j] <= stamp[i] && dist[j] > dist[i]) {
          parent[j] = back;
          stamp[j] = stamp[i];
          dist[j] = dist[i] + 1;
        }
      }
      if (middle < 0) {
        current = -1;
        continue;
      }
      time++;
      augment(middle);
      while (oCount > 0) {
        const k = orphans[oHead];
        oHead = (oHead + 1) % n;
        oCount--;
        adopt(k);
      }
    }
    return this.#flow;
  }

  /** Whether `node` is on the source's side of the cut (after `maxflow`). */
  isSource(node: number): boolean {
    return this.#parent[node] !== FREE && !this.#sink[node];
  }
}
