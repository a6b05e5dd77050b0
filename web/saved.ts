/**
 * The page's work, kept in this browser (IndexedDB) as it is made, so that a tab that was closed,
 * crashed, or discarded by a phone's browser while another app was in front can be taken up again
 * on the next visit: the photo opened, its last result, the mask file loaded, and the strokes
 * painted since (`Editor.edits`). One piece of work is kept, the last; opening another photo replaces
 * it, and it is deleted once nothing would be lost (main.ts, `keepNow`). Nothing leaves the browser.
 *
 * Two records, so that a stroke does not rewrite the photos: `photo` (the original file, its name
 * and the last result's PNG), written when they change, and `edits` (the strokes, whether the
 * result was downloaded), written after each change.
 */
import type { EditOp } from './editor.ts';

export interface SavedPhoto {
  /** Tells which photo the edits belong to. */
  id: string;
  name: string;
  original: Blob;
  /** The last run's result (PNG), or none. */
  result?: Blob;
  /**
   * The file whose EXIF, XMP and IPTC the downloads keep, when not `original`: for a photo made on
   * the page (straightened, given a border), the file it was made from, whose IPTC record its PNG
   * cannot hold.
   */
  metadataFrom?: Blob;
}

export interface SavedEdits {
  /** The `SavedPhoto.id` these edits are on. */
  id: string;
  /** The mask file the hole was last reset to, as a PNG (white on black, or opaque on transparent). */
  maskFile?: Blob;
  ops: EditOp[];
  /** Whether the result as it stands was downloaded. */
  downloaded: boolean;
  savedAt: number;
}

const DB = 'contextual-inpaint';
const STORE = 'work';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function transact<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  const db = await open();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = body(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('the browser refused to store the work'));
    });
  } finally {
    db.close();
  }
}

export async function savePhoto(photo: SavedPhoto): Promise<void> {
  await transact('readwrite', (store) => {
    store.put(photo, 'photo');
    store.delete('edits');
  });
}

export async function saveEdits(edits: SavedEdits): Promise<void> {
  await transact('readwrite', (store) => store.put(edits, 'edits'));
}

/** The work kept, when its photo and edits belong together. */
export async function loadWork(): Promise<{ photo: SavedPhoto; edits: SavedEdits } | undefined> {
  const [photo, edits] = await Promise.all([transact<SavedPhoto>('readonly', (s) => s.get('photo')), transact<SavedEdits>('readonly', (s) => s.get('edits'))]);
  return photo && edits && photo.id === edits.id ? { photo, edits } : undefined;
}

export async function forgetWork(): Promise<void> {
  await transact('readwrite', (store) => store.clear());
}
