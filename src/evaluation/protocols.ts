/**
 * Evaluation protocols: at which size an image is scored and which holes it gets. An image is
 * prepared the same way for every protocol of its size (resize the short side, centre crop), and
 * its mask is seeded by (seed, protocol, image index) alone and saved, so every method and every
 * later run sees the very same inputs.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, InputError, UsageError } from '../core/errors.ts';
import { cropImage, type MaskImage, readMask, resizeImage, type RgbImage, writeMask } from '../core/image.ts';
import { Rng } from '../core/random.ts';
import { makeMask, type MaskKind } from '../data/masks.ts';

export interface Protocol {
  /** Width and height of the square images scored. */
  size: number;
  /** The mask kinds (see data/masks.ts); image i gets `maskKinds[i % maskKinds.length]`. */
  maskKinds: readonly MaskKind[];
  /** One line for reports. */
  description: string;
}

/**
 * The protocols. centre-256 and centre-512 are the paper's settings (a 128 hole at 256, a 224 hole
 * at 512); centre-1024 a large photo's large region, with the paper's hole to photo ratio at 512
 * (smaller photos enlarged to it); the others test holes the paper's network was not built around:
 * edge-256 and border-256 holes against the frame, which a diffusion can only carry straight on.
 * Strokes cycle through the thin, medium and thick families so that each is a third of the images.
 */
export const PROTOCOLS = {
  'centre-512': { size: 512, maskKinds: ['centre'], description: '512x512, centre 224x224 hole (the paper\'s high-resolution setting)' },
  'centre-256': { size: 256, maskKinds: ['centre'], description: '256x256, centre 128x128 hole (the paper\'s setting)' },
  'rectangles-256': { size: 256, maskKinds: ['rectangles'], description: '256x256, 1 to 4 random rectangles with sides 32 to 128' },
  'strokes-256': { size: 256, maskKinds: ['strokes-thin', 'strokes-medium', 'strokes-thick'], description: '256x256, free-form brush strokes (thin, medium, thick in turn)' },
  'centre-1024': { size: 1024, maskKinds: ['centre'], description: '1024x1024, centre 448x448 hole (a region larger than 768 px, filled at its own size)' },
  'edge-256': { size: 256, maskKinds: ['edge'], description: '256x256, a rectangle against one side, 40 to 100 deep and 64 to 160 long (an object cut by the frame)' },
  'border-256': { size: 256, maskKinds: ['border'], description: '256x256, a strip 20 to 50 deep along a whole side (what --extend adds)' },
} as const satisfies Record<string, Protocol>;

export type ProtocolName = keyof typeof PROTOCOLS;
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as ProtocolName[];

/**
 * Checks protocol names, e.g. from the command line.
 * @example
 * checkProtocols(['centre-256', 'strokes-256']);
 * @throws UsageError for an empty list, an unknown name (listing the known ones) or a repeat
 */
export function checkProtocols(names: readonly string[]): ProtocolName[] {
  expect(names.length > 0, 'protocols', 'at least one protocol', names);
  for (const name of names) {
    if (!Object.hasOwn(PROTOCOLS, name)) throw new UsageError(`Unknown protocol ${JSON.stringify(name)}: use one of ${PROTOCOL_NAMES.join(', ')}`);
  }
  expect(new Set(names).size === names.length, 'protocols', 'each protocol once', names);
  return names as ProtocolName[];
}

/**
 * A photo as a protocol scores it: its short side resized to `size` (antialiased bilinear), then
 * the centred size x size square cut out. Small photos are enlarged the same way.
 * @example
 * const truth = prepareImage(await readImage('photo.jpg'), 256); // 256x256
 * @throws UsageError size not a positive integer
 */
export function prepareImage(img: RgbImage, size: number): RgbImage {
  expect(Number.isInteger(size) && size > 0, 'size', 'a positive integer', size);
  const scale = size / Math.min(img.width, img.height);
  // max() guards the rounding of the long side: it must never fall below the crop.
  const width = Math.max(size, Math.round(img.width * scale));
  const height = Math.max(size, Math.round(img.height * scale));
  const resized = width === img.width && height === img.height ? img : resizeImage(img, width, height);
  return cropImage(resized, { x: Math.floor((width - size) / 2), y: Math.floor((height - size) / 2), width: size, height: size });
}

/** The rng seed of one image's mask: a hash, so nearby indices and seeds give unrelated masks. */
export function maskSeed(seed: number, protocol: ProtocolName, index: number): number {
  return createHash('sha256').update(`${seed}/${protocol}/${index}`).digest().readUInt32BE(0);
}

/** One image's mask for a protocol, and where it is saved. */
export interface ProtocolMask {
  mask: MaskImage;
  kind: MaskKind;
  path: string;
  /** True when it was read from a file an earlier run saved. */
  reused: boolean;
}

/**
 * The mask of image `index` under `protocol`: read from `<dir>/<protocol>/<index>-seed<seed>.png`
 * when an earlier run saved it there, else drawn with `maskSeed(seed, protocol, index)` and saved.
 * Reusing the file (rather than trusting the generator to stay the same forever) keeps results
 * comparable across versions of the code.
 * @example
 * const { mask, kind } = await protocolMask('eval/masks', 'rectangles-256', 3, 0);
 * @throws InputError a saved mask that cannot be read or has another size (delete it to redraw)
 */
export async function protocolMask(dir: string, protocol: ProtocolName, index: number, seed: number): Promise<ProtocolMask> {
  const { size, maskKinds } = PROTOCOLS[protocol];
  const kind = maskKinds[index % maskKinds.length];
  const path = join(dir, protocol, `${String(index).padStart(4, '0')}-seed${seed}.png`);
  if (existsSync(path)) {
    const mask = await readMask(path);
    if (mask.width !== size || mask.height !== size) {
      throw new InputError(`The saved mask ${path} is ${mask.width}x${mask.height}, but ${protocol} needs ${size}x${size}; delete it to draw a new one`);
    }
    return { mask, kind, path, reused: true };
  }
  const mask = await makeMask(kind, size, size, new Rng(maskSeed(seed, protocol, index)));
  await writeMask(path, mask);
  return { mask, kind, path, reused: false };
}
