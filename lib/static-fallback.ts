import type { FrameRenderer } from './frame-renderer.js';
import { Lru } from './lru.js';

/** How many static PNGs are kept, by room, pixel ratio and count. */
const CACHED_IMAGES = 128;

/**
 * The PNGs of the static fallback: the frame a stream of that room and ratio would show
 * now. Kept in a small cache, so a crawler asking again costs no render.
 */
export class StaticImages {
  private readonly cache = new Lru<string, Promise<Buffer>>(CACHED_IMAGES);

  constructor(private readonly rendererFor: (room: string, pixelRatio: number) => FrameRenderer) {}

  png(room: string, pixelRatio: number, count: number): Promise<Buffer> {
    const key = `${pixelRatio}:${count}:${room}`;
    let png = this.cache.get(key);
    if (!png) {
      // A drawing that throws at once becomes a rejection like any other.
      png = Promise.resolve().then(() => this.rendererFor(room, pixelRatio).render(count));
      png.catch(() => this.cache.delete(key));
      this.cache.set(key, png);
    }
    return png;
  }
}
