/**
 * Training photos on disk: a folder of images, listed recursively, and a train/validation split
 * that stays put when the folder grows.
 *
 * Files are kept in one canonical order (relative paths with '/' separators, compared by code
 * unit, not by locale), so that a seed picks the same images on every machine and file system.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { expect, InputError } from '../core/errors.ts';
import { IMAGE_EXTENSIONS } from '../core/image.ts';

export interface ImageFolderOptions {
  /** File extensions to list, with or without the dot, any case. Default `IMAGE_EXTENSIONS`: what `readImage` decodes. */
  extensions?: readonly string[];
}

/** The two sides of a split, as absolute paths in the folder's order. */
export interface Split {
  train: string[];
  val: string[];
}

/**
 * The held-out split training uses by default (`folder.split(fraction, seed)`): evaluation's 'val'
 * split is this one, so that it scores only photos a default training run never saw.
 */
export const DEFAULT_SPLIT = { fraction: 0.1, seed: 0 } as const;

/**
 * The images under a folder, found recursively and sorted.
 * @example
 * const folder = await ImageFolder.open('photos');
 * const { train, val } = folder.split(0.1, 42);
 */
export class ImageFolder {
  private constructor(
    /** The folder, as an absolute path. */
    readonly root: string,
    /** The images, relative to `root` with '/' separators, sorted by code unit. */
    readonly files: readonly string[],
  ) {}

  /**
   * Lists the images under `dir`, in every subfolder. Names starting with '.' are left out, files
   * and folders alike: they are editor and OS droppings (macOS writes `._photo.jpg` beside every
   * photo on some drives), not photos. Symbolic links to files are listed; links to folders are
   * not followed, so a link cycle cannot make the walk endless.
   * @example
   * const pngs = await ImageFolder.open('renders', { extensions: ['png'] });
   * @throws InputError the folder is missing, is not a folder, cannot be read, or holds no images
   * @throws UsageError `extensions` is empty or holds something that is not an extension
   */
  static async open(dir: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const extensions = new Set(
      (options.extensions ?? IMAGE_EXTENSIONS).map((e) => {
        expect(typeof e === 'string' && /^\.?[^./\\]+$/.test(e), 'an extension', "a name like 'jpg' or '.png'", e);
        return (e.startsWith('.') ? e : `.${e}`).toLowerCase();
      }),
    );
    expect(extensions.size > 0, 'options.extensions', 'at least one extension', options.extensions);
    const root = resolve(dir);
    try {
      if (!(await stat(root)).isDirectory()) throw new InputError(`${dir} is not a folder; give the folder that holds the training images`);
    } catch (err) {
      if (err instanceof InputError) throw err;
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new InputError(missing ? `The image folder ${dir} does not exist` : `Cannot read the image folder ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const files: string[] = [];
    await walk(root, '', extensions, files);
    if (files.length === 0) {
      throw new InputError(`The image folder ${dir} holds no images (looked for ${[...extensions].join(', ')} files in it and its subfolders)`);
    }
    // Code-unit order, not localeCompare: the order must not depend on the machine's locale.
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new ImageFolder(root, files);
  }

  /** The images as absolute paths, in `files` order. */
  get paths(): string[] {
    return this.files.map((f) => join(this.root, f));
  }

  /**
   * Splits the images into training and validation sets. Each file's side is decided by a hash of
   * its relative path and the seed alone, so the split is the same on every run and adding or
   * removing files leaves every other file where it was: validation images never leak into
   * training as the folder grows. About `valFraction` of the files go to validation.
   *
   * With two files or more each side gets at least one: if the hash sends none to one side, the file
   * whose hash lies nearest the threshold is moved there (the one exception to stability, and only
   * for tiny folders or extreme fractions). A single file goes to training.
   * @example
   * const { train, val } = folder.split(0.05, 1);
   * @throws UsageError `valFraction` not strictly between 0 and 1, or `seed` not a safe integer
   */
  split(valFraction: number, seed: number): Split {
    expect(Number.isFinite(valFraction) && valFraction > 0 && valFraction < 1, 'valFraction', 'a number strictly between 0 and 1', valFraction);
    expect(Number.isSafeInteger(seed), 'seed', 'a safe integer', seed);
    const keys = this.files.map((f) => hashUnit(`${seed}\n${f}`));
    // A lone file trains: a model can be trained without validation, not without data.
    const inVal = keys.map((k) => this.files.length >= 2 && k < valFraction);
    const count = inVal.filter(Boolean).length;
    if (this.files.length >= 2 && (count === 0 || count === this.files.length)) {
      // Move the file nearest the threshold: the smallest key to validation, or the largest to training.
      const toVal = count === 0;
      let pick = 0;
      for (let i = 1; i < keys.length; i++) if (toVal ? keys[i] < keys[pick] : keys[i] > keys[pick]) pick = i;
      inVal[pick] = toVal;
    }
    const paths = this.paths;
    return { train: paths.filter((_, i) => !inVal[i]), val: paths.filter((_, i) => inVal[i]) };
  }
}

/** A uniform number in [0, 1) from the first 48 bits of the SHA-256 of `text`. */
function hashUnit(text: string): number {
  return createHash('sha256').update(text).digest().readUIntBE(0, 6) / 2 ** 48;
}

async function walk(root: string, rel: string, extensions: ReadonlySet<string>, out: string[]): Promise<void> {
  const dir = join(root, rel);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new InputError(`Cannot list the image folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      await walk(root, path, extensions, out);
      continue;
    }
    if (!extensions.has(extname(entry.name).toLowerCase())) continue;
    // A link counts when it leads to a file; a dangling link is left out here rather than reported
    // later as an unreadable image.
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(root, path)).then((s) => s.isFile(), () => false)))) out.push(path);
  }
}
