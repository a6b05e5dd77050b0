/**
 * Separable blurs of one image plane, in place, their windows clipped at the plane's edges: three
 * box passes (close to a Gaussian), and the [1 2 1] kernel as the finest. Shared by the fill's
 * band work and seam (inference) and by the texture metric.
 */

/** Box mean of radius r along each row, windows clipped at the edges (the sum is still divided by 2r + 1). */
function boxRows(plane: Float32Array, width: number, height: number, r: number, line: Float32Array): void {
  const scale = 1 / (2 * r + 1);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    line.set(plane.subarray(base, base + width));
    let sum = 0;
    for (let k = 0; k <= Math.min(r, width - 1); k++) sum += line[k];
    for (let k = 0; k < width; k++) {
      plane[base + k] = sum * scale;
      if (k + r + 1 < width) sum += line[k + r + 1];
      if (k - r >= 0) sum -= line[k - r];
    }
  }
}

/**
 * The same down each column, a whole row at a time (cache-friendly). The rows the window leaves
 * have been overwritten by then: the last r + 1 of them are kept in `ring` ((r + 1) x width), not
 * a copy of the plane (fresh memory costs its page faults, more than the sums here).
 */
function boxColumns(plane: Float32Array, width: number, height: number, r: number, ring: Float32Array, sum: Float32Array): void {
  const scale = 1 / (2 * r + 1);
  sum.fill(0);
  for (let y = 0; y <= Math.min(r, height - 1); y++) for (let x = 0, o = y * width; x < width; x++) sum[x] += plane[o + x];
  for (let y = 0; y < height; y++) {
    const o = y * width;
    ring.set(plane.subarray(o, o + width), (y % (r + 1)) * width);
    for (let x = 0; x < width; x++) plane[o + x] = sum[x] * scale;
    if (y + r + 1 < height) for (let x = 0, q = (y + r + 1) * width; x < width; x++) sum[x] += plane[q + x];
    if (y - r >= 0) for (let x = 0, q = ((y - r) % (r + 1)) * width; x < width; x++) sum[x] -= ring[q + x];
  }
}

/** One pass of the [1 2 1] / 4 kernel each way, in place, windows clipped at the edges (the sum is still divided by 4). */
function binomial(plane: Float32Array, width: number, height: number): void {
  const line = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    line.set(plane.subarray(base, base + width));
    for (let x = 0; x < width; x++) plane[base + x] = (2 * line[x] + (x > 0 ? line[x - 1] : 0) + (x + 1 < width ? line[x + 1] : 0)) / 4;
  }
  // The row above, before it was overwritten: two lines, not a copy of the plane.
  let [above, current] = [new Float32Array(width), line];
  for (let y = 0; y < height; y++) {
    const base = y * width;
    current.set(plane.subarray(base, base + width));
    for (let x = 0, i = base; x < width; x++, i++) {
      plane[i] = (2 * current[x] + (y > 0 ? above[x] : 0) + (y + 1 < height ? plane[i + width] : 0)) / 4;
    }
    [above, current] = [current, above];
  }
}

/**
 * Three box passes each way, in place: close to a Gaussian of sigma sqrt(r (r + 1)). Radius 0 is
 * the finest blur, one pass of [1 2 1] / 4 each way (sigma 0.71): it takes out the checkerboard and
 * passes 4-pixel waves at half strength (a box of radius 1 would turn the checkerboard over).
 */
export function smooth(plane: Float32Array, width: number, height: number, r: number): void {
  if (r === 0) return binomial(plane, width, height);
  const [line, ring, sum] = [new Float32Array(width), new Float32Array((r + 1) * width), new Float32Array(width)];
  for (let pass = 0; pass < 3; pass++) {
    boxRows(plane, width, height, r, line);
    boxColumns(plane, width, height, r, ring, sum);
  }
}

/**
 * `smooth` of a plane of ones: how much of each pixel's window lies inside the plane (the box
 * passes' windows are clipped at its edges). Dividing a blur by it keeps a constant that constant
 * up to the edges.
 */
export function smoothedOnes(width: number, height: number, r: number): Float32Array {
  const norm = new Float32Array(width * height).fill(1);
  smooth(norm, width, height, r);
  return norm;
}
