/**
 * The browser side of the harness (harness.ts bundles it with esbuild): a module Web Worker that
 * uses `src/web.ts` as a page would, with no DOM. Requests: load, inpaint (the photo and the mask
 * fetched from the harness's server by id), dispose. Replies carry timings; images come back as
 * base64 RGBA.
 */
import { imageToRgba, type Inpainter, type InpaintOptions, load, type WebLoadOptions } from '../../src/web.ts';

/** The worker's global scope (typed here: the project compiles without the DOM lib). */
const scope = globalThis as unknown as {
  onmessage: ((event: { data: Request }) => void) | null;
  postMessage(message: unknown): void;
  crossOriginIsolated?: boolean;
};

interface Request {
  id: number;
  op: 'load' | 'inpaint' | 'dispose';
  options?: WebLoadOptions | InpaintOptions;
  /**
   * For inpaint: raw RGBA photo at /input/<image> and a one-byte-a-pixel mask at /input/<mask>; with
   * `encoded`, both are image files (PNG, JPEG...) handed to inpaint() as bytes.
   */
  encoded?: boolean;
  image?: string;
  mask?: string;
  width?: number;
  height?: number;
}

let inpainter: Inpainter | undefined;

async function bytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function base64(data: Uint8ClampedArray): string {
  let s = '';
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(s);
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'load': {
      const t0 = performance.now();
      const { tamper, ...options } = req.options as WebLoadOptions & { tamper?: string };
      // `tamper`: a file whose last byte arrives changed, as from a corrupt cache or a bad mirror.
      const fetchBytes = async (url: string) => {
        const body = await bytes(url);
        if (tamper && url.endsWith(`/${tamper}`)) body[body.length - 1] ^= 1;
        return body;
      };
      inpainter = await load(tamper ? { ...options, fetchBytes } : options);
      return { seconds: (performance.now() - t0) / 1000, notices: inpainter.notices, crossOriginIsolated: scope.crossOriginIsolated, cores: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency };
    }
    case 'inpaint': {
      if (!inpainter) throw new Error('load first');
      const { width = 0, height = 0 } = req;
      const [rgba, hole] = await Promise.all([bytes(`/input/${req.image}`), bytes(`/input/${req.mask}`)]);
      const t0 = performance.now();
      const { image, notices } = req.encoded
        ? await inpainter.inpaint(rgba, hole, req.options as InpaintOptions)
        : await inpainter.inpaint({ data: rgba, width, height, channels: 4 }, { width, height, data: hole }, req.options as InpaintOptions);
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, notices, rgba: base64(imageToRgba(image)) };
    }
    case 'dispose':
      await inpainter?.dispose();
      inpainter = undefined;
      return null;
  }
}

scope.onmessage = (event) => {
  const req = event.data;
  handle(req).then(
    (value) => scope.postMessage({ id: req.id, ok: true, value }),
    (err: unknown) => scope.postMessage({ id: req.id, ok: false, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
};
scope.postMessage({ ready: true });
