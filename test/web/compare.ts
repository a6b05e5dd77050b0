/** Comparing 8-bit images channel by channel, for the browser test and bench. */

/** Largest absolute difference over every channel of every pixel, and how many bytes differ. */
export function compareRgba(a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): { max: number; differing: number } {
  if (a.length !== b.length) throw new Error(`the two images have different sizes (${a.length} and ${b.length} bytes)`);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) differing++;
    if (d > max) max = d;
  }
  return { max, differing };
}
