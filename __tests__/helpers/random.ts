/** mulberry32: a small seeded generator, so that a failure can be replayed exactly. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element of `list`. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
  /** `length` characters from `alphabet`; long texts repeat a random run of 256 (cheap, still arbitrary). */
  text(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-._~'): string {
    let run = '';
    for (let i = 0; i < Math.min(length, 256); i++) run += alphabet[Math.floor(this.next() * alphabet.length)];
    return run.repeat(Math.ceil(length / Math.max(run.length, 1))).slice(0, length);
  }
  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}
