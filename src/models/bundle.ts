/**
 * Model bundles: what inference loads. A bundle is a folder with `bundle.json` (format version, the
 * model configuration, the sha256 of the VGG weights the networks were trained with, which file holds
 * which network) and one safetensors file per network (weights and batch-norm running statistics,
 * float32 or float16). Bundles are exported from training checkpoints.
 *
 *   bundle.json            { format, version, model, vggSha256, networks: { g1, g2: { "256", "512"? } } }
 *   g1.safetensors         G1's parameters and buffers ('g1.*')
 *   g2-256.safetensors     G2 trained at 256 ('g2.*'); g2-512.safetensors for the next scale, if any
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, InputError } from '../core/errors.ts';
import { ParamStore } from '../nn/params.ts';
import { writeFileAtomic } from '../nn/safetensors.ts';
import { type ModelConfig, resolveModelConfig } from './config.ts';

export const BUNDLE_FORMAT = 'contextual-inpaint-bundle';
export const BUNDLE_VERSION = 1;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  model: ModelConfig;
  /** sha256 of the VGG weights file the networks were trained with. */
  vggSha256: string;
  networks: { g1: string; g2: Record<string, string> };
  /** Free-form provenance: data, steps, date. */
  info?: Record<string, unknown>;
}

export interface Bundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** All values of G1 ('g1.*'). */
  readonly g1: ParamStore;
  /** G2 values by training scale (pixels), e.g. 256 and 512. */
  readonly g2: ReadonlyMap<number, ParamStore>;
}

/** The values of one network as a checkpoint part pair (params + buffers) merged into one store. */
export function mergeStores(...stores: ParamStore[]): ParamStore {
  const out = new ParamStore();
  for (const s of stores) for (const [name, p] of s.entries()) out.add(name, p.shape, p.data);
  return out;
}

/**
 * Writes a bundle folder.
 * @param networks G1's values and G2's values per scale (each: params and buffers merged)
 */
export async function writeBundle(
  dir: string,
  manifest: Omit<BundleManifest, 'format' | 'version' | 'networks'>,
  networks: { g1: ParamStore; g2: ReadonlyMap<number, ParamStore> },
  options: { dtype?: 'float32' | 'float16' } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: BundleManifest['networks'] = { g1: 'g1.safetensors', g2: {} };
  await writeFileAtomic(join(dir, files.g1), networks.g1.toSafetensors({ dtype: options.dtype }));
  for (const [scale, store] of networks.g2) {
    files.g2[String(scale)] = `g2-${scale}.safetensors`;
    await writeFileAtomic(join(dir, files.g2[String(scale)]), store.toSafetensors({ dtype: options.dtype }));
  }
  const full: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, ...manifest, networks: files };
  await writeFileAtomic(join(dir, 'bundle.json'), new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`));
}

/**
 * Reads a bundle folder and checks it.
 * @throws InputError when the folder is not a bundle, is of a newer version, or a file is missing or corrupt
 */
export async function readBundle(dir: string): Promise<Bundle> {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
  } catch (err) {
    throw new InputError(`${dir} is not a model bundle (cannot read bundle.json: ${(err as Error).message})`);
  }
  if (manifest.format !== BUNDLE_FORMAT) throw new InputError(`${dir}/bundle.json is not a ${BUNDLE_FORMAT} manifest`);
  if (manifest.version > BUNDLE_VERSION) {
    throw new InputError(`${dir} is a bundle of version ${manifest.version}; this program reads up to version ${BUNDLE_VERSION}: upgrade it`);
  }
  const model = resolveModelConfig(manifest.model as object);
  const load = async (file: string) => {
    try {
      return ParamStore.fromSafetensors(await readFile(join(dir, file)));
    } catch (err) {
      throw new InputError(`bundle ${dir}: cannot load ${file}: ${(err as Error).message}`);
    }
  };
  expect(typeof manifest.networks?.g1 === 'string', 'bundle networks.g1', 'a file name', manifest.networks?.g1);
  const g2 = new Map<number, ParamStore>();
  for (const [scale, file] of Object.entries(manifest.networks.g2 ?? {})) g2.set(Number(scale), await load(file));
  if (g2.size === 0) throw new InputError(`bundle ${dir} has no G2 network`);
  return { dir, manifest: { ...manifest, model }, g1: await load(manifest.networks.g1), g2 };
}
