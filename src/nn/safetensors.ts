/**
 * Safetensors files in Node: the format itself (encoding, strict decoding) is safetensors-format.ts,
 * shared with the browser build, and re-exported here.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';
import { type DecodedSafetensors, decodeSafetensors } from './safetensors-format.ts';

export * from './safetensors-format.ts';

/**
 * Reads and decodes a safetensors file.
 * @throws InputError when the file cannot be read or is not a valid safetensors file; the message
 *   names the path.
 */
export async function readSafetensorsFile(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(`Could not read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return decodeSafetensors(bytes);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Re-exported from core, where image writing uses it too. */
export { writeFileAtomic } from '../core/files.ts';
