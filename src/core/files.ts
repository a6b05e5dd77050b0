/**
 * Writing files so that nothing is lost when a write is interrupted, and cleaning up after writers
 * that died.
 *
 * `writeFileAtomic` writes to a temporary file beside the target, fsyncs it and renames it over the
 * target: readers (and the user, after Ctrl-C or kill -9) see either the old file or the complete
 * new one, never a truncated file under the real name. The temporary file's name carries the
 * writer's process id, `.<name>.<pid>.<random>.tmp`, so `removeStaleTemporaryFiles` can tell the
 * leftovers of a dead writer from the file a live one is still writing.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `.<name>.<pid>.<12 hex>.tmp`: the names `writeFileAtomic` gives its temporary files. */
const TEMPORARY_FILE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes a file so that readers see either the old content or the complete new one, never a partial
 * file, even if the process dies mid-write: the bytes go to a temporary file in the same directory
 * (rename is only atomic within one file system), which is fsynced and then renamed over `path`.
 * @example
 * await writeFileAtomic('out/filled.png', pngBytes);
 * @throws the underlying file-system error (e.g. ENOENT for a missing directory); no temporary file is
 *   left behind.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable. Some platforms (Windows) cannot fsync a directory; that is not an error. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the directory entry is best-effort; the file content itself is already synced.
  }
}

/** True when a process with this id exists (possibly another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the temporary files that `writeFileAtomic` left in `dir` when its process was killed
 * mid-write (a checkpoint's worth of bytes each). Files of writers that are still alive are left
 * alone. A folder that cannot be listed has nothing to clean.
 * @returns the names removed
 * @example
 * await removeStaleTemporaryFiles('runs/g1'); // ['.step-00000200.ckpt.4242.a1b2c3d4e5f6.tmp']
 */
export async function removeStaleTemporaryFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_FILE.exec(name);
    if (!match || processAlive(Number(match[1]))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
