/**
 * Loads the VGG19 relu3_1 weights from a file in Node (the format and its decoder are
 * vgg-weights-format.ts's, shared with the browser build, and re-exported here).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { decodeVggWeights, HOW_TO_GET, type VggWeights } from './vgg-weights-format.ts';

export * from './vgg-weights-format.ts';

/**
 * Reads the VGG weights from a legacy PyTorch `.pth` file or a safetensors file (told apart by
 * content, not extension) whose tensors are named `<key>.weight` / `<key>.bias` as in the layer
 * table. Extra tensors are ignored. The sha256 is not enforced here because a re-saved file holds the
 * same tensors in different bytes; check it with `sha256File` where the file is downloaded.
 * @throws InputError when the file is missing (naming the path looked at and where to get the file),
 *   unreadable, in neither format, corrupt, holds a value that is NaN or infinite, or lacks a layer
 *   or has one of the wrong shape.
 */
export async function loadVggWeights(path: string): Promise<VggWeights> {
  const where = resolve(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(where);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`VGG19 weights not found at ${where}. ${HOW_TO_GET} and put it there or pass its path.`, { cause: err });
    }
    throw new InputError(`Could not read VGG19 weights at ${where}: ${(err as Error).message}`, { cause: err });
  }
  return decodeVggWeights(bytes, where);
}

/**
 * Hex sha256 of a file, streamed so large files need no memory.
 * @throws InputError when the file cannot be read, naming the path.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new InputError(`Could not read ${resolve(path)} to hash it: ${(err as Error).message}`, { cause: err });
  }
  return hash.digest('hex');
}
