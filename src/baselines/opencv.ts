/**
 * The classic diffusion baselines through OpenCV.js's `cv.inpaint`: Telea's fast-marching method
 * ("An Image Inpainting Technique Based on the Fast Marching Method", 2004) and the Navier-Stokes
 * method of Bertalmio, Bertozzi & Sapiro (2001). Both propagate the colours around the hole inward
 * along the boundary's structure; they fill thin scratches well and large holes with a smear.
 *
 * OpenCV works on 8-bit images: the area around the hole is rounded to 8-bit RGB, inpainted, and
 * only the hole pixels are taken back (as n / 255); known pixels keep the input's exact floats.
 * Both methods only look within `radius` of the hole, so only the hole's bounding box grown by a
 * margin beyond the radius is converted (the result is the same as on the whole image): a large
 * photo costs what its hole does.
 */
import { createRequire } from 'node:module';
import { EngineError, expect } from '../core/errors.ts';
import { type MaskImage, maskBoundingBox, type RgbImage } from '../core/image.ts';
import type { InpaintMethod } from './method.ts';

/** The two algorithms of `cv.inpaint`. */
export type OpenCvAlgorithm = 'telea' | 'navier-stokes';

export interface OpenCvInpaintOptions {
  /** The radius (px) of the neighbourhood each filled pixel is computed from: an integer, 1 to 64. Default 3. */
  radius?: number;
}

/** An OpenCV.js matrix, as far as this file uses one: its pixels and its (manual) release. */
export interface Mat {
  data: Uint8Array;
  delete(): void;
}

/** The slice of OpenCV.js this file uses. */
export interface OpenCv {
  Mat: new (...args: unknown[]) => Mat;
  CV_8UC1: number;
  CV_8UC3: number;
  INPAINT_TELEA: number;
  INPAINT_NS: number;
  inpaint(src: Mat, mask: Mat, dst: Mat, radius: number, flags: number): void;
}

let loading: Promise<OpenCv> | undefined;

/**
 * OpenCV.js, loaded on first use (it takes about a second) and then shared. The package exports
 * either a promise of the module, the ready module, or a module that calls `onRuntimeInitialized`
 * when ready, depending on its build.
 * @throws EngineError when the WebAssembly module cannot be loaded
 */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= (async () => {
    try {
      // require, not import: the package is CommonJS and its export is not a static binding.
      const exported = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv | Promise<OpenCv> | (OpenCv & { onRuntimeInitialized?: () => void });
      if (exported instanceof Promise) return await exported;
      if (typeof exported.Mat === 'function') return exported;
      return await new Promise<OpenCv>((resolve) => {
        (exported as { onRuntimeInitialized?: () => void }).onRuntimeInitialized = () => resolve(exported);
      });
    } catch (err) {
      loading = undefined;
      throw new EngineError(`cannot load OpenCV.js (@techstark/opencv-js): ${(err as Error).message}`, { cause: err });
    }
  })();
  return loading;
}

function checkRadius(options: OpenCvInpaintOptions): number {
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  const radius = options.radius ?? 3;
  expect(Number.isSafeInteger(radius) && radius >= 1 && radius <= 64, 'options.radius', 'an integer from 1 to 64', radius);
  return radius;
}

/**
 * Fills the holes of `mask` (nonzero = hole) with OpenCV's Telea or Navier-Stokes inpainting.
 * @returns a new image: known pixels bit-identical to the input's, hole pixels OpenCV's (8-bit
 *   values as n / 255)
 * @example
 * const filled = await openCvInpaint(image, mask, 'telea', { radius: 5 });
 * @throws UsageError when the image or the mask is malformed, their sizes differ, or the radius is invalid
 * @throws EngineError when OpenCV.js cannot be loaded
 */
export async function openCvInpaint(image: RgbImage, mask: MaskImage, algorithm: OpenCvAlgorithm, options: OpenCvInpaintOptions = {}): Promise<RgbImage> {
  const radius = checkRadius(options);
  expect(algorithm === 'telea' || algorithm === 'navier-stokes', 'algorithm', "'telea' or 'navier-stokes'", algorithm);
  const { width, height } = image;
  expect(Number.isSafeInteger(width) && width > 0 && Number.isSafeInteger(height) && height > 0, 'image width and height', 'positive integers', [width, height]);
  expect(image.data instanceof Float32Array && image.data.length === 3 * width * height, 'image.data', `a Float32Array of 3 * ${width} * ${height} values (planar RGB)`, image.data);
  expect(mask.width === width && mask.height === height, 'the mask size', `${width}x${height} like the image`, `${mask.width}x${mask.height}`);
  expect(mask.data instanceof Uint8Array && mask.data.length === width * height, 'mask.data', `a Uint8Array of ${width} * ${height} bytes`, mask.data);
  const out: RgbImage = { width, height, data: image.data.slice() };
  const hole = maskBoundingBox(mask);
  if (!hole) return out;

  // The radius plus a margin for the gradients both methods take at the band's pixels.
  const margin = radius + 2;
  const x0 = Math.max(0, hole.x - margin);
  const y0 = Math.max(0, hole.y - margin);
  const w = Math.min(width, hole.x + hole.width + margin) - x0;
  const h = Math.min(height, hole.y + hole.height + margin) - y0;
  const plane = width * height;
  const cv = await loadOpenCv();
  const src = new cv.Mat(h, w, cv.CV_8UC3);
  const holeMat = new cv.Mat(h, w, cv.CV_8UC1);
  const dst = new cv.Mat();
  try {
    const rgb = src.data;
    const m = holeMat.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y0 + y) * width + x0 + x;
        const k = y * w + x;
        const isHole = mask.data[i] !== 0;
        m[k] = isHole ? 255 : 0;
        // Zeroed: whatever the input holds in the hole cannot reach the result.
        for (let c = 0; c < 3; c++) rgb[3 * k + c] = isHole ? 0 : Math.round(Math.min(1, Math.max(0, image.data[c * plane + i])) * 255);
      }
    }
    cv.inpaint(src, holeMat, dst, radius, algorithm === 'telea' ? cv.INPAINT_TELEA : cv.INPAINT_NS);
    const filled = dst.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y0 + y) * width + x0 + x;
        if (!mask.data[i]) continue;
        const k = y * w + x;
        for (let c = 0; c < 3; c++) out.data[c * plane + i] = filled[3 * k + c] / 255;
      }
    }
  } finally {
    // WebAssembly memory is not garbage-collected: every Mat must be freed by hand.
    src.delete();
    holeMat.delete();
    dst.delete();
  }
  return out;
}

/**
 * An `InpaintMethod` for Telea's fast-marching inpainting ('telea').
 * @example
 * const method = teleaMethod();
 * const filled = await method.inpaint(image, mask);
 * @throws UsageError for an invalid radius
 */
export function teleaMethod(options: OpenCvInpaintOptions = {}): InpaintMethod {
  return openCvMethod('telea', options);
}

/**
 * An `InpaintMethod` for Navier-Stokes inpainting ('navier-stokes').
 * @example
 * const method = navierStokesMethod({ radius: 5 });
 * const filled = await method.inpaint(image, mask);
 * @throws UsageError for an invalid radius
 */
export function navierStokesMethod(options: OpenCvInpaintOptions = {}): InpaintMethod {
  return openCvMethod('navier-stokes', options);
}

function openCvMethod(algorithm: OpenCvAlgorithm, options: OpenCvInpaintOptions): InpaintMethod {
  const radius = checkRadius(options);
  return {
    name: algorithm,
    inpaint: (image, mask) => openCvInpaint(image, mask, algorithm, { radius }),
    // The OpenCV module is shared by every method and lives as long as the process.
    dispose: () => {},
  };
}
