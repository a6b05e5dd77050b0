/**
 * HEIC photos (an iPhone's) in a browser that cannot decode them (Chromium, Firefox): libheif,
 * compiled to WebAssembly, imported from the page's own folder (`heic/libheif.mjs`, served by
 * `inpaint serve` and copied by `npm run build:web`) the first time one is opened, so a page that
 * never sees a HEIC never fetches its 2 MB. libheif gives the pixels in the photo's colour space
 * (an iPhone's is Display P3); the browser converts them to sRGB from a PNG that carries the
 * photo's ICC profile, as Node's reader has sharp do.
 */
import { deflate, pngWithProfile } from '../src/core/bytes.ts';
import { heifIcc } from '../src/core/heif.ts';

/** The part of libheif-js's module the page uses. */
interface LibHeif {
  ready?: Promise<unknown>;
  HeifDecoder: new () => {
    decode(bytes: Uint8Array): HeifImage[];
    decoder: { delete(): void };
  };
}
interface HeifImage {
  get_width(): number;
  get_height(): number;
  display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (result: { data: Uint8ClampedArray } | null) => void): void;
  free(): void;
}

/** Whether `bytes` start like a HEIF file (an ISO box 'ftyp' with a HEIC brand). */
export function isHeic(bytes: Uint8Array): boolean {
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return text(4) === 'ftyp' && ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(text(8));
}

let module: Promise<LibHeif> | undefined;

/**
 * The first image of a HEIC file, its rotation and mirroring applied, as a bitmap in sRGB; with a
 * colour profile, also `asStored`: a PNG of the pixels as stored, carrying that profile, which the
 * browser decodes (the device fills it in the photo's own colour space).
 * @throws Error when the decoder cannot be fetched or the file does not decode
 */
export async function decodeHeic(blob: Blob): Promise<{ bitmap: ImageBitmap; asStored?: Blob }> {
  const url = new URL('heic/libheif.mjs', document.baseURI).href;
  module ??= import(/* @vite-ignore */ url).then((m: { default: () => LibHeif }) => m.default());
  const libheif = await module.catch((err: unknown) => {
    module = undefined; // a later photo tries again
    throw err;
  });
  await libheif.ready;
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const decoder = new libheif.HeifDecoder();
  const images = decoder.decode(bytes);
  try {
    if (images.length === 0) throw new Error('no image in the file');
    const image = images[0];
    const [width, height] = [image.get_width(), image.get_height()];
    const data = await new Promise<Uint8ClampedArray>((resolve, reject) =>
      image.display({ data: new Uint8ClampedArray(width * height * 4), width, height }, (r) => (r ? resolve(r.data) : reject(new Error('the image did not decode')))),
    );
    const pixels = new ImageData(data as Uint8ClampedArray<ArrayBuffer>, width, height);
    const icc = heifIcc(bytes);
    if (!icc) return { bitmap: await createImageBitmap(pixels) };
    const asStored = await pngWithIcc(pixels, icc);
    return { bitmap: await createImageBitmap(asStored), asStored };
  } finally {
    for (const image of images) image.free();
    decoder.decoder.delete();
  }
}

/** `pixels` as a PNG that carries `icc`, for the browser to convert to sRGB as it decodes it. */
export async function pngWithIcc(pixels: ImageData, icc: Uint8Array): Promise<Blob> {
  const canvas = new OffscreenCanvas(pixels.width, pixels.height);
  canvas.getContext('2d')!.putImageData(pixels, 0, 0);
  const png = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
  return new Blob([pngWithProfile(png, await deflate(icc))], { type: 'image/png' });
}
