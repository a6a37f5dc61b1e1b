/**
 * One room's streams as they count: each stream without a viewer, and each viewer once while
 * it has at least one stream (a second tab of a viewer already counted changes no count).
 */
export class ViewerTally {
  private anonymousStreams = 0;
  /** Each viewer here, with its number of streams. */
  private readonly streams = new Map<string, number>();

  /** The room's count: streams without a viewer, plus each viewer once. */
  get count(): number {
    return this.anonymousStreams + this.streams.size;
  }

  /** No stream at all. */
  get empty(): boolean {
    return this.count === 0;
  }

  /** Streams without a viewer. */
  get anonymous(): number {
    return this.anonymousStreams;
  }

  /** The viewers with at least one stream. */
  viewers(): IterableIterator<string> {
    return this.streams.keys();
  }

  /** Whether `viewer` has a stream here. */
  has(viewer: string): boolean {
    return this.streams.has(viewer);
  }

  /** A stream opened (of `viewer`, when given); true when the count changed. */
  add(viewer?: string): boolean {
    if (viewer === undefined) {
      this.anonymousStreams += 1;
      return true;
    }
    const held = this.streams.get(viewer) ?? 0;
    this.streams.set(viewer, held + 1);
    return held === 0;
  }

  /** A stream ended; true when the count changed. Removing a stream that is not here changes nothing. */
  remove(viewer?: string): boolean {
    if (viewer === undefined) {
      if (this.anonymousStreams === 0) return false;
      this.anonymousStreams -= 1;
      return true;
    }
    const held = this.streams.get(viewer) ?? 0;
    if (held <= 1) return this.streams.delete(viewer);
    this.streams.set(viewer, held - 1);
    return false;
  }
}
