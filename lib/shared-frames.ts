import type { FrameRenderer } from './frame-renderer.js';

function frameKey(pixelRatio: number, count: number, ended: boolean): string {
  return `${pixelRatio}:${count}${ended ? ':ended' : ''}`;
}

/** PNGs kept: 256 counts for each of the three pixel ratios. */
const CACHED_FRAMES = 3 * 256;

/**
 * PNGs shared by every room when the drawing does not depend on the room (the default
 * text, a `text` or `render` of the count alone): a new room then costs no render for a
 * count already drawn, whatever its name. One PNG per pixel ratio and count, the most
 * recently used kept; a render in flight is shared too.
 */
export class SharedFrames {
  private readonly pngs = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();

  /** `renderer` drawing through the cache for `pixelRatio`; `onRender` runs for each real render. */
  wrap(renderer: FrameRenderer, pixelRatio: number, onRender: () => void): FrameRenderer {
    const { render, renderSync } = renderer;
    return {
      render: (count, ended = false) => {
        const key = frameKey(pixelRatio, count, ended);
        const png = this.take(key);
        if (png) return Promise.resolve(png);
        let rendering = this.pending.get(key);
        if (!rendering) {
          onRender();
          rendering = render(count, ended).then(
            (drawn) => (this.keep(key, drawn), drawn),
          ).finally(() => this.pending.delete(key));
          this.pending.set(key, rendering);
        }
        return rendering;
      },
      renderSync: renderSync
        ? (count, ended = false) => {
            const key = frameKey(pixelRatio, count, ended);
            let png = this.take(key);
            if (!png) {
              onRender();
              png = renderSync(count, ended);
              this.keep(key, png);
            }
            return png;
          }
        : undefined,
    };
  }

  private take(key: string): Buffer | undefined {
    const png = this.pngs.get(key);
    if (png) {
      // Most recently used last: the oldest goes first.
      this.pngs.delete(key);
      this.pngs.set(key, png);
    }
    return png;
  }

  private keep(key: string, png: Buffer): void {
    this.pngs.set(key, png);
    if (this.pngs.size > CACHED_FRAMES) this.pngs.delete(this.pngs.keys().next().value as string);
  }
}
