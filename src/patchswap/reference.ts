/**
 * Patch-swap in plain loops and float64: the definition in `patchswap.ts`, written as directly as
 * possible, for tests to compare the graph against. Slow (every query against every candidate over
 * C * 9 values); use it on small maps only.
 */

/** A feature map [C, H, W], row-major. */
export interface FeatureMap {
  channels: number;
  height: number;
  width: number;
  data: Float32Array | Float64Array;
}

export interface ReferenceOptions {
  /** Match against this map instead of the known region of the features. */
  source?: FeatureMap;
  /** 1 = unusable source cell; none: every source patch is a candidate. Without `source`: cells not to copy from besides the hole. */
  sourceMask?: Uint8Array;
  epsilon?: number;
  /** The locality weight (see `patchswap.ts`); default 0. */
  locality?: number;
}

export interface ReferenceResult {
  /** [C, H, W] */
  swapped: Float64Array;
  /** Per cell: flat source index of its value, or -1 (known cell). */
  provenance: Int32Array;
  /** Per patch top-left y * (W - 2) + x: the chosen candidate's flat source index y' * Ws + x', or -1 if not a query. */
  choices: Int32Array;
  /** The score <p, q> / (|q| + eps) of query patch (y, x) against source patch (y', x'). */
  score(y: number, x: number, sy: number, sx: number): number;
}

/**
 * @param mask 1 = hole, per cell (H * W); `null` swaps every patch (give `options.source`)
 * @example
 * const { swapped } = referencePatchSwap({ channels: 2, height: 5, width: 5, data }, hole);
 */
export function referencePatchSwap(features: FeatureMap, mask: Uint8Array | null, options: ReferenceOptions = {}): ReferenceResult {
  const { channels: C, height: H, width: W } = features;
  const source = options.source ?? features;
  const excluded = options.sourceMask && mask ? mask.map((v, i) => v | options.sourceMask![i]) : mask;
  const sourceMask = options.source ? options.sourceMask ?? null : excluded;
  const { height: Hs, width: Ws } = source;
  const eps = options.epsilon ?? 1e-6;
  const locality = options.locality ?? 0;
  const f = (m: FeatureMap, c: number, y: number, x: number) => m.data[(c * m.height + y) * m.width + x];
  const anyIn = (m: Uint8Array | null, w: number, y: number, x: number) => {
    if (!m) return true;
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) if (m[(y + dy) * w + x + dx]) return true;
    return false;
  };
  const dot = (y: number, x: number, sy: number, sx: number) => {
    let s = 0;
    for (let c = 0; c < C; c++) {
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += f(features, c, y + dy, x + dx) * f(source, c, sy + dy, sx + dx);
    }
    return s;
  };
  const norm = (sy: number, sx: number) => {
    let s = 0;
    for (let c = 0; c < C; c++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += f(source, c, sy + dy, sx + dx) ** 2;
    return Math.sqrt(s);
  };
  const score = (y: number, x: number, sy: number, sx: number) => dot(y, x, sy, sx) / (norm(sy, sx) + eps);

  // Candidates in row-major order: scanning in that order with a strict > keeps the first of equals.
  const candidates: [number, number][] = [];
  for (let sy = 0; sy + 3 <= Hs; sy++) for (let sx = 0; sx + 3 <= Ws; sx++) if (!sourceMask || !anyIn(sourceMask, Ws, sy, sx)) candidates.push([sy, sx]);

  const PW = W - 2;
  const choices = new Int32Array((H - 2) * PW).fill(-1);
  for (let y = 0; y + 3 <= H; y++) {
    for (let x = 0; x + 3 <= W; x++) {
      if (!anyIn(mask, W, y, x)) continue;
      const scores = candidates.map(([sy, sx]) => score(y, x, sy, sx));
      const top = Math.abs(Math.max(...scores)) + 1e-6;
      const side = Math.max(H, W);
      let best = -Infinity;
      for (const [k, [sy, sx]] of candidates.entries()) {
        const s = locality > 0 ? scores[k] / top - (locality * Math.hypot(y - sy, x - sx)) / side : scores[k];
        if (s > best) {
          best = s;
          choices[y * PW + x] = sy * Ws + sx;
        }
      }
    }
  }

  const isHole = (y: number, x: number) => !mask || mask[y * W + x] !== 0;
  const swapped = Float64Array.from(features.data);
  const provenance = new Int32Array(H * W).fill(-1);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!isHole(y, x)) continue;
      const sums = new Float64Array(C);
      let count = 0;
      for (let ty = Math.max(0, y - 2); ty <= Math.min(y, H - 3); ty++) {
        for (let tx = Math.max(0, x - 2); tx <= Math.min(x, W - 3); tx++) {
          const j = choices[ty * PW + tx];
          const [sy, sx] = [Math.floor(j / Ws) + y - ty, (j % Ws) + x - tx];
          for (let c = 0; c < C; c++) sums[c] += f(source, c, sy, sx);
          count++;
        }
      }
      for (let c = 0; c < C; c++) swapped[(c * H + y) * W + x] = sums[c] / count;
      const [ty, tx] = [Math.min(Math.max(y - 1, 0), H - 3), Math.min(Math.max(x - 1, 0), W - 3)];
      const j = choices[ty * PW + tx];
      provenance[y * W + x] = j + (y - ty) * Ws + (x - tx);
    }
  }
  return { swapped, provenance, choices, score };
}
