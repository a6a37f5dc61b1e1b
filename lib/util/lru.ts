/**
 * A map that keeps its most recently used entries within a limit: each value weighs
 * `weigh(value)` (1 by default: the limit is then a number of entries), and the least
 * recently used go first while the total is over the limit. The newest entry stays, even
 * alone over the limit. Values are never undefined.
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();
  private total = 0;

  constructor(
    private readonly limit: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {}

  /** The weight of the entries kept. */
  get weight(): number {
    return this.total;
  }

  /** The value of `key`, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** The value of `key`; does not count as a use. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** The least recently used entry (set, or got with `get`). */
  oldest(): [K, V] | undefined {
    const first = this.entries.entries().next();
    return first.done ? undefined : first.value;
  }

  /** Whether `key` is kept; does not count as a use. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Keep `value` as the most recently used, letting the least recently used go while over the limit. */
  set(key: K, value: V): void {
    this.delete(key);
    this.entries.set(key, value);
    this.total += this.weigh(value);
    while (this.total > this.limit && this.entries.size > 1) {
      this.delete(this.entries.keys().next().value as K);
    }
  }

  /** Forget `key`. */
  delete(key: K): void {
    const value = this.entries.get(key);
    if (value === undefined) return;
    this.entries.delete(key);
    this.total -= this.weigh(value);
  }
}
