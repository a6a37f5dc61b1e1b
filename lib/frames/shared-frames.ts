import type { FrameRenderer } from './frame-renderer.js';

function frameKey(pixelRatio: number, count: number, ended: boolean): string {
  return `${pixelRatio}:${count}${ended ? ':ended' : ''}`;
}

/**
 * Renders shared by every room when the drawing does not depend on the room (the default
 * text, a `text` or `render` of the count alone): rooms asking for the same pixel ratio and
 * count while it is being drawn share that one render. The drawn frames themselves are kept
 * once for every room by the counter's FrameCache (lib/frames/frame-cache.ts), not here.
 */
export class SharedFrames {
  private readonly pending = new Map<string, Promise<Buffer>>();

  /** `renderer` drawing through the shared renders for `pixelRatio`; `onRender` runs for each real render. */
  wrap(renderer: FrameRenderer, pixelRatio: number, onRender: () => void): FrameRenderer {
    const { render, renderSync } = renderer;
    return {
      render: (count, ended = false) => {
        const key = frameKey(pixelRatio, count, ended);
        let rendering = this.pending.get(key);
        if (!rendering) {
          onRender();
          rendering = render(count, ended).finally(() => this.pending.delete(key));
          this.pending.set(key, rendering);
        }
        return rendering;
      },
      renderSync: renderSync
        ? (count, ended = false) => {
            onRender();
            return renderSync(count, ended);
          }
        : undefined,
    };
  }
}
