import { PNG } from 'pngjs';
import { createCanvasRenderer } from '../lib/frames/frame-renderer.js';
import type { ImageSettings } from '../lib/frames/frame-renderer.js';

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row by row. */
  data: Buffer;
}

/** Decode with pngjs (an independent decoder); throws on a broken PNG. */
export function decodePng(png: Buffer): DecodedPng {
  const { width, height, data } = PNG.sync.read(png);
  return { width, height, data };
}

/** How many pixels in the box have an alpha above `minAlpha` (ink on a transparent frame). */
export function inkPixels(image: DecodedPng, box = { x: 0, y: 0, width: image.width, height: image.height }, minAlpha = 64): number {
  let ink = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) {
      if (image.data[(y * image.width + x) * 4 + 3] > minAlpha) ink += 1;
    }
  }
  return ink;
}

/** Whether two PNGs decode to the same pixels. */
export function samePixels(a: Buffer, b: Buffer): boolean {
  const [x, y] = [decodePng(a), decodePng(b)];
  return x.width === y.width && x.height === y.height && x.data.equals(y.data);
}

export const DEFAULT_IMAGE: ImageSettings = {
  width: 200,
  height: 30,
  text: (count) => `Users online: ${count}`,
  font: '20px Anton',
  color: 'rgb(0, 100, 0)',
  background: 'transparent',
};

const defaultRenderer = createCanvasRenderer(DEFAULT_IMAGE);

/** The default renderer's own frame for `count`: what a viewer should be shown. */
export function expectedFrame(count: number): Buffer {
  return defaultRenderer.renderSync!(count);
}

/** Whether `png` shows `count` as the default renderer draws it. */
export function showsCount(png: Buffer, count: number): boolean {
  return samePixels(png, expectedFrame(count));
}

/** The default renderer's last frame for a stream the server ended while it showed `count` (dimmed). */
export function expectedEndedFrame(count: number): Buffer {
  return defaultRenderer.renderSync!(count, true);
}
