import { randomFillSync } from 'node:crypto';

/** Random bytes drawn from the system at once, and handed out a few at a time. */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/**
 * `bytes` random bytes (at most 64) as base64url: the ids of browsers and page views. The bytes
 * come from the same CSPRNG as `randomBytes`, filled 4 KB at a time: `randomBytes(16)` for every
 * new browser of a join storm cost about 6 µs (a job object and a system call each), most of
 * a browser tag's cost in the profile; Node's `randomUUID` keeps a pool the same way.
 */
export function randomId(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString('base64url', used, used + bytes);
  used += bytes;
  return id;
}
