import { createHash } from 'node:crypto';

/**
 * What the counter keeps of an `identify` result: its SHA-256 (base64url, 43 characters),
 * so the identity itself (a session id, an address) is never kept in memory or sent to a
 * store. The same identity gives the same digest in every process, which a shared store
 * needs. A digest does not hide an input that can be guessed (an IPv4 address can be found
 * by trying them all): mix a secret into what `identify` returns for that.
 */
export function viewerDigest(identity: string): string {
  return createHash('sha256').update('express-user-counter viewer\0').update(identity).digest('base64url');
}
