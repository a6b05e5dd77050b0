/**
 * Model bundles: what inference loads. A bundle is a folder with `bundle.json` (format version, the
 * model configuration, the sha256 of the VGG weights the networks were trained with, which file holds
 * which network, and each file's size and sha256) and one safetensors file per network (weights and
 * batch-norm running statistics, float32 or float16). Bundles are exported from training checkpoints.
 *
 *   bundle.json            { format, version, model, vggSha256, networks: { g1, g2: { "256", "512"? }, guide? },
 *                            files: { "g1.safetensors": { bytes, sha256 }, ... } }
 *   g1.safetensors         G1's parameters and buffers ('g1.*')
 *   g2-256.safetensors     G2 trained at 256 ('g2.*'); g2-512.safetensors for the next scale, if any
 *   guide.safetensors      the feature guide ('guide.*'), if any: optional, so bundles without one
 *                          load as before and fill with G1's guide
 *
 * Bundles get shared, and a server may load one it was sent, so reading one trusts nothing in it:
 * a network's file must be a plain name (no folder, no '..') of a regular file inside the bundle
 * folder (symbolic links are followed only when they stay inside); its size is checked before it is
 * read and its sha256 after; every value must be a finite number. Bundles written before sizes and
 * digests were recorded (no `files`) still load, with every check but those two.
 *
 * This module decodes and checks a bundle from wherever its bytes come from (`decodeBundle` with a
 * `BundleSource`), with no platform in it: bundle.ts reads folders in Node, web.ts fetches URLs.
 */
import { expect, InputError } from '../core/errors.ts';
import { sha256Hex } from '../core/sha256.ts';
import { ParamStore } from '../nn/params.ts';
import { type ModelConfig, resolveModelConfig } from './config.ts';

export const BUNDLE_FORMAT = 'contextual-inpaint-bundle';
export const BUNDLE_VERSION = 1;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  model: ModelConfig;
  /** sha256 of the VGG weights file the networks were trained with. */
  vggSha256: string;
  networks: { g1: string; g2: Record<string, string>; guide?: string };
  /** Size in bytes and hex sha256 of each network file, by file name (absent in older bundles). */
  files?: Record<string, BundleFile>;
  /** Free-form provenance: data, steps, date. */
  info?: Record<string, unknown>;
}

export interface BundleFile {
  bytes: number;
  sha256: string;
}

export interface Bundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** All values of G1 ('g1.*'). */
  readonly g1: ParamStore;
  /** G2 values by training scale (pixels), e.g. 256 and 512. */
  readonly g2: ReadonlyMap<number, ParamStore>;
  /** The feature guide's values ('guide.*'), if the bundle has one. */
  readonly guide?: ParamStore;
}

/** The values of one network as a checkpoint part pair (params + buffers) merged into one store. */
export function mergeStores(...stores: ParamStore[]): ParamStore {
  const out = new ParamStore();
  for (const s of stores) for (const [name, p] of s.entries()) out.add(name, p.shape, p.data);
  return out;
}

/** A plain file name: no folder part, not '.' or '..', nothing hidden. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Whether `name` may name a network file: a plain file name (no folder part, not '.' or '..', nothing hidden). */
export const isPlainFileName = (name: unknown): name is string => typeof name === 'string' && PLAIN_NAME.test(name);

/** A network file found by a `BundleSource`: its size when known before reading, and its bytes. */
export interface LocatedFile {
  /** Its size in bytes, checked against bundle.json before it is read; undefined: checked after. */
  size: number | undefined;
  read(): Promise<Uint8Array>;
}

/** Where a bundle's bytes come from: a folder (bundle.ts) or a URL (web.ts). */
export interface BundleSource {
  /** The bundle's folder or URL, as messages name it and `Bundle.dir` keeps it. */
  readonly dir: string;
  /** bundle.json's text. */
  manifest(): Promise<string>;
  /**
   * Finds a network file (a plain name, checked already).
   * @param bad makes the InputError for a file that cannot be used (`bad('it is not a regular file')`)
   */
  locate(file: string, bad: (why: string) => InputError): Promise<LocatedFile>;
}

/**
 * Decodes a bundle and checks it (see the module comment for what is checked).
 * @example
 * const bundle = await decodeBundle({ dir: url, manifest: () => fetchText(`${url}/bundle.json`), locate: ... });
 * @throws InputError when the source is not a bundle, is of a newer version, or a file is missing,
 *   named outside the folder, not the size or sha256 recorded, corrupt, or holds NaN or Infinity
 */
export async function decodeBundle(source: BundleSource): Promise<Bundle> {
  const { dir } = source;
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await source.manifest());
  } catch (err) {
    throw new InputError(`${dir} is not a model bundle (cannot read bundle.json: ${(err as Error).message})`);
  }
  if (manifest?.format !== BUNDLE_FORMAT) throw new InputError(`${dir}/bundle.json is not a ${BUNDLE_FORMAT} manifest`);
  if (manifest.version > BUNDLE_VERSION) {
    throw new InputError(`${dir} is a bundle of version ${manifest.version}; this program reads up to version ${BUNDLE_VERSION}: upgrade it`);
  }
  const model = resolveModelConfig(manifest.model as object);
  const recorded = manifest.files;
  if (recorded !== undefined && (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded))) {
    throw new InputError(`bundle ${dir}: "files" in bundle.json must map file names to { bytes, sha256 }`);
  }
  const load = async (file: unknown) => {
    const bad = (why: string) => new InputError(`bundle ${dir}: cannot load ${JSON.stringify(file)}: ${why}`);
    if (!isPlainFileName(file)) throw bad('a network file must be a plain file name inside the bundle folder');
    let found: LocatedFile;
    try {
      found = await source.locate(file, bad);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw bad((err as Error).message);
    }
    const expected = recorded?.[file];
    const checkSize = (size: number) => {
      if (size !== expected!.bytes) throw bad(`it has ${size} bytes, bundle.json says ${expected!.bytes} (truncated or replaced?)`);
    };
    if (recorded !== undefined) {
      if (typeof expected?.bytes !== 'number' || typeof expected.sha256 !== 'string') throw bad('bundle.json records no size and sha256 for it');
      if (found.size !== undefined) checkSize(found.size);
    }
    let store: ParamStore;
    try {
      const bytes = await found.read();
      if (expected && found.size === undefined) checkSize(bytes.length);
      const digest = await sha256Hex(bytes);
      if (expected && digest !== expected.sha256) throw bad(`its sha256 is ${digest}, bundle.json says ${expected.sha256} (corrupt or replaced)`);
      store = ParamStore.fromSafetensors(bytes);
    } catch (err) {
      if (err instanceof InputError && err.message.startsWith(`bundle ${dir}:`)) throw err;
      throw bad((err as Error).message);
    }
    const nonFinite = store.firstNonFinite();
    if (nonFinite) throw bad(`${nonFinite}: a weight that is not a finite number (the file is corrupt; export it again)`);
    return store;
  };
  expect(typeof manifest.networks?.g1 === 'string', 'bundle networks.g1', 'a file name', manifest.networks?.g1);
  const g2 = new Map<number, ParamStore>();
  for (const [scale, file] of Object.entries(manifest.networks.g2 ?? {})) g2.set(Number(scale), await load(file));
  if (g2.size === 0) throw new InputError(`bundle ${dir} has no G2 network`);
  const guide = manifest.networks.guide === undefined ? undefined : await load(manifest.networks.guide);
  return { dir, manifest: { ...manifest, model }, g1: await load(manifest.networks.g1), g2, ...(guide ? { guide } : {}) };
}
