/**
 * Model bundles in Node: writing a bundle folder, and reading one (`readBundle`) with the checks of
 * bundle-format.ts (format, sizes, sha256, finite values) plus the file system's own: a network file
 * must be a regular file inside the folder (symbolic links are followed only when they stay inside),
 * and its size is checked before it is read. The format, its types and the decoder are
 * bundle-format.ts's, re-exported here.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { writeFileAtomic } from '../nn/safetensors.ts';
import type { ParamStore } from '../nn/params.ts';
import { BUNDLE_FORMAT, BUNDLE_VERSION, type Bundle, type BundleFile, type BundleManifest, decodeBundle } from './bundle-format.ts';

export * from './bundle-format.ts';

/**
 * Writes a bundle folder.
 * @param networks G1's values, G2's values per scale and the feature guide's if any (each: params and buffers merged)
 */
export async function writeBundle(
  dir: string,
  manifest: Omit<BundleManifest, 'format' | 'version' | 'networks' | 'files'>,
  networks: { g1: ParamStore; g2: ReadonlyMap<number, ParamStore>; guide?: ParamStore },
  options: { dtype?: 'float32' | 'float16' } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names: BundleManifest['networks'] = { g1: 'g1.safetensors', g2: {} };
  const files: Record<string, BundleFile> = {};
  const write = async (name: string, store: ParamStore) => {
    const bytes = store.toSafetensors({ dtype: options.dtype });
    await writeFileAtomic(join(dir, name), bytes);
    files[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  await write(names.g1, networks.g1);
  for (const [scale, store] of networks.g2) {
    names.g2[String(scale)] = `g2-${scale}.safetensors`;
    await write(names.g2[String(scale)], store);
  }
  if (networks.guide) {
    names.guide = 'guide.safetensors';
    await write(names.guide, networks.guide);
  }
  const full: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, ...manifest, networks: names, files };
  await writeFileAtomic(join(dir, 'bundle.json'), new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`));
}

/**
 * Reads a bundle folder and checks it (see bundle-format.ts for what is checked).
 * @example
 * const bundle = await readBundle('models/default');
 * @throws InputError when the folder is not a bundle, is of a newer version, or a file is missing,
 *   named outside the folder, not the size or sha256 recorded, corrupt, or holds NaN or Infinity
 */
export async function readBundle(dir: string): Promise<Bundle> {
  let folder: Promise<string> | undefined;
  return decodeBundle({
    dir,
    manifest: () => readFile(join(dir, 'bundle.json'), 'utf8'),
    async locate(file, bad) {
      folder ??= realpath(dir);
      const where = await realpath(join(dir, file));
      if (!where.startsWith((await folder) + sep)) throw bad('it leads out of the bundle folder');
      const found = await stat(where);
      if (!found.isFile()) throw bad('it is not a regular file');
      return { size: found.size, read: () => readFile(join(dir, file)) };
    },
  });
}
