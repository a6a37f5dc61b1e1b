import { createCanvasRenderer } from '../lib/frames/frame-renderer.js';
import { resolveOptions } from '../lib/options.js';
import { frameHash } from './frame-hash.js';

/**
 * The frames the counter should show: the built-in renderer with the default options,
 * rendered in the parent so that a viewer's frame can be compared byte for byte.
 */

/** The default image options. */
export const image = resolveOptions().image;

/** The built-in renderer with those options. */
export const renderer = createCanvasRenderer(image);

const pngs = new Map<number, Buffer>();

/** The PNG for `count` (rendered once). */
export function pngFor(count: number): Buffer {
  let png = pngs.get(count);
  if (!png) {
    png = renderer.renderSync!(count);
    pngs.set(count, png);
  }
  return png;
}

/** The hash a viewer holding the frame for `count` reports. */
export function hashFor(count: number): string {
  return frameHash(pngFor(count));
}
