/**
 * Images and masks in memory and their pixel helpers, free of any platform: the part of image
 * handling the browser build shares with Node (`core/image.ts` adds decoding and encoding through
 * sharp, and files; `web.ts` decodes through the browser's own image decoders).
 *
 * An `RgbImage` is planar CHW float RGB in [0, 1] — the layout the networks take — so handing one
 * to a tensor needs no reshuffle. A `MaskImage` is one byte a pixel, 1 = hole (to be filled),
 * 0 = known. A decoder only turns bytes into `DecodedPixels`; `imageFromPixels` and `maskFromPixels`
 * apply the same rules to them on every platform, and everything that must be exact about geometry
 * (resampling, mask resizing, dilation) is plain TypeScript.
 */
import { expect, UsageError } from './errors.ts';

/** Planar (CHW) RGB: `data[c * height * width + y * width + x]`, values in [0, 1]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** One byte a pixel, row-major: 1 = hole, 0 = known. */
export interface MaskImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An axis-aligned pixel rectangle: columns x..x+width-1, rows y..y+height-1. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Decoded 8-bit pixels already in memory (e.g. a canvas's ImageData), interleaved RGB or RGBA. */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** A file path, encoded bytes (JPEG, PNG, WebP, TIFF, GIF, AVIF or HEIC), or raw pixels. */
export type ImageSource = string | Uint8Array | RawPixels;

export interface ReadOptions {
  /**
   * Refuse images with more pixels than this, before decoding them. Default `DEFAULT_MAX_PIXELS`;
   * `--max-pixels` on the command line.
   */
  maxPixels?: number;
  /**
   * Told about conversions made silently otherwise: an animated image (only the first frame is
   * read), a 16-bit image (written back with 8 bits), a mask with grey pixels (thresholded at 50%).
   */
  onNotice?: (message: string) => void;
  /**
   * Read an RGB photo's pixels as they are stored, in the colour space of its ICC profile (an
   * iPhone's Display P3, a camera's Adobe RGB), instead of converting them to sRGB, which clips what
   * sRGB cannot show. A copy written with the profile (`readMetadata` with this option gives it) then
   * has every pixel outside the hole as the photo has it. Greyscale and CMYK photos are converted
   * all the same. Node only: the browser's decoder gives sRGB.
   */
  keepProfile?: boolean;
}

/** A photo and, when it has one that is not fully opaque, its alpha channel. */
export interface ImageWithAlpha {
  image: RgbImage;
  /** One value a pixel in [0, 1] (0 = fully transparent), row-major; absent when the image is opaque. */
  alpha?: Float32Array;
}

/** The formats images are written in. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff';
export type ResizeKernel = 'bilinear' | 'lanczos';

/** 100 megapixels: far above most photos we inpaint, far below what would exhaust memory as float. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * Interleaved pixels straight from a decoder (sharp, a canvas, or raw pixels the caller gave):
 * 3 (RGB) or 4 (RGBA) channels, values 0..max.
 */
export interface DecodedPixels {
  width: number;
  height: number;
  channels: number;
  data: ArrayLike<number>;
  max: number;
}

/** How a source is named in messages. */
export function describeSource(source: ImageSource): string {
  if (typeof source === 'string') return source;
  return source instanceof Uint8Array ? `image buffer (${source.byteLength} bytes)` : `raw pixels (${source.width}x${source.height})`;
}

/** True when `source` is raw pixels, not a path, a URL or encoded bytes. */
export function isRawPixels(source: ImageSource): source is RawPixels {
  return typeof source !== 'string' && !(source instanceof Uint8Array);
}

/**
 * Raw pixels given by the caller, checked.
 * @throws UsageError when the sizes or the data length are wrong
 */
export function decodeRawPixels(source: RawPixels): DecodedPixels {
  const { data, width, height, channels } = source;
  expect(Number.isInteger(width) && width > 0, 'raw pixels width', 'a positive integer', width);
  expect(Number.isInteger(height) && height > 0, 'raw pixels height', 'a positive integer', height);
  expect(channels === 3 || channels === 4, 'raw pixels channels', '3 or 4', channels);
  expect(data.length === width * height * channels, 'raw pixels data', `${width * height * channels} bytes (width*height*channels)`, data);
  return { width, height, channels, data, max: 255 };
}

/**
 * A photo from decoded pixels: planar float RGB in [0, 1], plus the alpha channel when there is one
 * that is not fully opaque everywhere (an opaque alpha is dropped: it says nothing).
 */
export function imageFromPixels(decoded: DecodedPixels): ImageWithAlpha {
  const { width, height, channels, data, max } = decoded;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    const p = i * channels;
    out[i] = data[p] / max;
    out[plane + i] = data[p + 1] / max;
    out[2 * plane + i] = data[p + 2] / max;
  }
  const image = { width, height, data: out };
  if (channels !== 4) return { image };
  let opaque = true;
  const alpha = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    const a = data[4 * i + 3];
    if (a !== max) opaque = false;
    alpha[i] = a / max;
  }
  return opaque ? { image } : { image, alpha };
}

/**
 * The hole grown by the fully transparent pixels (alpha 0) of the photo: their colour is whatever
 * the editor stored (usually black), not content to fill from, so they are filled too. A caller
 * that keeps the alpha for the output (`writeImage(path, image, { alpha })`) keeps them transparent.
 * @returns the mask (the same object when nothing was added) and how many pixels were added
 * @throws UsageError alpha of another size than the mask
 */
export function withTransparentAsHole(hole: MaskImage, alpha: Float32Array): { mask: MaskImage; added: number } {
  expect(alpha instanceof Float32Array && alpha.length === hole.width * hole.height, 'alpha', `a Float32Array of ${hole.width}*${hole.height}`, alpha);
  let data: Uint8Array | undefined;
  let added = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (alpha[i] !== 0 || hole.data[i]) continue;
    data ??= hole.data.slice();
    data[i] = 1;
    added++;
  }
  return { mask: data ? { ...hole, data } : hole, added };
}

/**
 * The alpha a filled image keeps: the photo's, except where the user's `mask` asked for a fill,
 * which becomes opaque (a hole painted over a transparent part is filled with content the user
 * wants to see; transparent pixels outside it stay transparent). A mask of another size is
 * resized as the fill resizes it (`resizeMask`).
 */
export function opaqueWhereFilled(alpha: Float32Array, mask: MaskImage, width: number, height: number): Float32Array {
  expect(alpha instanceof Float32Array && alpha.length === width * height, 'alpha', `a Float32Array of ${width}*${height}`, alpha);
  const m = mask.width === width && mask.height === height ? mask : resizeMask(mask, width, height);
  let out: Float32Array | undefined;
  for (let i = 0; i < alpha.length; i++) {
    if (!m.data[i] || alpha[i] === 1) continue;
    out ??= alpha.slice();
    out[i] = 1;
  }
  return out ?? alpha;
}

/**
 * The hole an image's own transparency marks, for a photo whose unwanted part was erased in an image
 * editor (as GIMP's "Heal transparency" takes it): where alpha is below one half.
 */
export function transparentHole(alpha: Float32Array, width: number, height: number): { mask: MaskImage; count: number } {
  expect(alpha instanceof Float32Array && alpha.length === width * height, 'alpha', `a Float32Array of ${width}*${height}`, alpha);
  const data = new Uint8Array(alpha.length);
  let count = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (alpha[i] < 0.5) {
      data[i] = 1;
      count++;
    }
  }
  return { mask: { width, height, data }, count };
}

/**
 * A mask from decoded pixels of any image (`readMask` in Node). The rule, per pixel:
 * - If the image has an alpha channel that is transparent (alpha <= 0.5) somewhere, and its opaque
 *   pixels all have the same colour (each channel within 0.1), the alpha is the mask: hole where
 *   alpha > 0.5. This is a mask painted with one brush colour on a transparent layer; the colour of
 *   transparent pixels is ignored because editors store it as anything (black or white).
 * - Otherwise hole where the luminance (Rec. 709 weights) is > 0.5: white (or light) on black.
 * `source` names the mask in the notice about grey pixels.
 */
export function maskFromPixels(decoded: DecodedPixels, source: ImageSource, options: ReadOptions = {}): MaskImage {
  const { width, height, channels, data, max } = decoded;
  const n = width * height;
  const out = new Uint8Array(n);
  let grey = 0;
  const byAlpha = channels === 4 && alphaIsTheMask(data, n, max);
  if (byAlpha) {
    for (let i = 0; i < n; i++) {
      const a = data[4 * i + 3];
      out[i] = 2 * a > max ? 1 : 0;
      if (a !== 0 && a !== max) grey++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = i * channels;
      const lum = 0.2126 * data[p] + 0.7152 * data[p + 1] + 0.0722 * data[p + 2];
      out[i] = 2 * lum > max ? 1 : 0;
      const black = data[p] === 0 && data[p + 1] === 0 && data[p + 2] === 0;
      if (!black && !(data[p] === max && data[p + 1] === max && data[p + 2] === max)) grey++;
    }
  }
  if (grey > 0) {
    const what = byAlpha ? 'partly transparent pixels: those more than 50% opaque' : 'grey pixels (neither black nor white): those lighter than 50%';
    options.onNotice?.(`the mask ${describeSource(source)} has ${grey} ${what} are taken as hole`);
  }
  return { width, height, data: out };
}

function alphaIsTheMask(rgba: ArrayLike<number>, n: number, max: number): boolean {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  let transparent = false;
  for (let i = 0; i < n; i++) {
    if (2 * rgba[4 * i + 3] <= max) {
      transparent = true;
      continue;
    }
    for (let c = 0; c < 3; c++) {
      const v = rgba[4 * i + c];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
  }
  // With no opaque pixel at all the loops leave hi < lo: uniform, and the mask is empty.
  return transparent && [0, 1, 2].every((c) => hi[c] - lo[c] <= 0.1 * max);
}

/** Interleaved 8-bit RGBA (alpha 255), rounded and clamped: the layout of canvas ImageData. */
export function toRgba8(img: RgbImage): Uint8ClampedArray {
  const plane = img.width * img.height;
  const out = new Uint8ClampedArray(4 * plane);
  for (let i = 0; i < plane; i++) {
    // Uint8ClampedArray rounds half to even and clamps, which is what we want here.
    out[4 * i] = img.data[i] * 255;
    out[4 * i + 1] = img.data[plane + i] * 255;
    out[4 * i + 2] = img.data[2 * plane + i] * 255;
    out[4 * i + 3] = 255;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

function checkSize(width: number, height: number, name: string): void {
  expect(Number.isInteger(width) && width > 0, `${name}.width`, 'a positive integer', width);
  expect(Number.isInteger(height) && height > 0, `${name}.height`, 'a positive integer', height);
}

/** @throws UsageError a malformed image */
export function checkImage(img: RgbImage, name: string): void {
  checkSize(img.width, img.height, name);
  expect(img.data instanceof Float32Array && img.data.length === 3 * img.width * img.height, `${name}.data`, `a Float32Array of 3*${img.width}*${img.height}`, img.data);
}

/** @throws UsageError a malformed mask */
export function checkMask(mask: MaskImage, name: string): void {
  checkSize(mask.width, mask.height, name);
  expect(mask.data instanceof Uint8Array && mask.data.length === mask.width * mask.height, `${name}.data`, `a Uint8Array of ${mask.width}*${mask.height}`, mask.data);
}

function checkBoxInside(box: Box, width: number, height: number, name: string): void {
  const { x, y, width: w, height: h } = box;
  const ok = [x, y, w, h].every(Number.isInteger) && x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height;
  expect(ok, name, `a non-empty integer box inside ${width}x${height}`, `{x: ${x}, y: ${y}, width: ${w}, height: ${h}}`);
}

// ---------------------------------------------------------------------------------------------
// Geometry

const KERNELS: Record<ResizeKernel, { support: number; weight: (x: number) => number }> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  lanczos: {
    support: 3,
    weight: (x) => {
      if (x === 0) return 1;
      if (Math.abs(x) >= 3) return 0;
      const px = Math.PI * x;
      return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
    },
  },
};

/** Per output index: the first input index, how many taps, and their normalised weights. */
function resampleTaps(inSize: number, outSize: number, kernel: ResizeKernel) {
  const { support, weight } = KERNELS[kernel];
  const scale = inSize / outSize;
  // When shrinking, stretch the kernel over the input so it also low-passes (no aliasing).
  const stretch = Math.max(scale, 1);
  const reach = support * stretch;
  const stride = Math.ceil(2 * reach) + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    // Pixel centres at i + 0.5 in both grids: corners align, nothing shifts.
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - reach + 0.5));
    const hi = Math.min(inSize, Math.floor(centre + reach + 0.5));
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const wgt = weight((i + 0.5 - centre) / stretch);
      weights[o * stride + i - lo] = wgt;
      sum += wgt;
    }
    for (let k = 0; k < hi - lo; k++) weights[o * stride + k] /= sum;
    first[o] = lo;
    count[o] = hi - lo;
  }
  return { first, count, weights, stride };
}

/**
 * Resizes with a separable bilinear (triangle) or Lanczos-3 filter, antialiased when shrinking and
 * with pixel centres aligned (as PIL does), in float. Done here rather than in sharp because libvips
 * shifts enlarged images by half a pixel, which would misalign them with `resizeMask`'s masks.
 * Lanczos overshoot is clamped to [0, 1].
 * @param window only this part of the resized image, computed as the whole one would be (default
 *   all of it): a large enlargement whose caller needs a part of it costs that part
 * @throws UsageError bad sizes or a malformed image
 */
export function resizeImage(img: RgbImage, width: number, height: number, kernel: ResizeKernel = 'bilinear', window?: Box): RgbImage {
  checkImage(img, 'img');
  checkSize(width, height, 'resize');
  expect(Object.hasOwn(KERNELS, kernel), 'kernel', "'bilinear' or 'lanczos'", kernel);
  const win = window ?? { x: 0, y: 0, width, height };
  checkBoxInside(win, width, height, 'window');
  const { width: w0, height: h0, data } = img;
  const tx = resampleTaps(w0, width, kernel);
  const ty = resampleTaps(h0, height, kernel);
  // The input rows the window's output rows read (the taps move monotonically).
  const r0 = ty.first[win.y];
  const rows = ty.first[win.y + win.height - 1] + ty.count[win.y + win.height - 1] - r0;
  const w = win.width;
  // Horizontal pass into those rows at the window's columns, then vertical.
  const mid = new Float32Array(3 * rows * w);
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < rows; r++) {
      const src = (c * h0 + r0 + r) * w0;
      const dst = (c * rows + r) * w;
      for (let o = 0; o < w; o++) {
        const ox = win.x + o;
        const base = src + tx.first[ox];
        const taps = ox * tx.stride;
        const n = tx.count[ox];
        let acc = 0;
        for (let k = 0; k < n; k++) acc += tx.weights[taps + k] * data[base + k];
        mid[dst + o] = acc;
      }
    }
  }
  // Each output pixel's taps in one sum, rounded to float32 at each step as a Float32Array would:
  // the same bits as summing row by row into the output, in one pass over it.
  const out = new Float32Array(3 * win.height * w);
  for (let c = 0; c < 3; c++) {
    for (let o = 0; o < win.height; o++) {
      const oy = win.y + o;
      const src = (c * rows + ty.first[oy] - r0) * w;
      const dst = (c * win.height + o) * w;
      const taps = oy * ty.stride;
      const n = ty.count[oy];
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc = Math.fround(acc + ty.weights[taps + k] * mid[src + k * w + x]);
        out[dst + x] = Math.min(1, Math.max(0, acc));
      }
    }
  }
  return { width: w, height: win.height, data: out };
}

/**
 * Resizes a mask conservatively: an output pixel is a hole when the source area it covers holds any
 * hole pixel, so shrinking never loses a thin stroke; enlarging by an integer factor is exactly
 * nearest-neighbour.
 * @throws UsageError bad sizes or a malformed mask
 */
export function resizeMask(mask: MaskImage, width: number, height: number): MaskImage {
  checkMask(mask, 'mask');
  checkSize(width, height, 'resize');
  const { width: w0, height: h0, data } = mask;
  // Source span [lo, hi) covered by output index o; integer arithmetic keeps the bounds exact.
  const span = (o: number, inSize: number, outSize: number): [number, number] => {
    const lo = Math.floor((o * inSize) / outSize);
    return [lo, Math.max(lo + 1, Math.ceil(((o + 1) * inSize) / outSize))];
  };
  const cols = new Uint8Array(h0 * width);
  for (let x = 0; x < width; x++) {
    const [lo, hi] = span(x, w0, width);
    for (let y = 0; y < h0; y++) {
      for (let s = lo; s < hi; s++) {
        if (data[y * w0 + s]) {
          cols[y * width + x] = 1;
          break;
        }
      }
    }
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const [lo, hi] = span(y, h0, height);
    for (let s = lo; s < hi; s++) {
      for (let x = 0; x < width; x++) out[y * width + x] |= cols[s * width + x];
    }
  }
  return { width, height, data: out };
}

/**
 * Grows the hole by `radius` pixels: with a disc (x² + y² <= r²) or a square structuring element.
 * Only the hole's bounding box grown by the radius is worked on, in time in proportion to its
 * pixels whatever the radius: the square as two running windows (rows, then columns); the disc
 * from each pixel's squared distance to the nearest hole pixel (Felzenszwalb and Huttenlocher's
 * exact distance transform: a row pass, then a column pass of lower envelopes of parabolas), with
 * distances past the radius capped, as only r² matters.
 * @throws UsageError radius not a non-negative integer, or a malformed mask
 */
export function dilateMask(mask: MaskImage, radius: number, shape: 'disc' | 'square' = 'disc'): MaskImage {
  checkMask(mask, 'mask');
  expect(Number.isInteger(radius) && radius >= 0, 'radius', 'a non-negative integer', radius);
  expect(shape === 'disc' || shape === 'square', 'shape', "'disc' or 'square'", shape);
  const { width, height } = mask;
  const empty: MaskImage = { width, height, data: new Uint8Array(width * height) };
  const box = maskBoundingBox(mask);
  if (!box) return empty;
  const x = Math.max(0, box.x - radius);
  const y = Math.max(0, box.y - radius);
  const region = { x, y, width: Math.min(width, box.x + box.width + radius) - x, height: Math.min(height, box.y + box.height + radius) - y };
  return pasteImage(empty, dilateWhole(region.x === 0 && region.y === 0 && region.width === width && region.height === height ? mask : cropImage(mask, region), radius, shape), x, y);
}

/** `dilateMask` over the whole of `mask`. */
function dilateWhole(mask: MaskImage, radius: number, shape: 'disc' | 'square'): MaskImage {
  const { width: w, height: h, data } = mask;
  const out = new Uint8Array(w * h);
  if (shape === 'square') {
    // Rows: a pixel is set where its row holds a hole pixel within the radius; then the same down
    // the columns of that.
    const rows = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) nearWithin(data, y * w, 1, w, radius, rows);
    for (let x = 0; x < w; x++) nearWithin(rows, x, w, h, radius, out);
    return { width: w, height: h, data: out };
  }
  const cap = radius * radius + 1;
  // Per pixel, the squared distance along its row to the nearest hole pixel, capped.
  const f = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let last = -Infinity;
    for (let x = 0; x < w; x++) {
      if (data[row + x]) last = x;
      f[row + x] = Math.min(cap, (x - last) ** 2);
    }
    last = Infinity;
    for (let x = w - 1; x >= 0; x--) {
      if (data[row + x]) last = x;
      f[row + x] = Math.min(f[row + x], (last - x) ** 2);
    }
  }
  // Down each column, the lower envelope of the parabolas (y - q)² + f(q).
  const column = new Float64Array(h);
  const v = new Int32Array(h);
  const z = new Float64Array(h + 1);
  const r2 = radius * radius;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) column[y] = f[y * w + x];
    let k = 0;
    v[0] = 0;
    z[0] = -Infinity;
    z[1] = Infinity;
    // Where parabola q meets the envelope's parabola p (finite: the capped distances are).
    const meet = (q: number, p: number): number => (column[q] + q * q - (column[p] + p * p)) / (2 * (q - p));
    for (let q = 1; q < h; q++) {
      // z[0] is -Infinity, so k stays at 0 or more.
      let s = meet(q, v[k]);
      while (s <= z[k]) s = meet(q, v[--k]);
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    k = 0;
    for (let y = 0; y < h; y++) {
      while (z[k + 1] < y) k++;
      const p = v[k];
      if ((y - p) ** 2 + column[p] <= r2) out[y * w + x] = 1;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Along one line of `src` (`count` pixels from `start`, `step` apart), sets in `dst` each pixel with
 * a nonzero pixel of the line within `radius` of it.
 */
function nearWithin(src: Uint8Array, start: number, step: number, count: number, radius: number, dst: Uint8Array): void {
  let last = -Infinity;
  for (let i = 0; i < count; i++) {
    if (src[start + i * step]) last = i;
    if (i - last <= radius) dst[start + i * step] = 1;
  }
  last = Infinity;
  for (let i = count - 1; i >= 0; i--) {
    if (src[start + i * step]) last = i;
    if (last - i <= radius) dst[start + i * step] = 1;
  }
}

/** The smallest box holding every hole pixel, or null when the mask has no hole. */
export function maskBoundingBox(mask: MaskImage): Box | null {
  const { width: w, height: h, data } = mask;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!data[y * w + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The fraction of pixels that are holes, in [0, 1]. */
export function holeFraction(mask: MaskImage): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n / mask.data.length;
}

/**
 * How far apart a grey pixel's channels may be: a level of 8 bits and a half, for an encoder that
 * leaves a trace of chroma in a black-and-white photo saved as colour.
 */
const GREY_TOLERANCE = 1.5 / 255;

/**
 * Whether `img` is a black-and-white photo: every pixel outside `hole` (all of them without one)
 * has its three channels within `GREY_TOLERANCE` of each other. A greyscale file is read with
 * three equal channels, and so is a black-and-white photo saved as colour.
 */
export function isGrey(img: RgbImage, hole?: MaskImage): boolean {
  const plane = img.width * img.height;
  const { data } = img;
  for (let i = 0; i < plane; i++) {
    if (hole?.data[i]) continue;
    const [r, g, b] = [data[i], data[plane + i], data[2 * plane + i]];
    if (Math.abs(r - g) > GREY_TOLERANCE || Math.abs(g - b) > GREY_TOLERANCE || Math.abs(r - b) > GREY_TOLERANCE) return false;
  }
  return true;
}

/** Each pixel of `img` inside `mask` and `box` made grey, in place: its three channels set to their mean. */
export function greyInside(img: RgbImage, mask: MaskImage, box: Box): void {
  const plane = img.width * img.height;
  const { data } = img;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let i = y * img.width + box.x, end = i + box.width; i < end; i++) {
      if (!mask.data[i]) continue;
      data[i] = data[plane + i] = data[2 * plane + i] = (data[i] + data[plane + i] + data[2 * plane + i]) / 3;
    }
  }
}

type Planar = RgbImage | MaskImage;

function planesOf(img: Planar): number {
  return img.data.length / (img.width * img.height);
}

/**
 * Copies out a box of an image or a mask (same type back), e.g. the region around a hole.
 * @throws UsageError the box is not inside the image
 */
export function cropImage<T extends Planar>(img: T, box: Box): T {
  checkBoxInside(box, img.width, img.height, 'box');
  const planes = planesOf(img);
  const out = img.data.slice(0, planes * box.width * box.height) as T['data'];
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < box.height; y++) {
      const src = (p * img.height + box.y + y) * img.width + box.x;
      out.set(img.data.subarray(src, src + box.width), (p * box.height + y) * box.width);
    }
  }
  return { ...img, width: box.width, height: box.height, data: out };
}

/**
 * A copy of `dst` with `src` pasted at (x, y): the inverse of `cropImage`. Works on images or masks.
 * @throws UsageError `src` does not fit inside `dst` there, or the two differ in channels
 */
export function pasteImage<T extends Planar>(dst: T, src: T, x: number, y: number): T {
  checkBoxInside({ x, y, width: src.width, height: src.height }, dst.width, dst.height, 'paste position');
  const planes = planesOf(dst);
  expect(planesOf(src) === planes, 'src', `${planes} channel(s) like dst`, `${planesOf(src)} channel(s)`);
  const out = dst.data.slice() as T['data'];
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < src.height; r++) {
      const from = (p * src.height + r) * src.width;
      out.set(src.data.subarray(from, from + src.width), (p * dst.height + y + r) * dst.width + x);
    }
  }
  return { ...dst, data: out };
}

/**
 * One of the 8 orientations of the square's symmetry group: transpose (swap rows and columns)
 * first when `transpose`, then mirror left-right when `flipX`, then top-bottom when `flipY`.
 */
export interface Orientation {
  transpose: boolean;
  flipX: boolean;
  flipY: boolean;
}

/**
 * An image or a mask seen in orientation `o` (same type back; a transposed image has its width and
 * height swapped), or with `inverse`, the image that seen in `o` gives `img`.
 * @example
 * const back = orientImage(orientImage(mask, o), o, true); // equal to mask
 */
export function orientImage<T extends Planar>(img: T, o: Orientation, inverse = false): T {
  const planes = planesOf(img);
  // The oriented picture's size; pixel (x, y) of it is pixel (sx, sy) of the original.
  const [srcW, srcH] = inverse ? (o.transpose ? [img.height, img.width] : [img.width, img.height]) : [img.width, img.height];
  const [w, h] = o.transpose ? [srcH, srcW] : [srcW, srcH];
  const out = img.data.slice() as T['data'];
  for (let y = 0; y < h; y++) {
    const ty = o.flipY ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const tx = o.flipX ? w - 1 - x : x;
      const sx = o.transpose ? ty : tx;
      const sy = o.transpose ? tx : ty;
      for (let p = 0; p < planes; p++) {
        const oriented = (p * h + y) * w + x;
        const original = (p * srcH + sy) * srcW + sx;
        if (inverse) out[original] = img.data[oriented];
        else out[oriented] = img.data[original];
      }
    }
  }
  return { ...img, width: inverse ? srcW : w, height: inverse ? srcH : h, data: out };
}
