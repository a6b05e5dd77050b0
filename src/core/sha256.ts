/**
 * SHA-256 of bytes in memory through Web Crypto (`crypto.subtle`), which Node (19 and later) and
 * every browser provide: the one digest the bundle and weight checks use on both platforms.
 */

/**
 * The hex SHA-256 of `bytes`.
 * @example
 * await sha256Hex(new TextEncoder().encode('abc')); // 'ba7816bf...'
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
