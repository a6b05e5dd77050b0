/**
 * Finds the VGG19 weights file on this machine, downloading it once into a per-user cache when it is
 * nowhere to be found. The download is pinned by sha256 and written atomically (temp file, verify,
 * rename), so the cache never holds a partial or foreign file, even when two processes race.
 *
 * Environment:
 *  - INPAINT_VGG_WEIGHTS: a weights file to use instead of the cache;
 *  - INPAINT_CACHE_DIR: the cache folder (default `$XDG_CACHE_HOME/contextual-inpaint`, else
 *    `~/.cache/contextual-inpaint`);
 *  - INPAINT_OFFLINE=1: never download;
 *  - INPAINT_VGG_URL: where to download from instead of the public origin (a mirror).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, type Stats } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, expect } from '../core/errors.ts';
import { VGG_SHA256, VGG_SOURCE_URL, sha256File } from './vgg-weights.ts';

/** The file's name in the cache folder (the public file's own name). */
export const VGG_FILE_NAME = 'vgg_normalised_conv3_1.pth';

export interface ResolveVggWeightsOptions {
  /** A weights file to use; it must exist. Takes precedence over everything else. */
  path?: string;
  /** The cache folder; default INPAINT_CACHE_DIR, else the XDG cache folder. */
  cacheDir?: string;
  /** Whether a missing file may be downloaded (default true). INPAINT_OFFLINE=1 forbids it regardless. */
  download?: boolean;
  /** The fetch to download with (default the global one). */
  fetch?: typeof fetch;
  /** Called after each chunk received; `total` is undefined when the server does not say. */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

/** Cached files already hashed in this process, keyed by path, size and mtime (a replaced file is hashed again). */
const verifiedFiles = new Map<string, Promise<void>>();
/**
 * Downloads in progress, by target path: concurrent callers share one, and each caller's progress
 * callback hears it (whichever caller happened to start it).
 */
type ProgressListener = NonNullable<ResolveVggWeightsOptions['onProgress']>;
const downloads = new Map<string, { done: Promise<string>; listeners: Set<ProgressListener> }>();

/**
 * Returns the path of the VGG19 weights file, looking in this order: `options.path`;
 * INPAINT_VGG_WEIGHTS; `vgg_normalised_conv3_1.pth` in the cache folder (checked against the pinned
 * sha256 once per process); else, unless downloading is off, a download of the public file (or
 * INPAINT_VGG_URL) into the cache folder, verified against the pinned sha256 before it is kept.
 * Files given explicitly are not hashed: a re-saved file (safetensors) holds the same tensors in other
 * bytes, and `loadVggWeights` checks every tensor anyway.
 * @example
 *   const weights = await loadVggWeights(await resolveVggWeights());
 *   const offline = await resolveVggWeights({ download: false, cacheDir: '/data/cache' });
 * @throws InputError when an explicit file is missing (naming it and where it came from), a cached
 *   file is corrupt (saying to delete it), or the file is not cached and cannot be downloaded
 *   (offline, network failure, wrong checksum), saying where to put a file downloaded by hand.
 * @throws UsageError when an option has the wrong type.
 */
export async function resolveVggWeights(options: ResolveVggWeightsOptions = {}): Promise<string> {
  expect(typeof options === 'object' && options !== null, 'options', 'an object', options);
  const { path, cacheDir, download, onProgress } = options;
  expect(path === undefined || (typeof path === 'string' && path.length > 0), 'options.path', 'a non-empty string', path);
  expect(cacheDir === undefined || (typeof cacheDir === 'string' && cacheDir.length > 0), 'options.cacheDir', 'a non-empty string', cacheDir);
  expect(download === undefined || typeof download === 'boolean', 'options.download', 'a boolean', download);
  expect(options.fetch === undefined || typeof options.fetch === 'function', 'options.fetch', 'a function', options.fetch);
  expect(onProgress === undefined || typeof onProgress === 'function', 'options.onProgress', 'a function', onProgress);

  if (path !== undefined) return existingFile(path, 'the weights file given');
  const fromEnv = process.env.INPAINT_VGG_WEIGHTS;
  if (fromEnv) return existingFile(fromEnv, 'INPAINT_VGG_WEIGHTS');

  const dir = resolve(cacheDir ?? defaultCacheDir());
  const target = join(dir, VGG_FILE_NAME);
  const found = await statIfExists(target);
  if (found) {
    await verifyCached(target, found);
    return target;
  }

  const offline = process.env.INPAINT_OFFLINE === '1';
  if (offline || download === false) {
    const why = offline ? 'INPAINT_OFFLINE=1 is set' : 'downloading was turned off';
    throw new InputError(`The VGG19 weights are not in the cache (${target}) and ${why}. ${howToInstall(target)}`);
  }
  let pending = downloads.get(target);
  if (!pending) {
    const url = process.env.INPAINT_VGG_URL || VGG_SOURCE_URL;
    const listeners = new Set<ProgressListener>();
    const tell = (bytes: number, total: number | undefined) => listeners.forEach((f) => f(bytes, total));
    pending = { done: downloadTo(url, dir, target, options.fetch ?? fetch, tell).finally(() => downloads.delete(target)), listeners };
    downloads.set(target, pending);
  }
  if (onProgress) pending.listeners.add(onProgress);
  return pending.done;
}

function defaultCacheDir(): string {
  const { INPAINT_CACHE_DIR: own, XDG_CACHE_HOME: xdg } = process.env;
  if (own) return own;
  return join(xdg || join(homedir(), '.cache'), 'contextual-inpaint');
}

function howToInstall(target: string): string {
  return (
    `Download ${VGG_SOURCE_URL} by hand (sha256 ${VGG_SHA256}) and save it as ${target}, ` +
    'or set INPAINT_VGG_WEIGHTS to where you saved it.'
  );
}

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`Could not look at ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The absolute path of a file the user named, which must exist. */
async function existingFile(path: string, origin: string): Promise<string> {
  const where = resolve(path);
  const found = await statIfExists(where);
  if (!found) throw new InputError(`The VGG19 weights file ${where} (${origin}) does not exist. ${howToInstall(where)}`);
  if (!found.isFile()) throw new InputError(`The VGG19 weights path ${where} (${origin}) is not a file.`);
  return where;
}

/** Hashes a cached file once per process; a failed check is not remembered, so a fixed file passes next time. */
function verifyCached(target: string, found: Stats): Promise<void> {
  const key = `${target}|${found.size}|${found.mtimeMs}`;
  let check = verifiedFiles.get(key);
  if (!check) {
    check = (async () => {
      const digest = found.size > 0 ? await sha256File(target) : undefined;
      if (digest !== VGG_SHA256) {
        const what = digest === undefined ? 'is empty' : `has sha256 ${digest}, not ${VGG_SHA256}`;
        throw new InputError(
          `The cached VGG19 weights ${target} ${what}: the file is corrupt or not the VGG19 weights. ` +
            'Delete it and run again to download it afresh, or set INPAINT_VGG_WEIGHTS to a good copy.',
        );
      }
    })();
    check.catch(() => verifiedFiles.delete(key));
    verifiedFiles.set(key, check);
  }
  return check;
}

/**
 * Streams `url` into a temp file beside `target`, hashing as it goes, and renames it into place only
 * if the sha256 is the pinned one. The temp file is removed whatever happens.
 */
async function downloadTo(
  url: string,
  dir: string,
  target: string,
  fetchFn: typeof fetch,
  onProgress: ResolveVggWeightsOptions['onProgress'],
): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new InputError(`Could not create the cache folder ${dir}: ${(err as Error).message}. Set INPAINT_CACHE_DIR to a writable folder.`, {
      cause: err,
    });
  }
  // A name of its own per download, so that racing processes never write into each other's file.
  const temp = join(dir, `${VGG_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  const failed = (detail: string, cause?: unknown) =>
    new InputError(`Could not download the VGG19 weights from ${url}: ${detail}. ${howToInstall(target)}`, { cause });
  try {
    let response: Response;
    try {
      response = await fetchFn(url);
    } catch (err) {
      throw failed(networkDetail(err), err);
    }
    if (!response.ok || response.body === null) throw failed(`the server answered HTTP ${response.status} ${response.statusText}`.trim());
    const total = Number(response.headers.get('content-length')) || undefined;

    const hash = createHash('sha256');
    let bytes = 0;
    const file = await writable(temp);
    try {
      for await (const chunk of response.body) {
        hash.update(chunk);
        await file.write(chunk).catch((err: Error) => {
          throw new InputError(`Could not write ${temp}: ${err.message}. Set INPAINT_CACHE_DIR to a folder with room.`, { cause: err });
        });
        bytes += chunk.length;
        onProgress?.(bytes, total);
      }
    } catch (err) {
      throw err instanceof InputError ? err : failed(`the transfer broke off after ${bytes} bytes (${networkDetail(err)})`, err);
    } finally {
      await file.close();
    }

    const digest = hash.digest('hex');
    if (digest !== VGG_SHA256) {
      throw new InputError(
        `The VGG19 weights downloaded from ${url} (${bytes} bytes) have sha256 ${digest}, not ${VGG_SHA256}: the download was ` +
          `corrupt or the mirror serves another file (check INPAINT_VGG_URL). Nothing was kept. Try again, or ${howToInstall(target)}`,
      );
    }
    await rename(temp, target);
    return target;
  } finally {
    await rm(temp, { force: true });
  }
}

async function writable(temp: string) {
  try {
    return await open(temp, 'wx');
  } catch (err) {
    throw new InputError(`Could not write to the cache folder (${temp}): ${(err as Error).message}. Set INPAINT_CACHE_DIR to a writable folder.`, {
      cause: err,
    });
  }
}

/** fetch reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND...) in `cause`. */
function networkDetail(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const top = err instanceof Error ? err.message : String(err);
  return cause?.code ? `${top} (${cause.code})` : cause?.message ? `${top} (${cause.message})` : top;
}

/**
 * The weights of a development checkout: this repository with the project's `shared/models/` beside
 * it (as on the project's own machines and CI), or undefined when there is no such folder.
 */
export function checkoutVggWeights(): string | undefined {
  const path = fileURLToPath(new URL(`../../../shared/models/${VGG_FILE_NAME}`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

/**
 * `resolveVggWeights` as the commands use it: an explicit file, else INPAINT_VGG_WEIGHTS, else a
 * development checkout's copy, else the cache or a download.
 * @example
 * const path = await findVggWeights(flags.vgg);
 */
export function findVggWeights(explicit?: string): Promise<string> {
  return resolveVggWeights({ path: explicit ?? (process.env.INPAINT_VGG_WEIGHTS ? undefined : checkoutVggWeights()) });
}
