import { createHash } from 'node:crypto';

/** A short hash of a frame's bytes. */
export function frameHash(png: Uint8Array): string {
  return createHash('sha1').update(png).digest('base64').slice(0, 16);
}

/** Interns frame hashes as small numbers, so a viewer's history is a few numbers. */
export class HashTable {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  id(hash: string): number {
    let id = this.ids.get(hash);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(hash, id);
      this.names.push(hash);
    }
    return id;
  }
}
