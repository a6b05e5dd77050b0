/**
 * File-system checks the commands share: output paths that can be written (checked before any
 * computation), folders of images, and the rule that no output silently replaces an input; and
 * writing a result with what it keeps of its photo.
 */
import { constants } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../core/errors.ts';
import { formatFromPath, IMAGE_EXTENSIONS, lostMetadata, READABLE_FORMATS, readMetadata, type RgbImage, writeImage } from '../core/image.ts';

export const stemOf = (file: string): string => basename(file, extname(file));
export const isImageFile = (name: string): boolean => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** Whether `path` is an existing folder (false when it does not exist or is a file). */
export async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The image files of a folder (not recursive, by `IMAGE_EXTENSIONS`), sorted by name.
 * @param what how messages name the folder, e.g. '--input'
 * @throws UsageError when the folder cannot be listed or holds no image
 */
export async function listImages(dir: string, what: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new UsageError(`cannot list the ${what} folder ${dir}: ${(err as Error).message}`);
  }
  const images = names.filter(isImageFile).sort();
  if (images.length === 0) throw new UsageError(`no ${READABLE_FORMATS} images in the ${what} folder ${dir}`);
  return images;
}

/**
 * Where a result goes when no -o is given: beside its photo, `<stem>-<suffix>.<ext>` in the photo's
 * own format where results can be written in it (else PNG: a GIF, AVIF or HEIC photo), with `-2`,
 * `-3`... added while that name exists, so that no earlier result or other file is replaced.
 * @param folder where instead of the photo's folder (an -o that names a folder)
 */
export async function resultPathBeside(photo: string, suffix: string, folder = dirname(photo)): Promise<string> {
  let ext = extname(photo);
  try {
    formatFromPath(photo);
  } catch {
    ext = '.png';
  }
  const base = join(folder, `${stemOf(photo)}-${suffix}`);
  for (let n = 1; ; n++) {
    const candidate = `${base}${n === 1 ? '' : `-${n}`}${ext}`;
    try {
      await stat(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return candidate;
      throw new InputError(`cannot write beside ${photo}: ${(err as Error).message} (choose the output with -o)`);
    }
  }
}

/**
 * Where one photo's result goes: `out` (-o) when it names a file; when it names a folder (one that
 * exists, or a path ending in a slash) the name `resultPathBeside` gives, in that folder; with no
 * `out`, beside the photo.
 */
export async function resultPath(out: string | undefined, photo: string, suffix: string): Promise<string> {
  if (out === undefined) return resultPathBeside(photo, suffix);
  if (/[\\/]$/.test(out) || (await isFolder(out))) return resultPathBeside(photo, suffix, out);
  return out;
}

/** True when the two paths name one file or folder (the same path, or links to one: same device and inode). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // one of them does not exist yet
  }
}

/**
 * Refuses outputs that would replace one of the inputs, under any name (`sameFile`).
 * @throws UsageError naming the first such output
 */
export async function checkNotInput(outputs: readonly string[], inputs: readonly string[]): Promise<void> {
  for (const out of outputs) {
    for (const input of inputs) {
      if (await sameFile(out, input)) throw new UsageError(`the output ${out} is one of the input images; refusing to overwrite it (choose another -o)`);
    }
  }
}

/**
 * Makes sure `file` can be written: its folder exists (or is created) and is writable, and the path
 * is not a folder. Done before any computation.
 * @throws InputError saying why not
 */
export async function checkWritableFile(file: string): Promise<void> {
  await checkWritableFolder(dirname(resolve(file)), file);
  try {
    const found = await stat(file);
    if (found.isDirectory()) throw new InputError(`cannot write ${file}: it is a folder`);
    await access(file, constants.W_OK);
  } catch (err) {
    if (err instanceof InputError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/** @throws InputError when `dir` cannot be created or written to */
export async function checkWritableFolder(dir: string, forFile?: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new InputError(`cannot write ${forFile ?? `into ${dir}`}: ${(err as Error).message}`);
  }
}

/**
 * Writes a result made from `photo` with what it keeps of it: the bit depth (16 bits in a PNG or
 * TIFF), the alpha channel given, with `keepProfile` (for pixels read with it) the ICC profile, and
 * unless `keepMetadata` is false the EXIF (cleaned: no thumbnail), the XMP and the IPTC-IIM record (what describes the photo). What the output's format cannot keep
 * goes into `notices`.
 */
export async function writeResult(out: string, image: RgbImage, photo: string, options: { alpha?: Float32Array; keepMetadata: boolean; keepProfile?: boolean; notices: string[] }): Promise<void> {
  const { alpha, keepMetadata, keepProfile, notices } = options;
  const { exif, xmp, iptc, bits, icc, grey } = await readMetadata(photo, { keepProfile, onNotice: (n) => keepMetadata && notices.push(n) });
  await writeImage(out, image, { alpha, bits, icc, grey, ...(keepMetadata ? { exif, xmp, iptc } : {}) });
  const format = formatFromPath(out);
  const lost = keepMetadata && lostMetadata({ iptc, xmp }, format);
  if (lost) notices.push(`${photo}: ${lost}`);
  if (alpha && format === 'jpeg') notices.push(`JPEG has no alpha channel: ${out} was written opaque (use .png, .webp or .tif to keep it)`);
}
