import type { FrameRenderer, ImageSettings } from './frame-renderer.js';
import { createCanvasRenderers, createCustomRenderer } from './frame-renderer.js';
import { SharedFrames } from './shared-frames.js';
import type { NodeCanvasModule, RenderFunction } from '../types/index.js';

/** How the frames are drawn (from the resolved configuration). */
interface DrawingSettings {
  /** A custom renderer, or undefined for the built-in drawing of `image`. */
  readonly render: RenderFunction | undefined;
  readonly image: ImageSettings;
  readonly canvas: NodeCanvasModule | undefined;
  readonly formatCount: (count: number) => string;
  /** Whether the frames may differ by room (else every room shares them). */
  readonly roomInDrawing: boolean;
}

/**
 * The frames' renderer for a room at a pixel ratio, counting each render with `onRender`.
 * When the drawing does not depend on the room, every room shares one cache of PNGs, so
 * a new room costs no render for a count already drawn. Otherwise a renderer draws at once
 * (`renderSync`, for the broadcaster's first frames) only where `drawsAtOnce` says.
 */
export function rendererFactory(
  config: DrawingSettings,
  onRender: () => void,
): (room: string, pixelRatio: number, drawsAtOnce?: boolean) => FrameRenderer {
  const canvasRenderers = config.render ? undefined : createCanvasRenderers(config.image, config.canvas, config.formatCount);
  const shared = config.roomInDrawing ? undefined : new SharedFrames();
  return (room, pixelRatio, drawsAtOnce = false) => {
    const renderer = config.render
      ? createCustomRenderer(config.render, { room, pixelRatio }, config.formatCount)
      : canvasRenderers!({ room, pixelRatio });
    if (shared) return shared.wrap(renderer, pixelRatio, onRender);
    const { render } = renderer;
    const renderSync = drawsAtOnce ? renderer.renderSync : undefined;
    return {
      render(count, ended) {
        onRender();
        return render(count, ended);
      },
      renderSync: renderSync
        ? (count, ended) => {
            onRender();
            return renderSync(count, ended);
          }
        : undefined,
    };
  };
}

